"""``trackline.lightgbm.autolog()``: log LightGBM training without changing it.

Patched: ``lightgbm.train`` and ``fit`` of the scikit-learn API models (``LGBMClassifier``…).
Logged as MLflow's LightGBM autologger does: the training params, the evaluation metrics of
every iteration as ``<valid name>-<metric>`` with the iteration as step (live, through a
callback, for ``lightgbm.train``; from ``evals_result_`` for ``fit``), ``best_iteration`` and
``stopped_iteration`` under early stopping, ``feature_importance_split``/``_gain`` as JSON and
plot, and the model (a logged model named ``model``).

LightGBM is imported when autologging is enabled, never when this module is.
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

logger = logging.getLogger(__name__)

INTEGRATION = "lightgbm"
IMPORTANCE_TYPES = ("split", "gain")

# Arguments of lightgbm.train that are data or code, not hyper-parameters.
_NOT_PARAMS = {
    "params",
    "train_set",
    "valid_sets",
    "valid_names",
    "feval",
    "init_model",
    "callbacks",
    "evals_result",
    "learning_rates",
}


@autologging_integration(INTEGRATION)
def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable (or ``disable=True``: disable) autologging of LightGBM training (the options
    of ``mlflow.lightgbm.autolog``)."""
    import lightgbm

    safe_patch(INTEGRATION, lightgbm, "train", _patched_train, manage_run=True)
    safe_patch(INTEGRATION, lightgbm.engine, "train", _patched_train, manage_run=True)
    if "train" in vars(lightgbm.sklearn):  # the name the scikit-learn API calls
        safe_patch(INTEGRATION, lightgbm.sklearn, "train", _patched_train, manage_run=True)
    for model_class in (
        lightgbm.LGBMModel,
        lightgbm.LGBMClassifier,
        lightgbm.LGBMRegressor,
        lightgbm.LGBMRanker,
    ):
        if "fit" in vars(model_class):
            safe_patch(INTEGRATION, model_class, "fit", _patched_fit, manage_run=True)


def _config() -> dict[str, Any]:
    session = active_session()
    return session.config if session is not None else {}


class _LogEvalMetrics:
    """A LightGBM callback: logs every evaluation result of an iteration at that step."""

    order = 1000  # after the user's callbacks (early stopping raises before us)

    def __init__(self) -> None:
        self.failed = False

    def __call__(self, env: Any) -> None:
        if self.failed or not env.evaluation_result_list:
            return
        with autologging_step("logging evaluation metrics"):
            try:
                alu.log_metrics(
                    {f"{item[0]}-{item[1]}": item[2] for item in env.evaluation_result_list},
                    step=env.iteration - env.begin_iteration,
                )
            except Exception:
                self.failed = True  # reported once, not retried every iteration
                raise


def _patched_train(original: Any, *args: Any, **kwargs: Any) -> Any:
    import lightgbm

    config = _config()
    try:
        bound = inspect.signature(lightgbm.train).bind(*args, **kwargs)
    except TypeError:
        return original(*args, **kwargs)  # LightGBM reports the bad call itself
    bound.apply_defaults()  # MLflow logs the defaults of train's arguments too
    arguments = dict(bound.arguments)
    session = active_session()
    with autologging_step("logging params"):
        params = dict(arguments.get("params") or {})
        params.update({k: v for k, v in arguments.items() if k not in _NOT_PARAMS})
        alu.log_params(params)
    train_set = arguments.get("train_set")
    raw = getattr(train_set, "data", None)
    nested = session is not None and session.nested  # fit() logs its dataset and model
    if (
        config.get("log_datasets")
        and not nested
        and raw is not None
        and not isinstance(raw, (str, bytes))
    ):
        with autologging_step("logging the training dataset"):
            alu.log_dataset(raw, getattr(train_set, "label", None), context="train")
    if arguments.get("valid_sets"):
        # The user's callback list is copied, never changed.
        arguments["callbacks"] = [*(arguments.get("callbacks") or []), _LogEvalMetrics()]
    params_given = arguments.get("params") or {}

    booster = original(**arguments)

    with autologging_step("logging early stopping"):
        _log_early_stopping(booster, params_given, arguments.get("callbacks"))
    _log_importance(booster)
    if config.get("log_models") and not nested:
        with autologging_step("logging the model"):
            _log_model(booster, None, config)
    return booster


def _patched_fit(original: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
    config = _config()
    return alu.fit_over_patched_train(
        original,
        model,
        args,
        kwargs,
        config=config,
        log_from_fitted_model=_log_from_fitted_model,
        log_model=lambda fitted, X: _log_model(fitted, X, config),
    )


def _log_from_fitted_model(model: Any, kwargs: dict[str, Any]) -> None:
    """What train() would have logged, read from the fitted model (when fit() did not go
    through the patched train())."""
    with autologging_step("logging params"):
        alu.log_params(model.get_params(deep=False))
    with autologging_step("logging evaluation metrics"):
        alu.log_metric_history(getattr(model, "evals_result_", None) or {})
    with autologging_step("logging early stopping"):
        _log_early_stopping(model.booster_, model.get_params(), kwargs.get("callbacks"))
    _log_importance(model.booster_)


def _early_stopping_asked(params: dict[str, Any], callbacks: Any) -> bool:
    aliases = (
        "early_stopping_round",
        "early_stopping_rounds",
        "early_stopping",
        "n_iter_no_change",
    )
    if any(params.get(name) for name in aliases):
        return True
    return any(type(c).__name__ == "_EarlyStoppingCallback" for c in callbacks or [])


def _log_early_stopping(booster: Any, params: dict[str, Any], callbacks: Any) -> None:
    if not _early_stopping_asked(params, callbacks):
        return
    alu.log_metrics(
        {
            "stopped_iteration": booster.current_iteration() - 1,
            "best_iteration": booster.best_iteration,
        }
    )


def _log_importance(booster: Any) -> None:
    names = booster.feature_name()
    for kind in IMPORTANCE_TYPES:
        with autologging_step(f"logging feature importance ({kind})"):
            values = booster.feature_importance(importance_type=kind)
            alu.log_feature_importance(dict(zip(names, values.tolist(), strict=True)), kind)


def _log_model(model: Any, X: Any, config: dict[str, Any]) -> None:
    from trackline_lightgbm.flavor import log_model

    signature, example = (False, None)
    if X is not None:
        signature, example = alu.model_signature_and_example(
            X,
            model.predict,
            bool(config.get("log_input_examples")),
            bool(config.get("log_model_signatures")),
        )
    log_model(
        model,
        name="model",
        signature=signature,
        input_example=example,
        registered_model_name=config.get("registered_model_name"),
    )
