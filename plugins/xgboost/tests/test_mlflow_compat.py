"""XGBoost models cross between trackline and the real MLflow 3.17, both ways.

MLflow runs for real from benchmarks/.venv-mlflow (with the same xgboost installed there:
``benchmarks/.venv-mlflow/bin/pip install xgboost==3.2.0``), in a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import trackline.pyfunc
import xgboost as xgb
from trackline.models import Model
from trackline.testing.mlflow_reference import requires_mlflow, run_mlflow
from trackline_xgboost import flavor as xgb_flavor

pytestmark = requires_mlflow("xgboost", install="xgboost==3.2.0")


@pytest.fixture
def data(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    frame["y"] = (frame["a"] - frame["b"] > 0).astype(int)
    frame.to_csv(tmp_path / "data.csv", index=False)
    return frame


def test_trackline_models_load_in_mlflow(tmp_path, data):
    features, target = data[["a", "b"]], data["y"]
    classifier = xgb.XGBClassifier(n_estimators=4, max_depth=2, n_jobs=1).fit(features, target)
    booster = xgb.train(
        {"max_depth": 2, "objective": "binary:logistic", "nthread": 1},
        xgb.DMatrix(features, target),
        num_boost_round=4,
    )
    xgb_flavor.save_model(classifier, tmp_path / "classifier", input_example=features.head(2))
    xgb_flavor.save_model(booster, tmp_path / "booster", model_format="json")

    out = run_mlflow(
        """
        import json
        import mlflow.pyfunc, mlflow.xgboost
        import pandas as pd
        import xgboost as xgb

        X = pd.read_csv("data.csv")[["a", "b"]]
        clf = mlflow.xgboost.load_model("classifier")
        booster = mlflow.xgboost.load_model("booster")
        print(json.dumps({
            "classifier_type": type(clf).__name__,
            "booster_type": type(booster).__name__,
            "proba": clf.predict_proba(X)[:, 1].tolist(),
            "pyfunc_classifier": mlflow.pyfunc.load_model("classifier").predict(X).tolist(),
            "pyfunc_booster": mlflow.pyfunc.load_model("booster").predict(X).tolist(),
        }))
        """,
        tmp_path,
    )
    result = json.loads(out)
    assert result["classifier_type"] == "XGBClassifier"
    assert result["booster_type"] == "Booster"
    np.testing.assert_allclose(result["proba"], classifier.predict_proba(features)[:, 1], rtol=1e-6)
    assert result["pyfunc_classifier"] == classifier.predict(features).tolist()
    np.testing.assert_allclose(
        result["pyfunc_booster"], booster.predict(xgb.DMatrix(features)), rtol=1e-6
    )


def test_mlflow_models_load_in_trackline(tmp_path, data):
    out = run_mlflow(
        """
        import json
        import mlflow.xgboost
        import pandas as pd
        import xgboost as xgb

        frame = pd.read_csv("data.csv")
        X, y = frame[["a", "b"]], frame["y"]
        reg = xgb.XGBRegressor(n_estimators=4, max_depth=2, n_jobs=1).fit(X, y)
        booster = xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(X, y), 4)
        mlflow.xgboost.save_model(reg, "regressor", input_example=X.head(2))
        mlflow.xgboost.save_model(booster, "booster", model_format="json")
        print(json.dumps({
            "regressor": reg.predict(X).tolist(),
            "booster": booster.predict(xgb.DMatrix(X)).tolist(),
        }))
        """,
        tmp_path,
    )
    expected = json.loads(out)
    features = data[["a", "b"]]
    assert Model.load(tmp_path / "regressor").flavors["xgboost"]["model_format"] == "ubj"

    regressor = xgb_flavor.load_model(str(tmp_path / "regressor"))
    assert isinstance(regressor, xgb.XGBRegressor)
    np.testing.assert_allclose(regressor.predict(features), expected["regressor"], rtol=1e-6)
    pyfunc_regressor = trackline.pyfunc.load_model(str(tmp_path / "regressor"))
    np.testing.assert_allclose(pyfunc_regressor.predict(features), expected["regressor"], rtol=1e-6)

    booster = xgb_flavor.load_model(str(tmp_path / "booster"))
    assert isinstance(booster, xgb.Booster)
    np.testing.assert_allclose(
        trackline.pyfunc.load_model(str(tmp_path / "booster")).predict(features),
        expected["booster"],
        rtol=1e-6,
    )
