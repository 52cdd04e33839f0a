"""``trackline runs`` against a real SQLite tracking store."""

from __future__ import annotations

import json

import pytest
import trackline


def _describe(invoke, run_id: str) -> dict:
    return json.loads(invoke("runs", "describe", "--run-id", run_id).stdout)


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def test_create_with_everything(invoke, experiment_id):
    parent = invoke("runs", "create", "--experiment-id", experiment_id).stdout.strip()
    child = invoke(
        "runs",
        "create",
        "--experiment-name",
        "cli-tests",
        "--run-name",
        "child",
        "--description",
        "made from a shell",
        "-t",
        "team=ml",
        "--tags",
        "formula=a=b",
        "--status",
        "failed",
        "--parent-run-id",
        parent,
    ).stdout.strip()
    assert len(child) == 32
    run = _describe(invoke, child)
    assert run["info"]["run_name"] == "child"
    assert run["info"]["status"] == "FAILED"
    assert run["info"]["experiment_id"] == experiment_id
    assert run["info"]["end_time"] >= run["info"]["start_time"]
    tags = _tags(run)
    assert tags["team"] == "ml"
    assert tags["formula"] == "a=b"
    assert tags["mlflow.note.content"] == "made from a shell"
    assert tags["mlflow.parentRunId"] == parent
    assert tags["mlflow.runName"] == "child"
    assert tags["mlflow.user"]


def test_create_defaults(invoke, monkeypatch, experiment_id):
    run = _describe(invoke, invoke("runs", "create").stdout.strip())
    assert run["info"]["experiment_id"] == "0"  # the default experiment
    assert run["info"]["status"] == "FINISHED"
    assert run["info"]["run_name"]  # generated
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
    run = _describe(invoke, invoke("runs", "create").stdout.strip())
    assert run["info"]["experiment_id"] == experiment_id


def test_create_errors(invoke, experiment_id, run_id):
    bad_tag = invoke("runs", "create", "-t", "no-equals-sign", code=2)
    assert "expected KEY=VALUE" in bad_tag.output
    both = invoke("runs", "create", "--experiment-id", "0", "--experiment-name", "x", code=2)
    assert "not both" in both.output
    invoke("runs", "create", "--status", "RUNNING", code=2)
    missing = invoke("runs", "create", "--experiment-name", "nope", code=1)
    assert "Error: Experiment with name 'nope' does not exist" in missing.output
    other = invoke("runs", "create", "--parent-run-id", run_id, code=1)  # parent in another exp
    assert "a child run must be in its parent's experiment" in other.output
    assert invoke("runs", "create", "--parent-run-id", "a" * 32, code=1).output.startswith(
        "Error: "
    )


def test_describe_is_the_rest_shape(invoke, run_id):
    client = trackline.TracklineClient()
    client.log_param(run_id, "lr", 0.1)
    client.log_metric(run_id, "acc", 0.9, step=3)
    run = _describe(invoke, run_id)
    assert run == client.get_run(run_id).to_dict()
    assert run["info"]["run_id"] == run_id == run["info"]["run_uuid"]
    assert run["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert run["data"]["metrics"][0]["step"] == 3


def test_describe_unknown_run(invoke):
    result = invoke("runs", "describe", "--run-id", "b" * 32, code=1)
    assert result.output.startswith("Error: ")
    assert "b" * 32 in result.output
    assert "Missing option '--run-id'" in invoke("runs", "describe", code=2).output


def test_list_views(invoke, experiment_id):
    kept = invoke("runs", "create", "--experiment-id", experiment_id, "--run-name", "kept")
    gone = invoke("runs", "create", "--experiment-id", experiment_id, "--run-name", "gone")
    kept_id, gone_id = kept.stdout.strip(), gone.stdout.strip()
    invoke("runs", "delete", "--run-id", gone_id)

    active = invoke("runs", "list", "--experiment-id", experiment_id).stdout
    assert active.splitlines()[0].split() == ["Date", "Name", "ID"]
    assert kept_id in active and gone_id not in active
    deleted = invoke("runs", "list", "--experiment-id", experiment_id, "-v", "deleted_only").stdout
    assert gone_id in deleted and kept_id not in deleted
    everything = invoke("runs", "list", "--experiment-id", experiment_id, "--view", "all").stdout
    assert kept_id in everything and gone_id in everything


def test_list_reads_the_experiment_from_the_environment(invoke, monkeypatch, run_id):
    experiment = trackline.TracklineClient().get_run(run_id).info.experiment_id
    monkeypatch.setenv("TRACKLINE_EXPERIMENT_ID", experiment)
    assert run_id in invoke("runs", "list").stdout


def test_list_errors(invoke):
    assert "Missing option '--experiment-id'" in invoke("runs", "list", code=2).output
    assert invoke("runs", "list", "--experiment-id", "777", code=1).output.startswith("Error: ")


def test_delete_and_restore(invoke, run_id):
    assert invoke("runs", "delete", "--run-id", run_id).output == (
        f"Run with ID {run_id} has been deleted.\n"
    )
    assert _describe(invoke, run_id)["info"]["lifecycle_stage"] == "deleted"
    assert "has been restored" in invoke("runs", "restore", "--run-id", run_id).output
    assert _describe(invoke, run_id)["info"]["lifecycle_stage"] == "active"


@pytest.mark.parametrize("command", ["delete", "restore"])
def test_delete_restore_unknown(invoke, command):
    result = invoke("runs", command, "--run-id", "c" * 32, code=1)
    assert result.output.startswith("Error: ")
