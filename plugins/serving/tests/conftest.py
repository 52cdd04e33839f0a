"""Models for the serving tests: a custom pyfunc with a column signature and params, and a
tensor model, saved once per session."""

from __future__ import annotations

import sys

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import trackline.pyfunc
from trackline.models import ModelSignature, ParamSchema, ParamSpec, infer_signature

# The models are served by other processes that cannot import this test module: pickle the
# classes by value, as cloudpickle does for classes defined in a script.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class Scale(trackline.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        factor = (params or {}).get("factor", 1.0)
        return pd.DataFrame({"y": (model_input["a"] + model_input["b"]) * factor})


class Echo(trackline.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        if isinstance(model_input, dict):
            return {k: np.asarray(v).sum(axis=-1) for k, v in model_input.items()}
        return np.asarray(model_input).sum(axis=1)


class Boom(trackline.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        raise ZeroDivisionError("the model divided by zero")


@pytest.fixture(scope="session")
def column_model(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("serving") / "column"
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [1, 2]})
    signature = ModelSignature(
        infer_signature(frame).inputs, params=ParamSchema([ParamSpec("factor", "double", 1.0)])
    )
    trackline.pyfunc.save_model(
        path, python_model=Scale(), signature=signature, input_example=frame
    )
    return str(path)


@pytest.fixture(scope="session")
def tensor_model(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("serving") / "tensor"
    trackline.pyfunc.save_model(
        path, python_model=Echo(), input_example=np.ones((2, 3), dtype=np.float32)
    )
    return str(path)


@pytest.fixture(scope="session")
def failing_model(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("serving") / "failing"
    trackline.pyfunc.save_model(path, python_model=Boom())
    return str(path)
