"""Offline mode end to end: log to ``file:./mlruns`` with no server, then ``trackline sync``
uploads it (artifacts included) into SQLite or a real MLflow server; an ``mlruns/`` folder
written by MLflow itself migrates the same way."""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
import trackline

REPO = Path(__file__).resolve().parents[2]
MLFLOW_VENV = Path(
    os.environ.get("TRACKLINE_TEST_MLFLOW_VENV", REPO / "benchmarks" / ".venv-mlflow")
)
needs_mlflow = pytest.mark.skipif(
    not (MLFLOW_VENV / "bin" / "python").exists(), reason="needs benchmarks/.venv-mlflow"
)

OFFLINE_TRAINING = """
    import trackline
    trackline.set_experiment("offline-exp")
    with trackline.start_run(run_name="on-the-plane") as run:
        trackline.log_params({"lr": 0.01, "layers": 3})
        trackline.set_tag("where", "offline")
        for step in range(250):
            trackline.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)
        trackline.log_text("weights v1", "model/weights.txt")
        trackline.log_dict({"acc": 0.9}, "eval/report.json")
    print(run.info.run_id)
"""


def offline_run(tmp_path: Path, tools) -> str:
    env = tools.child_env(tmp_path / "journal", TRACKLINE_TRACKING_URI="file:./mlruns")
    process = tools.python(OFFLINE_TRAINING, env=env, cwd=tmp_path)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert (tmp_path / "mlruns").is_dir() and not (tmp_path / "trackline.db").exists()
    return out.strip()


