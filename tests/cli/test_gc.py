"""``trackline gc`` against SQLite and a local artifact folder."""

from __future__ import annotations

from pathlib import Path

import pytest
import trackline
from trackline.cli.gc import Duration


def _run_with_artifact(invoke, experiment_id: str, tmp_path: Path) -> tuple[str, Path]:
    run_id = invoke("runs", "create", "--experiment-id", experiment_id).stdout.strip()
    source = tmp_path / f"{run_id}.txt"
    source.write_text(run_id)
    invoke("artifacts", "log-artifact", "-l", str(source), "-r", run_id)
    artifact_uri = trackline.TracklineClient().get_run(run_id).info.artifact_uri
    local = Path(artifact_uri.removeprefix("file://")) / source.name
    assert local.exists()
    return run_id, local


def _exists(invoke, run_id: str) -> bool:
    result = invoke("runs", "describe", "--run-id", run_id, code=None)
    return result.exit_code == 0


def test_gc_erases_deleted_runs_and_their_artifacts(invoke, experiment_id, tmp_path):
    gone, gone_file = _run_with_artifact(invoke, experiment_id, tmp_path)
    kept, kept_file = _run_with_artifact(invoke, experiment_id, tmp_path)
    invoke("runs", "delete", "--run-id", gone)

    out = invoke("gc").output
    assert f"Run with ID {gone} has been permanently deleted." in out
    assert kept not in out
    assert not _exists(invoke, gone)
    assert not gone_file.exists()
    assert _exists(invoke, kept)
    assert kept_file.exists()


def test_gc_named_runs_only(invoke, experiment_id, tmp_path):
    first, _ = _run_with_artifact(invoke, experiment_id, tmp_path)
    second, _ = _run_with_artifact(invoke, experiment_id, tmp_path)
    for run_id in (first, second):
        invoke("runs", "delete", "--run-id", run_id)
    invoke("gc", "--run-ids", first)
    assert not _exists(invoke, first)
    assert _exists(invoke, second)  # deleted, but not named


def test_gc_refuses_a_run_that_is_not_deleted(invoke, experiment_id, tmp_path):
    active, active_file = _run_with_artifact(invoke, experiment_id, tmp_path)
    deleted, _ = _run_with_artifact(invoke, experiment_id, tmp_path)
    invoke("runs", "delete", "--run-id", deleted)
    result = invoke("gc", "--run-ids", f"{deleted},{active}", code=1)
    assert f"Error: Run {active} is not deleted" in result.output
    assert "trackline runs delete" in result.output
    # checked before anything is erased
    assert _exists(invoke, deleted)
    assert _exists(invoke, active) and active_file.exists()


def test_gc_unknown_run(invoke):
    assert invoke("gc", "--run-ids", "e" * 32, code=1).output.startswith("Error: ")


def test_gc_deleted_experiment_with_its_runs(invoke, tmp_path):
    doomed = invoke("experiments", "create", "-n", "doomed").output.strip().rsplit(" ", 1)[-1]
    kept = invoke("experiments", "create", "-n", "kept").output.strip().rsplit(" ", 1)[-1]
    doomed_run, doomed_file = _run_with_artifact(invoke, doomed, tmp_path)
    kept_run, _ = _run_with_artifact(invoke, kept, tmp_path)
    invoke("experiments", "delete", "-x", doomed)

    refused = invoke("gc", "--experiment-ids", kept, code=1)
    assert f"Experiment {kept} is not deleted" in refused.output

    out = invoke("gc", "--experiment-ids", doomed).output
    assert f"Run with ID {doomed_run} has been permanently deleted." in out
    assert f"Experiment with ID {doomed} has been permanently deleted." in out
    assert not doomed_file.exists()
    assert not _exists(invoke, doomed_run)
    assert invoke("experiments", "get", "-x", doomed, code=1)
    assert _exists(invoke, kept_run)
    # the name is free again
    invoke("experiments", "create", "-n", "doomed")


def test_gc_without_arguments_also_erases_deleted_experiments(invoke, experiment_id):
    invoke("experiments", "delete", "-x", experiment_id)
    out = invoke("gc", "--backend-store-uri", trackline.get_tracking_uri()).output
    assert f"Experiment with ID {experiment_id} has been permanently deleted." in out
    search = invoke("experiments", "search", "-v", "deleted_only").stdout
    assert "cli-tests" not in search


def test_gc_older_than(invoke, experiment_id, tmp_path):
    run_id, artifact = _run_with_artifact(invoke, experiment_id, tmp_path)
    invoke("runs", "delete", "--run-id", run_id)
    # deleted just now: too young for an hour, and refused when named
    assert run_id not in invoke("gc", "--older-than", "1h").output
    assert _exists(invoke, run_id)
    young = invoke("gc", "--older-than", "1d2h3m4s", "--run-ids", run_id, code=1)
    assert "deleted too recently" in young.output
    assert _exists(invoke, run_id) and artifact.exists()
    # a zero age takes everything deleted
    assert run_id in invoke("gc", "--older-than", "0s").output
    assert not _exists(invoke, run_id)


@pytest.mark.parametrize("value", ["1x", "2h1d", "", "h", "-1d", "1.5h"])
def test_gc_rejects_invalid_older_than(invoke, value):
    result = invoke("gc", "--older-than", value, code=2)
    assert "Invalid value for '--older-than'" in result.output
    assert "is not a duration" in result.output


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1d2h3m4s", 93_784_000),
        ("12h", 43_200_000),
        ("30m", 1_800_000),
        ("0s", 0),
        ("1d", 86_400_000),
    ],
)
def test_duration(text, ms):
    assert Duration().convert(text, None, None) == ms


def test_gc_tracking_uri_option(invoke, run_id, store_env, monkeypatch):
    """--tracking-uri names the store when the environment does not."""
    invoke("runs", "delete", "--run-id", run_id)
    monkeypatch.delenv("TRACKLINE_TRACKING_URI")
    out = invoke("gc", "--tracking-uri", store_env["TRACKLINE_TRACKING_URI"]).output
    assert f"Run with ID {run_id} has been permanently deleted." in out
    monkeypatch.setenv("TRACKLINE_TRACKING_URI", store_env["TRACKLINE_TRACKING_URI"])
    assert not _exists(invoke, run_id)


class _StoreWithoutGc:
    """A duck-typed store: gc must refuse it before touching anything."""

    def get_deleted_run_ids(self, older_than_ms=None):
        raise AssertionError("gc must not start on a store that cannot finish")


def test_gc_refuses_a_store_without_gc_support(invoke, monkeypatch):
    from trackline.tracking import uri

    monkeypatch.setattr(uri, "get_tracking_store", lambda _uri=None: _StoreWithoutGc())
    result = invoke("gc", code=1)
    assert "Error: The tracking store _StoreWithoutGc does not support gc" in result.output
    assert "hard_delete_run, hard_delete_experiment" in result.output
