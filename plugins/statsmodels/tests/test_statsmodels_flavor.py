"""trackline.statsmodels on real statsmodels results fitted on tiny data: save, load, log,
bad input."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import statsmodels
import statsmodels.api as sm
import statsmodels.formula.api as smf
import trackline
import trackline.pyfunc
from statsmodels.tsa.arima.model import ARIMA
from trackline.exceptions import TracklineException
from trackline.models import Model
from trackline_statsmodels import flavor as sm_flavor

pytest_plugins = ["trackline.testing.pytest_plugin"]  # the tracking_uri fixture


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    data["y"] = 1.5 + 2.0 * data["a"] - 0.5 * data["b"] + rng.normal(scale=0.1, size=30)
    return data


@pytest.fixture(scope="module")
def formula_results(frame):
    return smf.ols("y ~ a + b", data=frame).fit()


def test_trackline_statsmodels_is_the_plugin_module() -> None:
    import trackline.statsmodels

    assert trackline.statsmodels is sm_flavor


def test_formula_ols_round_trip_native_and_pyfunc(tmp_path, frame, formula_results):
    exog = frame[["a", "b"]]
    path = tmp_path / "model"
    sm_flavor.save_model(formula_results, path, input_example=exog.head(3))

    conf = Model.load(path).flavors
    assert conf["statsmodels"] == {
        "statsmodels_version": statsmodels.__version__,
        "data": "model.statsmodels",
        "code": None,
    }
    assert conf["python_function"]["loader_module"] == "mlflow.statsmodels"
    assert conf["python_function"]["data"] == "model.statsmodels"
    assert (path / "requirements.txt").read_text() == f"statsmodels=={statsmodels.__version__}"

    expected = formula_results.predict(exog)
    native = sm_flavor.load_model(str(path))
    np.testing.assert_allclose(native.params, formula_results.params)
    np.testing.assert_allclose(native.predict(exog), expected)
    pyfunc_model = trackline.pyfunc.load_model(str(path))
    np.testing.assert_allclose(pyfunc_model.predict(exog), expected)
    assert [c.name for c in pyfunc_model.metadata.signature.inputs.inputs] == ["a", "b"]


def test_array_api_predicts_with_exog_array(tmp_path, frame):
    exog = sm.add_constant(frame[["a", "b"]].to_numpy())
    results = sm.OLS(frame["y"].to_numpy(), exog).fit()
    path = tmp_path / "model"
    sm_flavor.save_model(results, path, remove_data=True)

    np.testing.assert_allclose(
        trackline.pyfunc.load_model(str(path)).predict(exog[:5]), results.predict(exog[:5])
    )
    # remove_data dropped the training arrays but kept what predicts.
    assert sm_flavor.load_model(str(path)).model.exog is None


def test_time_series_model_forecasts_a_start_end_range(tmp_path):
    series = pd.Series(np.sin(np.arange(40) / 3.0) + np.arange(40) * 0.05)
    results = ARIMA(series, order=(1, 0, 0)).fit()
    path = tmp_path / "arima"
    sm_flavor.save_model(results, path)

    pyfunc_model = trackline.pyfunc.load_model(str(path))
    forecast = pyfunc_model.predict(pd.DataFrame({"start": [40], "end": [44]}))
    np.testing.assert_allclose(forecast, results.predict(start=40, end=44))
    with pytest.raises(TracklineException, match="exactly one row with the columns 'start'"):
        pyfunc_model.predict(pd.DataFrame({"start": [40, 41], "end": [44, 45]}))


def test_log_model_to_a_run_on_sqlite(tracking_uri, frame, formula_results):
    exog = frame[["a", "b"]]
    with trackline.start_run() as run:
        info = sm_flavor.log_model(formula_results, name="ols", input_example=exog.head(2))

    assert info.model_uri.startswith("models:/m-")
    expected = formula_results.predict(exog)
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/ols"):
        np.testing.assert_allclose(sm_flavor.load_model(uri).predict(exog), expected)
        np.testing.assert_allclose(trackline.pyfunc.load_model(uri).predict(exog), expected)


# -- bad input -------------------------------------------------------------------------------


def test_bad_arguments_are_refused_and_write_nothing(tmp_path, frame, formula_results):
    unfitted = smf.ols("y ~ a", data=frame)
    with pytest.raises(TracklineException, match=r"fitted statsmodels results.*got OLS"):
        sm_flavor.save_model(unfitted, tmp_path / "a")
    with pytest.raises(TracklineException, match="remove_data must be True or False"):
        sm_flavor.save_model(formula_results, tmp_path / "b", remove_data="yes")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_corrupted_model_file_gives_a_clear_error(tmp_path, formula_results):
    path = tmp_path / "model"
    sm_flavor.save_model(formula_results, path)
    (path / "model.statsmodels").write_bytes(b"\x80\x04\x95garbage\x00" * 5)
    message = "'model.statsmodels' cannot be read; it is corrupted"
    with pytest.raises(TracklineException, match=message):
        sm_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match=message):
        trackline.pyfunc.load_model(str(path))


def test_pickle_is_refused_when_pickle_deserialization_is_off(
    tmp_path, formula_results, monkeypatch
):
    path = tmp_path / "model"
    sm_flavor.save_model(formula_results, path)
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    with pytest.raises(TracklineException, match="pickle files, and loading one runs code"):
        sm_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match="runs code"):
        trackline.pyfunc.load_model(str(path))


def test_missing_statsmodels_names_the_package_to_install(tmp_path, formula_results, monkeypatch):
    path = tmp_path / "model"
    sm_flavor.save_model(formula_results, path)
    monkeypatch.setitem(sys.modules, "statsmodels", None)  # as if it were not installed
    wanted = f"pip install 'statsmodels=={statsmodels.__version__}'"
    with pytest.raises(TracklineException, match=wanted):
        sm_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match=wanted):
        trackline.pyfunc.load_model(str(path))
