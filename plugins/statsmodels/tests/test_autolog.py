"""statsmodels autologging: real models on tiny data, logged into a SQLite store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from trackline.testing.autologging import only_run as _only_run

pytest_plugins = ["trackline.testing.autologging"]  # the sqlite_tracking fixture


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    return pd.DataFrame({"x": x, "y": 2.0 * x + 1.0 + rng.normal(scale=0.1, size=40)})


def test_ols_logs_fit_params_result_metrics_summary_and_model(sqlite_tracking, frame):
    trackline = sqlite_tracking
    trackline.statsmodels.autolog()
    exog = sm.add_constant(frame[["x"]])
    results = sm.OLS(frame["y"], exog).fit(cov_type="HC1")

    run = _only_run()
    assert run.data.tags["mlflow.autologging"] == "statsmodels"
    assert run.data.tags["model_class"] == "statsmodels.regression.linear_model.OLS"
    assert run.data.params["cov_type"] == "HC1"
    assert run.data.params["method"] == "pinv"
    metrics = run.data.metrics
    assert metrics["aic"] == pytest.approx(results.aic)
    assert metrics["bic"] == pytest.approx(results.bic)
    assert metrics["rsquared"] == pytest.approx(results.rsquared)
    assert metrics["nobs"] == 40
    assert metrics["params_x"] == pytest.approx(results.params["x"])
    assert metrics["pvalues_const"] == pytest.approx(results.pvalues["const"])
    summary = trackline.artifacts.load_text(run.info.artifact_uri + "/model_summary.txt")
    assert "OLS Regression Results" in summary
    (dataset_input,) = run.inputs.dataset_inputs
    assert json.loads(dataset_input.dataset.profile)["num_rows"] == 40

    logged = trackline.last_logged_model()
    loaded = trackline.pyfunc.load_model(f"models:/{logged.model_id}")
    np.testing.assert_allclose(loaded.predict(exog.iloc[:3]), results.predict(exog.iloc[:3]))


def test_glm_logs_once_though_it_fits_inner_models(sqlite_tracking, frame):
    trackline = sqlite_tracking
    trackline.statsmodels.autolog(log_models=False)
    binary = frame.assign(hit=(frame["y"] > 1.0).astype(int))
    results = smf.glm("hit ~ x", data=binary, family=sm.families.Binomial()).fit()
    run = _only_run()
    assert run.data.tags["model_class"].endswith(".GLM")
    assert run.data.metrics["deviance"] == pytest.approx(results.deviance)
    assert run.data.metrics["params_Intercept"] == pytest.approx(results.params["Intercept"])


def test_a_failing_fit_propagates_and_fails_the_run(sqlite_tracking):
    trackline = sqlite_tracking
    trackline.statsmodels.autolog()
    model = sm.OLS(np.ones(4), np.ones((4, 1)))
    with pytest.raises(ValueError):
        model.fit(method="not-a-method")
    assert _only_run().info.status == "FAILED"


def test_disable_restores_statsmodels(sqlite_tracking):
    from statsmodels.regression.linear_model import RegressionModel

    trackline = sqlite_tracking
    fit = RegressionModel.__dict__["fit"]
    trackline.statsmodels.autolog()
    assert RegressionModel.__dict__["fit"] is not fit
    trackline.statsmodels.autolog(disable=True)
    assert RegressionModel.__dict__["fit"] is fit
