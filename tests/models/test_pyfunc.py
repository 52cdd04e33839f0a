"""trackline.pyfunc: custom models, artifacts, code paths, params, and loading errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import trackline.pyfunc
import yaml
from trackline.exceptions import MissingPluginError, TracklineException
from trackline.models import ModelSignature, ParamSchema, ParamSpec, infer_signature


class AddN(trackline.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["n"]) as f:
            self.n = int(f.read())

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1)
        return (model_input["a"] + self.n) * scale


class NoContext(trackline.pyfunc.PythonModel):
    def predict(self, model_input, params=None):
        return [len(str(x)) for x in model_input[0]]


FRAME = pd.DataFrame({"a": [1.0, 2.0], "b": [0, 1]})


@pytest.fixture
def artifact(tmp_path):
    path = tmp_path / "n.txt"
    path.write_text("10")
    return str(path)


def test_custom_model_with_artifacts_round_trip(tmp_path, artifact):
    path = tmp_path / "model"
    trackline.pyfunc.save_model(
        path, python_model=AddN(), artifacts={"n": artifact}, input_example=FRAME
    )
    conf = yaml.safe_load((path / "MLmodel").read_text())["flavors"]["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["python_model"] == "python_model.pkl"
    assert conf["artifacts"] == {"n": {"path": "artifacts/n.txt", "uri": artifact}}
    assert (path / "artifacts" / "n.txt").read_text() == "10"
    model = trackline.pyfunc.load_model(str(path))
    assert model.predict(FRAME).tolist() == [11.0, 12.0]
    assert isinstance(model.unwrap_python_model(), AddN)
    # the signature was inferred from the example and the model's own output
    assert model.metadata.get_output_schema().input_names() == ["a"]


def test_params_are_declared_and_enforced(tmp_path, artifact):
    signature = ModelSignature(
        infer_signature(FRAME).inputs, params=ParamSchema([ParamSpec("scale", "long", 1)])
    )
    path = tmp_path / "model"
    trackline.pyfunc.save_model(
        path, python_model=AddN(), artifacts={"n": artifact}, signature=signature
    )
    model = trackline.pyfunc.load_model(path)
    assert model.predict(FRAME, params={"scale": 2}).tolist() == [22.0, 24.0]
    with pytest.raises(TracklineException, match="Parameter 'scale' must be of type long"):
        model.predict(FRAME, params={"scale": "big"})


def test_signature_mismatch_at_predict_time(tmp_path, artifact):
    path = tmp_path / "model"
    trackline.pyfunc.save_model(
        path, python_model=AddN(), artifacts={"n": artifact}, input_example=FRAME
    )
    model = trackline.pyfunc.load_model(path)
    with pytest.raises(TracklineException, match=r"missing input column\(s\) \['b'\]"):
        model.predict(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(TracklineException, match="column 'a' must be of type double"):
        model.predict(pd.DataFrame({"a": ["x"], "b": [1]}))


def test_predict_without_context_and_without_signature(tmp_path):
    path = tmp_path / "model"
    trackline.pyfunc.save_model(path, python_model=NoContext())
    model = trackline.pyfunc.load_model(path)
    assert model.metadata.signature is None
    assert model.predict(pd.DataFrame({0: ["ab", "abc"]})) == [2, 3]


def test_code_paths_are_shipped_and_importable(tmp_path):
    module = tmp_path / "src" / "shipped_scaler.py"
    module.parent.mkdir()
    module.write_text("def scale(x):\n    return x * 100\n")
    script = tmp_path / "save.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(module.parent)!r})
            import trackline.pyfunc
            import shipped_scaler

            class Scaled(trackline.pyfunc.PythonModel):
                def predict(self, context, model_input, params=None):
                    return shipped_scaler.scale(model_input)

            trackline.pyfunc.save_model({str(tmp_path / "model")!r}, python_model=Scaled(),
                                        code_paths=[{str(module)!r}])
            """
        )
    )
    subprocess.run([sys.executable, str(script)], check=True)
    assert (tmp_path / "model" / "code" / "shipped_scaler.py").exists()
    # A fresh interpreter that has never seen shipped_scaler: the model brings it.
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import trackline.pyfunc, numpy as np;"
            f"print(trackline.pyfunc.load_model({str(tmp_path / 'model')!r}).predict(np.array([1, 2])))",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "[100 200]"


def test_custom_loader_module_with_data_path(tmp_path):
    loader = tmp_path / "my_loader.py"
    loader.write_text(
        textwrap.dedent(
            """
            import json

            class _Model:
                def __init__(self, weights):
                    self.weights = weights

                def predict(self, data, params=None):
                    return [self.weights["w"] * x for x in data]

            def _load_pyfunc(path):
                with open(path) as f:
                    return _Model(json.load(f))
            """
        )
    )
    weights = tmp_path / "weights.json"
    weights.write_text('{"w": 3}')
    path = tmp_path / "model"
    trackline.pyfunc.save_model(
        path, loader_module="my_loader", data_path=str(weights), code_paths=[str(loader)]
    )
    assert trackline.pyfunc.load_model(path).predict([1, 2]) == [3, 6]


