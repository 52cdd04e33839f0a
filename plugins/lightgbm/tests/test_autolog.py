"""LightGBM autologging: real boosters on tiny data, logged into a SQLite store."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
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
    trackline.lightgbm.autolog()
    train_set = lgb.Dataset(X, label=y)
    recorded: dict = {}
    user_callbacks = [lgb.record_evaluation(recorded)]
    booster = lgb.train(
        {
            "objective": "binary",
            "num_leaves": 4,
            "metric": ["binary_logloss", "auc"],
            "verbose": -1,
        },
        train_set,
        num_boost_round=4,
        valid_sets=[train_set],
        valid_names=["train"],
        callbacks=user_callbacks,
    )
    assert len(user_callbacks) == 1  # our callback went into a copy

    run = _only_run()
    assert run.data.tags["mlflow.autologging"] == "lightgbm"
    assert run.data.params["num_leaves"] == "4"
    assert run.data.params["num_boost_round"] == "4"
    history = _client().get_metric_history(run.info.run_id, "train-binary_logloss")
    assert [m.step for m in history] == [0, 1, 2, 3]
    assert [m.value for m in history] == pytest.approx(recorded["train"]["binary_logloss"])
    assert "train-auc" in run.data.metrics
    (dataset_input,) = run.inputs.dataset_inputs  # the Dataset's raw frame, described
    assert [c["name"] for c in json.loads(dataset_input.dataset.schema)["mlflow_colspec"]] == [
        "a",
        "b",
        "c",
    ]
    artifacts = {f.path for f in _client().list_artifacts(run.info.run_id)}
    for kind in ("split", "gain"):
        assert {f"feature_importance_{kind}.json", f"feature_importance_{kind}.png"} <= artifacts
    importance = json.loads(
        trackline.artifacts.load_text(run.info.artifact_uri + "/feature_importance_split.json")
    )
    assert importance == dict(
        zip(booster.feature_name(), booster.feature_importance("split").tolist(), strict=True)
    )

    logged = trackline.last_logged_model()
    assert logged.source_run_id == run.info.run_id
    loaded = trackline.lightgbm.load_model(f"models:/{logged.model_id}")
    np.testing.assert_allclose(loaded.predict(X), booster.predict(X), rtol=1e-6)


def test_early_stopping_is_logged(sqlite_tracking, data):
    trackline = sqlite_tracking
    X, y = data
    trackline.lightgbm.autolog(log_models=False)
    train_set = lgb.Dataset(X, label=y)
    valid = lgb.Dataset(X.iloc[:20], label=y.iloc[:20], reference=train_set)
    booster = lgb.train(
        {"objective": "binary", "learning_rate": 1.0, "verbose": -1},
        train_set,
        num_boost_round=60,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(2, verbose=False)],
    )
    run = _only_run()
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    assert run.data.metrics["stopped_iteration"] == booster.current_iteration() - 1
    assert booster.current_iteration() < 60


def test_sklearn_api_fit_logs_eval_history_dataset_and_a_pyfunc_model(sqlite_tracking, data):
    trackline = sqlite_tracking
    X, y = data
    trackline.lightgbm.autolog()
    model = lgb.LGBMClassifier(n_estimators=3, num_leaves=4, verbose=-1).fit(
        X, y, eval_set=[(X, y)]
    )

    run = _only_run()  # one run: the inner lightgbm.train logged into the fit's run
    assert run.data.params["num_boost_round"] == "3"  # train()'s params, as MLflow
    assert run.data.params["num_leaves"] == "4"
    history = _client().get_metric_history(run.info.run_id, "training-binary_logloss")
    assert [m.step for m in history] == [0, 1, 2]
    assert [m.value for m in history] == pytest.approx(
        model.evals_result_["training"]["binary_logloss"]
    )
    (dataset_input,) = run.inputs.dataset_inputs
    assert json.loads(dataset_input.dataset.profile)["num_rows"] == 60

    (logged,) = trackline.search_logged_models(output_format="list")  # one model: the fit's
    pyfunc_model = trackline.pyfunc.load_model(f"models:/{logged.model_id}")
    assert list(pyfunc_model.predict(X.iloc[:5])) == list(model.predict(X.iloc[:5]))
    assert pyfunc_model.metadata.signature is not None


def test_a_user_callback_that_raises_propagates_and_the_run_fails(sqlite_tracking, data):
    trackline = sqlite_tracking
    X, y = data
    trackline.lightgbm.autolog(log_models=False)

    def broken(env):
        raise RuntimeError("the user's callback broke")

    with pytest.raises(RuntimeError, match="the user's callback broke"):
        lgb.train({"verbose": -1}, lgb.Dataset(X, label=y), 2, callbacks=[broken])
    assert _only_run().info.status == "FAILED"


def test_disable_restores_lightgbm(sqlite_tracking):
    trackline = sqlite_tracking
    train, fit = lgb.train, lgb.LGBMClassifier.__dict__["fit"]
    trackline.lightgbm.autolog()
    assert lgb.train is not train
    trackline.lightgbm.autolog(disable=True)
    assert lgb.train is train and lgb.LGBMClassifier.__dict__["fit"] is fit
