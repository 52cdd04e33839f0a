"""Model signatures: what a model takes, returns and accepts as inference parameters.

A signature is stored in ``MLmodel`` as three JSON *strings* (``inputs``, ``outputs``,
``params``), in the same shapes MLflow writes, so signatures travel both ways:

* column-based: ``[{"type": "double", "name": "a", "required": true}, ...]`` with scalar types
  ``boolean integer long float double string binary datetime`` and the composites ``array``,
  ``object``, ``map`` and ``any``;
* tensor-based: ``[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]``;
* params: ``[{"name": "k", "default": 3, "shape": null, "type": "long"}]``.

numpy and pandas are imported only by the functions that inspect data.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from trackline.exceptions import TracklineException


class DataType(Enum):
    """Scalar column types, by MLflow's names."""

    boolean = "boolean"
    integer = "integer"
    long = "long"
    float = "float"
    double = "double"
    string = "string"
    binary = "binary"
    datetime = "datetime"

    def to_numpy(self) -> Any:
        import numpy as np

        return {
            "boolean": np.dtype(bool),
            "integer": np.dtype("int32"),
            "long": np.dtype("int64"),
            "float": np.dtype("float32"),
            "double": np.dtype("float64"),
            "string": np.dtype(object),
            "binary": np.dtype(object),
            "datetime": np.dtype("datetime64[ns]"),
        }[self.value]

    def to_python(self) -> type:
        return {
            "boolean": bool,
            "integer": int,
            "long": int,
            "float": float,
            "double": float,
            "string": str,
            "binary": bytes,
            "datetime": _dt.datetime,
        }[self.value]

    def __repr__(self) -> str:
        return self.value


def _parse_scalar(name: str) -> DataType:
    try:
        return DataType(name)
    except ValueError:
        raise TracklineException.invalid_parameter_value(
            f"Unknown column type {name!r}: use one of "
            f"{', '.join(t.value for t in DataType)}, array, object, map or any."
        ) from None


@dataclass(frozen=True)
class Array:
    """A list whose items all have one type."""

    items: DataType | Array | Object | Map | AnyType

    def to_dict(self) -> dict[str, Any]:
        return {"type": "array", "items": _type_to_dict(self.items)}


@dataclass(frozen=True)
class Property:
    name: str
    dtype: DataType | Array | Object | Map | AnyType
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {self.name: {**_type_to_dict(self.dtype), "required": self.required}}


