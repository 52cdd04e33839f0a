"""``trackline.sklearn.autolog()``: log scikit-learn training without changing it.

Patched: ``fit``, ``fit_transform`` and ``fit_predict`` of every scikit-learn estimator
(meta-estimators included). The outermost call logs; the fits it makes inside (Pipeline
steps, search candidates) log nothing of their own. Names follow MLflow's sklearn autolog:
params from ``get_params(deep=True)``, tags ``estimator_name``/``estimator_class``,
``training_*`` metrics, ``estimator.html``, the model as a logged model named ``model``,
and for parameter searches ``best_*`` params, ``best_cv_score``, ``cv_results.csv``, a
``best_estimator`` model and child runs for the best candidates.

scikit-learn is imported when autologging is enabled, never when this module is.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from typing import Any

from trackline.autologging import autologging_integration, autologging_step, safe_patch
from trackline.autologging import utils as alu
from trackline.exceptions import TracklineException

logger = logging.getLogger(__name__)

INTEGRATION = "sklearn"
FIT_METHODS = ("fit", "fit_transform", "fit_predict")


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
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "cloudpickle",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable (or ``disable=True``: disable) autologging of scikit-learn estimators.

    Same options as ``mlflow.sklearn.autolog``. ``max_tuning_runs`` limits the child runs of
    a parameter search to the best candidates (None: all). With
    ``log_post_training_metrics``, ``sklearn.metrics`` calls on predictions of an autologged
    model are logged to its run (see ``_post_training``).
    """
    from trackline_sklearn.flavor import SUPPORTED_SERIALIZATION_FORMATS

    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise TracklineException.invalid_parameter_value(
            f"Unknown serialization_format {serialization_format!r}: use one of "
            f"{', '.join(SUPPORTED_SERIALIZATION_FORMATS)}."
        )
    if max_tuning_runs is not None and (
        not isinstance(max_tuning_runs, int)
        or isinstance(max_tuning_runs, bool)
        or max_tuning_runs < 0
    ):
        raise TracklineException.invalid_parameter_value(
            f"max_tuning_runs must be None or an integer >= 0, got {max_tuning_runs!r}."
        )
    for owner, method in _fit_methods_to_patch():
        safe_patch(
            INTEGRATION, owner, method, functools.partial(_patched_fit, method), manage_run=True
        )
    if log_post_training_metrics:
        from trackline_sklearn import _post_training

        _post_training.patch(_post_training.prediction_methods())


def _fit_methods_to_patch() -> list[tuple[type, str]]:
    """(class, method) pairs where scikit-learn defines the fit methods of its estimators."""
    from sklearn.utils import all_estimators

    seen: list[tuple[type, str]] = []
    for _, estimator_class in all_estimators():
        for method in FIT_METHODS:
            owner = next((k for k in estimator_class.__mro__ if method in vars(k)), None)
            if owner is None or (owner, method) in seen:
                continue
            if not owner.__module__.startswith("sklearn."):
                continue
            seen.append((owner, method))
    return seen


# -- the patch ------------------------------------------------------------------------------


def _fit_arguments(estimator: Any, method: str, args: tuple, kwargs: dict) -> dict[str, Any]:
    """X, y and sample_weight of a fit call, by name, whatever way they were passed."""
    function = getattr(type(estimator), method)
    try:
        bound = inspect.signature(function).bind(estimator, *args, **kwargs)
    except TypeError:
        return {}
    arguments = dict(bound.arguments)
    extra = arguments.pop("fit_params", None) or arguments.pop("params", None) or {}
    if isinstance(extra, dict):
        arguments.setdefault("sample_weight", extra.get("sample_weight"))
    return arguments


def _patched_fit(method: str, original: Any, estimator: Any, *args: Any, **kwargs: Any) -> Any:
    from trackline.autologging import active_session

    config = active_session().config  # type: ignore[union-attr]
    arguments = _fit_arguments(estimator, method, args, kwargs)
    X, y = arguments.get("X"), arguments.get("y")
    sample_weight = arguments.get("sample_weight")

    with autologging_step("logging the estimator's params and tags"):
        alu.log_params(_loggable_params(estimator))
        alu.log_tags(
            {
                "estimator_name": type(estimator).__name__,
                "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            }
        )
    if config.get("log_datasets") and X is not None:
        with autologging_step("logging the training dataset"):
            alu.log_dataset(X, y, context="train")

    result = original(estimator, *args, **kwargs)

    if y is not None:
        with autologging_step("logging training metrics"):
            alu.log_metrics(_training_metrics(estimator, X, y, sample_weight, config))
    with autologging_step("logging estimator.html"):
        _log_estimator_html(estimator)
    if y is not None and _is_classifier(estimator):
        with autologging_step("logging the training confusion matrix"):
            _log_confusion_matrix(estimator, X, y, sample_weight)
    if _is_search(estimator):
        _log_search_results(estimator, X, config)
    if config.get("log_models"):
        with autologging_step("logging the model"):
            _log_model(estimator, X, config, name="model")
    if config.get("log_post_training_metrics"):
        from trackline_sklearn import _post_training

        _post_training.remember_model(estimator, alu.current_run_id())
    return result


def _loggable_params(estimator: Any) -> dict[str, Any]:
    # As MLflow: nested params (``clf__C``) except for parameter searches, whose candidates
    # are described by the best_* params and the child runs instead.
    if _is_search_estimator(estimator):
        return dict(estimator.get_params(deep=False))
    try:
        return dict(estimator.get_params(deep=True))
    except Exception:
        return dict(estimator.get_params(deep=False))


def _is_classifier(estimator: Any) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(estimator))


