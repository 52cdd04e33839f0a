"""``trackline.xgboost.autolog()``: log XGBoost training without changing it.

Patched: ``xgboost.train`` and ``fit`` of the scikit-learn API models (``XGBClassifier``…).
Logged as MLflow's XGBoost autologger does: the training params, the evaluation metrics of
every iteration as ``<eval name>-<metric>`` with the iteration as step (live, through a
callback, for ``xgboost.train``; from ``evals_result()`` for ``fit``), ``best_iteration`` and
``stopped_iteration`` under early stopping, ``feature_importance_<type>.json``/``.png``, and
the model (a logged model named ``model``).

XGBoost is imported when autologging is enabled, never when this module is.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from trackline.autologging import (
    active_session,
    autologging_integration,
    autologging_step,
    safe_patch,
)
from trackline.autologging import utils as alu
from trackline.exceptions import TracklineException

logger = logging.getLogger(__name__)

INTEGRATION = "xgboost"

# Arguments of xgboost.train that are data or code, not hyper-parameters.
_NOT_PARAMS = {
    "params",
    "dtrain",
    "evals",
    "obj",
    "feval",
    "evals_result",
    "xgb_model",
    "callbacks",
    "learning_rates",
}


@autologging_integration(INTEGRATION)
def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "xgb",
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable (or ``disable=True``: disable) autologging of XGBoost training.

    Same options as ``mlflow.xgboost.autolog``; ``importance_types`` defaults to
    ``["weight"]``. ``model_format`` is passed to ``log_model`` (``"xgb"`` means the flavor's
    default, UBJSON).
    """
    import xgboost

    for kind in importance_types or []:
        if kind not in ("weight", "gain", "cover", "total_gain", "total_cover"):
            raise TracklineException.invalid_parameter_value(
                f"Unknown importance type {kind!r}: use weight, gain, cover, total_gain or "
                "total_cover."
            )
    safe_patch(INTEGRATION, xgboost, "train", _patched_train, manage_run=True)
    safe_patch(INTEGRATION, xgboost.training, "train", _patched_train, manage_run=True)
    if "train" in vars(xgboost.sklearn):  # the name the scikit-learn API calls
        safe_patch(INTEGRATION, xgboost.sklearn, "train", _patched_train, manage_run=True)
    safe_patch(INTEGRATION, xgboost.sklearn.XGBModel, "fit", _patched_fit, manage_run=True)
    for model_class in (xgboost.XGBClassifier, xgboost.XGBRanker):
        if "fit" in vars(model_class):
            safe_patch(INTEGRATION, model_class, "fit", _patched_fit, manage_run=True)


def _config() -> dict[str, Any]:
    session = active_session()
    return session.config if session is not None else {}


def _metrics_callback() -> Any:
    """An XGBoost callback that logs the newest value of every eval metric per iteration."""
    import xgboost

    class _LogEvalMetrics(xgboost.callback.TrainingCallback):
        def __init__(self) -> None:
            super().__init__()
            self.failed = False

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if self.failed:
                return False
            with autologging_step("logging evaluation metrics"):
                try:
                    latest = {
                        f"{dataset}-{metric}": values[-1]
                        for dataset, metrics in evals_log.items()
                        for metric, values in metrics.items()
                        if values
                    }
                    alu.log_metrics(
                        {k: v[0] if isinstance(v, tuple) else v for k, v in latest.items()},
                        step=epoch,
                    )
                except Exception:
                    self.failed = True  # one failure is reported; no retry every iteration
                    raise
            return False  # never ask XGBoost to stop

    return _LogEvalMetrics()


def _patched_train(original: Any, *args: Any, **kwargs: Any) -> Any:
    import xgboost

    config = _config()
    try:
        bound = inspect.signature(xgboost.train).bind(*args, **kwargs)
    except TypeError:
        return original(*args, **kwargs)  # XGBoost reports the bad call itself
    bound.apply_defaults()  # MLflow logs the defaults of train's arguments too
    arguments = bound.arguments
    session = active_session()
    with autologging_step("logging params"):
        params = dict(arguments.get("params") or {})
        params.update({k: v for k, v in arguments.items() if k not in _NOT_PARAMS})
        alu.log_params(params)
    if arguments.get("evals"):
        # callbacks is keyword-only; the user's list is copied, never changed.
        kwargs = {**kwargs, "callbacks": [*(arguments.get("callbacks") or []), _metrics_callback()]}

    booster = original(*args, **kwargs)

    with autologging_step("logging early stopping"):
        _log_early_stopping(booster, arguments.get("early_stopping_rounds"))
    _log_importance(booster, config)
    if config.get("log_models") and not (session is not None and session.nested):
        with autologging_step("logging the model"):
            _log_model(booster, None, config)  # fit() logs its own model instead
    return booster


def _patched_fit(original: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
    config = _config()
    return alu.fit_over_patched_train(
        original,
        model,
        args,
        kwargs,
        config=config,
        log_from_fitted_model=lambda fitted, _kwargs: _log_from_fitted_model(fitted, config),
        log_model=lambda fitted, X: _log_model(fitted, X, config),
    )


def _log_from_fitted_model(model: Any, config: dict[str, Any]) -> None:
    """What train() would have logged, read from the fitted model (when fit() did not go
    through the patched train())."""
    with autologging_step("logging params"):
        alu.log_params(model.get_params(deep=False))
    with autologging_step("logging evaluation metrics"):
        try:
            history = model.evals_result()
        except Exception:  # no eval_set: nothing was evaluated
            history = {}
        alu.log_metric_history(history)
    booster = model.get_booster()
    with autologging_step("logging early stopping"):
        _log_early_stopping(booster, getattr(model, "early_stopping_rounds", None))
    _log_importance(booster, config)


def _log_early_stopping(booster: Any, early_stopping_rounds: Any) -> None:
    if not early_stopping_rounds:
        return
    best = getattr(booster, "best_iteration", None)
    metrics = {"stopped_iteration": booster.num_boosted_rounds() - 1}
    if best is not None:
        metrics["best_iteration"] = best
    alu.log_metrics(metrics)


def _log_importance(booster: Any, config: dict[str, Any]) -> None:
    for kind in config.get("importance_types") or ["weight"]:
        with autologging_step(f"logging feature importance ({kind})"):
            alu.log_feature_importance(booster.get_score(importance_type=kind), kind)


def _log_model(model: Any, X: Any, config: dict[str, Any]) -> None:
    from trackline_xgboost.flavor import log_model

    signature, example = (False, None)
    if X is not None:
        signature, example = alu.model_signature_and_example(
            X,
            model.predict,
            bool(config.get("log_input_examples")),
            bool(config.get("log_model_signatures")),
        )
    model_format = config.get("model_format", "xgb")
    extra = {} if model_format in (None, "xgb") else {"model_format": model_format}
    log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        registered_model_name=config.get("registered_model_name"),
        **extra,
    )