@dataclass(frozen=True)
class Object:
    """A JSON object with named, typed properties."""

    properties: tuple[Property, ...]

    def to_dict(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for prop in sorted(self.properties, key=lambda p: p.name):
            merged.update(prop.to_dict())
        return {"type": "object", "properties": merged}


@dataclass(frozen=True)
class Map:
    """A JSON object with string keys and values of one type."""

    values: DataType | Array | Object | Map | AnyType

    def to_dict(self) -> dict[str, Any]:
        return {"type": "map", "values": _type_to_dict(self.values)}


@dataclass(frozen=True)
class AnyType:
    """Any value at all (no check)."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": "any"}


ColumnType = DataType | Array | Object | Map | AnyType


def _type_to_dict(dtype: ColumnType) -> dict[str, Any]:
    if isinstance(dtype, DataType):
        return {"type": dtype.value}
    return dtype.to_dict()


def _type_from_dict(raw: dict[str, Any]) -> ColumnType:
    kind = raw.get("type")
    if kind == "array":
        return Array(_type_from_dict(raw["items"]))
    if kind == "object":
        return Object(
            tuple(
                Property(name, _type_from_dict(spec), spec.get("required", True))
                for name, spec in raw.get("properties", {}).items()
            )
        )
    if kind == "map":
        return Map(_type_from_dict(raw["values"]))
    if kind == "any":
        return AnyType()
    if not isinstance(kind, str):
        raise TracklineException.invalid_parameter_value(f"Column spec without a type: {raw!r}")
    return _parse_scalar(kind)


@dataclass(frozen=True)
class ColSpec:
    """One column of a column-based schema. ``name`` is ``None`` for unnamed outputs."""

    type: ColumnType
    name: str | int | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.type, str):
            object.__setattr__(self, "type", _parse_scalar(self.type))

    def to_dict(self) -> dict[str, Any]:
        out = _type_to_dict(self.type)
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ColSpec:
        return cls(_type_from_dict(raw), raw.get("name"), raw.get("required", True))


@dataclass(frozen=True)
class TensorSpec:
    """One tensor: numpy dtype name and shape (``-1`` for a variable dimension)."""

    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def __post_init__(self) -> None:
        import numpy as np

        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            raise TracklineException.invalid_parameter_value(
                f"Unknown tensor dtype {self.dtype!r}."
            ) from None
        if dtype == np.dtype(object) or dtype.kind in "SU":
            pass  # strings are allowed, as in MLflow
        object.__setattr__(self, "dtype", dtype.name if dtype.kind != "U" else "str")
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    def to_dict(self) -> dict[str, Any]:
        spec = {"type": "tensor", "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)}}
        return {"name": self.name, **spec} if self.name is not None else spec

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TensorSpec:
        spec = raw.get("tensor-spec") or {}
        if "dtype" not in spec or "shape" not in spec:
            raise TracklineException.invalid_parameter_value(
                f"A tensor spec needs 'tensor-spec' with 'dtype' and 'shape': {raw!r}"
            )
        return cls(spec["dtype"], tuple(spec["shape"]), raw.get("name"))


class Schema:
    """An ordered list of ``ColSpec`` or of ``TensorSpec`` (never a mix)."""

    def __init__(self, inputs: Sequence[ColSpec | TensorSpec]) -> None:
        inputs = list(inputs)
        if not inputs:
            raise TracklineException.invalid_parameter_value("A schema needs at least one input.")
        kinds = {type(spec) for spec in inputs}
        if len(kinds) > 1:
            raise TracklineException.invalid_parameter_value(
                "A schema is either column-based or tensor-based, not both."
            )
        names = [spec.name for spec in inputs]
        named = [n for n in names if n is not None]
        if named and len(named) != len(names):
            raise TracklineException.invalid_parameter_value(
                "Either every input of a schema has a name or none has."
            )
        if len(set(named)) != len(named):
            raise TracklineException.invalid_parameter_value(
                f"Duplicate input names in schema: {names}"
            )
        self.inputs = inputs

    def is_tensor_spec(self) -> bool:
        return isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        return self.inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        return [spec.name if spec.name is not None else i for i, spec in enumerate(self.inputs)]

    def required_input_names(self) -> list[str | int]:
        return [
            name
            for name, spec in zip(self.input_names(), self.inputs, strict=False)
            if getattr(spec, "required", True)
        ]

    def to_dict(self) -> list[dict[str, Any]]:
        return [spec.to_dict() for spec in self.inputs]

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | list[dict[str, Any]]) -> Schema:
        raw = json.loads(text) if isinstance(text, str) else text
        if not isinstance(raw, list):
            raise TracklineException.invalid_parameter_value(
                f"A schema is a JSON list of column or tensor specs, got {type(raw).__name__}."
            )
        return cls(
            [
                TensorSpec.from_dict(item)
                if item.get("type") == "tensor"
                else ColSpec.from_dict(item)
                for item in raw
            ]
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.inputs == other.inputs

    def __repr__(self) -> str:
        return f"Schema({self.to_json()})"


@dataclass(frozen=True)
class ParamSpec:
    """An inference parameter: a scalar type, a default and an optional shape (``(-1,)``)."""

    name: str
    dtype: DataType
    default: Any
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.dtype, str):
            object.__setattr__(self, "dtype", _parse_scalar(self.dtype))
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(self.shape))
        if self.default is not None:
            object.__setattr__(self, "default", self.validate(self.default))

    def validate(self, value: Any) -> Any:
        """``value`` converted to this parameter's type, or a clear error."""
        if self.shape is None:
            return _convert_param_scalar(self.name, self.dtype, value)
        if not isinstance(value, (list, tuple)):
            raise TracklineException.invalid_parameter_value(
                f"Parameter {self.name!r} must be a list of {self.dtype.value}, got {value!r}."
            )
        return [_convert_param_scalar(self.name, self.dtype, v) for v in value]

    def to_dict(self) -> dict[str, Any]:
        default = self.default
        if isinstance(default, _dt.datetime):
            default = default.isoformat()
        return {
            "name": self.name,
            "default": default,
            "shape": list(self.shape) if self.shape is not None else None,
            "type": self.dtype.value,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ParamSpec:
        shape = raw.get("shape")
        return cls(raw["name"], raw["type"], raw.get("default"), tuple(shape) if shape else None)


def _convert_param_scalar(name: str, dtype: DataType, value: Any) -> Any:
    kind = dtype.value
    ok = False
    if kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind in ("float", "double"):
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = isinstance(value, float)
    elif kind == "string":
        ok = isinstance(value, str)
    elif kind == "binary":
        ok = isinstance(value, bytes)
    elif kind == "datetime":
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = _dt.datetime.fromisoformat(value)
        ok = isinstance(value, (_dt.datetime, _dt.date))
    if not ok:
        raise TracklineException.invalid_parameter_value(
            f"Parameter {name!r} must be of type {kind}, got {value!r} ({type(value).__name__})."
        )
    return value


class ParamSchema:
    """The inference parameters a model accepts, with defaults."""

    def __init__(self, params: Sequence[ParamSpec]) -> None:
        self.params = list(params)
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise TracklineException.invalid_parameter_value(f"Duplicate parameter names: {names}")

    def to_json(self) -> str:
        return json.dumps([p.to_dict() for p in self.params])

    @classmethod
    def from_json(cls, text: str | list[dict[str, Any]]) -> ParamSchema:
        raw = json.loads(text) if isinstance(text, str) else text
        return cls([ParamSpec.from_dict(item) for item in raw])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParamSchema) and self.params == other.params

    def __repr__(self) -> str:
        return f"ParamSchema({self.to_json()})"


class ModelSignature:
    """Inputs, outputs and params schemas of a model (any of them may be ``None``)."""

    def __init__(
        self,
        inputs: Schema | None = None,
        outputs: Schema | None = None,
        params: ParamSchema | None = None,
    ) -> None:
        for label, value, kind in (
            ("inputs", inputs, Schema),
            ("outputs", outputs, Schema),
            ("params", params, ParamSchema),
        ):
            if value is not None and not isinstance(value, kind):
                raise TracklineException.invalid_parameter_value(
                    f"ModelSignature {label} must be a {kind.__name__}, got {type(value).__name__}."
                )
        if inputs is None and outputs is None and params is None:
            raise TracklineException.invalid_parameter_value(
                "A ModelSignature needs at least one of inputs, outputs or params."
            )
        self.inputs = inputs
        self.outputs = outputs
        self.params = params
        # Written to MLmodel next to the signature, as MLflow does.
        self.is_signature_from_type_hint = False
        self.type_hint_from_example = False

    def to_dict(self) -> dict[str, str | None]:
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelSignature:
        try:
            return cls(
                Schema.from_json(raw["inputs"]) if raw.get("inputs") else None,
                Schema.from_json(raw["outputs"]) if raw.get("outputs") else None,
                ParamSchema.from_json(raw["params"]) if raw.get("params") else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TracklineException.invalid_parameter_value(
                f"Invalid model signature {raw!r}: {exc}"
            ) from exc

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ModelSignature)
            and self.inputs == other.inputs
            and self.outputs == other.outputs
            and self.params == other.params
        )

    def __repr__(self) -> str:
        return f"ModelSignature({self.to_dict()})"


