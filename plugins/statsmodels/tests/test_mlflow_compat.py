"""statsmodels models cross between trackline and the real MLflow 3.17, both ways.

MLflow runs for real from benchmarks/.venv-mlflow (with the same statsmodels installed there:
``benchmarks/.venv-mlflow/bin/pip install statsmodels==0.15.0``), in a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
import trackline.pyfunc
from trackline.testing.mlflow_reference import requires_mlflow, run_mlflow
from trackline_statsmodels import flavor as sm_flavor

pytestmark = requires_mlflow("statsmodels", install="statsmodels==0.15.0")


@pytest.fixture
def frame(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    data["y"] = 0.5 + data["a"] - 2.0 * data["b"] + rng.normal(scale=0.1, size=30)
    data.to_csv(tmp_path / "data.csv", index=False)
    return data


def test_trackline_model_loads_in_mlflow(tmp_path, frame):
    results = smf.ols("y ~ a + b", data=frame).fit()
    sm_flavor.save_model(results, tmp_path / "ols", input_example=frame[["a", "b"]].head(2))
    out = run_mlflow(
        """
        import json
        import mlflow.pyfunc, mlflow.statsmodels
        import pandas as pd

        X = pd.read_csv("data.csv")[["a", "b"]]
        native = mlflow.statsmodels.load_model("ols")
        print(json.dumps({
            "params": native.params.tolist(),
            "pyfunc": mlflow.pyfunc.load_model("ols").predict(X).tolist(),
        }))
        """,
        tmp_path,
    )
    result = json.loads(out)
    np.testing.assert_allclose(result["params"], results.params)
    np.testing.assert_allclose(result["pyfunc"], results.predict(frame[["a", "b"]]))


def test_mlflow_model_loads_in_trackline(tmp_path, frame):
    out = run_mlflow(
        """
        import json
        import mlflow.statsmodels
        import pandas as pd
        import statsmodels.formula.api as smf

        data = pd.read_csv("data.csv")
        results = smf.ols("y ~ a + b", data=data).fit()
        mlflow.statsmodels.save_model(results, "ols", input_example=data[["a", "b"]].head(2))
        print(json.dumps(results.predict(data[["a", "b"]]).tolist()))
        """,
        tmp_path,
    )
    expected = json.loads(out)
    exog = frame[["a", "b"]]
    np.testing.assert_allclose(sm_flavor.load_model(str(tmp_path / "ols")).predict(exog), expected)
    np.testing.assert_allclose(
        trackline.pyfunc.load_model(str(tmp_path / "ols")).predict(exog), expected
    )
