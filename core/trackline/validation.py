"""Input rules shared by every store and entry point, with MLflow's limits.

Each check raises ``TracklineException`` with INVALID_PARAMETER_VALUE and a message that names
the field and the rule. Stores call these *before* writing anything, so a rejected request
leaves the store as it was.
"""

from __future__ import annotations

import numbers
import os
import posixpath
import re
import warnings
from collections.abc import Sequence

from trackline.entities import Dataset, DatasetInput, Metric, Param, RunTag
from trackline.exceptions import TracklineException

MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_ARTIFACT_LOCATION_LENGTH = 2048
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 36
MAX_DATASET_SOURCE_LENGTH = 65535
MAX_DATASET_SCHEMA_LENGTH = 1048575
MAX_DATASET_PROFILE_LENGTH = 16777215
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500
MAX_SEARCH_RESULTS = 50000

_KEY_RE = re.compile(r"^[/\w.\- :]*$")
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_EXPERIMENT_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,63}$")


def _invalid(message: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(message)


def truncate_long_values() -> bool:
    """Whether over-long param/tag values are cut (MLflow's default) rather than refused."""
    raw = os.environ.get("TRACKLINE_TRUNCATE_LONG_VALUES") or os.environ.get(
        "MLFLOW_TRUNCATE_LONG_VALUES", "true"
    )
    return raw.strip().lower() in ("1", "true", "yes")


def validate_key(key: object, kind: str) -> str:
    """A metric, param or tag key: allowed characters, path-unique, at most 250 chars."""
    if key is None or key == "":
        raise _invalid(f"Missing value for required parameter '{kind} key'.")
    if not isinstance(key, str):
        raise _invalid(f"Invalid {kind} key {key!r}: keys must be strings.")
    if not _KEY_RE.match(key):
        raise _invalid(
            f"Invalid {kind} key {key!r}: names may only contain alphanumerics, underscores (_), "
            "dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)."
        )
    normalised = posixpath.normpath(key)
    if normalised != key or key == "." or key.startswith("..") or key.startswith("/"):
        raise _invalid(
            f"Invalid {kind} key {key!r}: names cannot resolve to another path. "
            f"This name would resolve to {normalised!r}."
        )
    if len(key) > MAX_ENTITY_KEY_LENGTH:
        raise _invalid(
            f"Invalid {kind} key of length {len(key)}: keys may be at most "
            f"{MAX_ENTITY_KEY_LENGTH} characters."
        )
    return key


def _check_value_length(value: str, limit: int, kind: str, key: str) -> str:
    if len(value) <= limit:
        return value
    if truncate_long_values():
        warnings.warn(
            f"The {kind} value for key {key!r} has {len(value)} characters; it was truncated to "
            f"{limit} (set MLFLOW_TRUNCATE_LONG_VALUES=false to refuse instead).",
            stacklevel=4,
        )
        return value[:limit]
    raise _invalid(
        f"Invalid {kind} value for key {key!r}: {len(value)} characters, the limit is {limit}."
    )


def validate_param(param: Param) -> Param:
    validate_key(param.key, "param")
    value = "" if param.value is None else str(param.value)
    return Param(param.key, _check_value_length(value, MAX_PARAM_VAL_LENGTH, "param", param.key))


def validate_tag(tag: RunTag) -> RunTag:
    validate_key(tag.key, "tag")
    value = "" if tag.value is None else str(tag.value)
    return type(tag)(tag.key, _check_value_length(value, MAX_TAG_VAL_LENGTH, "tag", tag.key))


def validate_metric(metric: Metric) -> Metric:
    validate_key(metric.key, "metric")
    value = metric.value
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise _invalid(
            f"Invalid value {value!r} for metric {metric.key!r}: metric values must be numbers."
        )
    if isinstance(metric.timestamp, bool) or not isinstance(metric.timestamp, numbers.Integral):
        raise _invalid(
            f"Invalid timestamp {metric.timestamp!r} for metric {metric.key!r}: "
            "it must be an integer number of milliseconds."
        )
    if metric.timestamp < 0:
        raise _invalid(
            f"Invalid timestamp {metric.timestamp} for metric {metric.key!r}: it must be >= 0."
        )
    if isinstance(metric.step, bool) or not isinstance(metric.step, numbers.Integral):
        raise _invalid(
            f"Invalid step {metric.step!r} for metric {metric.key!r}: it must be an integer."
        )
    return metric


def validate_batch_limits(
    metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> None:
    if len(metrics) > MAX_METRICS_PER_BATCH:
        raise _invalid(
            f"A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics. "
            f"Got {len(metrics)} metrics. Split the batch into smaller ones."
        )
    if len(params) > MAX_PARAMS_TAGS_PER_BATCH:
        raise _invalid(
            f"A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} params. "
            f"Got {len(params)} params. Split the batch into smaller ones."
        )
    if len(tags) > MAX_PARAMS_TAGS_PER_BATCH:
        raise _invalid(
            f"A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} tags. "
            f"Got {len(tags)} tags. Split the batch into smaller ones."
        )
    total = len(metrics) + len(params) + len(tags)
    if total > MAX_ENTITIES_PER_BATCH:
        raise _invalid(
            f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} metrics, "
            f"params and tags in total. Got {total}."
        )


def validate_batch(
    metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> tuple[list[Metric], list[Param], list[RunTag]]:
    """Check a whole batch before any of it is written; return the cleaned elements."""
    validate_batch_limits(metrics, params, tags)
    clean_metrics = [validate_metric(m) for m in metrics]
    clean_params = [validate_param(p) for p in params]
    clean_tags = [validate_tag(t) for t in tags]
    keys = [p.key for p in clean_params]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise _invalid(
            f"Duplicate parameter keys have been submitted: {duplicates}. "
            "Log each parameter once per request."
        )
    return clean_metrics, clean_params, clean_tags


def param_conflict_message(run_id: str, conflicts: Sequence[tuple[str, str, str]]) -> str:
    """The message for re-logging params with new values: (key, old, new) triples."""
    parts = [
        f"Param with key={key!r} was already logged with value={old!r} for run ID={run_id!r}. "
        f"Attempted logging new value {new!r}."
        for key, old, new in conflicts
    ]
    return "Changing param values is not allowed. " + " ".join(parts)


def validate_experiment_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise _invalid(f"Invalid experiment name {name!r}: it must be a non-empty string.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise _invalid(
            f"Invalid experiment name of length {len(name)}: the limit is "
            f"{MAX_EXPERIMENT_NAME_LENGTH} characters."
        )
    return name


def validate_experiment_tag(tag: RunTag) -> RunTag:
    validate_key(tag.key, "experiment tag")
    value = "" if tag.value is None else str(tag.value)
    if len(value) > MAX_EXPERIMENT_TAG_VAL_LENGTH:
        raise _invalid(
            f"Invalid experiment tag value for key {tag.key!r}: {len(value)} characters, "
            f"the limit is {MAX_EXPERIMENT_TAG_VAL_LENGTH}."
        )
    return type(tag)(tag.key, value)


def validate_artifact_location(location: str | None) -> None:
    """An experiment's artifact location: bounded, and nothing a URI parser could re-read.

    A ``?`` or ``#`` would cut the run part off ``<location>/<run_id>/artifacts`` when the
    URI is parsed, pointing every run at the location itself.
    """
    if location is None:
        return
    if len(location) > MAX_ARTIFACT_LOCATION_LENGTH:
        raise _invalid(
            f"Invalid artifact location of length {len(location)}: the limit is "
            f"{MAX_ARTIFACT_LOCATION_LENGTH} characters."
        )
    if "\x00" in location or "?" in location or "#" in location:
        raise _invalid(
            f"Invalid artifact location {location!r}: it must not contain '?', '#' or NUL "
            "characters."
        )


def validate_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise _invalid(f"Invalid run ID {run_id!r}: it must match {_RUN_ID_RE.pattern}.")
    return run_id


def validate_experiment_id(experiment_id: object) -> str:
    experiment_id = str(experiment_id) if isinstance(experiment_id, int) else experiment_id
    if not isinstance(experiment_id, str) or not _EXPERIMENT_ID_RE.match(experiment_id):
        raise _invalid(
            f"Invalid experiment ID {experiment_id!r}: it must match {_EXPERIMENT_ID_RE.pattern}."
        )
    return experiment_id


def validate_max_results(max_results: object, limit: int = MAX_SEARCH_RESULTS) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results <= 0:
        raise _invalid(
            f"Invalid value {max_results!r} for parameter 'max_results' supplied. "
            "It must be a positive integer."
        )
    if max_results > limit:
        raise _invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. "
            f"It must be at most {limit}."
        )
    return max_results


def validate_dataset_input(dataset_input: DatasetInput) -> DatasetInput:
    ds: Dataset = dataset_input.dataset
    for field_name, value, limit in (
        ("name", ds.name, MAX_DATASET_NAME_LENGTH),
        ("digest", ds.digest, MAX_DATASET_DIGEST_LENGTH),
        ("source_type", ds.source_type, MAX_DATASET_DIGEST_LENGTH),
        ("source", ds.source, MAX_DATASET_SOURCE_LENGTH),
    ):
        if not value:
            raise _invalid(f"Missing value for required parameter 'dataset.{field_name}'.")
        if len(value) > limit:
            raise _invalid(
                f"Invalid dataset {field_name} of length {len(value)}: the limit is {limit}."
            )
    for field_name, value, limit in (
        ("schema", ds.schema, MAX_DATASET_SCHEMA_LENGTH),
        ("profile", ds.profile, MAX_DATASET_PROFILE_LENGTH),
    ):
        if value is not None and len(value) > limit:
            raise _invalid(
                f"Invalid dataset {field_name} of length {len(value)}: the limit is {limit}."
            )
    for tag in dataset_input.tags:
        if not tag.key or len(tag.key) > MAX_INPUT_TAG_KEY_LENGTH:
            raise _invalid(
                f"Invalid input tag key {tag.key!r}: it must be 1 to "
                f"{MAX_INPUT_TAG_KEY_LENGTH} characters."
            )
        if tag.value is None or len(tag.value) > MAX_INPUT_TAG_VALUE_LENGTH:
            raise _invalid(
                f"Invalid input tag value for key {tag.key!r}: it must be at most "
                f"{MAX_INPUT_TAG_VALUE_LENGTH} characters."
            )
    return dataset_input
