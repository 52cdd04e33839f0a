"""The same training under MLflow 3.17's autolog and trackline's, side by side.

MLflow runs from benchmarks/.venv-mlflow in a subprocess (with the library installed there).
"""

from __future__ import annotations

import pytest
from trackline.testing.mlflow_reference import autolog_side_by_side, requires_mlflow

pytestmark = requires_mlflow()


BODY = """
import xgboost as xgb
tracking.xgboost.autolog(log_models=False, log_datasets=False)
dtrain = xgb.DMatrix(X, label=y)
xgb.train({"objective": "binary:logistic", "max_depth": 2}, dtrain, num_boost_round=3,
          evals=[(dtrain, "train")], verbose_eval=False, early_stopping_rounds=1)
out["train"] = describe()
xgb.XGBClassifier(n_estimators=2).fit(X, y, eval_set=[(X, y)], verbose=False)
out["fit"] = describe()
"""


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    return autolog_side_by_side(BODY, tmp_path_factory.mktemp("parity"))


@pytest.mark.parametrize("case", ["train", "fit"])
def test_same_params_metrics_and_artifacts_as_mlflow(logged, case):
    mlflow_logged, trackline_logged = logged
    expected, actual = mlflow_logged[case], trackline_logged[case]
    assert actual["params"] == expected["params"]
    assert actual["metrics"] == pytest.approx(expected["metrics"])
    assert actual["artifacts"] == expected["artifacts"]
