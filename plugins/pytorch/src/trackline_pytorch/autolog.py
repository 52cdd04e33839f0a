"""``trackline.pytorch.autolog()``: log PyTorch Lightning training without changing it.

Patched: ``lightning.pytorch.Trainer.fit`` (and ``pytorch_lightning.Trainer.fit`` when that
package is installed). The patch adds a callback to the trainer for the duration of the call
and logs, as MLflow's PyTorch autologger does:

* params: ``epochs``, the LightningModule's ``hparams``, ``optimizer_name`` and the
  optimizer's settings (``lr``, ``betas``, ``weight_decay``…), and for an ``EarlyStopping``
  callback its ``monitor``, ``mode``, ``patience`` and ``min_delta``;
* metrics: ``trainer.callback_metrics`` at the end of every ``log_every_n_epoch``-th
  training epoch (step = epoch), and of every ``log_every_n_step``-th batch if asked
  (step = global step); ``stopped_epoch``, ``restored_epoch`` and ``wait_count`` under early
  stopping;
* artifacts: ``model_summary.txt``; with ``checkpoint=True`` checkpoints: the best so far
  by ``checkpoint_monitor`` (``checkpoints/latest_checkpoint.pth`` with
  ``latest_checkpoint_metrics.json``), or with ``checkpoint_save_best_only=False`` one per
  epoch (``checkpoints/epoch_<n>/checkpoint.pth``) or per ``checkpoint_save_freq`` steps;
* the trained module as a logged model named ``model`` (a whole-model pickle: a
  LightningModule is not always traceable by ``torch.export``).

Lightning and torch are imported when autologging is enabled, never when this module is.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import logging
import os
import tempfile
from typing import Any

from trackline.autologging import (
    active_session,
    autologging_integration,
    autologging_is_disabled,
    autologging_step,
    is_patched,
    register_post_import_hook,
    safe_patch,
)
from trackline.autologging import utils as alu
from trackline.exceptions import TracklineException

logger = logging.getLogger(__name__)

INTEGRATION = "pytorch"


@autologging_integration(INTEGRATION)
def autolog(
    log_every_n_epoch: int = 1,
    log_every_n_step: int | None = None,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
    checkpoint: bool = True,
    checkpoint_monitor: str | None = "val_loss",
    checkpoint_mode: str = "min",
    checkpoint_save_best_only: bool = True,
    checkpoint_save_weights_only: bool = False,
    checkpoint_save_freq: str | int = "epoch",
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
) -> None:
    """Enable (or ``disable=True``: disable) autologging of PyTorch Lightning training.

    Same options as ``mlflow.pytorch.autolog``. When the ``checkpoint_monitor`` metric never
    appears, the final state is logged as ``checkpoints/latest_checkpoint.pth``.
    """
    if not isinstance(log_every_n_epoch, int) or log_every_n_epoch < 1:
        raise TracklineException.invalid_parameter_value(
            f"log_every_n_epoch must be an integer >= 1, got {log_every_n_epoch!r}."
        )
    if log_every_n_step is not None and (
        not isinstance(log_every_n_step, int) or log_every_n_step < 1
    ):
        raise TracklineException.invalid_parameter_value(
            f"log_every_n_step must be None or an integer >= 1, got {log_every_n_step!r}."
        )
    if checkpoint_save_freq != "epoch" and (
        not isinstance(checkpoint_save_freq, int) or checkpoint_save_freq < 1
    ):
        raise TracklineException.invalid_parameter_value(
            "checkpoint_save_freq must be 'epoch' or a number of steps >= 1, "
            f"got {checkpoint_save_freq!r}."
        )
    if checkpoint_mode not in ("min", "max"):
        raise TracklineException.invalid_parameter_value(
            f"checkpoint_mode must be 'min' or 'max', got {checkpoint_mode!r}."
        )
    try:
        lightning_pytorch = importlib.import_module("lightning.pytorch")
    except ImportError:
        lightning_pytorch = None
    if lightning_pytorch is not None:
        safe_patch(INTEGRATION, lightning_pytorch.Trainer, "fit", _patched_fit, manage_run=True)
    elif importlib.util.find_spec("pytorch_lightning") is None:
        raise TracklineException.invalid_parameter_value(
            "trackline.pytorch.autolog() logs PyTorch Lightning training: install "
            "'lightning' (or 'pytorch-lightning')."
        )
    # The standalone pytorch_lightning package is patched when (if ever) it is imported, so
    # that enabling autologging does not import a second copy of Lightning.
    register_post_import_hook(_patch_standalone, "pytorch_lightning")


def _patch_standalone(module: Any) -> None:
    if autologging_is_disabled(INTEGRATION) or is_patched(module.Trainer, "fit"):
        return
    safe_patch(INTEGRATION, module.Trainer, "fit", _patched_fit, manage_run=True)


def _callback_base(trainer: Any) -> type:
    """``Callback`` of the Lightning package the trainer comes from."""
    package = type(trainer).__module__.split(".trainer")[0]
    return importlib.import_module(package).Callback


def _float_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    values = {}
    for key, value in metrics.items():
        if hasattr(value, "numel"):
            if value.numel() != 1:
                continue
            value = value.item()
        number = alu.as_metric_value(value)
        if number is not None:
            values[str(key)] = number
    return values


def _make_callback(trainer: Any, config: dict[str, Any]) -> Any:
    base = _callback_base(trainer)
    every_epoch = int(config.get("log_every_n_epoch") or 1)
    every_step = config.get("log_every_n_step")
    checkpoints = _Checkpoints(config)
    save_every = config.get("checkpoint_save_freq")

    class _TracklineLogging(base):  # type: ignore[misc, valid-type]
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            with autologging_step("logging params"):
                params: dict[str, Any] = {"epochs": trainer.max_epochs}
                hparams = getattr(pl_module, "hparams", None)
                if hparams:
                    params.update(dict(hparams))
                params.update(_optimizer_params(trainer))
                params.update(_early_stopping_params(trainer))
                alu.log_params(params)
            with autologging_step("logging model_summary.txt"):
                _log_summary(pl_module)

        def on_train_batch_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
            if every_step and trainer.global_step % every_step == 0:
                with autologging_step("logging step metrics"):
                    alu.log_metrics(
                        _float_metrics(trainer.callback_metrics), step=trainer.global_step
                    )
            if (
                config.get("checkpoint")
                and isinstance(save_every, int)
                and trainer.global_step % save_every == 0
            ):
                with autologging_step("logging a checkpoint"):
                    checkpoints.maybe_save(trainer, f"global_step_{trainer.global_step}")

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if (trainer.current_epoch + 1) % every_epoch == 0 or trainer.should_stop:
                with autologging_step("logging epoch metrics"):
                    alu.log_metrics(
                        _float_metrics(trainer.callback_metrics), step=trainer.current_epoch
                    )
            if config.get("checkpoint") and config.get("checkpoint_save_freq") == "epoch":
                with autologging_step("logging a checkpoint"):
                    checkpoints.maybe_save(trainer, f"epoch_{trainer.current_epoch}")

    callback = _TracklineLogging()
    callback.checkpoints = checkpoints  # type: ignore[attr-defined]
    return callback


class _Checkpoints:
    """Checkpoints as MLflow's autologger keeps them: with ``save_best_only`` the best so far
    by ``monitor`` (``checkpoints/latest_checkpoint.pth``), else one per epoch (or per
    ``checkpoint_save_freq`` steps) under ``checkpoints/<epoch_N|global_step_N>/``."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.monitor = config.get("checkpoint_monitor")
        self.mode = config.get("checkpoint_mode", "min")
        self.best_only = bool(config.get("checkpoint_save_best_only"))
        self.weights_only = bool(config.get("checkpoint_save_weights_only"))
        self.best: float | None = None
        self.saved = False

    def maybe_save(self, trainer: Any, label: str) -> None:
        metrics = _float_metrics(trainer.callback_metrics)
        if self.best_only:
            value = metrics.get(self.monitor) if self.monitor else None
            if value is None:
                logger.debug("checkpoint: %r is not among the logged metrics", self.monitor)
                return
            improved = (
                self.best is None
                or (self.mode == "min" and value < self.best)
                or (self.mode == "max" and value > self.best)
            )
            if not improved:
                return
            self.best = value
            self.save(trainer, "checkpoints", "latest_checkpoint", metrics)
        else:
            self.save(trainer, f"checkpoints/{label}", "checkpoint", metrics)

    def save(self, trainer: Any, folder: str, stem: str, metrics: dict[str, float]) -> None:
        from trackline.tracking import fluent

        client = fluent._client()
        run_id = alu.current_run_id()
        with tempfile.TemporaryDirectory(prefix="trackline-checkpoint-") as local:
            path = os.path.join(local, f"{stem}.pth")
            trainer.save_checkpoint(path, weights_only=self.weights_only)
            client.log_artifact(run_id, path, folder)
        described = {**metrics, "epoch": trainer.current_epoch, "global_step": trainer.global_step}
        client.log_text(run_id, json.dumps(described, indent=2), f"{folder}/{stem}_metrics.json")
        self.saved = True


