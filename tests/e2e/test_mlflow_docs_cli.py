"""MLflow's command line (``mlflow experiments|runs|artifacts …``) against a ``trackline server``.

The commands are MLflow's own: one test runs the installed ``mlflow`` console script in a
subprocess, exactly as a user types it; the others invoke the same click commands in-process
(``mlflow.cli.cli``) to keep the suite fast. ``MLFLOW_TRACKING_URI`` points them at the server.
Every expectation was also checked against a real ``mlflow server`` 3.17.2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient


@pytest.fixture
def mlflow(docs_server, mlflow_at):
    return mlflow_at(docs_server.url)


@pytest.fixture
def client(docs_server, mlflow):
    return MlflowClient(tracking_uri=docs_server.url)


@pytest.fixture
def cli(docs_server, mlflow):
    from mlflow.cli import cli as mlflow_cli

    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(mlflow_cli, list(args), env={"MLFLOW_TRACKING_URI": docs_server.url})
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    return invoke


def test_the_mlflow_console_script_searches_experiments(docs_server, client, unique):
    name = unique("cli-script")
    experiment_id = client.create_experiment(name)
    script = Path(sys.executable).with_name("mlflow")
    done = subprocess.run(
        [str(script), "experiments", "search"],
        env={**os.environ, "MLFLOW_TRACKING_URI": docs_server.url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert rows[0] == ["Experiment", "Id", "Name", "Artifact", "Location"]
    assert [experiment_id, name, f"mlflow-artifacts:/{experiment_id}"] in rows


def test_experiments_commands(cli, client, unique):
    name = unique("cli-exp")
    cli("experiments", "create", "--experiment-name", name)
    experiment_id = client.get_experiment_by_name(name).experiment_id
    cli("experiments", "rename", "--experiment-id", experiment_id, "--new-name", name + "-b")
    assert client.get_experiment(experiment_id).name == name + "-b"
    cli("experiments", "delete", "--experiment-id", experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    deleted = cli("experiments", "search", "--view", "deleted_only")
    assert name + "-b" in deleted
    assert name + "-b" not in cli("experiments", "search")
    cli("experiments", "restore", "--experiment-id", experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


def test_runs_commands(cli, mlflow, client, unique):
    experiment = mlflow.set_experiment(unique("cli-runs"))
    with mlflow.start_run(run_name="described") as run:
        mlflow.log_param("alpha", "0.5")
        mlflow.log_metric("rmse", 0.25)
    run_id = run.info.run_id
    listed = cli("runs", "list", "--experiment-id", experiment.experiment_id)
    assert "described" in listed and run_id in listed
    described = json.loads(cli("runs", "describe", "--run-id", run_id))
    assert described["info"]["run_id"] == run_id
    assert described["info"]["status"] == "FINISHED"
    assert described["data"]["params"] == {"alpha": "0.5"}
    assert described["data"]["metrics"] == {"rmse": 0.25}
    assert described["data"]["tags"]["mlflow.runName"] == "described"
    cli("runs", "delete", "--run-id", run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    cli("runs", "restore", "--run-id", run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_artifacts_commands(cli, mlflow, client, unique, tmp_path):
    mlflow.set_experiment(unique("cli-artifacts"))
    with mlflow.start_run() as run:
        mlflow.log_text("hello", "notes/hello.txt")
    run_id = run.info.run_id
    upload = tmp_path / "upload.txt"
    upload.write_text("uploaded")
    cli("artifacts", "log-artifact", "--local-file", str(upload), "--run-id", run_id)

    root = json.loads(cli("artifacts", "list", "--run-id", run_id))
    assert sorted((f["path"], f["is_dir"]) for f in root) == [
        ("notes", True),
        ("upload.txt", False),
    ]
    notes = json.loads(cli("artifacts", "list", "--run-id", run_id, "--artifact-path", "notes"))
    assert notes == [{"path": "notes/hello.txt", "is_dir": False, "file_size": 5}]

    out = cli(
        "artifacts", "download", "--run-id", run_id, "-a", "notes/hello.txt", "-d", str(tmp_path)
    )
    assert Path(out.strip().splitlines()[-1]).read_text() == "hello"
    out = cli(
        "artifacts",
        "download",
        "--artifact-uri",
        f"runs:/{run_id}/notes",
        "-d",
        str(tmp_path / "u"),
    )
    assert (Path(out.strip().splitlines()[-1]) / "hello.txt").read_text() == "hello"