def _is_regressor(estimator: Any) -> bool:
    from sklearn.base import is_regressor

    return bool(is_regressor(estimator))


def _is_search_estimator(estimator: Any) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


def _is_search(estimator: Any) -> bool:
    return _is_search_estimator(estimator) and hasattr(estimator, "cv_results_")


# -- metrics --------------------------------------------------------------------------------


def _metric(results: dict[str, float], name: str, compute: Any) -> None:
    """Compute one metric; one that does not apply to this data (one class…) is left out."""
    try:
        value = compute()
    except Exception as exc:
        logger.debug("training metric %s not computed: %s", name, exc)
        return
    if alu.as_metric_value(value) is not None:
        results[name] = float(value)


def _training_metrics(
    estimator: Any, X: Any, y: Any, sample_weight: Any, config: dict[str, Any]
) -> dict[str, float]:
    from sklearn import metrics as m

    results: dict[str, float] = {}
    if hasattr(estimator, "score"):
        _metric(
            results,
            "training_score",
            lambda: (
                estimator.score(X, y, sample_weight=sample_weight)
                if sample_weight is not None
                else estimator.score(X, y)
            ),
        )
    if not (_is_classifier(estimator) or _is_regressor(estimator)):
        return results
    if not hasattr(estimator, "predict"):
        return results
    try:
        predicted = estimator.predict(X)
    except Exception as exc:
        logger.debug("no training metrics: predict failed: %s", exc)
        return results
    w = {"sample_weight": sample_weight}
    if _is_classifier(estimator):
        classes = list(getattr(estimator, "classes_", []))
        binary = len(classes) == 2
        average_kwargs: dict[str, Any]
        if binary:
            pos_label = config.get("pos_label")
            average_kwargs = {
                "average": "binary",
                "pos_label": classes[-1] if pos_label is None else pos_label,
            }
        else:
            average_kwargs = {"average": "weighted"}
        _metric(results, "training_accuracy_score", lambda: m.accuracy_score(y, predicted, **w))
        for name, function in (
            ("training_precision_score", m.precision_score),
            ("training_recall_score", m.recall_score),
            ("training_f1_score", m.f1_score),
        ):
            _metric(
                results,
                name,
                functools.partial(function, y, predicted, **average_kwargs, **w),
            )
        if hasattr(estimator, "predict_proba"):
            try:
                proba = estimator.predict_proba(X)
            except Exception as exc:
                logger.debug("no probability metrics: predict_proba failed: %s", exc)
            else:
                _metric(
                    results,
                    "training_log_loss",
                    lambda: m.log_loss(y, proba, labels=classes, **w),
                )
                if binary:
                    _metric(
                        results, "training_roc_auc", lambda: m.roc_auc_score(y, proba[:, 1], **w)
                    )
                else:
                    _metric(
                        results,
                        "training_roc_auc",
                        lambda: m.roc_auc_score(
                            y, proba, multi_class="ovr", average="weighted", labels=classes, **w
                        ),
                    )
    else:
        mse: dict[str, float] = {}
        _metric(mse, "mse", lambda: m.mean_squared_error(y, predicted, **w))
        if "mse" in mse:
            results["training_mean_squared_error"] = mse["mse"]
            results["training_root_mean_squared_error"] = math.sqrt(mse["mse"])
        _metric(
            results,
            "training_mean_absolute_error",
            lambda: m.mean_absolute_error(y, predicted, **w),
        )
        _metric(results, "training_r2_score", lambda: m.r2_score(y, predicted, **w))
    return results


# -- artifacts ------------------------------------------------------------------------------


def _log_estimator_html(estimator: Any) -> None:
    from sklearn.utils import estimator_html_repr
    from trackline.tracking import fluent

    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        f"{estimator_html_repr(estimator)}</body></html>"
    )
    fluent._client().log_text(alu.current_run_id(), page, "estimator.html")


def _log_confusion_matrix(estimator: Any, X: Any, y: Any, sample_weight: Any) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return  # matplotlib is optional: no plot, nothing to warn about
    from sklearn.metrics import ConfusionMatrixDisplay
    from trackline.tracking import fluent

    figure = Figure(figsize=(5, 4))
    axes = figure.add_subplot()
    ConfusionMatrixDisplay.from_predictions(
        y, estimator.predict(X), sample_weight=sample_weight, ax=axes, colorbar=False
    )
    axes.set_title("Training confusion matrix")
    fluent._client().log_figure(alu.current_run_id(), figure, "training_confusion_matrix.png")
    classes = list(getattr(estimator, "classes_", []))
    if len(classes) == 2 and hasattr(estimator, "predict_proba"):
        _log_binary_curves(estimator, X, y, sample_weight, classes[-1])


