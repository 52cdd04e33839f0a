"""scikit-learn models cross between trackline and the real MLflow 3.17, both ways.

MLflow runs from benchmarks/.venv-mlflow in a subprocess (it needs scikit-learn and skops
there; scripts/test.sh installs them).
"""

from __future__ import annotations

import json

import pytest
import trackline.pyfunc
import trackline.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from trackline.exceptions import TracklineException
from trackline.testing.mlflow_reference import requires_mlflow, run_mlflow

pytestmark = requires_mlflow()


@pytest.fixture(scope="module")
def iris():
    data = load_iris(as_frame=True)
    return LogisticRegression(max_iter=300).fit(data.data, data.target), data.data


@pytest.mark.parametrize("serialization_format", ["skops", "cloudpickle"])
def test_trackline_sklearn_model_loads_in_mlflow(tmp_path, iris, serialization_format):
    model, X = iris
    trackline.sklearn.save_model(
        model, tmp_path / "model", serialization_format=serialization_format, input_example=X[:2]
    )
    X.to_json(tmp_path / "X.json", orient="split")
    out = run_mlflow(
        """
        import json, pandas as pd, mlflow.pyfunc, mlflow.sklearn
        X = pd.read_json("X.json", orient="split")
        pyfunc = mlflow.pyfunc.load_model("model")
        raw = mlflow.sklearn.load_model("model")
        print(json.dumps({"pyfunc": pyfunc.predict(X).tolist(), "raw": raw.predict(X).tolist(),
                          "inputs": pyfunc.metadata.get_input_schema().input_names()}))
        """,
        tmp_path,
    )
    result = json.loads(out)
    assert result["pyfunc"] == result["raw"] == model.predict(X).tolist()
    assert result["inputs"] == list(X.columns)


@pytest.mark.parametrize("serialization_format", ["skops", "cloudpickle"])
def test_mlflow_sklearn_model_loads_in_trackline(tmp_path, iris, serialization_format):
    _, X = iris
    X.to_json(tmp_path / "X.json", orient="split")
    out = run_mlflow(
        f"""
        import json, pandas as pd, mlflow.sklearn
        from sklearn.datasets import load_iris
        from sklearn.ensemble import RandomForestClassifier
        data = load_iris(as_frame=True)
        model = RandomForestClassifier(n_estimators=5, random_state=0).fit(data.data, data.target)
        mlflow.sklearn.save_model(model, "model", serialization_format={serialization_format!r},
                                  input_example=data.data[:2],
                                  skops_trusted_types=["sklearn.tree._tree.Tree"])
        print(json.dumps(model.predict(data.data).tolist()))
        """,
        tmp_path,
    )
    expected = json.loads(out)
    assert trackline.pyfunc.load_model(tmp_path / "model").predict(X).tolist() == expected
    assert trackline.sklearn.load_model(str(tmp_path / "model")).predict(X).tolist() == expected
    with pytest.raises(TracklineException, match="missing input column"):
        trackline.pyfunc.load_model(tmp_path / "model").predict(X.iloc[:, :2])


def test_same_mlmodel_and_environment_files_as_mlflow(tmp_path, iris):
    """Saving the same estimator and example gives the MLmodel MLflow writes, key for key."""
    import yaml

    model, X = iris
    X[:2].to_json(tmp_path / "example.json", orient="split")
    run_mlflow(
        """
        import pandas as pd, mlflow.sklearn
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression
        data = load_iris(as_frame=True)
        model = LogisticRegression(max_iter=300).fit(data.data, data.target)
        example = pd.read_json("example.json", orient="split")
        mlflow.sklearn.save_model(model, "theirs", input_example=example)
        print("ok")
        """,
        tmp_path,
    )
    trackline.sklearn.save_model(model, tmp_path / "ours", input_example=X[:2])
    volatile = {"model_uuid", "utc_time_created", "model_size_bytes", "trackline_version"}

    def mlmodel(name):
        raw = yaml.safe_load((tmp_path / name / "MLmodel").read_text())
        return {k: v for k, v in raw.items() if k not in volatile}

    assert mlmodel("ours") == mlmodel("theirs")
    for name in ("input_example.json", "serving_input_example.json"):
        ours = (tmp_path / "ours" / name).read_text()
        theirs = (tmp_path / "theirs" / name).read_text()
        assert yaml.safe_load(ours) == yaml.safe_load(theirs), name
    # python_env.yaml: same keys and python; pip differs between the two virtual environments
    ours_env = yaml.safe_load((tmp_path / "ours" / "python_env.yaml").read_text())
    theirs_env = yaml.safe_load((tmp_path / "theirs" / "python_env.yaml").read_text())
    assert ours_env["python"] == theirs_env["python"]
    assert ours_env["dependencies"] == theirs_env["dependencies"] == ["-r requirements.txt"]
    ours = set((tmp_path / "ours" / "requirements.txt").read_text().splitlines())
    theirs = set((tmp_path / "theirs" / "requirements.txt").read_text().splitlines())
    # MLflow adds what it captured importing things (itself, pandas, sometimes more): every
    # library trackline pins, MLflow pins to the same version.
    assert ours <= theirs
