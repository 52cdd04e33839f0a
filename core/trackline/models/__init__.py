"""The model format: ``MLmodel``, signatures, input examples and environment files.

``trackline.models`` is MLflow's ``mlflow.models`` for the parts that are the file format:
``Model`` (the ``MLmodel`` file), ``ModelSignature`` and ``infer_signature``, ``ModelInfo``.
Flavor plugins build on ``trackline.models.flavor``. Nothing here imports numpy or pandas
until data is inspected.
"""

from __future__ import annotations

from typing import Any

from trackline.models.model import MLMODEL_FILE_NAME, Model, ModelInfo
from trackline.models.signature import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    ModelSignature,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
    infer_signature,
)

__all__ = [
    "MLMODEL_FILE_NAME",
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "Model",
    "ModelInfo",
    "ModelSignature",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "Schema",
    "TensorSpec",
    "convert_input_example_to_serving_input",
    "infer_signature",
    "set_signature",
    "validate_serving_input",
]


def validate_serving_input(model_uri: str, serving_input: Any) -> Any:
    """Predict on a ``/invocations`` request body, as the scoring server would."""
    from trackline.models.scoring import validate_serving_input as validate

    return validate(model_uri, serving_input)


def convert_input_example_to_serving_input(
    input_example: Any, params: dict[str, Any] | None = None
) -> str | None:
    """The ``/invocations`` JSON body for an input example (and params)."""
    from trackline.models.scoring import convert_input_example_to_serving_input as convert

    return convert(input_example, params)


def set_signature(model_uri: str, signature: ModelSignature) -> None:
    """Replace the signature in a local model directory's MLmodel file."""
    from pathlib import Path

    from trackline.exceptions import TracklineException

    folder = Path(model_uri)
    if not folder.is_dir():
        raise TracklineException.invalid_parameter_value(
            f"set_signature works on a local model directory; {model_uri!r} is not one."
        )
    model = Model.load(folder)
    model.signature = signature
    model.save(folder / MLMODEL_FILE_NAME)
