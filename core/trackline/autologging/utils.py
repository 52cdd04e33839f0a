"""Helpers that autologgers share: logging into the autologging run, within MLflow's limits.

Every helper logs into the active run (the one the patched call started or found) and is
meant to be called inside :func:`trackline.autologging.autologging_step`, so that a failure
becomes part of the call's single warning instead of an exception in the user's code.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

from trackline.autologging._core import active_session
from trackline.entities import Metric, Param, RunTag
from trackline.validation import MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH

logger = logging.getLogger("trackline.autologging")

INPUT_EXAMPLE_ROWS = 5


def _note(message: str) -> None:
    session = active_session()
    if session is not None:
        session.notes.append(message)
    else:
        logger.warning(message)


def current_run_id() -> str:
    """The id of the run autologging writes to (starting one if none is active)."""
    from trackline.tracking import fluent

    run = fluent.active_run() or fluent.start_run()
    return run.info.run_id


def _client() -> Any:
    from trackline.tracking import fluent

    return fluent._client()


def _as_text(key: str, value: Any, limit: int, kind: str) -> str | None:
    try:
        text = str(value)
    except Exception as exc:  # a __str__ that raises: the value cannot be logged
        _note(f"{kind} {key!r} was not logged: str() failed ({type(exc).__name__}: {exc})")
        return None
    if len(text) > limit:
        _note(f"{kind} {key!r} was truncated to {limit} characters")
        text = text[:limit]
    return text


def log_params(params: Mapping[str, Any], run_id: str | None = None) -> None:
    """Log ``params`` as strings: values longer than MLflow's limit are truncated, keys too
    long (or values that cannot be turned into text) are left out; each case is noted in the
    call's warning."""
    batch = []
    for key, value in params.items():
        key = str(key)
        if len(key) > MAX_ENTITY_KEY_LENGTH:
            _note(f"param {key[:40]!r}… was not logged: its name is longer than 250 characters")
            continue
        text = _as_text(key, value, MAX_PARAM_VAL_LENGTH, "param")
        if text is not None:
            batch.append(Param(key, text))
    if batch:
        _client().log_batch(run_id or current_run_id(), params=batch)


def log_tags(tags: Mapping[str, Any], run_id: str | None = None) -> None:
    batch = []
    for key, value in tags.items():
        text = _as_text(str(key), value, MAX_TAG_VAL_LENGTH, "tag")
        if text is not None:
            batch.append(RunTag(str(key), text))
    if batch:
        _client().log_batch(run_id or current_run_id(), tags=batch)


def as_metric_value(value: Any) -> float | None:
    """``value`` as a float if it is a real number (numpy scalars and 0-d arrays included)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if isinstance(value, bool):
        return float(value)
    return number


def log_metrics(
    metrics: Mapping[str, Any],
    step: int | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
) -> None:
    """Log the numeric entries of ``metrics`` (others are skipped) in one batch."""
    from trackline.tracking.client import now_ms

    ts = now_ms() if timestamp is None else timestamp
    batch = []
    for key, value in metrics.items():
        number = as_metric_value(value)
        if number is None:
            continue
        batch.append(Metric(str(key), number, ts, int(step or 0)))
    if batch:
        _client().log_batch(run_id or current_run_id(), metrics=batch)


def is_finite(value: Any) -> bool:
    number = as_metric_value(value)
    return number is not None and math.isfinite(number)


def input_example_of(data: Any, rows: int = INPUT_EXAMPLE_ROWS) -> Any:
    """The first ``rows`` rows of a DataFrame, array, sparse matrix or list (None otherwise)."""
    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.iloc[:rows]
    try:
        return data[:rows]
    except Exception:
        return None


def log_dataset(features: Any, targets: Any = None, context: str = "train") -> None:
    """Record ``features`` (and ``targets``) as a dataset input of the run (digest, schema,
    source and profile; the data itself is not copied)."""
    from trackline import data as tracked_data
    from trackline.tracking import fluent

    if features is None:
        return
    if hasattr(features, "iloc") and hasattr(features, "columns"):
        dataset = tracked_data.from_pandas(features)
    else:
        import numpy as np

        array = np.asarray(features)
        if array.dtype == object:
            return  # not an array of values (a list of documents, say): nothing to describe
        target_array = None if targets is None else np.asarray(targets)
        dataset = tracked_data.from_numpy(array, targets=target_array)
    fluent.log_input(dataset, context=context)


def model_signature_and_example(
    features: Any,
    predict: Callable[[Any], Any] | None,
    log_input_examples: bool,
    log_model_signatures: bool,
) -> tuple[Any, Any]:
    """``(signature, input_example)`` to pass to a flavor's ``log_model``.

    The signature is inferred from the first rows of the training input and the model's
    predictions on them; ``False`` when signatures are not wanted (so that the flavor does
    not infer one from the example either).
    """
    from trackline.models.signature import infer_signature

    example = input_example_of(features)
    signature: Any = False
    if log_model_signatures and example is not None:
        try:
            output = predict(example) if predict is not None else None
            signature = infer_signature(example, output)
        except Exception as exc:
            _note(f"no model signature ({type(exc).__name__}: {exc})")
            signature = False
    return signature, example if log_input_examples else None


def log_feature_importance(importance: Mapping[str, float], importance_type: str) -> None:
    """``feature_importance_<type>.json`` (feature → value) and, with matplotlib installed, a
    bar chart ``feature_importance_<type>.png``, as MLflow's XGBoost/LightGBM autologgers."""
    from trackline.tracking import fluent

    values = {str(k): float(v) for k, v in importance.items()}
    run_id = current_run_id()
    client = fluent._client()
    client.log_dict(run_id, values, f"feature_importance_{importance_type}.json")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return
    ordered = sorted(values.items(), key=lambda item: item[1])
    figure = Figure(figsize=(6, max(2.0, 0.3 * len(ordered) + 1)))
    axes = figure.add_subplot()
    axes.barh([name for name, _ in ordered], [value for _, value in ordered])
    axes.set_title(f"Feature importance ({importance_type})")
    figure.tight_layout()
    client.log_figure(run_id, figure, f"feature_importance_{importance_type}.png")


