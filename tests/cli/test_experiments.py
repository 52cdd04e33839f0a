"""``trackline experiments`` against a real SQLite tracking store."""

from __future__ import annotations

import csv
import io
import json

import pytest
import trackline


def test_create_and_get_by_id_and_name(invoke, store_env, tmp_path):
    out = invoke("experiments", "create", "-n", "exp-a", "-l", str(tmp_path / "elsewhere")).output
    assert out.startswith("Created experiment 'exp-a' with id ")
    experiment_id = out.strip().rsplit(" ", 1)[-1]

    table = invoke("experiments", "get", "-x", experiment_id).stdout
    assert "exp-a" in table
    assert str(tmp_path / "elsewhere") in table
    assert "active" in table

    by_name = json.loads(invoke("experiments", "get", "-n", "exp-a", "--output", "json").stdout)
    assert by_name["experiment_id"] == experiment_id
    assert by_name["name"] == "exp-a"
    assert by_name["lifecycle_stage"] == "active"
    assert by_name["artifact_location"].endswith("elsewhere")


def test_get_needs_exactly_one_of_id_and_name(invoke, experiment_id):
    assert "exactly one" in invoke("experiments", "get", code=2).output
    both = invoke("experiments", "get", "-x", experiment_id, "-n", "cli-tests", code=2)
    assert "exactly one" in both.output


def test_get_unknown(invoke):
    assert invoke("experiments", "get", "-x", "987654", code=1).output.startswith("Error: ")
    missing = invoke("experiments", "get", "-n", "nobody", code=1)
    assert "Error: Experiment with name 'nobody' does not exist." in missing.output


def test_create_duplicate_name_fails(invoke, experiment_id):
    result = invoke("experiments", "create", "-n", "cli-tests", code=1)
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output


def test_create_requires_a_name(invoke):
    assert "Missing option '--experiment-name'" in invoke("experiments", "create", code=2).output


def test_search_views_and_max_results(invoke):
    ids = {}
    for name in ("s-1", "s-2", "s-3"):
        ids[name] = invoke("experiments", "create", "-n", name).output.strip().rsplit(" ", 1)[-1]
    invoke("experiments", "delete", "-x", ids["s-2"])

    active = invoke("experiments", "search").stdout
    assert active.splitlines()[0].split() == ["Experiment", "Id", "Name", "Artifact", "Location"]
    assert "s-1" in active and "s-3" in active and "s-2" not in active

    deleted = invoke("experiments", "search", "--view", "deleted_only").stdout
    assert "s-2" in deleted and "s-1" not in deleted

    everything = invoke("experiments", "search", "-v", "all").stdout
    assert all(name in everything for name in ids)

    limited = invoke("experiments", "search", "-v", "all", "--max-results", "2").stdout
    assert len(limited.splitlines()) == 2 + 2  # header, rule, two rows

    assert invoke("experiments", "search", "--view", "sideways", code=2)
    assert invoke("experiments", "search", "--max-results", "0", code=2)


def test_rename(invoke, experiment_id):
    out = invoke("experiments", "rename", "-x", experiment_id, "--new-name", "renamed").output
    assert out == f"Experiment with id {experiment_id} has been renamed to 'renamed'.\n"
    got = json.loads(invoke("experiments", "get", "-x", experiment_id, "--output", "json").stdout)
    assert got["name"] == "renamed"


def test_delete_and_restore(invoke, experiment_id):
    assert "has been deleted" in invoke("experiments", "delete", "-x", experiment_id).output
    got = json.loads(invoke("experiments", "get", "-x", experiment_id, "--output", "json").stdout)
    assert got["lifecycle_stage"] == "deleted"
    assert "has been restored" in invoke("experiments", "restore", "-x", experiment_id).output
    got = json.loads(invoke("experiments", "get", "-x", experiment_id, "--output", "json").stdout)
    assert got["lifecycle_stage"] == "active"


@pytest.mark.parametrize("command", ["delete", "restore"])
def test_delete_restore_unknown(invoke, command):
    assert invoke("experiments", command, "-x", "424242", code=1).output.startswith("Error: ")


def _log_two_runs(experiment_id: str) -> list[str]:
    client = trackline.TracklineClient()
    run_ids = []
    for index in range(2):
        run = client.create_run(experiment_id, run_name=f"r{index}")
        client.log_param(run.info.run_id, "alpha", index)
        client.log_metric(run.info.run_id, "loss", 0.5 * index)
        client.set_terminated(run.info.run_id)
        run_ids.append(run.info.run_id)
    return run_ids


def test_csv_to_file_and_stdout(invoke, experiment_id, tmp_path):
    run_ids = _log_two_runs(experiment_id)
    target = tmp_path / "runs.csv"
    invoke("experiments", "csv", "-x", experiment_id, "-o", str(target))
    rows = list(csv.DictReader(target.open()))
    assert sorted(r["run_id"] for r in rows) == sorted(run_ids)
    assert {"params.alpha", "metrics.loss", "tags.mlflow.runName"} <= set(rows[0])
    assert sorted(r["params.alpha"] for r in rows) == ["0", "1"]

    printed = list(
        csv.DictReader(io.StringIO(invoke("experiments", "csv", "-x", experiment_id).stdout))
    )
    assert sorted(r["run_id"] for r in printed) == sorted(run_ids)


def test_csv_unknown_experiment(invoke):
    assert invoke("experiments", "csv", "-x", "31337", code=1).output.startswith("Error: ")
