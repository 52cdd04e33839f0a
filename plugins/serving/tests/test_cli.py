"""``trackline models predict`` in-process, and ``trackline models serve`` as a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from trackline.cli.main import cli
from trackline.testing.ports import free_port

REPO = Path(__file__).resolve().parents[3]
TRACKLINE = str(Path(sys.executable).parent / "trackline")
MLFLOW_PYTHON = (
    Path(os.environ.get("TRACKLINE_TEST_MLFLOW_VENV", REPO / "benchmarks" / ".venv-mlflow"))
    / "bin"
    / "python"
)


def invoke(*args: str, code: int = 0, input: str | None = None):
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def test_predict_json_file_to_stdout(column_model, tmp_path):
    body = tmp_path / "in.json"
    body.write_text(
        json.dumps({"dataframe_records": [{"a": 1.0, "b": 2}], "params": {"factor": 2}})
    )
    result = invoke("models", "predict", "-m", column_model, "-i", str(body))
    assert json.loads(result.stdout) == {"predictions": [{"y": 6.0}]}


def test_predict_csv_to_file(column_model, tmp_path):
    body = tmp_path / "in.csv"
    body.write_text("a,b\n1.0,1\n3.0,1\n")
    out = tmp_path / "out.json"
    invoke("models", "predict", "-m", column_model, "-i", str(body), "-t", "csv", "-o", str(out))
    assert json.loads(out.read_text()) == {"predictions": [{"y": 2.0}, {"y": 4.0}]}


def test_predict_reads_stdin(tensor_model):
    result = invoke("models", "predict", "-m", tensor_model, input='{"inputs": [[1, 2, 3]]}')
    assert json.loads(result.stdout) == {"predictions": [6.0]}


def test_predict_errors(column_model, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"rows": []}')
    result = invoke("models", "predict", "-m", column_model, "-i", str(bad), code=1)
    assert "exactly one of the keys" in result.output
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"dataframe_records": [{"a": 1.0}]}')
    result = invoke("models", "predict", "-m", column_model, "-i", str(wrong), code=1)
    assert "missing input column" in result.output
    result = invoke("models", "predict", "-m", str(tmp_path / "none"), "-i", str(bad), code=1)
    assert "does not exist" in result.output


def _serve(model_uri: str):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    process = subprocess.Popen(
        [TRACKLINE, "models", "serve", "-m", model_uri, "-p", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stdout.read()}")
        try:
            if requests.get(f"{url}/ping", timeout=1).status_code == 200:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("server did not start")


def test_serve_answers_over_http(column_model):
    process, url = _serve(column_model)
    try:
        assert requests.get(f"{url}/health").text == "\n"
        response = requests.post(
            f"{url}/invocations",
            json={"dataframe_split": {"columns": ["a", "b"], "data": [[1, 1]]}},
        )
        assert response.json() == {"predictions": [{"y": 2.0}]}
        response = requests.post(
            f"{url}/invocations", data="a,b\n2,2\n", headers={"Content-Type": "text/csv"}
        )
        assert response.json() == {"predictions": [{"y": 4.0}]}
        assert (
            requests.post(
                f"{url}/invocations", data="x", headers={"Content-Type": "text/xml"}
            ).status_code
            == 415
        )
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_refuses_a_broken_model_before_listening(tmp_path):
    (tmp_path / "MLmodel").write_text("flavors: [broken")
    result = subprocess.run(
        [TRACKLINE, "models", "serve", "-m", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "not valid YAML" in result.stderr


@pytest.mark.skipif(not MLFLOW_PYTHON.exists(), reason="needs MLflow in benchmarks/.venv-mlflow")
def test_serve_a_model_saved_by_mlflow(tmp_path):
    script = """
    import mlflow.pyfunc, pandas as pd

    class Double(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input["x"] * 2

    mlflow.pyfunc.save_model("model", python_model=Double(),
                             input_example=pd.DataFrame({"x": [1.0]}))
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    subprocess.run(
        [str(MLFLOW_PYTHON), "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    process, url = _serve(str(tmp_path / "model"))
    try:
        with open(tmp_path / "model" / "serving_input_example.json") as f:
            response = requests.post(
                f"{url}/invocations", data=f.read(), headers={"Content-Type": "application/json"}
            )
        assert response.json() == {"predictions": [2.0]}
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_predict_by_runs_and_models_uri(tmp_path, monkeypatch):
    """The model URI forms of the issue: runs:/<run>/<name> and models:/m-<id>."""
    import trackline
    import trackline.pyfunc
    from trackline.tracking.uri import clear_store_cache

    from .conftest import Scale  # a model class pickled by value

    for var in ("TRACKING_URI", "EXPERIMENT_ID", "EXPERIMENT_NAME", "RUN_ID"):
        monkeypatch.delenv(f"MLFLOW_{var}", raising=False)
    monkeypatch.setenv("TRACKLINE_TRACKING_URI", f"sqlite:///{tmp_path / 'db.sqlite'}")
    monkeypatch.setenv("TRACKLINE_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    trackline.set_tracking_uri(None)
    try:
        with trackline.start_run() as run:
            info = trackline.pyfunc.log_model(name="scaler", python_model=Scale())
        body = tmp_path / "in.json"
        body.write_text('{"dataframe_records": [{"a": 1.0, "b": 1}]}')
        for uri in (f"runs:/{run.info.run_id}/scaler", info.model_uri):
            result = invoke("models", "predict", "-m", uri, "-i", str(body))
            assert json.loads(result.stdout) == {"predictions": [{"y": 2.0}]}
    finally:
        clear_store_cache()