def test_unknown_flavor_names_the_plugin_to_install(tmp_path):
    (tmp_path / "MLmodel").write_text(
        yaml.safe_dump({"flavors": {"python_function": {"loader_module": "mlflow.catboost"}}})
    )
    with pytest.raises(MissingPluginError, match="pip install trackline-catboost"):
        trackline.pyfunc.load_model(tmp_path)


def test_model_without_pyfunc_flavor(tmp_path):
    (tmp_path / "MLmodel").write_text(yaml.safe_dump({"flavors": {"keras": {"data": "x"}}}))
    with pytest.raises(TracklineException, match=r"no python_function flavor.*\['keras'\]"):
        trackline.pyfunc.load_model(tmp_path)


def test_missing_library_is_named(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "needs_lib.py").write_text(
        "import not_installed_library_xyz\n\ndef _load_pyfunc(path):\n    pass\n"
    )
    (tmp_path / "requirements.txt").write_text("not-installed-library-xyz==1.0\n")
    (tmp_path / "MLmodel").write_text(
        yaml.safe_dump(
            {"flavors": {"python_function": {"loader_module": "needs_lib", "code": "code"}}}
        )
    )
    with pytest.raises(TracklineException) as info:
        trackline.pyfunc.load_model(tmp_path)
    assert "not_installed_library_xyz" in info.value.message
    assert "not-installed-library-xyz==1.0" in info.value.message


def test_missing_path_and_missing_pickle(tmp_path):
    with pytest.raises(TracklineException, match="does not exist"):
        trackline.pyfunc.load_model(tmp_path / "nowhere")
    path = tmp_path / "model"
    trackline.pyfunc.save_model(path, python_model=NoContext())
    (path / "python_model.pkl").unlink()
    with pytest.raises(TracklineException, match="'python_model.pkl' is missing"):
        trackline.pyfunc.load_model(path)


def test_save_refuses_bad_arguments_and_leaves_nothing(tmp_path):
    path = tmp_path / "model"
    with pytest.raises(TracklineException, match="exactly one of python_model"):
        trackline.pyfunc.save_model(path)
    with pytest.raises(TracklineException, match="predict method"):
        trackline.pyfunc.save_model(path, python_model=object())
    assert not path.exists()
    with pytest.raises(TracklineException, match="code path .* does not exist"):
        trackline.pyfunc.save_model(path, python_model=NoContext(), code_paths=["/nope.py"])
    assert not path.exists()
    trackline.pyfunc.save_model(path, python_model=NoContext())
    with pytest.raises(TracklineException, match="already exists and is not empty") as info:
        trackline.pyfunc.save_model(path, python_model=NoContext())
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_reading_metadata_never_unpickles(tmp_path):
    """Model.load and the pyfunc loader lookup read YAML only; the pickle runs at load_model."""
    path = tmp_path / "model"
    trackline.pyfunc.save_model(path, python_model=NoContext())
    (path / "python_model.pkl").write_bytes(b"not a pickle at all")
    from trackline.models import Model

    assert Model.load(path).flavors["python_function"]["python_model"] == "python_model.pkl"
    with pytest.raises(Exception):  # noqa: B017 - the corrupted pickle fails only when loaded
        trackline.pyfunc.load_model(path)


def test_tensor_model_through_pyfunc(tmp_path):
    class Double(trackline.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input * 2

    path = tmp_path / "model"
    trackline.pyfunc.save_model(path, python_model=Double(), input_example=np.ones((2, 3)))
    model = trackline.pyfunc.load_model(path)
    assert model.predict(np.ones((1, 3), dtype=np.float32)).tolist() == [[2.0, 2.0, 2.0]]
    with pytest.raises(TracklineException, match="shape"):
        model.predict(np.ones((1, 4)))


def test_validate_serving_input(tmp_path, artifact):
    from trackline.models import convert_input_example_to_serving_input, validate_serving_input

    path = tmp_path / "model"
    trackline.pyfunc.save_model(
        path, python_model=AddN(), artifacts={"n": artifact}, input_example=FRAME
    )
    body = convert_input_example_to_serving_input(FRAME, params={"scale": 2})
    assert json.loads(body) == {
        "dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 0], [2.0, 1]]},
        "params": {"scale": 2},
    }
    # the file saved with the model is a valid body too
    saved = (path / "serving_input_example.json").read_text()
    assert validate_serving_input(str(path), saved).tolist() == [11.0, 12.0]
    with pytest.raises(TracklineException, match="exactly one of the keys"):
        validate_serving_input(str(path), {"rows": []})
    with pytest.raises(TracklineException, match=r"missing input column\(s\) \['b'\]"):
        validate_serving_input(str(path), {"dataframe_records": [{"a": 1.0}]})


def test_failed_save_into_an_existing_empty_directory_leaves_it_empty(tmp_path):
    path = tmp_path / "model"
    path.mkdir()

    class Broken(trackline.pyfunc.PythonModel):
        def __init__(self):
            import threading

            self.lock = threading.Lock()  # cannot be pickled

        def predict(self, context, model_input, params=None):
            return model_input

    with pytest.raises(TypeError, match="pickle"):
        trackline.pyfunc.save_model(path, python_model=Broken(), code_paths=[__file__])
    assert path.is_dir() and list(path.iterdir()) == []
