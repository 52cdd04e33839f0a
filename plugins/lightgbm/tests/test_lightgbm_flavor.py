"""trackline.lightgbm on real LightGBM models trained on tiny data: save, load, log, bad input."""

from __future__ import annotations

import datetime
import sys

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import trackline
import trackline.pyfunc
import yaml
from trackline.exceptions import TracklineException
from trackline.models import Model
from trackline_lightgbm import flavor as lgb_flavor

pytest_plugins = ["trackline.testing.pytest_plugin"]  # the tracking_uri fixture

TINY = {"n_estimators": 4, "num_leaves": 4, "min_child_samples": 2, "verbose": -1, "n_jobs": 1}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    target = (features["a"] + features["b"] > 0).astype(int)
    return features, target


@pytest.fixture(scope="module")
def classifier(data) -> lgb.LGBMClassifier:
    features, target = data
    return lgb.LGBMClassifier(**TINY).fit(features, target)


@pytest.fixture(scope="module")
def booster(data) -> lgb.Booster:
    features, target = data
    params = {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 2, "verbose": -1}
    return lgb.train(params, lgb.Dataset(features, target), num_boost_round=4)


def test_trackline_lightgbm_is_the_plugin_module() -> None:
    import trackline.lightgbm

    assert trackline.lightgbm is lgb_flavor


def test_booster_is_saved_as_lightgbm_text(tmp_path, data, booster):
    features, _ = data
    path = tmp_path / "model"
    lgb_flavor.save_model(booster, path, input_example=features.head(3))

    conf = Model.load(path).flavors
    assert conf["lightgbm"] == {
        "lgb_version": lgb.__version__,
        "data": "model.lgb",
        "model_class": "lightgbm.basic.Booster",
        "code": None,
        "serialization_format": None,
        "skops_trusted_types": None,
    }
    assert conf["python_function"]["loader_module"] == "mlflow.lightgbm"
    assert (path / "model.lgb").read_text().startswith("tree\n")
    assert (path / "requirements.txt").read_text() == f"lightgbm=={lgb.__version__}"

    expected = booster.predict(features)
    native = lgb_flavor.load_model(str(path))
    assert isinstance(native, lgb.Booster)
    np.testing.assert_allclose(native.predict(features), expected)
    np.testing.assert_allclose(trackline.pyfunc.load_model(str(path)).predict(features), expected)


@pytest.mark.parametrize(
    ("serialization_format", "file_name"),
    [("skops", "model.skops"), ("cloudpickle", "model.pkl"), ("pickle", "model.pkl")],
)
def test_classifier_round_trip(tmp_path, data, classifier, serialization_format, file_name):
    features, _ = data
    path = tmp_path / "model"
    lgb_flavor.save_model(
        classifier, path, serialization_format=serialization_format, input_example=features[:2]
    )

    conf = Model.load(path).flavors["lightgbm"]
    assert conf["model_class"] == "lightgbm.sklearn.LGBMClassifier"
    assert conf["data"] == file_name
    assert conf["serialization_format"] == serialization_format
    assert (path / file_name).is_file()
    if serialization_format == "skops":
        assert "lightgbm.sklearn.LGBMClassifier" in conf["skops_trusted_types"]

    native = lgb_flavor.load_model(str(path))
    assert isinstance(native, lgb.LGBMClassifier)
    np.testing.assert_allclose(native.predict_proba(features), classifier.predict_proba(features))
    pyfunc_model = trackline.pyfunc.load_model(str(path))
    np.testing.assert_array_equal(pyfunc_model.predict(features), classifier.predict(features))
    assert [c.name for c in pyfunc_model.metadata.signature.inputs.inputs] == ["a", "b"]


def test_regressor_pyfunc_predicts_on_numpy(tmp_path, data):
    features, target = data
    regressor = lgb.LGBMRegressor(**TINY).fit(features.to_numpy(), target.astype(float))
    path = tmp_path / "model"
    lgb_flavor.save_model(regressor, path)
    np.testing.assert_allclose(
        trackline.pyfunc.load_model(str(path)).predict(features.to_numpy()),
        regressor.predict(features.to_numpy()),
    )


def test_log_model_to_a_run_on_sqlite(tracking_uri, data, classifier):
    features, _ = data
    with trackline.start_run() as run:
        info = lgb_flavor.log_model(classifier, name="lgb", input_example=features.head(2))

    assert info.model_uri.startswith("models:/m-")
    assert info.run_id == run.info.run_id
    expected = classifier.predict(features)
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/lgb"):
        np.testing.assert_array_equal(lgb_flavor.load_model(uri).predict(features), expected)
        np.testing.assert_array_equal(trackline.pyfunc.load_model(uri).predict(features), expected)


