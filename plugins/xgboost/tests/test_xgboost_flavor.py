"""trackline.xgboost on real XGBoost models trained on tiny data: save, load, log, bad input."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import trackline
import trackline.pyfunc
import xgboost as xgb
import yaml
from trackline.entities import LoggedModelStatus
from trackline.exceptions import TracklineException
from trackline.models import Model, infer_signature
from trackline_xgboost import flavor as xgb_flavor

pytest_plugins = ["trackline.testing.pytest_plugin"]  # the tracking_uri fixture


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    target = (features["a"] + features["b"] > 0).astype(int)
    return features, target


@pytest.fixture(scope="module")
def classifier(data: tuple[pd.DataFrame, pd.Series]) -> xgb.XGBClassifier:
    features, target = data
    return xgb.XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1).fit(features, target)


@pytest.fixture(scope="module")
def booster(data: tuple[pd.DataFrame, pd.Series]) -> xgb.Booster:
    features, target = data
    params = {"max_depth": 2, "objective": "binary:logistic", "nthread": 1}
    return xgb.train(params, xgb.DMatrix(features, target), num_boost_round=5)


def test_trackline_xgboost_is_the_plugin_module() -> None:
    import trackline.xgboost

    assert trackline.xgboost is xgb_flavor


@pytest.mark.parametrize("model_format", ["ubj", "json"])
def test_classifier_round_trip_native_and_pyfunc(tmp_path, data, classifier, model_format):
    features, _ = data
    path = tmp_path / "model"
    xgb_flavor.save_model(
        classifier, path, model_format=model_format, input_example=features.head(3)
    )

    conf = Model.load(path).flavors
    assert conf["xgboost"] == {
        "xgb_version": xgb.__version__,
        "data": f"model.{model_format}",
        "model_class": "xgboost.sklearn.XGBClassifier",
        "model_format": model_format,
        "code": None,
    }
    assert conf["python_function"]["loader_module"] == "mlflow.xgboost"
    assert conf["python_function"]["data"] == f"model.{model_format}"
    assert (path / f"model.{model_format}").is_file()
    assert not list(path.glob("*.pkl"))
    assert (path / "requirements.txt").read_text() == f"xgboost=={xgb.__version__}"

    native = xgb_flavor.load_model(str(path))
    assert isinstance(native, xgb.XGBClassifier)
    np.testing.assert_array_equal(native.predict(features), classifier.predict(features))
    np.testing.assert_allclose(native.predict_proba(features), classifier.predict_proba(features))

    pyfunc_model = trackline.pyfunc.load_model(str(path))
    np.testing.assert_array_equal(pyfunc_model.predict(features), classifier.predict(features))
    assert isinstance(pyfunc_model.get_raw_model(), xgb.XGBClassifier)
    signature = pyfunc_model.metadata.signature
    assert [c.name for c in signature.inputs.inputs] == ["a", "b"]


def test_booster_round_trip_predicts_through_dmatrix(tmp_path, data, booster):
    features, _ = data
    path = tmp_path / "booster"
    expected = booster.predict(xgb.DMatrix(features))
    signature = infer_signature(features, expected, params={"output_margin": False})
    xgb_flavor.save_model(booster, path, signature=signature)

    assert Model.load(path).flavors["xgboost"]["model_class"] == "xgboost.core.Booster"
    native = xgb_flavor.load_model(str(path))
    assert isinstance(native, xgb.Booster)
    np.testing.assert_allclose(native.predict(xgb.DMatrix(features)), expected)
    pyfunc_model = trackline.pyfunc.load_model(str(path))
    np.testing.assert_allclose(pyfunc_model.predict(features), expected)
    # Features are checked by name, as XGBoost (and MLflow) do: an unnamed array is refused.
    with pytest.raises(ValueError, match="feature names"):
        pyfunc_model.get_raw_model().predict(xgb.DMatrix(features.to_numpy()))
    # predict params of the signature reach XGBoost: raw margins instead of probabilities.
    margins = pyfunc_model.predict(features, params={"output_margin": True})
    np.testing.assert_allclose(margins, booster.predict(xgb.DMatrix(features), output_margin=True))


def test_models_without_model_class_load_as_boosters(tmp_path, data, booster):
    # MLflow before 1.22 wrote no model_class: such models are Boosters.
    features, _ = data
    path = tmp_path / "old"
    xgb_flavor.save_model(booster, path)
    mlmodel = path / "MLmodel"
    raw = yaml.safe_load(mlmodel.read_text())
    del raw["flavors"]["xgboost"]["model_class"]
    mlmodel.write_text(yaml.safe_dump(raw))
    loaded = xgb_flavor.load_model(str(path))
    assert isinstance(loaded, xgb.Booster)
    np.testing.assert_allclose(
        loaded.predict(xgb.DMatrix(features)), booster.predict(xgb.DMatrix(features))
    )


def test_pyfunc_enforces_the_signature(tmp_path, data, classifier):
    features, _ = data
    path = tmp_path / "model"
    xgb_flavor.save_model(classifier, path, input_example=features.head(2))
    with pytest.raises(TracklineException, match="b"):
        trackline.pyfunc.load_model(str(path)).predict(features[["a"]])


def test_log_model_to_a_run_on_sqlite(tracking_uri, data, classifier):
    features, _ = data
    with trackline.start_run() as run:
        info = xgb_flavor.log_model(classifier, name="xgb", input_example=features.head(2))

    assert info.model_uri.startswith("models:/m-")
    assert info.run_id == run.info.run_id
    assert info.flavors["xgboost"]["model_class"] == "xgboost.sklearn.XGBClassifier"
    expected = classifier.predict(features)
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/xgb"):
        np.testing.assert_array_equal(xgb_flavor.load_model(uri).predict(features), expected)
        np.testing.assert_array_equal(trackline.pyfunc.load_model(uri).predict(features), expected)
    logged = trackline.get_logged_model(info.model_id)
    assert logged.status == LoggedModelStatus.READY
    assert logged.source_run_id == run.info.run_id


def test_log_model_registers_a_version(tracking_uri, data, booster):
    features, _ = data
    with trackline.start_run():
        info = xgb_flavor.log_model(booster, name="xgb", registered_model_name="churn")
    assert info.registered_model_version == 1
    loaded = trackline.pyfunc.load_model("models:/churn/1")
    np.testing.assert_allclose(loaded.predict(features), booster.predict(xgb.DMatrix(features)))


# -- bad input -------------------------------------------------------------------------------


def test_unknown_model_format_is_refused_and_writes_nothing(tmp_path, classifier):
    path = tmp_path / "model"
    with pytest.raises(TracklineException, match="model_format 'pkl'.*ubj, json"):
        xgb_flavor.save_model(classifier, path, model_format="pkl")
    assert not path.exists()


def test_a_non_xgboost_object_or_unfitted_model_is_refused(tmp_path):
    with pytest.raises(TracklineException, match="xgboost.Booster.*got dict"):
        xgb_flavor.save_model({"not": "a model"}, tmp_path / "a")
    with pytest.raises(TracklineException, match="not fitted"):
        xgb_flavor.save_model(xgb.XGBRegressor(), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_corrupted_model_file_gives_a_clear_error(tmp_path, classifier):
    path = tmp_path / "model"
    xgb_flavor.save_model(classifier, path)
    (path / "model.ubj").write_bytes(b"\x00garbage, not UBJSON\xff" * 3)
    with pytest.raises(TracklineException, match="'model.ubj' cannot be read; it is corrupted"):
        xgb_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match="corrupted"):
        trackline.pyfunc.load_model(str(path))


def test_a_missing_model_file_is_named(tmp_path, classifier):
    path = tmp_path / "model"
    xgb_flavor.save_model(classifier, path)
    (path / "model.ubj").unlink()
    with pytest.raises(TracklineException, match="model.ubj' is missing") as caught:
        xgb_flavor.load_model(str(path))
    assert caught.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def _edit_flavor(path, **changes) -> None:
    mlmodel = path / "MLmodel"
    raw = yaml.safe_load(mlmodel.read_text())
    raw["flavors"]["xgboost"].update(changes)
    mlmodel.write_text(yaml.safe_dump(raw))


@pytest.mark.parametrize(
    ("model_class", "message"),
    [
        ("os.system", "not an XGBoost class"),
        ("xgboost.NoSuchModel", "does not exist"),
        ("xgboost.DMatrix", "not an XGBoost model class"),
    ],
)
def test_model_class_must_be_an_xgboost_model_class(tmp_path, classifier, model_class, message):
    path = tmp_path / "model"
    xgb_flavor.save_model(classifier, path)
    _edit_flavor(path, model_class=model_class)
    with pytest.raises(TracklineException, match=message):
        xgb_flavor.load_model(str(path))


def test_data_path_cannot_leave_the_model_directory(tmp_path, classifier):
    path = tmp_path / "model"
    xgb_flavor.save_model(classifier, path)
    (tmp_path / "elsewhere.ubj").write_bytes((path / "model.ubj").read_bytes())
    _edit_flavor(path, data="../elsewhere.ubj")
    with pytest.raises(TracklineException, match="outside the model directory"):
        xgb_flavor.load_model(str(path))


def test_missing_xgboost_names_the_package_to_install(tmp_path, classifier, monkeypatch):
    path = tmp_path / "model"
    xgb_flavor.save_model(classifier, path)
    # As if xgboost were not installed: importing it raises ModuleNotFoundError.
    monkeypatch.setitem(sys.modules, "xgboost", None)
    wanted = f"pip install 'xgboost=={xgb.__version__}'"
    with pytest.raises(TracklineException, match=wanted):
        xgb_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match=wanted):
        trackline.pyfunc.load_model(str(path))
    with pytest.raises(TracklineException, match="pip install 'xgboost'"):
        xgb_flavor.save_model(classifier, tmp_path / "other")
