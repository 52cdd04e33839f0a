"""The scoring protocol: request bodies → model input, predictions → response JSON.

Shared by the scoring server and ``trackline models predict`` (trackline-serving) and by
``trackline.models.validate_serving_input``. Bodies are MLflow's:

* ``application/json`` with exactly one of ``dataframe_split``, ``dataframe_records``,
  ``instances``, ``inputs`` (plus an optional ``params`` object);
* ``text/csv`` (a DataFrame with a header row);
* ``application/vnd.apache.parquet`` (needs pyarrow).

A body that breaks these rules is a ``PayloadError`` (HTTP 400); an unsupported content type
or charset is an ``UnsupportedMediaType`` (HTTP 415, plain text, as MLflow answers).
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from typing import Any

from trackline.exceptions import BAD_REQUEST, TracklineException
from trackline.models.input_example import to_jsonable
from trackline.models.signature import ColSpec, DataType, Schema

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = (CONTENT_TYPE_JSON, CONTENT_TYPE_CSV, CONTENT_TYPE_PARQUET)

DF_SPLIT = "dataframe_split"
DF_RECORDS = "dataframe_records"
INSTANCES = "instances"
INPUTS = "inputs"
INPUT_KEYS = (DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS)
PARAMS = "params"


class PayloadError(TracklineException):
    """A request body the scoring protocol does not accept (BAD_REQUEST, HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, BAD_REQUEST)


class UnsupportedMediaType(Exception):
    """An unsupported content type or charset (HTTP 415)."""


@dataclass
class ParsedInput:
    data: Any
    params: dict[str, Any] | None


def check_content_type(content_type: str | None) -> str:
    """The bare media type, after checking it and its parameters (only ``charset=utf-8``)."""
    if not content_type:
        raise UnsupportedMediaType(f"Missing Content-Type; use one of {', '.join(CONTENT_TYPES)}.")
    parts = [p.strip() for p in content_type.split(";")]
    media_type = parts[0].lower()
    parameters = {}
    for part in parts[1:]:
        if not part:
            continue
        key, _, value = part.partition("=")
        parameters[key.strip().lower()] = value.strip().strip('"')
    charset = parameters.pop("charset", "utf-8").lower()
    if charset != "utf-8":
        raise UnsupportedMediaType(
            f"The scoring server only accepts UTF-8, got charset {charset!r}."
        )
    if parameters:
        raise UnsupportedMediaType(
            f"Unrecognized content type parameters: {', '.join(sorted(parameters))}; "
            "only charset=utf-8 is accepted."
        )
    if media_type not in CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"Unsupported content type {content_type!r}; use one of {', '.join(CONTENT_TYPES)}."
        )
    return media_type


def parse_request(
    body: bytes | str, content_type: str | None, schema: Schema | None
) -> ParsedInput:
    """Turn a request body into the model input (and params)."""
    media_type = check_content_type(content_type)
    if media_type == CONTENT_TYPE_CSV:
        return ParsedInput(parse_csv(body, schema), None)
    if media_type == CONTENT_TYPE_PARQUET:
        return ParsedInput(parse_parquet(body), None)
    return parse_json(body, schema)


def _decode(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"The request body is not valid UTF-8: {exc}") from exc