# -- bad input -------------------------------------------------------------------------------


def test_bad_arguments_are_refused_and_write_nothing(tmp_path, classifier):
    with pytest.raises(TracklineException, match="serialization_format 'json'"):
        lgb_flavor.save_model(classifier, tmp_path / "a", serialization_format="json")
    with pytest.raises(TracklineException, match="lightgbm.Booster.*got list"):
        lgb_flavor.save_model([1, 2], tmp_path / "b")
    with pytest.raises(TracklineException, match="not fitted"):
        lgb_flavor.save_model(lgb.LGBMRegressor(), tmp_path / "c")
    assert not any((tmp_path / name).exists() for name in "abc")


@pytest.mark.parametrize(
    ("fixture", "file_name", "serialization_format"),
    [
        ("booster", "model.lgb", "skops"),
        ("classifier", "model.skops", "skops"),
        ("classifier", "model.pkl", "cloudpickle"),
    ],
)
def test_a_corrupted_model_file_gives_a_clear_error(
    request, tmp_path, fixture, file_name, serialization_format
):
    path = tmp_path / "model"
    lgb_flavor.save_model(
        request.getfixturevalue(fixture), path, serialization_format=serialization_format
    )
    (path / file_name).write_bytes(b"\x80\x04not a model at all\x00\xff" * 4)
    message = f"'{file_name}' cannot be read; it is corrupted"
    with pytest.raises(TracklineException, match=message):
        lgb_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match=message):
        trackline.pyfunc.load_model(str(path))


def test_pickle_is_refused_when_pickle_deserialization_is_off(tmp_path, classifier, monkeypatch):
    path = tmp_path / "model"
    lgb_flavor.save_model(classifier, path, serialization_format="cloudpickle")
    monkeypatch.setenv("TRACKLINE_ALLOW_PICKLE_DESERIALIZATION", "false")
    with pytest.raises(TracklineException, match="would run code"):
        lgb_flavor.load_model(str(path))


def test_skops_refuses_types_the_mlmodel_does_not_trust(tmp_path, classifier):
    path = tmp_path / "model"
    lgb_flavor.save_model(classifier, path)
    mlmodel = path / "MLmodel"
    raw = yaml.safe_load(mlmodel.read_text())
    raw["flavors"]["lightgbm"]["skops_trusted_types"] = ["collections.OrderedDict"]
    mlmodel.write_text(yaml.safe_dump(raw))
    with pytest.raises(TracklineException, match="not trusted"):
        lgb_flavor.load_model(str(path))
    # The caller may vouch for them.
    trusted = ["lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier"]
    assert isinstance(lgb_flavor.load_model(str(path), skops_trusted_types=trusted), lgb.LGBMModel)


def test_missing_lightgbm_names_the_package_to_install(tmp_path, booster, monkeypatch):
    path = tmp_path / "model"
    lgb_flavor.save_model(booster, path)
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # as if it were not installed
    wanted = f"pip install 'lightgbm=={lgb.__version__}'"
    with pytest.raises(TracklineException, match=wanted):
        lgb_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match=wanted):
        trackline.pyfunc.load_model(str(path))


def test_the_mlmodel_cannot_widen_skops_trust_on_its_own(tmp_path, data):
    features, target = data
    model = lgb.LGBMClassifier(**TINY).fit(features, target)
    model.note_ = datetime.timedelta(days=1)  # a type outside LightGBM's own
    with pytest.raises(TracklineException, match=r"would not trust.*datetime.timedelta"):
        lgb_flavor.save_model(model, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()

    path = tmp_path / "model"
    lgb_flavor.save_model(model, path, skops_trusted_types=["datetime.timedelta"])
    assert "datetime.timedelta" in Model.load(path).flavors["lightgbm"]["skops_trusted_types"]
    # The file says to trust it; trackline asks the caller instead.
    with pytest.raises(TracklineException, match=r"MLmodel lists \['datetime.timedelta'\]"):
        lgb_flavor.load_model(str(path))
    loaded = lgb_flavor.load_model(str(path), skops_trusted_types=["datetime.timedelta"])
    assert loaded.note_ == datetime.timedelta(days=1)