def _log_binary_curves(estimator: Any, X: Any, y: Any, sample_weight: Any, pos_label: Any) -> None:
    """``training_roc_curve.png`` and ``training_precision_recall_curve.png``."""
    from matplotlib.figure import Figure
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay
    from trackline.tracking import fluent

    scores = estimator.predict_proba(X)[:, 1]
    for display, file in (
        (RocCurveDisplay, "training_roc_curve.png"),
        (PrecisionRecallDisplay, "training_precision_recall_curve.png"),
    ):
        figure = Figure(figsize=(5, 4))
        axes = figure.add_subplot()
        display.from_predictions(
            y, scores, sample_weight=sample_weight, pos_label=pos_label, ax=axes
        )
        fluent._client().log_figure(alu.current_run_id(), figure, file)


def _log_model(estimator: Any, X: Any, config: dict[str, Any], name: str) -> None:
    from trackline_sklearn.flavor import log_model

    if not callable(getattr(estimator, "predict", None)):
        logger.debug("%s has no predict(): the model is not logged", type(estimator).__name__)
        return
    signature, example = alu.model_signature_and_example(
        X,
        estimator.predict,
        bool(config.get("log_input_examples")),
        bool(config.get("log_model_signatures")),
    )
    log_model(
        estimator,
        name=name,
        serialization_format=config.get("serialization_format", "cloudpickle"),
        signature=signature,
        input_example=example,
        registered_model_name=config.get("registered_model_name") if name == "model" else None,
    )


# -- parameter search -----------------------------------------------------------------------


def _log_search_results(search: Any, X: Any, config: dict[str, Any]) -> None:
    if hasattr(search, "best_params_"):
        with autologging_step("logging the best params"):
            alu.log_params({f"best_{k}": v for k, v in search.best_params_.items()})
    if hasattr(search, "best_score_"):
        with autologging_step("logging best_cv_score"):
            alu.log_metrics({"best_cv_score": search.best_score_})
    with autologging_step("logging cv_results.csv"):
        import pandas as pd
        from trackline.tracking import fluent

        table = pd.DataFrame(search.cv_results_)
        fluent._client().log_text(alu.current_run_id(), table.to_csv(index=False), "cv_results.csv")
    with autologging_step("logging child runs of the parameter search"):
        _log_child_runs(search, config.get("max_tuning_runs", 5))
    if config.get("log_models") and hasattr(search, "best_estimator_"):
        with autologging_step("logging the best_estimator model"):
            _log_model(search.best_estimator_, X, config, name="best_estimator")


def _ranking_key(search: Any) -> str | None:
    results = search.cv_results_
    refit = search.refit
    if isinstance(refit, str) and f"rank_test_{refit}" in results:
        return f"rank_test_{refit}"
    return "rank_test_score" if "rank_test_score" in results else None


def _log_child_runs(search: Any, max_tuning_runs: int | None) -> None:
    """One child run per candidate, best first, at most ``max_tuning_runs`` of them."""
    from trackline.autologging import AUTOLOGGING_TAG
    from trackline.entities import Metric, Param
    from trackline.tracking import fluent
    from trackline.tracking.client import PARENT_RUN_ID_TAG, now_ms

    results = search.cv_results_
    count = len(results["params"])
    ranking = _ranking_key(search)
    order = list(range(count))
    if ranking is not None:
        order.sort(key=lambda i: (results[ranking][i], i))
    if max_tuning_runs is not None:
        order = order[:max_tuning_runs]
    parent = fluent.active_run()
    if parent is None:
        return
    client = fluent._client()
    base = search.estimator
    base_params = _loggable_params(base)
    # The summary columns, as MLflow logs them (not the split<i>_… columns).
    metric_keys = [k for k in results if k.startswith(("mean_", "std_", "rank_"))]
    timestamp = now_ms()
    for index in order:
        child = client.create_run(
            parent.info.experiment_id,
            tags={
                PARENT_RUN_ID_TAG: parent.info.run_id,
                AUTOLOGGING_TAG: INTEGRATION,
                "estimator_name": type(base).__name__,
                "estimator_class": f"{type(base).__module__}.{type(base).__qualname__}",
            },
        )
        params = {**base_params, **results["params"][index]}
        metrics = []
        for key in metric_keys:
            value = alu.as_metric_value(results[key][index])
            if value is not None:
                metrics.append(Metric(key, value, timestamp, 0))
        client.log_batch(
            child.info.run_id,
            metrics=metrics,
            params=[Param(str(k), str(v)[:6000]) for k, v in params.items() if len(str(k)) <= 250],
        )
        client.set_terminated(child.info.run_id, "FINISHED")
