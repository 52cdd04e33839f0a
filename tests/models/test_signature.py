"""Signatures: inference gives MLflow's JSON, round trips, and enforcement at predict time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from trackline.exceptions import TracklineException
from trackline.models import (
    Array,
    ColSpec,
    DataType,
    ModelSignature,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
    infer_signature,
)
from trackline.models.enforcement import enforce_params, enforce_schema


def _inputs(data):
    return json.loads(infer_signature(data).to_dict()["inputs"])


FRAME = pd.DataFrame(
    {
        "a": [1.0, 2.0],
        "b": [0, 1],
        "c": ["x", "y"],
        "d": [True, False],
        "e": np.array([1, 2], dtype=np.int32),
        "f": np.array([1, 2], dtype=np.float32),
        "t": pd.to_datetime(["2020-01-01", "2020-01-02"]),
        "by": [b"a", b"b"],
    }
)


def test_dataframe_columns_get_mlflow_types_in_mlflow_json_shape():
    # The exact strings MLflow 3.17 writes for the same frame.
    assert infer_signature(FRAME).to_dict()["inputs"] == json.dumps(
        [
            {"type": "double", "name": "a", "required": True},
            {"type": "long", "name": "b", "required": True},
            {"type": "string", "name": "c", "required": True},
            {"type": "boolean", "name": "d", "required": True},
            {"type": "integer", "name": "e", "required": True},
            {"type": "float", "name": "f", "required": True},
            {"type": "datetime", "name": "t", "required": True},
            {"type": "binary", "name": "by", "required": True},
        ]
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            np.zeros((3, 4), dtype=np.float32),
            [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}],
        ),
        (
            np.array([1, 2, 3]),
            [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}],
        ),
        (
            {"a": 1.0, "b": "x", "c": 3, "d": True},
            [
                {"type": "double", "name": "a", "required": True},
                {"type": "string", "name": "b", "required": True},
                {"type": "long", "name": "c", "required": True},
                {"type": "boolean", "name": "d", "required": True},
            ],
        ),
        (
            {"a": [1.0, 2.0], "b": ["x"]},
            [
                {"type": "array", "items": {"type": "double"}, "name": "a", "required": True},
                {"type": "array", "items": {"type": "string"}, "name": "b", "required": True},
            ],
        ),
        (
            {"a": np.zeros((2, 3)), "b": np.ones(2, dtype=np.int32)},
            [
                {
                    "name": "a",
                    "type": "tensor",
                    "tensor-spec": {"dtype": "float64", "shape": [-1, 3]},
                },
                {"name": "b", "type": "tensor", "tensor-spec": {"dtype": "int32", "shape": [-1]}},
            ],
        ),
        (
            [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
            [
                {"type": "long", "name": "a", "required": True},
                {"type": "string", "name": "b", "required": True},
            ],
        ),
        ("hello", [{"type": "string", "required": True}]),
        (["a", "b"], [{"type": "string", "required": True}]),
        (pd.Series([1.0, 2.0], name="s"), [{"type": "double", "name": "s", "required": True}]),
        (
            {"a": {"x": 1, "y": [1, 2]}},
            [
                {
                    "type": "object",
                    "properties": {
                        "x": {"type": "long", "required": True},
                        "y": {"type": "array", "items": {"type": "long"}, "required": True},
                    },
                    "name": "a",
                    "required": True,
                }
            ],
        ),
    ],
    ids=[
        "ndarray2d",
        "ndarray1d",
        "dict",
        "dict-of-lists",
        "dict-of-arrays",
        "records",
        "str",
        "list-str",
        "series",
        "nested",
    ],
)
def test_inference_matches_mlflow(data, expected):
    assert _inputs(data) == expected


def test_outputs_and_params_inference():
    signature = infer_signature(FRAME[["a"]], np.array([0, 1]), params={"t": 0.5, "k": [1, 2]})
    raw = signature.to_dict()
    # A column-based model returning a 1-D array returns one unnamed long column.
    assert json.loads(raw["outputs"]) == [{"type": "long", "required": True}]
    assert json.loads(raw["params"]) == [
        {"name": "t", "default": 0.5, "shape": None, "type": "double"},
        {"name": "k", "default": [1, 2], "shape": [-1], "type": "long"},
    ]
    frame_out = infer_signature(FRAME[["a"]], pd.DataFrame({"p": [0.1, 0.2]}))
    assert json.loads(frame_out.to_dict()["outputs"]) == [
        {"type": "double", "name": "p", "required": True}
    ]


def test_signature_round_trips_through_its_dict():
    signature = ModelSignature(
        Schema(
            [
                ColSpec("double", "a"),
                ColSpec(Array(DataType.string), "tags", required=False),
                ColSpec(Object((Property("x", DataType.long),)), "obj"),
            ]
        ),
        Schema([TensorSpec("float32", (-1, 2))]),
        ParamSchema([ParamSpec("k", "long", 3), ParamSpec("w", "double", [0.5], (-1,))]),
    )
    again = ModelSignature.from_dict(signature.to_dict())
    assert again == signature
    assert again.to_dict() == signature.to_dict()


@pytest.mark.parametrize(
    "bad",
    [
        {"inputs": "not json"},
        {"inputs": '{"type": "double"}'},
        {"inputs": '[{"type": "quaternion", "name": "a"}]'},
        {"inputs": '[{"type": "tensor", "tensor-spec": {"shape": [1]}}]'},
    ],
)
def test_malformed_signatures_are_rejected(bad):
    with pytest.raises(TracklineException) as info:
        ModelSignature.from_dict(bad)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_schema_rules():
    with pytest.raises(TracklineException, match="not both"):
        Schema([ColSpec("double", "a"), TensorSpec("float32", (-1,))])
    with pytest.raises(TracklineException, match="Duplicate"):
        Schema([ColSpec("double", "a"), ColSpec("long", "a")])
    with pytest.raises(TracklineException, match="every input"):
        Schema([ColSpec("double", "a"), ColSpec("long")])
    with pytest.raises(TracklineException, match="Unknown column type"):
        ColSpec("decimal", "a")


# -- enforcement -----------------------------------------------------------------------------

SCHEMA = Schema([ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("string", "c")])


def test_missing_column_is_named():
    with pytest.raises(TracklineException, match=r"missing input column\(s\) \['c'\]") as info:
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [1]}), SCHEMA)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_wrong_type_is_named():
    frame = pd.DataFrame({"a": [1.0], "b": [1.5], "c": ["x"]})
    with pytest.raises(TracklineException, match="column 'b' must be of type long, got double"):
        enforce_schema(frame, SCHEMA)
    with pytest.raises(TracklineException, match="column 'c' must be of type string"):
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [1], "c": [3]}), SCHEMA)


def test_safe_widening_reorders_and_drops_extra_columns():
    frame = pd.DataFrame(
        {
            "extra": [0],
            "c": ["x"],
            "b": np.array([1], dtype=np.int32),
            "a": np.array([1], dtype=np.int32),
        }
    )
    out = enforce_schema(frame, SCHEMA)
    assert list(out.columns) == ["a", "b", "c"]
    assert out["a"].dtype == np.float64 and out["b"].dtype == np.int64


def test_narrowing_is_refused():
    schema = Schema([ColSpec("float", "a")])
    with pytest.raises(TracklineException, match="could lose information"):
        enforce_schema(pd.DataFrame({"a": [1.0]}), schema)


def test_dicts_and_records_become_frames():
    assert enforce_schema({"a": 1.0, "b": 2, "c": "x"}, SCHEMA).shape == (1, 3)
    records = [{"a": 1.0, "b": 2, "c": "x"}, {"a": 2.0, "b": 3, "c": "y"}]
    assert enforce_schema(records, SCHEMA)["b"].tolist() == [2, 3]


def test_tensor_enforcement():
    schema = Schema([TensorSpec("float64", (-1, 2))])
    assert enforce_schema(np.array([[1, 2]], dtype=np.int32), schema).dtype == np.float64
    with pytest.raises(TracklineException, match="shape"):
        enforce_schema(np.zeros((2, 3)), schema)
    with pytest.raises(TracklineException, match="dtype float64"):
        enforce_schema(np.array([["a", "b"]]), schema)
    named = Schema([TensorSpec("float32", (-1,), "x"), TensorSpec("int64", (-1,), "y")])
    with pytest.raises(TracklineException, match=r"missing input tensor\(s\) \['y'\]"):
        enforce_schema({"x": np.zeros(2, dtype=np.float32)}, named)


def test_nested_types_are_checked():
    schema = Schema([ColSpec(Array(DataType.long), "xs")])
    assert enforce_schema({"xs": [1, 2]}, schema)["xs"].tolist() == [[1, 2]]
    with pytest.raises(TracklineException, match="'xs' must be of type long"):
        enforce_schema({"xs": [1, "two"]}, schema)


def test_params_get_defaults_and_are_type_checked():
    schema = ParamSchema([ParamSpec("k", "long", 3), ParamSpec("t", "double", 0.5)])
    assert enforce_params(None, schema) == {"k": 3, "t": 0.5}
    assert enforce_params({"t": 1, "unknown": 1}, schema) == {"k": 3, "t": 1.0}
    with pytest.raises(TracklineException, match="Parameter 'k' must be of type long"):
        enforce_params({"k": "three"}, schema)
