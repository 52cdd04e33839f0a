"""Message descriptions and the request parser of MLflow's wire protocol.

A message is a tuple of ``Field``; the same tuples drive request parsing (here) and the
OpenAPI document (``trackline_server.openapi``), so the document cannot drift from the
behaviour. The parser follows the reference server's rules: repeated query keys for lists,
literal booleans in query strings, enum names or numbers, int64 as numbers or numeric
strings, camelCase accepted, an empty string counts as missing, unknown fields ignored.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trackline.exceptions import TracklineException

_API_DOCS = "See the API docs for more information about request parameters."
_INT_RE = re.compile(r"^-?\d+$")
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

SCALARS = ("string", "int64", "int32", "double", "bool")


@dataclass(frozen=True)
class Field:
    """One field of a message.

    ``type`` is a scalar (``string``, ``int64``, ``int32``, ``double``, ``bool``),
    ``enum:<Name>`` (see ``ENUMS``) or the name of a message in ``MESSAGES``.
    """

    name: str
    type: str = "string"
    required: bool = False
    repeated: bool = False
    alias: str | None = None  # a deprecated second name, e.g. run_uuid for run_id
    doc: str = ""

    @property
    def camel(self) -> str:
        return _camel(self.name)


ENUMS: dict[str, tuple[str, ...]] = {
    # Index + 1 is the protocol number of each name.
    "RunStatus": ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"),
    "ViewType": ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"),
}

F = Field
MESSAGES: dict[str, tuple[Field, ...]] = {
    "ExperimentTag": (F("key", required=True), F("value")),
    "RunTag": (F("key", required=True), F("value")),
    "Param": (F("key", required=True), F("value")),
    "InputTag": (F("key", required=True), F("value", required=True)),
    "Metric": (
        F("key", required=True),
        F("value", "double", required=True),
        F("timestamp", "int64", required=True, doc="milliseconds since the epoch"),
        F("step", "int64"),
        F("dataset_name"),
        F("dataset_digest"),
        F("model_id"),
        F("run_id"),
    ),
    "Dataset": (
        F("name", required=True),
        F("digest", required=True),
        F("source_type", required=True),
        F("source", required=True),
        F("schema"),
        F("profile"),
    ),
    "DatasetInput": (F("tags", "InputTag", repeated=True), F("dataset", "Dataset", required=True)),
    "ModelInput": (F("model_id", required=True),),
    # Response-only messages: described for the OpenAPI document.
    "Experiment": (
        F("experiment_id"),
        F("name"),
        F("artifact_location"),
        F("lifecycle_stage"),
        F("last_update_time", "int64"),
        F("creation_time", "int64"),
        F("tags", "ExperimentTag", repeated=True),
    ),
    "RunInfo": (
        F("run_id"),
        F("run_uuid", doc="deprecated copy of run_id"),
        F("run_name"),
        F("experiment_id"),
        F("user_id"),
        F("status", "enum:RunStatus"),
        F("start_time", "int64"),
        F("end_time", "int64"),
        F("artifact_uri"),
        F("lifecycle_stage"),
    ),
    "RunData": (
        F("metrics", "Metric", repeated=True),
        F("params", "Param", repeated=True),
        F("tags", "RunTag", repeated=True),
    ),
    "RunInputs": (F("dataset_inputs", "DatasetInput", repeated=True),),
    "Run": (F("info", "RunInfo"), F("data", "RunData"), F("inputs", "RunInputs")),
    "FileInfo": (F("path"), F("is_dir", "bool"), F("file_size", "int64")),
    "DatasetSummary": (F("experiment_id"), F("name"), F("digest"), F("context")),
    "MetricWithRunId": (
        F("key"),
        F("value", "double"),
        F("timestamp", "int64"),
        F("step", "int64"),
        F("run_id"),
    ),
}
del F


# -- errors ------------------------------------------------------------------------------------


def missing(name: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(
        f"Missing value for required parameter '{name}'. {_API_DOCS}"
    )


def invalid(name: str, value: Any) -> TracklineException:
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        shown = repr(value)
    return TracklineException.invalid_parameter_value(
        f"Invalid value {shown} for parameter '{name}' supplied: "
        f"Hint: Value was of type '{type(value).__name__}'. {_API_DOCS}"
    )


# -- parsing -----------------------------------------------------------------------------------


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body; empty body is ``{}``, a JSON string is decoded twice."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
        if isinstance(data, str):  # legacy clients send the message as a JSON string
            data = json.loads(data) if data.strip() else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise TracklineException(f"Malformed JSON request body: {exc}", "BAD_REQUEST") from exc
    if not isinstance(data, dict):
        raise TracklineException(
            "The request body must be a JSON object.", "INVALID_PARAMETER_VALUE"
        )
    return data


def parse_message(
    fields: tuple[Field, ...], raw: Mapping[str, Any], *, query: bool = False, prefix: str = ""
) -> dict[str, Any]:
    """Validate and convert ``raw`` against ``fields``; absent fields are absent in the result.

    With ``query=True`` the values are lists of strings (a parsed query string).
    """
    out: dict[str, Any] = {}
    for field in fields:
        path = prefix + field.name
        value = _lookup(field, raw, path)
        if query:
            value = _from_query(field, value)
        if _is_missing(value):
            if field.required and _given_empty_list(field, value, query):
                out[field.name] = []
            elif field.required:
                raise missing(path)
            continue
        out[field.name] = _convert(field, value, path, query)
    return out


def _given_empty_list(field: Field, value: Any, query: bool) -> bool:
    # MLflow's server calls a required field missing only when it is absent: an explicit
    # empty JSON list passes (and then means "none"). A query string cannot say "empty".
    return field.repeated and value == [] and not query


@functools.cache
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _lookup(field: Field, raw: Mapping[str, Any], path: str) -> Any:
    # Hot path (every field of every metric of a batch): plain dict lookups only.
    name = field.name
    camel = _camel(name)
    if camel != name and camel in raw:
        if name in raw:
            raise TracklineException.invalid_parameter_value(
                f"Both '{name}' and '{camel}' were given for parameter '{path}': "
                "send one spelling only."
            )
        value = raw[camel]
    else:
        value = raw.get(name)
    if field.alias is not None and _is_missing(value):
        return raw.get(field.alias)
    return value


def _from_query(field: Field, values: Any) -> Any:
    if values is None:
        return None
    if field.repeated:
        return list(values)
    return values[0] if values else None


def _is_missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list) and not value)


def _convert(field: Field, value: Any, path: str, query: bool) -> Any:
    if field.repeated:
        if not isinstance(value, list):
            raise invalid(path, value)
        plan = None if query else _fast_plan(field.type)
        if plan is None:
            return [
                _convert_one(field, item, f"{path}[{i}]", query) for i, item in enumerate(value)
            ]
        out = []
        for i, item in enumerate(value):
            parsed = plan(item)
            if parsed is None:  # not the plain shape: the full rules (and their errors)
                parsed = _convert_one(field, item, f"{path}[{i}]", query)
            out.append(parsed)
        return out
    return _convert_one(field, value, path, query)


_FAST_KINDS = {"string", "double", "int64", "int32"}


@functools.cache
def _fast_plan(message: str) -> Any:
    """A converter for the plain shape of ``message`` items, or None if it has none.

    A log-batch carries up to 1,000 metrics, each a dict of a few scalar fields; the general
    parser costs several microseconds per field. The plan handles the plain shape (a dict
    with snake_case names only, strings that are strings, numbers that are JSON numbers in
    range) in one pass and returns exactly what ``parse_message`` would; for anything else
    (camelCase names, numeric strings, missing or wrong values, ...) it returns None and the
    caller applies the full rules, so conversions and error messages stay the same.
    """
    fields = MESSAGES.get(message)
    if fields is None or any(f.type not in _FAST_KINDS or f.repeated for f in fields):
        return None
    camel_names = frozenset(f.camel for f in fields if f.camel != f.name)
    aliased = frozenset(f.name for f in fields if f.alias is not None)
    plan = tuple(
        (f.name, f.type, f.required, INT64 if f.type == "int64" else INT32) for f in fields
    )

    def convert(item: Any) -> dict[str, Any] | None:
        if type(item) is not dict or not camel_names.isdisjoint(item):
            return None
        out: dict[str, Any] = {}
        for name, kind, required, (low, high) in plan:
            value = item.get(name)
            kind_of_value = type(value)
            if value is None or value == "":
                if required or name in aliased:
                    return None
                continue
            if kind == "string":
                if kind_of_value is not str:
                    return None
            elif kind == "double":
                if kind_of_value is int:
                    value = float(value)
                elif kind_of_value is not float:
                    return None
            elif kind_of_value is not int or not low <= value <= high:
                return None
            out[name] = value
        return out

    return convert


def _convert_one(field: Field, value: Any, path: str, query: bool) -> Any:
    kind = field.type
    if kind == "string":
        if not isinstance(value, str):
            raise invalid(path, value)
        return value
    if kind in ("int64", "int32"):
        return _to_int(value, path, INT64 if kind == "int64" else INT32)
    if kind == "double":
        return _to_double(value, path)
    if kind == "bool":
        return _to_bool(value, path)
    if kind.startswith("enum:"):
        return _to_enum(kind[5:], value, path)
    if query:
        raise invalid(path, value)  # messages cannot travel in a query string
    if not isinstance(value, dict):
        raise invalid(path, value)
    return parse_message(MESSAGES[kind], value, prefix=path + ".")


def _to_int(value: Any, path: str, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool):
        raise invalid(path, value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INT_RE.match(value.strip()):
        number = int(value.strip())
    else:
        raise invalid(path, value)
    if not bounds[0] <= number <= bounds[1]:
        raise invalid(path, value)
    return number


def _to_double(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise invalid(path, value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        if text in special:
            return special[text]
        try:
            return float(text)
        except ValueError:
            pass
    raise invalid(path, value)


def _to_bool(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid(path, value)


def _to_enum(enum: str, value: Any, path: str) -> str:
    names = ENUMS[enum]
    if isinstance(value, str):
        if value in names:
            return value
        if _INT_RE.match(value) and 1 <= int(value) <= len(names):
            return names[int(value) - 1]
    elif isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(names):
        return names[value - 1]
    raise invalid(path, value)
