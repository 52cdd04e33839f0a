"""trackline.sklearn on real estimators and tiny data: formats, pyfunc, errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import trackline
import trackline.pyfunc
import yaml
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from trackline.exceptions import TracklineException


@pytest.fixture(scope="module")
def iris():
    data = load_iris(as_frame=True)
    X, y = data.data, data.target
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(X, y)
    return model, X, y


def test_trackline_sklearn_resolves_through_the_flavor_registry():
    import trackline.sklearn as sk
    import trackline_sklearn.flavor

    assert sk is trackline_sklearn.flavor
    assert trackline.sklearn.save_model is trackline_sklearn.flavor.save_model


@pytest.mark.parametrize(
    ("serialization_format", "file_name"),
    [("skops", "model.skops"), ("cloudpickle", "model.pkl"), ("pickle", "model.pkl")],
)
def test_save_load_predict_in_each_format(tmp_path, iris, serialization_format, file_name):
    model, X, _ = iris
    path = tmp_path / "model"
    trackline.sklearn.save_model(
        model, path, serialization_format=serialization_format, input_example=X[:3]
    )
    raw = yaml.safe_load((path / "MLmodel").read_text())
    assert raw["flavors"]["sklearn"]["serialization_format"] == serialization_format
    assert raw["flavors"]["sklearn"]["pickled_model"] == file_name
    assert raw["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert (path / file_name).exists()
    expected = model.predict(X)
    assert (trackline.sklearn.load_model(str(path)).predict(X) == expected).all()
    assert (trackline.pyfunc.load_model(str(path)).predict(X) == expected).all()
    requirements = (path / "requirements.txt").read_text().splitlines()
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in requirements
    if serialization_format == "skops":
        import skops

        assert f"skops=={skops.__version__}" in requirements


def test_signature_is_inferred_from_example_and_prediction(tmp_path, iris):
    model, X, _ = iris
    path = tmp_path / "model"
    trackline.sklearn.save_model(model, path, input_example=X[:2])
    signature = trackline.pyfunc.load_model(path).metadata.signature
    assert signature.inputs.input_names() == list(X.columns)
    assert signature.outputs.to_dict() == [{"type": "long", "required": True}]
    loaded = trackline.pyfunc.load_model(path)
    with pytest.raises(TracklineException, match="missing input column"):
        loaded.predict(X.drop(columns=[X.columns[0]]))


def test_pyfunc_predict_fn(tmp_path, iris):
    model, X, _ = iris
    path = tmp_path / "model"
    trackline.sklearn.save_model(model, path, pyfunc_predict_fn="predict_proba")
    probabilities = trackline.pyfunc.load_model(path).predict(X[:4])
    assert np.allclose(probabilities, model.predict_proba(X[:4]))
    with pytest.raises(TracklineException, match="pyfunc_predict_fn must be one of"):
        trackline.sklearn.save_model(model, tmp_path / "other", pyfunc_predict_fn="transform")
    assert not (tmp_path / "other").exists()


def test_bad_serialization_format(tmp_path, iris):
    with pytest.raises(TracklineException, match="Unknown serialization_format 'json'"):
        trackline.sklearn.save_model(iris[0], tmp_path / "m", serialization_format="json")


def _custom_function(x):
    return x


def test_skops_refuses_untrusted_types_and_names_the_way_out(tmp_path, iris):
    from sklearn.preprocessing import FunctionTransformer

    _, X, y = iris
    model = make_pipeline(FunctionTransformer(_custom_function), LogisticRegression()).fit(X, y)
    with pytest.raises(TracklineException, match="skops_trusted_types"):
        trackline.sklearn.save_model(model, tmp_path / "m")
    assert not (tmp_path / "m").exists()
    trackline.sklearn.save_model(model, tmp_path / "m", serialization_format="cloudpickle")
    assert (trackline.pyfunc.load_model(tmp_path / "m").predict(X) == model.predict(X)).all()


def test_pickle_loading_can_be_switched_off(tmp_path, iris, monkeypatch):
    model, X, _ = iris
    trackline.sklearn.save_model(model, tmp_path / "pkl", serialization_format="cloudpickle")
    trackline.sklearn.save_model(model, tmp_path / "skops")
    monkeypatch.setenv("TRACKLINE_ALLOW_PICKLE_DESERIALIZATION", "false")
    with pytest.raises(TracklineException, match="would run code"):
        trackline.pyfunc.load_model(tmp_path / "pkl")
    # skops files are not pickles: they still load.
    assert len(trackline.pyfunc.load_model(tmp_path / "skops").predict(X[:2])) == 2


def test_missing_model_file_and_missing_library(tmp_path, iris):
    model, X, _ = iris
    path = tmp_path / "model"
    trackline.sklearn.save_model(model, path)
    script = (
        "import sys; sys.modules['skops'] = None; sys.modules['skops.io'] = None\n"
        "import trackline.pyfunc\n"
        "try:\n"
        f"    trackline.pyfunc.load_model({str(path)!r})\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "needs the Python module 'skops'" in out.stdout
    assert "skops==" in out.stdout  # the requirements line that would fix it
    (path / "model.skops").unlink()
    with pytest.raises(TracklineException, match="model.skops' is missing"):
        trackline.pyfunc.load_model(path)


def test_numpy_input_and_tensor_signature(tmp_path, iris):
    model, X, _ = iris
    model_np = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(
        X.to_numpy(), iris[2]
    )
    path = tmp_path / "model"
    trackline.sklearn.save_model(model_np, path, input_example=X.to_numpy()[:2])
    loaded = trackline.pyfunc.load_model(path)
    assert loaded.metadata.signature.inputs.is_tensor_spec()
    assert (loaded.predict(X.to_numpy()) == model_np.predict(X.to_numpy())).all()
    with pytest.raises(TracklineException, match="shape"):
        loaded.predict(np.zeros((2, 3)))
    assert isinstance(loaded.get_raw_model(), type(model_np))


def test_dataframe_input_to_csv_model(tmp_path, iris):
    model, X, _ = iris
    path = tmp_path / "model"
    trackline.sklearn.save_model(model, path, input_example=X[:2], metadata={"team": "a"})
    loaded = trackline.pyfunc.load_model(path)
    assert loaded.metadata.metadata == {"team": "a"}
    records = X[:3].to_dict(orient="records")
    assert (loaded.predict(pd.DataFrame(records)) == model.predict(X[:3])).all()


def test_the_issue_story_log_then_load_by_uri(sqlite_tracking, iris):
    from sklearn.ensemble import RandomForestClassifier

    _, X, y = iris
    with sqlite_tracking.start_run() as run:
        model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
        info = trackline.sklearn.log_model(
            model,
            name="model",
            input_example=X[:5],
            skops_trusted_types=["sklearn.tree._tree.Tree"],
        )
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/model"):
        loaded = trackline.pyfunc.load_model(uri)
        assert (loaded.predict(X) == model.predict(X)).all()
    assert (trackline.sklearn.load_model(info.model_uri).predict(X) == model.predict(X)).all()
    assert info.flavors["sklearn"]["serialization_format"] == "skops"
    assert info.signature.inputs.input_names() == list(X.columns)