def _optimizer_params(trainer: Any) -> dict[str, Any]:
    optimizers = list(getattr(trainer, "optimizers", None) or [])
    if not optimizers:
        return {}
    optimizer = optimizers[0]
    params: dict[str, Any] = {"optimizer_name": type(optimizer).__name__}
    params.update({k: v for k, v in getattr(optimizer, "defaults", {}).items() if not callable(v)})
    return params


def _early_stopping(trainer: Any) -> Any:
    return getattr(trainer, "early_stopping_callback", None)


def _early_stopping_params(trainer: Any) -> dict[str, Any]:
    stopping = _early_stopping(trainer)
    if stopping is None:
        return {}
    return {
        "monitor": stopping.monitor,
        "mode": stopping.mode,
        "patience": stopping.patience,
        "min_delta": abs(float(stopping.min_delta)),
    }


def _log_summary(pl_module: Any) -> None:
    from trackline.tracking import fluent

    try:
        from lightning.pytorch.utilities.model_summary import ModelSummary
    except ImportError:
        from pytorch_lightning.utilities.model_summary import ModelSummary
    text = str(ModelSummary(pl_module, max_depth=-1))
    fluent._client().log_text(alu.current_run_id(), text, "model_summary.txt")


def _patched_fit(original: Any, trainer: Any, *args: Any, **kwargs: Any) -> Any:
    session = active_session()
    config = session.config if session is not None else {}
    callback = None
    with autologging_step("adding the logging callback"):
        callback = _make_callback(trainer, config)
        trainer.callbacks.append(callback)
    try:
        result = original(trainer, *args, **kwargs)
    finally:
        if callback is not None:
            with contextlib.suppress(ValueError):
                trainer.callbacks.remove(callback)  # the trainer is left as the user made it

    stopping = _early_stopping(trainer)
    if stopping is not None:
        with autologging_step("logging early stopping"):
            alu.log_metrics(
                {
                    "stopped_epoch": stopping.stopped_epoch,
                    "restored_epoch": max(0, stopping.stopped_epoch - stopping.patience),
                    "wait_count": stopping.wait_count,
                }
            )
    if config.get("checkpoint") and callback is not None and not callback.checkpoints.saved:
        # Nothing qualified (no such monitor metric): keep the final state at least.
        with autologging_step("logging the checkpoint"):
            callback.checkpoints.save(
                trainer,
                "checkpoints",
                "latest_checkpoint",
                _float_metrics(trainer.callback_metrics),
            )
    if config.get("log_models"):
        with autologging_step("logging the model"):
            _log_model(trainer, args, kwargs, config)
    return result


