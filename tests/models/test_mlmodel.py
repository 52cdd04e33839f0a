"""The MLmodel file, environment files and input examples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from trackline.exceptions import TracklineException
from trackline.models import Model, infer_signature
from trackline.models.environment import resolve_requirements, write_environment
from trackline.models.input_example import load_input_example, save_input_example

FULL = {
    "artifact_path": "file:///tmp/mlruns/1/models/m-0123/artifacts",
    "flavors": {
        "python_function": {
            "loader_module": "mlflow.sklearn",
            "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
            "python_version": "3.11.7",
            "model_path": "model.skops",
            "predict_fn": "predict",
        },
        "sklearn": {"pickled_model": "model.skops", "serialization_format": "skops"},
    },
    "run_id": "abc",
    "model_id": "m-0123",
    "model_uuid": "m-0123",
    "utc_time_created": "2026-01-02 03:04:05.123456",
    "mlflow_version": "3.17.2",
    "signature": {
        "inputs": '[{"type": "double", "name": "a", "required": true}]',
        "outputs": '[{"type": "long", "required": true}]',
        "params": None,
    },
    "is_signature_from_type_hint": False,
    "type_hint_from_example": False,
    "saved_input_example_info": {
        "artifact_path": "input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json",
    },
    "model_size_bytes": 1234,
    "prompts": None,
    "metadata": {"owner": "me"},
    "databricks_runtime": "15.4",
    "resources": {"api_version": "1"},
    "auth_policy": {"system": 1},
    "env_vars": ["OPENAI_API_KEY"],
}


def test_every_field_round_trips(tmp_path):
    (tmp_path / "MLmodel").write_text(yaml.safe_dump(FULL))
    model = Model.load(tmp_path)
    assert model.signature.inputs.input_names() == ["a"]
    assert model.extra == {"databricks_runtime": "15.4"}
    assert model.to_dict() == FULL
    model.save(tmp_path / "again")
    assert yaml.safe_load((tmp_path / "again").read_text()) == FULL


def test_a_new_model_writes_mlflow_defaults():
    raw = Model().to_dict()
    assert len(raw["model_uuid"]) == 32
    assert raw["model_id"] is None and raw["prompts"] is None
    assert raw["mlflow_version"] == "3.17.2"
    assert "artifact_path" not in raw and "run_id" not in raw
    # naive UTC with microseconds, as MLflow writes it
    assert len(raw["utc_time_created"]) == len("2026-01-02 03:04:05.123456")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No MLmodel file"),
        ("flavors: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "must hold a YAML mapping"),
        ("run_id: x\n", "no 'flavors' mapping"),
        ("flavors: {}\n", "no 'flavors' mapping"),
        ("flavors:\n  sklearn: 3\n", "must be a mapping"),
        ("flavors: {a: {}}\nsignature: {inputs: 'nope'}\n", "Invalid model signature"),
    ],
    ids=["missing", "bad-yaml", "list", "no-flavors", "empty-flavors", "bad-flavor", "bad-sig"],
)
def test_missing_or_corrupted_mlmodel_is_a_clear_error(tmp_path, content, message):
    if content is not None:
        (tmp_path / "MLmodel").write_text(content)
    with pytest.raises(TracklineException, match=message):
        Model.load(tmp_path)


def test_binary_garbage_mlmodel(tmp_path):
    (tmp_path / "MLmodel").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TracklineException, match="not valid YAML"):
        Model.load(tmp_path)


def test_get_flavor_names_the_flavors_there_are():
    model = Model(flavors={"sklearn": {}})
    with pytest.raises(TracklineException, match=r"no 'xgboost' flavor; it has \['sklearn'\]"):
        model.get_flavor("xgboost")


# -- environment -----------------------------------------------------------------------------


def test_environment_files_are_pinned_to_installed_versions(tmp_path):
    lines = resolve_requirements(["numpy", "pandas", "not-a-real-dist-xyz"])
    assert f"numpy=={np.__version__}" in lines
    assert f"pandas=={pd.__version__}" in lines
    assert "not-a-real-dist-xyz" in lines  # unknown: left unpinned
    env = write_environment(tmp_path, lines)
    assert env == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert (tmp_path / "requirements.txt").read_text().splitlines() == lines
    python_env = yaml.safe_load((tmp_path / "python_env.yaml").read_text())
    assert python_env["dependencies"] == ["-r requirements.txt"]
    assert python_env["build_dependencies"][-1] == "wheel"
    conda = yaml.safe_load((tmp_path / "conda.yaml").read_text())
    assert conda["name"] == "mlflow-env" and conda["channels"] == ["conda-forge"]
    assert conda["dependencies"][0].startswith("python=3.")
    assert conda["dependencies"][2] == {"pip": lines}


def test_pip_requirement_options(tmp_path):
    assert resolve_requirements(["numpy"], pip_requirements=["torch==2"]) == ["torch==2"]
    extra = resolve_requirements(["numpy"], extra_pip_requirements=["numpy<3", "rich"])
    assert extra == ["numpy<3", "rich"]  # the user's numpy line replaces the pinned one
    file = tmp_path / "reqs.txt"
    file.write_text("# comment\nrequests>=2\n\n")
    assert resolve_requirements([], pip_requirements=str(file)) == ["requests>=2"]
    with pytest.raises(TracklineException, match="only one of"):
        resolve_requirements([], pip_requirements=["a"], extra_pip_requirements=["b"])
    with pytest.raises(TracklineException, match="does not exist"):
        resolve_requirements([], pip_requirements=str(tmp_path / "missing.txt"))
    conda = {"dependencies": ["python=3.11", {"pip": ["scikit-learn==1.0"]}]}
    assert resolve_requirements(["numpy"], conda_env=conda) == ["scikit-learn==1.0"]


def test_constraints_file_is_shipped(tmp_path):
    constraints = tmp_path / "c.txt"
    constraints.write_text("numpy<3\n")
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    write_environment(model_dir, ["numpy", f"-c {constraints}"])
    assert (model_dir / "constraints.txt").read_text() == "numpy<3\n"
    assert (model_dir / "requirements.txt").read_text().splitlines()[-1] == "-c constraints.txt"


# -- input examples --------------------------------------------------------------------------


def test_dataframe_example(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [0, 1]})
    info = save_input_example(tmp_path, frame)
    assert info == {
        "artifact_path": "input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json",
    }
    assert json.loads((tmp_path / "input_example.json").read_text()) == {
        "columns": ["a", "b"],
        "data": [[1.0, 0], [2.0, 1]],
    }
    serving = json.loads((tmp_path / "serving_input_example.json").read_text())
    assert serving == {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 0], [2.0, 1]]}}
    pd.testing.assert_frame_equal(load_input_example(tmp_path, info), frame)


def test_array_and_json_examples(tmp_path):
    info = save_input_example(tmp_path, np.array([[1.0, 0.0]]))
    assert info["type"] == "ndarray" and "pandas_orient" not in info
    assert json.loads((tmp_path / "serving_input_example.json").read_text()) == {
        "inputs": [[1.0, 0.0]]
    }
    assert load_input_example(tmp_path, info).tolist() == [[1.0, 0.0]]
    info = save_input_example(tmp_path, {"a": 1.0, "b": "x"})
    assert info["type"] == "json_object"
    assert json.loads((tmp_path / "serving_input_example.json").read_text()) == {
        "inputs": {"a": 1.0, "b": "x"}
    }


def test_example_with_params(tmp_path):
    info = save_input_example(tmp_path, ({"a": np.zeros((1, 2))}, {"temperature": 0.3}))
    assert info["params"] == "true"
    stored = json.loads((tmp_path / "input_example.json").read_text())
    assert stored == {"inputs": {"a": [[0.0, 0.0]]}, "params": {"temperature": 0.3}}
    assert load_input_example(tmp_path, info)["a"].shape == (1, 2)


def test_unsupported_example_is_refused(tmp_path):
    with pytest.raises(TracklineException, match="Unsupported input example"):
        save_input_example(tmp_path, object())


def test_signature_survives_the_file(tmp_path):
    model = Model(flavors={"x": {}}, signature=infer_signature(pd.DataFrame({"a": [1]})))
    model.save(tmp_path / "MLmodel")
    assert Model.load(tmp_path).signature == model.signature