def log_metric_history(history: Mapping[str, Mapping[str, Any]], run_id: str | None = None) -> None:
    """Log per-iteration evaluation results ``{dataset: {metric: [v0, v1, …]}}`` as metrics
    ``<dataset>-<metric>`` with the iteration as step (the shape of XGBoost's and LightGBM's
    ``evals_result``)."""
    from trackline.tracking.client import now_ms

    timestamp = now_ms()
    batch = []
    for dataset, metrics in history.items():
        for metric, values in metrics.items():
            for step, value in enumerate(values):
                number = as_metric_value(value)
                if number is not None:
                    batch.append(Metric(f"{dataset}-{metric}", number, timestamp, step))
    if batch:
        _client().log_batch(run_id or current_run_id(), metrics=batch)


def fit_over_patched_train(
    original: Callable[..., Any],
    model: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    config: Mapping[str, Any],
    log_from_fitted_model: Callable[[Any, dict[str, Any]], None],
    log_model: Callable[[Any, Any], None],
) -> Any:
    """The patched ``fit`` of a boosting library's scikit-learn API whose ``fit`` calls the
    library's (also patched) ``train``, as XGBoost's and LightGBM's do.

    The training dataset (``X``, ``y``) is logged here, when ``log_datasets`` is on; params,
    evaluation metrics and feature importance are logged by the ``train`` underneath, or, if
    ``fit`` did not go through it, by ``log_from_fitted_model(model, kwargs)``; then
    ``log_model(model, X)`` when ``log_models`` is on. A ``fit`` called from a subclass's
    ``fit`` logs nothing itself: the outer one does.
    """
    from trackline.autologging._core import autologging_step

    session = active_session()
    if session is not None and session.nested:
        # A subclass's fit() calling its base's: the outer fit logs; pass the turn on to
        # the train() underneath.
        with session.log_inner_call():
            return original(model, *args, **kwargs)
    try:
        bound = inspect.signature(type(model).fit).bind(model, *args, **kwargs)
        X, y = bound.arguments.get("X"), bound.arguments.get("y")
    except TypeError:
        X = y = None
    if config.get("log_datasets") and X is not None:
        with autologging_step("logging the training dataset"):
            log_dataset(X, y, context="train")

    session = active_session()
    if session is None:
        result = original(model, *args, **kwargs)
    else:
        # As MLflow: the train() that fit() calls logs params, eval metrics and importance.
        with session.log_inner_call():
            result = original(model, *args, **kwargs)
    if session is None or not session.nested_calls:
        log_from_fitted_model(model, kwargs)
    if config.get("log_models"):
        with autologging_step("logging the model"):
            log_model(model, X)
    return result