# -- inference from data --------------------------------------------------------------------


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """A signature describing example input, output and params.

    Accepts pandas DataFrames and Series, numpy arrays, dicts of arrays or scalars, lists of
    dicts, lists of scalars, strings and scalars, as MLflow's ``infer_signature`` does.
    """
    inputs = infer_schema(model_input) if model_input is not None else None
    outputs = None
    if model_output is not None:
        outputs = infer_schema(model_output)
        if (
            inputs is not None
            and not inputs.is_tensor_spec()
            and outputs.is_tensor_spec()
            and len(outputs.inputs) == 1
            and len(outputs.inputs[0].shape) == 1
            and outputs.inputs[0].name is None
        ):
            # A column-based model returning a 1-D array returns one unnamed column.
            outputs = Schema([ColSpec(_dtype_to_column_type(outputs.inputs[0].dtype))])
    param_schema = infer_param_schema(params) if params else None
    if inputs is None and outputs is None and param_schema is None:
        raise TracklineException.invalid_parameter_value(
            "infer_signature needs model_input, model_output or params."
        )
    return ModelSignature(inputs, outputs, param_schema)


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    if not isinstance(params, dict):
        raise TracklineException.invalid_parameter_value(
            f"params must be a dict of name -> default, got {type(params).__name__}."
        )
    specs = []
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            if not value:
                raise TracklineException.invalid_parameter_value(
                    f"Cannot infer the type of parameter {name!r} from an empty list."
                )
            specs.append(ParamSpec(name, _python_scalar_type(name, value[0]), list(value), (-1,)))
        else:
            specs.append(ParamSpec(name, _python_scalar_type(name, value), value))
    return ParamSchema(specs)


