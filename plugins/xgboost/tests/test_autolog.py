"""XGBoost autologging: real boosters on tiny data, logged into a SQLite store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from trackline.testing.autologging import client as _client
from trackline.testing.autologging import only_run as _only_run

pytest_plugins = ["trackline.testing.autologging"]  # the sqlite_tracking fixture


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (X["a"] + 0.5 * X["b"] > 0).astype(int)
    return X, y


def test_train_logs_params_per_iteration_metrics_importance_and_model(sqlite_tracking, data):
    trackline = sqlite_tracking
    X, y = data
    trackline.xgboost.autolog()
    dtrain = xgb.DMatrix(X, label=y)
    user_callbacks: list = []
    evals_result: dict = {}
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 2, "eval_metric": ["logloss", "error"]},
        dtrain,
        num_boost_round=4,
        evals=[(dtrain, "train")],
        callbacks=user_callbacks,
        evals_result=evals_result,
        verbose_eval=False,
    )
    assert user_callbacks == []  # our callback went into a copy

    run = _only_run()
    assert run.data.tags["mlflow.autologging"] == "xgboost"
    assert run.data.params["max_depth"] == "2"
    assert run.data.params["num_boost_round"] == "4"
    assert run.data.params["objective"] == "binary:logistic"
    history = _client().get_metric_history(run.info.run_id, "train-logloss")
    assert [m.step for m in history] == [0, 1, 2, 3]
    assert [m.value for m in history] == pytest.approx(evals_result["train"]["logloss"])
    assert "train-error" in run.data.metrics
    artifacts = {f.path for f in _client().list_artifacts(run.info.run_id)}
    assert {"feature_importance_weight.json", "feature_importance_weight.png"} <= artifacts
    importance = json.loads(
        trackline.artifacts.load_text(run.info.artifact_uri + "/feature_importance_weight.json")
    )
    assert importance == pytest.approx(booster.get_score(importance_type="weight"))

    logged = trackline.last_logged_model()
    assert logged.source_run_id == run.info.run_id
    loaded = trackline.xgboost.load_model(f"models:/{logged.model_id}")
    np.testing.assert_allclose(loaded.predict(dtrain), booster.predict(dtrain), rtol=1e-6)


def test_early_stopping_is_logged(sqlite_tracking, data):
    trackline = sqlite_tracking
    X, y = data
    trackline.xgboost.autolog(log_models=False)
    dtrain = xgb.DMatrix(X, label=y)
    booster = xgb.train(
        {"objective": "binary:logistic", "eta": 1.0},
        dtrain,
        num_boost_round=50,
        evals=[(dtrain, "train")],
        early_stopping_rounds=1,
        verbose_eval=False,
    )
    run = _only_run()
    assert run.data.params["early_stopping_rounds"] == "1"
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    assert run.data.metrics["stopped_iteration"] == booster.num_boosted_rounds() - 1


def test_sklearn_api_fit_logs_eval_history_dataset_and_a_pyfunc_model(sqlite_tracking, data):
    trackline = sqlite_tracking
    X, y = data
    trackline.xgboost.autolog(importance_types=["weight", "gain"])
    model = xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(
        X, y, eval_set=[(X, y)], verbose=False
    )

    run = _only_run()  # one run: the inner xgboost.train logged into the fit's run
    assert run.data.params["num_boost_round"] == "3"  # train()'s params, as MLflow
    assert run.data.params["max_depth"] == "2"
    history = _client().get_metric_history(run.info.run_id, "validation_0-logloss")
    assert [m.step for m in history] == [0, 1, 2]
    assert history[-1].value == pytest.approx(model.evals_result()["validation_0"]["logloss"][-1])
    artifacts = {f.path for f in _client().list_artifacts(run.info.run_id)}
    assert "feature_importance_gain.json" in artifacts
    (dataset_input,) = run.inputs.dataset_inputs
    assert json.loads(dataset_input.dataset.profile)["num_rows"] == 60

    (logged,) = trackline.search_logged_models(output_format="list")  # one model: the fit's
    pyfunc_model = trackline.pyfunc.load_model(f"models:/{logged.model_id}")
    assert list(pyfunc_model.predict(X.iloc[:5])) == list(model.predict(X.iloc[:5]))
    assert pyfunc_model.metadata.signature is not None


def test_a_user_callback_that_raises_propagates_and_the_run_fails(sqlite_tracking, data):
    trackline = sqlite_tracking
    X, y = data
    trackline.xgboost.autolog(log_models=False)

    class Broken(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            raise RuntimeError("the user's callback broke")

    dtrain = xgb.DMatrix(X, label=y)
    with pytest.raises(RuntimeError, match="the user's callback broke"):
        xgb.train(
            {}, dtrain, 2, evals=[(dtrain, "train")], callbacks=[Broken()], verbose_eval=False
        )
    assert _only_run().info.status == "FAILED"


def test_disable_restores_xgboost(sqlite_tracking):
    trackline = sqlite_tracking
    train, fit = xgb.train, xgb.XGBClassifier.__dict__["fit"]
    trackline.xgboost.autolog()
    assert xgb.train is not train
    trackline.xgboost.autolog(disable=True)
    assert xgb.train is train and xgb.XGBClassifier.__dict__["fit"] is fit


def test_unknown_importance_type_is_refused(sqlite_tracking):
    from trackline.exceptions import TracklineException

    with pytest.raises(TracklineException, match="Unknown importance type 'speed'"):
        sqlite_tracking.xgboost.autolog(importance_types=["speed"])