def test_offline_then_sync_to_sqlite(durable_env: Path, tmp_path: Path, tools) -> None:
    offline_id = offline_run(tmp_path, tools)
    target = f"sqlite:///{tmp_path / 'team.db'}"
    env = tools.child_env(durable_env)
    args = ["sync", "./mlruns", "--to", target, "--default-artifact-root", str(tmp_path / "up")]
    done = tools.cli(*args, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 run(s) copied" in done.stdout and "250 metric points" in done.stdout

    client = trackline.MlflowClient(target)
    experiment = client.get_experiment_by_name("offline-exp")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "on-the-plane"
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.01", "layers": "3"}
    assert run.data.tags["where"] == "offline"
    assert run.data.tags["trackline.sync.sourceRunId"] == offline_id
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(250)]
    assert run.info.artifact_uri.startswith(str(tmp_path / "up"))
    local = client.download_artifacts(run.info.run_id, "", str(tmp_path / "dl"))
    assert (Path(local) / "model" / "weights.txt").read_text() == "weights v1"
    assert (Path(local) / "eval" / "report.json").exists()

    # Syncing again finds the copy and adds nothing twice.
    again = tools.cli(*args, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 run(s) copied, 1 updated, 0 metric points" in again.stdout
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 250


def test_sync_of_something_else_is_refused(durable_env: Path, tmp_path: Path, tools) -> None:
    (tmp_path / "empty").mkdir()
    env = tools.child_env(durable_env)
    done = tools.cli("sync", "empty", "--to", "sqlite:///x.db", env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert "neither journals" in done.stderr
    missing = tools.cli("sync", "nowhere", "--to", "sqlite:///x.db", env=env, cwd=tmp_path)
    assert missing.returncode != 0 and "no such file or folder" in missing.stderr


MLFLOW_WRITES = """
    import sys, mlflow
    mlflow.set_tracking_uri("file:" + sys.argv[1])
    mlflow.set_experiment("from-mlflow")
    with mlflow.start_run(run_name="kept") as run:
        mlflow.log_param("alpha", 0.5)
        for i in range(20):
            mlflow.log_metric("rmse", 10.0 - i, step=i)
        mlflow.log_text("hello", "docs/readme.md")
    with mlflow.start_run(run_name="dropped") as dropped:
        mlflow.log_param("alpha", 0.7)
    mlflow.delete_run(dropped.info.run_id)
    print(run.info.run_id)
"""


@needs_mlflow
def test_mlflow_folder_migrates_to_sqlite(durable_env: Path, tmp_path: Path, tools) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    env["MLFLOW_ALLOW_FILE_STORE"] = "true"
    subprocess.run(
        [
            str(MLFLOW_VENV / "bin" / "python"),
            "-c",
            textwrap.dedent(MLFLOW_WRITES),
            str(tmp_path / "mlruns"),
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    target = f"sqlite:///{tmp_path / 'migrated.db'}"
    done = tools.cli(
        "sync",
        "./mlruns",
        "--to",
        target,
        "--default-artifact-root",
        str(tmp_path / "arts"),
        env=tools.child_env(durable_env),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    client = trackline.MlflowClient(target)
    experiment = client.get_experiment_by_name("from-mlflow")
    (run,) = client.search_runs([experiment.experiment_id])  # the deleted run stays behind
    assert run.info.run_name == "kept" and run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.5"}
    assert [m.value for m in client.get_metric_history(run.info.run_id, "rmse")] == [
        10.0 - i for i in range(20)
    ]
    local = client.download_artifacts(run.info.run_id, "docs/readme.md", str(tmp_path / "dl"))
    assert Path(local).read_text() == "hello"


@pytest.fixture
def mlflow_server(tmp_path: Path):
    from trackline_server.testing import free_port

    port = free_port()
    workdir = tmp_path / "mlflow-server"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    log = open(workdir / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(MLFLOW_VENV / "bin" / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{workdir / 'mlflow.db'}",
            "--artifacts-destination",
            str(workdir / "mlartifacts"),
        ],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError((workdir / "server.log").read_text()) from None
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(30)
    log.close()


@needs_mlflow
@pytest.mark.mlflow_server
def test_offline_folder_and_journal_sync_into_a_real_mlflow_server(
    durable_env: Path,
    tmp_path: Path,
    tools,
    mlflow_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    offline_run(tmp_path, tools)
    # MLflow's server answers its first requests slowly on a busy machine.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")
    env = tools.child_env(durable_env, MLFLOW_HTTP_REQUEST_TIMEOUT="120")
    done = tools.cli("sync", "./mlruns", "--to", mlflow_server, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    client = trackline.MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("offline-exp")
    (run,) = client.search_runs([experiment.experiment_id])
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 250
    local = client.download_artifacts(run.info.run_id, "model/weights.txt", str(tmp_path / "d"))
    assert Path(local).read_text() == "weights v1"

    # A journal replays into MLflow's server too, once.
    from trackline.entities import Metric
    from trackline.journal import Entry, JournalWriter

    writer = JournalWriter(durable_env / "late.journal.jsonl", mlflow_server)
    writer.append(
        [
            Entry(
                1,
                "log_batch",
                run.info.run_id,
                metrics=[Metric("late", 1.0, 5, s) for s in range(7)],
            )
        ]
    )
    writer.close()
    for _ in range(2):
        replayed = tools.cli("sync", str(durable_env), "--to", mlflow_server, env=env, cwd=tmp_path)
        assert replayed.returncode == 0, replayed.stderr
    assert len(client.get_metric_history(run.info.run_id, "late")) == 7


@needs_mlflow
def test_trackline_server_serves_an_mlflow_folder(durable_env: Path, tmp_path: Path) -> None:
    from trackline_server.testing import start_server

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    env["MLFLOW_ALLOW_FILE_STORE"] = "true"
    mlruns = tmp_path / "mlruns"
    subprocess.run(
        [str(MLFLOW_VENV / "bin" / "python"), "-c", textwrap.dedent(MLFLOW_WRITES), str(mlruns)],
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    # The folder is both the backend and the artifact root the server may serve from.
    with start_server(
        tmp_path / "server",
        "--backend-store-uri",
        f"file:{mlruns}",
        "--artifacts-destination",
        str(mlruns),
    ) as server:
        client = trackline.MlflowClient(server.url)
        experiment = client.get_experiment_by_name("from-mlflow")
        (run,) = client.search_runs([experiment.experiment_id], "metrics.rmse < 5")
        assert run.info.run_name == "kept"
        assert len(client.get_metric_history(run.info.run_id, "rmse")) == 20
        local = client.download_artifacts(run.info.run_id, "docs/readme.md", str(tmp_path / "d"))
        assert Path(local).read_text() == "hello"
