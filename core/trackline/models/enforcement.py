"""Checking prediction input against a model's signature, before the model sees it.

Rules (MLflow's): required columns must be present; columns are put in schema order and
columns the schema does not name are dropped; a value may be widened without loss
(integer → long → float → double, float32 → float64) but never narrowed or reinterpreted.
Every failure is a ``TracklineException`` (INVALID_PARAMETER_VALUE, HTTP 400 when serving)
whose message names the column, the expected and the actual type.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any

from trackline.exceptions import TracklineException
from trackline.models.signature import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    Schema,
    TensorSpec,
)

logger = logging.getLogger(__name__)

# Safe numeric widenings, as (from kind, to kind).
_WIDENING = {
    DataType.integer: {DataType.integer, DataType.long, DataType.float, DataType.double},
    DataType.long: {DataType.long, DataType.double},
    DataType.float: {DataType.float, DataType.double},
    DataType.double: {DataType.double},
}


def _fail(message: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(f"Failed to enforce schema: {message}")


def enforce_schema(data: Any, schema: Schema) -> Any:
    """``data`` checked and converted for ``schema``; raises a clear error on mismatch."""
    if schema.is_tensor_spec():
        return _enforce_tensors(data, schema)
    return _enforce_columns(data, schema)


# -- column-based ----------------------------------------------------------------------------


def _to_dataframe(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    names = schema.input_names()
    if isinstance(data, dict):
        if not schema.has_input_names() and len(schema.inputs) == 1:
            return pd.DataFrame({0: [data]})
        if all(np.isscalar(v) or v is None for v in data.values()) or any(
            isinstance(spec, ColSpec) and isinstance(spec.type, (Array, Object, Map))
            for spec in schema.inputs
        ):
            return pd.DataFrame([data])
        try:
            return pd.DataFrame(data)
        except ValueError as exc:
            raise _fail(f"cannot turn the input dict into columns: {exc}") from exc
    if isinstance(data, (list, tuple)):
        if data and all(isinstance(row, dict) for row in data):
            return pd.DataFrame(list(data))
        if not schema.has_input_names() and len(schema.inputs) == 1:
            return pd.DataFrame({0: list(data)})
        return pd.DataFrame(list(data), columns=names if schema.has_input_names() else None)
    if isinstance(data, np.ndarray):
        if data.ndim == 1 and len(schema.inputs) == 1:
            return pd.DataFrame({names[0]: data})
        if data.ndim == 2 and data.shape[1] == len(schema.inputs):
            return pd.DataFrame(data, columns=names)
        raise _fail(
            f"the model expects {len(schema.inputs)} columns {names}, "
            f"got an array of shape {data.shape}."
        )
    if isinstance(data, (str, bytes, int, float, bool)) and len(schema.inputs) == 1:
        return pd.DataFrame({names[0]: [data]})
    raise _fail(
        f"input of type {type(data).__name__} cannot be matched to columns {names}; "
        "give a pandas DataFrame, a dict or a list of records."
    )


def _enforce_columns(data: Any, schema: Schema) -> Any:
    import pandas as pd

    frame = _to_dataframe(data, schema)
    if not schema.has_input_names():
        if len(frame.columns) < len(schema.inputs):
            raise _fail(
                f"the model expects {len(schema.inputs)} unnamed column(s), "
                f"got {len(frame.columns)}."
            )
        columns = {}
        for i, spec in enumerate(schema.inputs):
            columns[frame.columns[i]] = _enforce_column(frame.columns[i], frame.iloc[:, i], spec)
        return pd.DataFrame(columns)
    names = schema.input_names()
    present = [str(c) for c in frame.columns]
    frame = frame.rename(columns={c: str(c) for c in frame.columns})
    missing = [n for n in schema.required_input_names() if n not in present]
    if missing:
        raise _fail(
            f"the model is missing input column(s) {missing}. It expects {names}, got {present}."
        )
    extra = [c for c in present if c not in names]
    if extra:
        logger.info("Dropping input columns the signature does not name: %s", extra)
    out = {}
    for name, spec in zip(names, schema.inputs, strict=False):
        if name in frame.columns:
            out[name] = _enforce_column(name, frame[name], spec)
    return pd.DataFrame(out, index=frame.index)


def _enforce_column(name: Any, series: Any, spec: ColSpec) -> Any:
    import numpy as np
    import pandas as pd

    expected = spec.type
    if isinstance(expected, AnyType):
        return series
    if not isinstance(expected, DataType):
        for value in series.tolist():
            _check_value(name, value, expected)
        return series
    # Floats carry missing values as NaN; strings and bytes as None.
    cannot_be_missing = expected not in (DataType.float, DataType.double, DataType.string)
    if (
        spec.required
        and cannot_be_missing
        and expected is not DataType.binary
        and series.isna().any()
    ):
        raise _fail(f"column {name!r} of type {expected.value} has missing values.")
    dtype = series.dtype
    if expected in (DataType.string, DataType.binary):
        want = str if expected is DataType.string else (bytes, bytearray)
        bad = [v for v in series.tolist() if v is not None and not isinstance(v, want)]
        if bad:
            raise _fail(
                f"column {name!r} must be of type {expected.value}, got values like {bad[0]!r} "
                f"({type(bad[0]).__name__})."
            )
        return series
    if expected is DataType.datetime:
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return series
        try:
            return pd.to_datetime(series)
        except (ValueError, TypeError) as exc:
            raise _fail(f"column {name!r} must hold datetimes: {exc}") from exc
    if expected is DataType.boolean:
        if pd.api.types.is_bool_dtype(dtype):
            return series
        raise _fail(f"column {name!r} must be of type boolean, got {dtype}.")
    # numeric
    actual = _numeric_type(series)
    if actual is None:
        raise _fail(f"column {name!r} must be of type {expected.value}, got {dtype}.")
    if expected not in _WIDENING.get(actual, set()):
        raise _fail(
            f"column {name!r} must be of type {expected.value}, got {actual.value} ({dtype}); "
            f"converting {actual.value} to {expected.value} could lose information."
        )
    target = expected.to_numpy()
    return series if series.dtype == target else series.astype(np.dtype(target))


def _numeric_type(series: Any) -> DataType | None:
    import numpy as np
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return None
    dtype = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    if dtype.kind in "iu":
        if dtype.kind == "u" and dtype.itemsize >= 8:
            return DataType.double  # uint64 fits no signed type
        if dtype.itemsize <= 4 and not (dtype.kind == "u" and dtype.itemsize == 4):
            return DataType.integer
        return DataType.long
    if dtype.kind == "f":
        return DataType.float if dtype.itemsize <= 4 else DataType.double
    return None


def _check_value(name: Any, value: Any, expected: Any) -> None:
    import numpy as np

    if isinstance(expected, AnyType) or value is None:
        return
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(expected, Array):
        if not isinstance(value, (list, tuple)):
            raise _fail(f"{name!r} must be an array, got {type(value).__name__}.")
        for item in value:
            _check_value(name, item, expected.items)
    elif isinstance(expected, Object):
        if not isinstance(value, dict):
            raise _fail(f"{name!r} must be an object, got {type(value).__name__}.")
        for prop in expected.properties:
            if prop.name not in value:
                if prop.required:
                    raise _fail(f"{name!r} is missing the required property {prop.name!r}.")
                continue
            _check_value(f"{name}.{prop.name}", value[prop.name], prop.dtype)
    elif isinstance(expected, Map):
        if not isinstance(value, dict):
            raise _fail(f"{name!r} must be a map, got {type(value).__name__}.")
        for key, item in value.items():
            _check_value(f"{name}.{key}", item, expected.values)
    elif isinstance(expected, DataType):
        python_type = expected.to_python()
        if expected in (DataType.float, DataType.double) and isinstance(value, int):
            return
        if isinstance(value, bool) and expected is not DataType.boolean:
            raise _fail(f"{name!r} must be of type {expected.value}, got a boolean.")
        if expected is DataType.datetime and isinstance(value, (str, _dt.date)):
            return
        if not isinstance(value, python_type):
            raise _fail(
                f"{name!r} must be of type {expected.value}, got {value!r} "
                f"({type(value).__name__})."
            )


# -- tensor-based ----------------------------------------------------------------------------


def _enforce_tensors(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    specs: list[TensorSpec] = schema.inputs  # type: ignore[assignment]
    if schema.has_input_names() and len(specs) > 1 or isinstance(data, dict):
        if isinstance(data, pd.DataFrame):
            data = {c: data[c].to_numpy() for c in data.columns}
        if not isinstance(data, dict):
            raise _fail(
                f"the model expects named tensors {schema.input_names()}, "
                f"got {type(data).__name__}; give a dict of arrays."
            )
        missing = [s.name for s in specs if s.name not in data]
        if missing:
            raise _fail(f"the model is missing input tensor(s) {missing}.")
        return {s.name: _enforce_tensor(s.name, data[s.name], s) for s in specs}
    spec = specs[0]
    if isinstance(data, pd.DataFrame):
        data = data.to_numpy()
    elif isinstance(data, (list, tuple)):
        data = np.asarray(data)
    if not isinstance(data, np.ndarray):
        raise _fail(f"the model expects a tensor, got {type(data).__name__}.")
    return _enforce_tensor(spec.name or "input", data, spec)


def _enforce_tensor(name: Any, value: Any, spec: TensorSpec) -> Any:
    import numpy as np

    array = np.asarray(value)
    expected = np.dtype(spec.dtype) if spec.dtype not in ("str", "object") else None
    if expected is not None and array.dtype != expected:
        if array.dtype.kind in "biuf" and np.can_cast(array.dtype, expected, casting="safe"):
            array = array.astype(expected)
        else:
            raise _fail(
                f"tensor {name!r} must have dtype {spec.dtype}, got {array.dtype}; "
                "only lossless conversions are made."
            )
    if len(array.shape) != len(spec.shape) or any(
        want != -1 and want != got for want, got in zip(spec.shape, array.shape, strict=False)
    ):
        raise _fail(
            f"tensor {name!r} must have shape {list(spec.shape)} (-1: any size), "
            f"got {list(array.shape)}."
        )
    return array


# -- params ----------------------------------------------------------------------------------


def enforce_params(params: dict[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any]:
    """Params filled with the schema's defaults and type-checked; unknown ones are dropped."""
    if schema is None:
        if params:
            logger.warning("The model's signature declares no params; ignoring %s.", sorted(params))
        return {}
    if params is not None and not isinstance(params, dict):
        raise TracklineException.invalid_parameter_value(
            f"params must be a dict, got {type(params).__name__}."
        )
    params = dict(params or {})
    unknown = sorted(set(params) - {p.name for p in schema.params})
    if unknown:
        logger.warning("Ignoring params the model's signature does not declare: %s", unknown)
    return {
        spec.name: spec.validate(params[spec.name]) if spec.name in params else spec.default
        for spec in schema.params
    }
