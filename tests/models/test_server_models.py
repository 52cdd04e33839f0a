"""Models logged through a tracking server, by the real MLflow client and by trackline.

A real ``trackline server`` (SQLite, proxied artifacts) runs on loopback; MLflow 3.17 runs
from benchmarks/.venv-mlflow in a subprocess. Each side logs a custom model with
``log_model(name=...)`` (a logged model, files under ``mlflow-artifacts:``) and the other
side loads it by ``models:/m-<id>`` and predicts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import trackline
import trackline.pyfunc

pytest.importorskip("trackline_server")
pytest.importorskip("trackline_rest")
from trackline_server.testing import start_server  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MLFLOW_PYTHON = (
    Path(os.environ.get("TRACKLINE_TEST_MLFLOW_VENV", REPO / "benchmarks" / ".venv-mlflow"))
    / "bin"
    / "python"
)

pytestmark = pytest.mark.skipif(
    not MLFLOW_PYTHON.exists(), reason="needs MLflow in benchmarks/.venv-mlflow"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with start_server(tmp_path_factory.mktemp("server")) as running:
        yield running


def run(python: str | Path, script: str, tracking_uri: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def client_side(server, tmp_path, monkeypatch):
    from trackline.tracking.uri import clear_store_cache

    for var in ("TRACKING_URI", "EXPERIMENT_ID", "EXPERIMENT_NAME", "RUN_ID"):
        monkeypatch.delenv(f"MLFLOW_{var}", raising=False)
        monkeypatch.delenv(f"TRACKLINE_{var}", raising=False)
    trackline.set_tracking_uri(server.url)
    yield server.url
    trackline.set_tracking_uri(None)
    clear_store_cache()


def test_mlflow_logs_trackline_loads(client_side, tmp_path):
    out = run(
        MLFLOW_PYTHON,
        """
        import json, mlflow, pandas as pd

        class Offset(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return model_input["a"] + 100

        with mlflow.start_run() as run:
            info = mlflow.pyfunc.log_model(name="model", python_model=Offset(),
                                           input_example=pd.DataFrame({"a": [1.0]}))
        print(json.dumps({"uri": info.model_uri, "run_id": run.info.run_id}))
        """,
        client_side,
        tmp_path,
    )
    logged = json.loads(out)
    assert logged["uri"].startswith("models:/m-")
    for uri in (logged["uri"], f"runs:/{logged['run_id']}/model"):
        model = trackline.pyfunc.load_model(uri)
        assert model.predict(pd.DataFrame({"a": [1.0, 2.0]})).tolist() == [101.0, 102.0]


def test_trackline_logs_mlflow_loads(client_side, tmp_path):
    out = run(
        sys.executable,
        """
        import json, pandas as pd, trackline, trackline.pyfunc

        class Offset(trackline.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                return model_input["a"] + 100

        with trackline.start_run() as run:
            info = trackline.pyfunc.log_model(name="model", python_model=Offset(),
                                              input_example=pd.DataFrame({"a": [1.0]}))
        print(json.dumps({"uri": info.model_uri, "run_id": run.info.run_id}))
        """,
        client_side,
        tmp_path,
    )
    logged = json.loads(out)
    result = run(
        MLFLOW_PYTHON,
        f"""
        import json, mlflow, pandas as pd
        model = mlflow.pyfunc.load_model({logged["uri"]!r})
        logged = mlflow.get_logged_model({logged["uri"].split("/")[-1]!r})
        print(json.dumps({{"predictions": model.predict(pd.DataFrame({{"a": [5.0]}})).tolist(),
                           "status": str(logged.status), "run": logged.source_run_id}}))
        """,
        client_side,
        tmp_path,
    )
    assert json.loads(result) == {
        "predictions": [105.0],
        "status": "READY",
        "run": logged["run_id"],
    }