def parse_json(body: bytes | str | dict[str, Any], schema: Schema | None) -> ParsedInput:
    if isinstance(body, dict):
        payload: Any = body
    else:
        text = _decode(body)
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise PayloadError(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise PayloadError(
            "The body must be a JSON object with exactly one of the keys "
            f"{', '.join(INPUT_KEYS)}; got a {type(payload).__name__}."
        )
    keys = [k for k in INPUT_KEYS if k in payload]
    if len(keys) != 1:
        raise PayloadError(
            f"The body must have exactly one of the keys {', '.join(INPUT_KEYS)} "
            f"(plus optional {PARAMS!r}); it has {sorted(payload)}."
        )
    params = payload.get(PARAMS)
    if params is not None and not isinstance(params, dict):
        raise PayloadError(f"{PARAMS!r} must be a JSON object, got {type(params).__name__}.")
    key = keys[0]
    value = payload[key]
    if key == DF_SPLIT:
        data = _frame_from_split(value, schema)
    elif key == DF_RECORDS:
        data = _frame_from_records(value, schema)
    else:
        if (
            key == INSTANCES
            and isinstance(value, list)
            and value
            and all(isinstance(row, dict) for row in value)
        ):
            value = {k: [row.get(k) for row in value] for k in value[0]}
        data = _tensor_input(value, schema)
    return ParsedInput(data, params)


def _frame_from_split(value: Any, schema: Schema | None) -> Any:
    import pandas as pd

    if not isinstance(value, dict) or "data" not in value:
        raise PayloadError(
            f"{DF_SPLIT!r} must be an object with 'columns' and 'data' (pandas split orient)."
        )
    unknown = set(value) - {"columns", "data", "index"}
    if unknown:
        raise PayloadError(f"{DF_SPLIT!r} has unknown keys {sorted(unknown)}.")
    try:
        frame = pd.DataFrame(
            data=value["data"], columns=value.get("columns"), index=value.get("index")
        )
    except (ValueError, TypeError) as exc:
        raise PayloadError(f"{DF_SPLIT!r} is not a valid DataFrame: {exc}") from exc
    return cast_frame(frame, schema)


def _frame_from_records(value: Any, schema: Schema | None) -> Any:
    import pandas as pd

    if not isinstance(value, list):
        raise PayloadError(f"{DF_RECORDS!r} must be a list of records, got {type(value).__name__}.")
    try:
        frame = pd.DataFrame(data=value)
    except (ValueError, TypeError) as exc:
        raise PayloadError(f"{DF_RECORDS!r} is not a valid list of records: {exc}") from exc
    return cast_frame(frame, schema)


def _tensor_input(value: Any, schema: Schema | None) -> Any:
    import numpy as np
    import pandas as pd

    if schema is not None and not schema.is_tensor_spec():
        if isinstance(value, dict):
            rows = value if any(isinstance(v, list) for v in value.values()) else [value]
            try:
                frame = pd.DataFrame(rows) if isinstance(rows, list) else pd.DataFrame(value)
            except ValueError as exc:
                raise PayloadError(f"The inputs do not form columns: {exc}") from exc
            return cast_frame(frame, schema)
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            return cast_frame(pd.DataFrame(value), schema)
        return value
    dtypes: dict[Any, Any] = {}
    if schema is not None:
        dtypes = {spec.name: spec.dtype for spec in schema.inputs}

    def as_array(name: Any, item: Any) -> Any:
        dtype = dtypes.get(name)
        try:
            if dtype and dtype not in ("str", "object"):
                return np.asarray(item, dtype=dtype)
            return np.asarray(item)
        except (ValueError, TypeError) as exc:
            raise PayloadError(f"Input {name or 'inputs'!r} is not a valid tensor: {exc}") from exc

    if isinstance(value, dict):
        return {k: as_array(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return as_array(None, value)
    return value


def cast_frame(frame: Any, schema: Schema | None) -> Any:
    """Give JSON/CSV columns the types the signature declares (base64 for binary)."""
    import pandas as pd

    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return frame
    for spec in schema.inputs:
        if not isinstance(spec, ColSpec) or spec.name not in frame.columns:
            continue
        column = frame[spec.name]
        kind = spec.type
        try:
            if kind in (DataType.float, DataType.double, DataType.integer, DataType.long):
                if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
                    if kind in (DataType.integer, DataType.long) and column.isna().any():
                        continue  # the enforcer names missing values clearly
                    frame[spec.name] = column.astype(kind.to_numpy())
            elif kind is DataType.datetime:
                frame[spec.name] = pd.to_datetime(column)
            elif kind is DataType.binary:
                frame[spec.name] = column.map(
                    lambda v: base64.b64decode(v) if isinstance(v, str) else v
                )
        except (ValueError, TypeError, OverflowError) as exc:
            raise PayloadError(
                f"Column {spec.name!r} cannot be read as {kind.value}: {exc}"
            ) from exc
    return frame


def parse_csv(body: bytes | str, schema: Schema | None) -> Any:
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(_decode(body)))
    except Exception as exc:  # pandas raises several parser error types
        raise PayloadError(
            f"The body is not a CSV DataFrame (as written by DataFrame.to_csv): {exc}"
        ) from exc
    return cast_frame(frame, schema)


def parse_parquet(body: bytes | str) -> Any:
    import pandas as pd

    raw = body.encode("utf-8") if isinstance(body, str) else body
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except ImportError as exc:
        raise PayloadError(f"Reading parquet needs pyarrow on the serving side ({exc}).") from exc
    except Exception as exc:
        raise PayloadError(f"The body is not a parquet DataFrame: {exc}") from exc


def predictions_json(predictions: Any) -> str:
    """``{"predictions": ...}`` with DataFrames as records and arrays as lists."""
    return json.dumps({"predictions": to_jsonable(predictions)})


def convert_input_example_to_serving_input(
    input_example: Any, params: dict[str, Any] | None = None
) -> str | None:
    """The JSON request body for ``/invocations`` that carries ``input_example``."""
    from trackline.models.input_example import _describe

    if input_example is None:
        return None
    _, _, serving = _describe(input_example)
    if params:
        serving = {**serving, PARAMS: to_jsonable(params)}
    return json.dumps(serving)


def validate_serving_input(model_uri: str, serving_input: str | dict[str, Any]) -> Any:
    """Score ``serving_input`` (a JSON request body) with the model, as the server would.

    Returns the predictions; raises the error the server would answer with. Use it to check
    a logged model before deploying it.
    """
    from trackline.pyfunc import load_model

    model = load_model(model_uri)
    body = serving_input if isinstance(serving_input, dict) else str(serving_input)
    parsed = parse_json(body, model.metadata.get_input_schema())
    return model.predict(parsed.data, params=parsed.params)
