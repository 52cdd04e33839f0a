"""Post-training metrics: ``sklearn.metrics`` calls on predictions of an autologged model.

After an autologged ``fit``, the estimator is remembered with its run. Its ``predict``,
``predict_proba`` and ``decision_function`` outputs are remembered with the name of the
variable that held the input (``X_test``). When one of those outputs is passed to a metric
function of ``sklearn.metrics``, the metric is logged to the model's run as
``<metric>_<dataset>`` (``accuracy_score_X_test``; a second call with the same name is
``accuracy_score-2_X_test``), as MLflow does; ``model.score(X, y)`` is logged as
``<EstimatorClass>_score_<dataset>``. ``metric_info.json`` records each call.
"""

from __future__ import annotations

import functools
import sys
import threading
import weakref
from typing import Any

from trackline.autologging import autologging_step, safe_patch

INTEGRATION = "sklearn"
PREDICT_METHODS = ("predict", "predict_proba", "decision_function")
METRICS = (
    "accuracy_score",
    "balanced_accuracy_score",
    "precision_score",
    "recall_score",
    "f1_score",
    "fbeta_score",
    "log_loss",
    "roc_auc_score",
    "mean_squared_error",
    "root_mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "median_absolute_error",
    "r2_score",
    "explained_variance_score",
    "max_error",
)
_PREDICTION_ARGUMENTS = ("y_pred", "y_score", "y_prob", "y_proba", "probas_pred")

_PRUNE_AT = 256
_lock = threading.Lock()
_model_runs: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
# id(prediction) -> (weak reference to it, run id, dataset name)
_predictions: dict[int, tuple[Any, str, str]] = {}
_metric_names: dict[str, dict[str, int]] = {}  # run id -> metric name -> calls so far
_metric_info: dict[str, dict[str, str]] = {}  # run id -> metric key -> call


def remember_model(estimator: Any, run_id: str) -> None:
    """Called after an autologged fit: predictions of ``estimator`` belong to ``run_id``."""
    with _lock:
        _model_runs[estimator] = run_id


def patch(owners_and_methods: list[tuple[type, str]]) -> None:
    import sklearn.metrics

    for owner, method in owners_and_methods:
        safe_patch(INTEGRATION, owner, method, functools.partial(_patched_predict, method))
    for name in METRICS:
        if callable(getattr(sklearn.metrics, name, None)):
            safe_patch(INTEGRATION, sklearn.metrics, name, _make_metric_patch(name))


def prediction_methods() -> list[tuple[type, str]]:
    from sklearn.utils import all_estimators

    seen: list[tuple[type, str]] = []
    for _, estimator_class in all_estimators():
        for method in (*PREDICT_METHODS, "score"):
            owner = next((k for k in estimator_class.__mro__ if method in vars(k)), None)
            if owner is None or (owner, method) in seen:
                continue
            if owner.__module__.startswith("sklearn."):
                seen.append((owner, method))
    return seen


def _dataset_name(value: Any) -> str:
    """The name of the caller's variable holding ``value`` (``unknown_dataset`` if none)."""
    frame = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("trackline", "sklearn", "functools", "contextlib")):
            for name, candidate in frame.f_locals.items():
                if candidate is value and not name.startswith("_"):
                    return name
            return "unknown_dataset"
        frame = frame.f_back
    return "unknown_dataset"


def _patched_predict(method: str, original: Any, estimator: Any, *args: Any, **kwargs: Any) -> Any:
    result = original(estimator, *args, **kwargs)
    with _lock:
        run_id = _model_runs.get(estimator)
    if run_id is None:
        return result
    X = args[0] if args else kwargs.get("X")
    with autologging_step("recording predictions for post-training metrics"):
        dataset = _dataset_name(X)
        if method == "score":
            _log(
                run_id,
                f"{type(estimator).__name__}_score",
                dataset,
                result,
                f"{type(estimator).__name__}.score({dataset}, ...)",
            )
        else:
            try:
                reference = weakref.ref(result)
            except TypeError:  # a list or tuple: cannot be recognised later, not recorded
                return result
            with _lock:
                if len(_predictions) >= _PRUNE_AT:  # forget predictions that no longer exist
                    for key in [k for k, v in _predictions.items() if v[0]() is None]:
                        del _predictions[key]
                _predictions[id(result)] = (reference, run_id, dataset)
    return result


def _make_metric_patch(metric_name: str) -> Any:
    def patched_metric(original: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        with autologging_step(f"logging the post-training metric {metric_name}"):
            prediction = kwargs.get(next((k for k in _PREDICTION_ARGUMENTS if k in kwargs), ""))
            if prediction is None and len(args) > 1:
                prediction = args[1]
            with _lock:
                entry = _predictions.get(id(prediction))
            if entry is not None and entry[0]() is prediction:
                _, run_id, dataset = entry
                _log(run_id, metric_name, dataset, result, f"{metric_name}(y_true, y_pred)")
        return result

    return patched_metric


def _log(run_id: str, metric_name: str, dataset: str, value: Any, call: str) -> None:
    from trackline.autologging import utils as alu
    from trackline.tracking import fluent

    number = alu.as_metric_value(value)
    if number is None:
        return
    with _lock:
        counts = _metric_names.setdefault(run_id, {})
        counts[f"{metric_name}_{dataset}"] = counts.get(f"{metric_name}_{dataset}", 0) + 1
        index = counts[f"{metric_name}_{dataset}"]
        key = f"{metric_name}_{dataset}" if index == 1 else f"{metric_name}-{index}_{dataset}"
        info = _metric_info.setdefault(run_id, {})
        info[key] = call
        info_copy = dict(info)
    alu.log_metrics({key: number}, run_id=run_id)
    fluent._client().log_dict(run_id, info_copy, "metric_info.json")