def _python_scalar_type(name: Any, value: Any) -> DataType:
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return DataType.boolean
    if isinstance(value, (int, np.integer)):
        if isinstance(value, np.integer) and np.dtype(type(value)).itemsize <= 4:
            return DataType.integer
        return DataType.long
    if isinstance(value, (float, np.floating)):
        if isinstance(value, np.float32):
            return DataType.float
        return DataType.double
    if isinstance(value, str):
        return DataType.string
    if isinstance(value, (bytes, bytearray)):
        return DataType.binary
    if isinstance(value, (_dt.datetime, _dt.date, np.datetime64)):
        return DataType.datetime
    raise TracklineException.invalid_parameter_value(
        f"Cannot infer a type for {name!r} from a value of type {type(value).__name__}."
    )


def _value_type(name: Any, value: Any) -> ColumnType:
    """The column type of one JSON-like value (scalars, lists, dicts)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        if not value:
            return AnyType()
        return Object(tuple(Property(str(k), _value_type(k, v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        if not value:
            return Array(AnyType())
        item_types = {_value_type(name, v) for v in value}
        return Array(item_types.pop() if len(item_types) == 1 else AnyType())
    if value is None:
        return AnyType()
    return _python_scalar_type(name, value)


def _dtype_to_column_type(dtype: Any) -> DataType:
    import numpy as np

    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return DataType.boolean
    if dtype.kind in "iu":
        return DataType.integer if dtype.itemsize <= 4 and dtype.kind == "i" else DataType.long
    if dtype.kind == "f":
        return DataType.float if dtype.itemsize <= 4 else DataType.double
    if dtype.kind in "US":
        return DataType.string if dtype.kind == "U" else DataType.binary
    if dtype.kind == "M":
        return DataType.datetime
    raise TracklineException.invalid_parameter_value(f"No column type for numpy dtype {dtype}.")


def _series_type(series: Any) -> ColumnType:
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DataType.datetime
    if pd.api.types.is_bool_dtype(dtype):
        return DataType.boolean
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return DataType.string
    if pd.api.types.is_numeric_dtype(dtype):
        return _dtype_to_column_type(dtype.numpy_dtype if hasattr(dtype, "numpy_dtype") else dtype)
    values = [v for v in series.tolist() if v is not None]
    if not values:
        return AnyType()
    types = {_value_type(series.name, v) for v in values}
    return types.pop() if len(types) == 1 else AnyType()


def infer_schema(data: Any) -> Schema:
    """The schema of one piece of example data."""
    import numpy as np

    try:
        import pandas as pd
    except ImportError:  # pandas is optional: numpy and JSON data still work
        pd = None

    if pd is not None and isinstance(data, pd.DataFrame):
        return Schema([ColSpec(_series_type(data[col]), str(col)) for col in data.columns])
    if pd is not None and isinstance(data, pd.Series):
        name = data.name if isinstance(data.name, str) else None
        return Schema([ColSpec(_series_type(data), name)])
    if isinstance(data, np.ndarray):
        return Schema([_tensor_spec(data)])
    if isinstance(data, dict):
        if not data:
            raise TracklineException.invalid_parameter_value(
                "Cannot infer a schema from an empty dict."
            )
        if all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([_tensor_spec(v, str(k)) for k, v in data.items()])
        return Schema([ColSpec(_value_type(k, v), str(k)) for k, v in data.items()])
    if isinstance(data, (list, tuple)):
        if not data:
            raise TracklineException.invalid_parameter_value(
                "Cannot infer a schema from an empty list."
            )
        if all(isinstance(row, dict) for row in data):
            columns: dict[str, set[ColumnType]] = {}
            for row in data:
                for key, value in row.items():
                    columns.setdefault(str(key), set()).add(_value_type(key, value))
            return Schema(
                [
                    ColSpec(types.pop() if len(types) == 1 else AnyType(), key)
                    for key, types in columns.items()
                ]
            )
        types = {_value_type(None, v) for v in data}
        return Schema([ColSpec(types.pop() if len(types) == 1 else AnyType())])
    if isinstance(data, (str, bytes, bool, int, float, np.generic, _dt.datetime)):
        return Schema([ColSpec(_python_scalar_type(None, data))])
    raise TracklineException.invalid_parameter_value(
        f"Cannot infer a schema from data of type {type(data).__name__}; give a DataFrame, "
        "Series, numpy array, dict, list or scalar, or pass signature= explicitly."
    )


def _tensor_spec(array: Any, name: str | None = None) -> TensorSpec:
    dtype = array.dtype
    if dtype.kind == "U":
        dtype_name = "str"
    elif dtype.kind == "O":
        dtype_name = "object"
    else:
        dtype_name = dtype.name
    return TensorSpec(dtype_name, (-1, *array.shape[1:]), name)
