"""LightGBM models cross between trackline and the real MLflow 3.17, both ways.

MLflow runs for real from benchmarks/.venv-mlflow (with the same lightgbm installed there:
``benchmarks/.venv-mlflow/bin/pip install lightgbm==4.7.0``), in a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import trackline.pyfunc
from trackline.models import Model
from trackline.testing.mlflow_reference import requires_mlflow, run_mlflow
from trackline_lightgbm import flavor as lgb_flavor

TINY = {"n_estimators": 4, "num_leaves": 4, "min_child_samples": 2, "verbose": -1, "n_jobs": 1}


pytestmark = requires_mlflow("lightgbm", install="lightgbm==4.7.0")


@pytest.fixture
def data(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    frame["y"] = (frame["a"] + 0.5 * frame["b"] > 0).astype(int)
    frame.to_csv(tmp_path / "data.csv", index=False)
    return frame


def test_trackline_models_load_in_mlflow(tmp_path, data):
    features, target = data[["a", "b"]], data["y"]
    classifier = lgb.LGBMClassifier(**TINY).fit(features, target)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 2, "verbose": -1},
        lgb.Dataset(features, target),
        num_boost_round=4,
    )
    lgb_flavor.save_model(classifier, tmp_path / "skops", input_example=features.head(2))
    lgb_flavor.save_model(classifier, tmp_path / "pickled", serialization_format="cloudpickle")
    lgb_flavor.save_model(booster, tmp_path / "booster")

    out = run_mlflow(
        """
        import json
        import mlflow.lightgbm, mlflow.pyfunc
        import pandas as pd

        X = pd.read_csv("data.csv")[["a", "b"]]
        result = {}
        for name in ("skops", "pickled", "booster"):
            native = mlflow.lightgbm.load_model(name)
            result[name] = {
                "type": type(native).__name__,
                "pyfunc": mlflow.pyfunc.load_model(name).predict(X).tolist(),
            }
        print(json.dumps(result))
        """,
        tmp_path,
    )
    result = json.loads(out)
    for name in ("skops", "pickled"):
        assert result[name]["type"] == "LGBMClassifier"
        assert result[name]["pyfunc"] == classifier.predict(features).tolist()
    assert result["booster"]["type"] == "Booster"
    np.testing.assert_allclose(result["booster"]["pyfunc"], booster.predict(features))


def test_mlflow_models_load_in_trackline(tmp_path, data):
    out = run_mlflow(
        f"""
        import json
        import lightgbm as lgb
        import mlflow.lightgbm
        import pandas as pd

        frame = pd.read_csv("data.csv")
        X, y = frame[["a", "b"]], frame["y"]
        reg = lgb.LGBMRegressor(**{TINY!r}).fit(X, y.astype(float))
        booster = lgb.train({{"num_leaves": 4, "min_data_in_leaf": 2, "verbose": -1}},
                            lgb.Dataset(X, y.astype(float)), num_boost_round=4)
        mlflow.lightgbm.save_model(reg, "skops", input_example=X.head(2))
        mlflow.lightgbm.save_model(reg, "pickled", serialization_format="cloudpickle")
        mlflow.lightgbm.save_model(booster, "booster")
        print(json.dumps({{"regressor": reg.predict(X).tolist(),
                           "booster": booster.predict(X).tolist()}}))
        """,
        tmp_path,
    )
    expected = json.loads(out)
    features = data[["a", "b"]]
    assert Model.load(tmp_path / "skops").flavors["lightgbm"]["serialization_format"] == "skops"
    for name in ("skops", "pickled"):
        native = lgb_flavor.load_model(str(tmp_path / name))
        assert isinstance(native, lgb.LGBMRegressor)
        np.testing.assert_allclose(native.predict(features), expected["regressor"])
        np.testing.assert_allclose(
            trackline.pyfunc.load_model(str(tmp_path / name)).predict(features),
            expected["regressor"],
        )
    booster = lgb_flavor.load_model(str(tmp_path / "booster"))
    assert isinstance(booster, lgb.Booster)
    np.testing.assert_allclose(
        trackline.pyfunc.load_model(str(tmp_path / "booster")).predict(features),
        expected["booster"],
    )