def _first_features(trainer: Any, args: tuple, kwargs: dict) -> Any:
    """The inputs of the first training batch as a numpy array, or None."""
    loader = kwargs.get("train_dataloaders") or (args[1] if len(args) > 1 else None)
    if loader is None:
        loader = getattr(trainer, "train_dataloader", None)
    if loader is None or not hasattr(loader, "__iter__"):
        return None
    batch = next(iter(loader))
    if isinstance(batch, (list, tuple)) and batch:
        batch = batch[0]
    return batch.detach().cpu().numpy() if hasattr(batch, "detach") else None


def _log_model(trainer: Any, args: tuple, kwargs: dict, config: dict[str, Any]) -> None:
    import torch

    from trackline_pytorch.flavor import log_model

    module = trainer.lightning_module
    signature, example = (False, None)
    features = None
    if config.get("log_input_examples") or config.get("log_model_signatures"):
        with autologging_step("reading an input example"):
            features = _first_features(trainer, args, kwargs)
    if features is not None:

        def predict(array: Any) -> Any:
            with torch.no_grad():
                return module(torch.as_tensor(array)).detach().cpu().numpy()

        signature, example = alu.model_signature_and_example(
            features,
            predict,
            bool(config.get("log_input_examples")),
            bool(config.get("log_model_signatures")),
        )
    log_model(
        module,
        name="model",
        serialization_format="pickle",
        signature=signature,
        input_example=example,
        registered_model_name=config.get("registered_model_name"),
    )
