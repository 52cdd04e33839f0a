"""The same training under MLflow 3.17's autolog and trackline's, side by side.

MLflow runs from benchmarks/.venv-mlflow in a subprocess (with the library installed there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MLFLOW_PYTHON = (
    Path(os.environ.get("TRACKLINE_TEST_MLFLOW_VENV", REPO / "benchmarks" / ".venv-mlflow"))
    / "bin"
    / "python"
)

pytestmark = pytest.mark.skipif(
    not MLFLOW_PYTHON.exists(), reason="needs MLflow in benchmarks/.venv-mlflow"
)

PRELUDE = """
import json, warnings
warnings.filterwarnings("ignore")
import {lib} as tracking
tracking.set_tracking_uri("sqlite:///{db}")
client = tracking.MlflowClient()
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
y = (X["a"] + 0.5 * X["b"] > 0).astype(int)

def describe():
    run = client.get_run(tracking.last_active_run().info.run_id)
    return {{
        "params": run.data.params,
        "metrics": run.data.metrics,
        "artifacts": sorted(f.path for f in client.list_artifacts(run.info.run_id)),
    }}

out = {{}}
"""


def logged_by(lib: str, body: str, tmp_path: Path) -> dict:
    folder = tmp_path / lib
    folder.mkdir()
    python = str(MLFLOW_PYTHON) if lib == "mlflow" else sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    env["TRACKLINE_DEFAULT_ARTIFACT_ROOT"] = str(folder / "artifacts")
    script = (
        textwrap.dedent(PRELUDE.format(lib=lib, db=folder / "runs.db"))
        + textwrap.dedent(body)
        + "\nprint(json.dumps(out))\n"
    )
    done = subprocess.run(
        [python, "-c", script], capture_output=True, text=True, env=env, cwd=folder
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def both(body: str, tmp_path: Path) -> tuple[dict, dict]:
    return logged_by("mlflow", body, tmp_path), logged_by("trackline", body, tmp_path)


BODY = """
import statsmodels.api as sm
tracking.statsmodels.autolog(log_models=False, log_datasets=False)
sm.OLS(y, sm.add_constant(X)).fit()
out["ols"] = describe()
"""


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    return both(BODY, tmp_path_factory.mktemp("parity"))


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
