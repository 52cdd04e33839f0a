"""The same training under MLflow 3.17's autolog and trackline's, side by side.

MLflow runs from benchmarks/.venv-mlflow in a subprocess (with the library installed there).
"""

from __future__ import annotations

import pytest
from trackline.testing.mlflow_reference import autolog_side_by_side, requires_mlflow

pytestmark = requires_mlflow()


BODY = """
import statsmodels.api as sm
tracking.statsmodels.autolog(log_models=False, log_datasets=False)
sm.OLS(y, sm.add_constant(X)).fit()
out["ols"] = describe()
"""


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    return autolog_side_by_side(BODY, tmp_path_factory.mktemp("parity"))


def test_mlflows_params_metrics_and_artifacts_are_all_there(logged):
    mlflow_logged, trackline_logged = logged
    expected, actual = mlflow_logged["ols"], trackline_logged["ols"]
    # MLflow 3.17 also logs the unfilled **kwargs of fit() as "<class 'inspect._empty'>".
    assert expected["params"].pop("kwargs") == "<class 'inspect._empty'>"
    assert actual["params"] == expected["params"]
    # trackline adds more result metrics (nobs, hqic…) and the coefficient statistics.
    shared = {k: actual["metrics"][k] for k in expected["metrics"] if k in actual["metrics"]}
    assert shared == pytest.approx(expected["metrics"])
    assert actual["artifacts"] == expected["artifacts"]
