"""The fluent API and the client, end to end on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from trackline.entities import Dataset, Metric, Param, RunTag
from trackline.exceptions import TracklineException

REPO = Path(__file__).resolve().parents[2]


def test_quickstart_example_runs_and_is_found_again(database_uri, tmp_path):
    env = {
        **os.environ,
        "TRACKLINE_TRACKING_URI": database_uri,
        "TRACKLINE_DEFAULT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
    }
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "quickstart.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "baseline" in result.stdout
    import trackline

    trackline.set_tracking_uri(database_uri)
    try:
        experiment = trackline.get_experiment_by_name("fraud-detection")
        runs = trackline.search_runs(
            [experiment.experiment_id],
            filter_string="metrics.quality > 1 and params.depth = '6'",
            output_format="list",
        )
        assert len(runs) == 1
        run = runs[0]
        assert run.data.params == {"lr": "0.01", "depth": "6"}
        assert run.data.metrics == {"quality": 4.0}
        assert run.data.tags["team"] == "risk"
        assert run.info.status == "FINISHED"
        names = {f.path for f in trackline.MlflowClient().list_artifacts(run.info.run_id)}
        assert names == {"model_card.md", "config.json"}
    finally:
        trackline.set_tracking_uri(None)


def test_start_run_records_context_and_ends_finished(tracking):
    with tracking.start_run(run_name="first", description="why we ran it") as run:
        assert tracking.active_run().info.run_id == run.info.run_id
    stored = tracking.get_run(run.info.run_id)
    tags = stored.data.tags
    assert stored.info.status == "FINISHED"
    assert stored.info.end_time is not None and stored.info.end_time >= stored.info.start_time
    assert stored.info.run_name == "first" and tags["mlflow.runName"] == "first"
    assert tags["mlflow.note.content"] == "why we ran it"
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.user"] and tags["mlflow.source.name"]
    assert stored.info.user_id == tags["mlflow.user"]
    assert tracking.active_run() is None
    assert tracking.last_active_run().info.run_id == run.info.run_id


def test_run_fails_when_the_block_raises(tracking):
    with pytest.raises(RuntimeError), tracking.start_run() as run:
        raise RuntimeError("training crashed")
    assert tracking.get_run(run.info.run_id).info.status == "FAILED"


def test_nested_runs_and_parent_tag(tracking):
    with tracking.start_run() as parent:
        with pytest.raises(TracklineException, match="already active"):
            tracking.start_run()
        with tracking.start_run(nested=True) as child:
            assert tracking.active_run().info.run_id == child.info.run_id
        assert tracking.active_run().info.run_id == parent.info.run_id
    child_run = tracking.get_run(child.info.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert tracking.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id


def test_resume_by_run_id_and_by_environment(tracking, monkeypatch):
    with tracking.start_run() as run:
        tracking.log_param("a", 1)
    with tracking.start_run(run_id=run.info.run_id, tags={"resumed": "yes"}):
        tracking.log_param("b", 2)
    resumed = tracking.get_run(run.info.run_id)
    assert resumed.data.params == {"a": "1", "b": "2"}
    assert resumed.data.tags["resumed"] == "yes"
    monkeypatch.setenv("MLFLOW_RUN_ID", run.info.run_id)
    with tracking.start_run() as again:
        assert again.info.run_id == run.info.run_id
        assert again.info.status == "RUNNING"
    assert "MLFLOW_RUN_ID" not in os.environ  # consumed, as MLflow does


def test_logging_without_a_run_starts_one(tracking):
    tracking.log_metric("loss", 0.5)
    run = tracking.active_run()
    assert run is not None
    tracking.end_run()
    assert tracking.get_run(run.info.run_id).data.metrics == {"loss": 0.5}


def test_set_experiment_creates_and_refuses_deleted(tracking):
    experiment = tracking.set_experiment("exp-a")
    assert tracking.set_experiment("exp-a").experiment_id == experiment.experiment_id
    with tracking.start_run() as run:
        pass
    assert run.info.experiment_id == experiment.experiment_id
    tracking.delete_experiment(experiment.experiment_id)
    with pytest.raises(TracklineException, match="deleted"):
        tracking.set_experiment("exp-a")
    with pytest.raises(TracklineException):
        tracking.set_experiment()


def test_experiment_from_environment(tracking, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    with tracking.start_run() as run:
        pass
    assert tracking.get_experiment(run.info.experiment_id).name == "from-env"


def test_metrics_params_tags(tracking):
    client = tracking.MlflowClient()
    with tracking.start_run() as run:
        tracking.log_params({"lr": 0.1, "layers": [1, 2]})
        tracking.log_metrics({"acc": 0.5, "loss": float("nan")}, step=1)
        tracking.log_metric("acc", 0.7, step=2)
        tracking.set_tags({"team": "risk", "stage": 1})
        tracking.set_tag("temp", "x")
        tracking.delete_tag("temp")
    stored = tracking.get_run(run.info.run_id)
    assert stored.data.params == {"lr": "0.1", "layers": "[1, 2]"}
    assert stored.data.metrics["acc"] == 0.7
    assert math.isnan(stored.data.metrics["loss"])
    assert stored.data.tags["team"] == "risk" and stored.data.tags["stage"] == "1"
    assert "temp" not in stored.data.tags
    history = client.get_metric_history(run.info.run_id, "acc")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.7)]


def test_param_cannot_change_and_bad_input_leaves_run_unchanged(tracking):
    with tracking.start_run() as run:
        tracking.log_param("depth", 6)
        tracking.log_param("depth", 6)  # same value: fine
        with pytest.raises(TracklineException, match="Changing param values is not allowed"):
            tracking.log_param("depth", 7)
        with pytest.raises(TracklineException, match="key") as info:
            tracking.log_params({"ok": 1, "bad/../key": 2})
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
        with pytest.raises(TracklineException, match="must be numbers"):
            tracking.log_metric("m", "not a number")
    stored = tracking.get_run(run.info.run_id)
    assert stored.data.params == {"depth": "6"}
    assert stored.data.metrics == {}


def test_client_log_batch_splits_large_batches_but_validates_first(tracking):
    client = tracking.MlflowClient()
    run = client.create_run("0")
    run_id = run.info.run_id
    metrics = [Metric("m", float(i), 1000 + i, i) for i in range(2500)]
    params = [Param(f"p{i}", str(i)) for i in range(150)]
    client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("t", "v")])
    assert len(client.get_metric_history(run_id, "m")) == 2500
    assert len(client.get_run(run_id).data.params) == 150
    bad = [Metric("n", 1.0, 1, i) for i in range(1500)] + [Metric("bad key!", 1.0, 1, 0)]
    with pytest.raises(TracklineException):
        client.log_batch(run_id, metrics=bad)
    assert client.get_metric_history(run_id, "n") == []


def test_search_runs_dataframe_and_list(tracking):
    tracking.set_experiment("search")
    for depth, quality in ((6, 0.5), (6, 2.0), (8, 3.0)):
        with tracking.start_run():
            tracking.log_param("depth", depth)
            tracking.log_metric("quality", quality)
    frame = tracking.search_runs(filter_string="metrics.quality > 1 and params.depth = '6'")
    assert list(frame.columns[:6]) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    assert len(frame) == 1
    assert frame["metrics.quality"].tolist() == [2.0]
    assert str(frame["start_time"].dtype).startswith("datetime64")
    either = tracking.search_runs(
        filter_string="params.depth = '8' OR metrics.quality < 1",
        order_by=["metrics.quality DESC"],
        output_format="list",
    )
    assert [r.data.metrics["quality"] for r in either] == [3.0, 0.5]
    with pytest.raises(TracklineException):
        tracking.search_runs(filter_string="metrics.quality >")


def test_artifacts_of_every_kind(tracking, tmp_path):
    import numpy as np
    from PIL import Image

    source = tmp_path / "card.md"
    source.write_text("# card")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "x.txt").write_text("x")
    with tracking.start_run() as run:
        tracking.log_artifact(str(source))
        tracking.log_artifact(str(source), artifact_path="docs")
        tracking.log_artifacts(str(folder), artifact_path="tree")
        tracking.log_dict({"threshold": 0.5}, "config.json")
        tracking.log_dict({"a": [1, 2]}, "config.yaml")
        tracking.log_text("hello", "notes/hello.txt")
        tracking.log_table({"a": [1, 2], "b": ["x", "y"]}, "table.json")
        tracking.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "image.png")
        tracking.log_image(np.ones((2, 2)), key="sample", step=3)
        uri = tracking.get_artifact_uri("config.json")
    client = tracking.MlflowClient()
    run_id = run.info.run_id
    root = {f.path: f.is_dir for f in client.list_artifacts(run_id)}
    assert root == {
        "card.md": False,
        "config.json": False,
        "config.yaml": False,
        "docs": True,
        "image.png": False,
        "images": True,
        "notes": True,
        "table.json": False,
        "tree": True,
    }
    out = tmp_path / "out"
    local = client.download_artifacts(run_id, "tree", str(out))
    assert Path(local, "sub", "x.txt").read_text() == "x"
    from trackline import artifacts

    assert artifacts.load_dict(uri) == {"threshold": 0.5}
    assert artifacts.load_dict(f"runs:/{run_id}/config.yaml") == {"a": [1, 2]}
    assert artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello"
    table = json.loads(artifacts.load_text(f"runs:/{run_id}/table.json"))
    assert table == {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}
    stored = tracking.get_run(run_id)
    assert json.loads(stored.data.tags["mlflow.loggedArtifacts"]) == [
        {"path": "table.json", "type": "table"}
    ]
    assert stored.data.tags["mlflow.loggedImages"] == "True"
    image_path = artifacts.download_artifacts(f"runs:/{run_id}/image.png", dst_path=str(out))
    assert Image.open(image_path).size == (4, 4)
    frame = tracking.load_table("table.json", run_ids=[run_id], extra_columns=["run_id"])
    assert frame["run_id"].tolist() == [run_id, run_id]


def test_artifact_paths_cannot_escape(tracking, tmp_path):
    with tracking.start_run():
        with pytest.raises(TracklineException, match="Invalid artifact path"):
            tracking.log_text("x", "../escape.txt")
        with pytest.raises(TracklineException, match="Invalid artifact path"):
            tracking.log_dict({}, "/etc/evil.json")
    assert not (tmp_path / "escape.txt").exists()


def test_log_figure(tracking):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots()
    axis.plot([1, 2, 3])
    with tracking.start_run() as run:
        tracking.log_figure(figure, "plots/line.png")
    files = tracking.MlflowClient().list_artifacts(run.info.run_id, "plots")
    assert [f.path for f in files] == ["plots/line.png"] and files[0].file_size > 100


def test_log_input_dataset(tracking):
    dataset = Dataset("train", "abc123", "local", json.dumps({"uri": "/data/train.csv"}))
    with tracking.start_run() as run:
        tracking.log_input(dataset, context="training", tags={"version": "2"})
    inputs = tracking.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "train"
    assert {t.key: t.value for t in inputs[0].tags} == {
        "version": "2",
        "mlflow.data.context": "training",
    }
    found = tracking.search_runs(
        filter_string="datasets.context = 'training'", output_format="list"
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_search_experiments_and_rename(tracking):
    first = tracking.create_experiment("alpha", tags={"team": "a"})
    tracking.create_experiment("beta")
    names = [e.name for e in tracking.search_experiments(filter_string="name LIKE 'a%'")]
    assert names == ["alpha"]
    tracking.rename_experiment(first, "gamma")
    assert tracking.get_experiment(first).name == "gamma"
    assert tracking.get_experiment(first).tags == {"team": "a"}
    assert tracking.get_experiment_by_name("alpha") is None
    with pytest.raises(TracklineException) as info:
        tracking.create_experiment("beta")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_trackline_variable_wins_over_mlflow_variable(monkeypatch):
    from trackline.tracking import uri

    monkeypatch.setattr(uri, "_tracking_uri", None)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlflow-side.db")
    assert uri.get_tracking_uri() == "sqlite:///mlflow-side.db"
    monkeypatch.setenv("TRACKLINE_TRACKING_URI", "sqlite:///trackline-side.db")
    assert uri.get_tracking_uri() == "sqlite:///trackline-side.db"
    monkeypatch.delenv("TRACKLINE_TRACKING_URI")
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert uri.get_tracking_uri() == "sqlite:///trackline.db"


def test_join_uri_encodes_paths_of_uris_only():
    from trackline.artifacts import join_uri

    assert join_uri("file:///root", "a b%.txt") == "file:///root/a%20b%25.txt"
    assert join_uri("/root", "a b%.txt") == "/root/a b%.txt"
    assert join_uri("s3://bucket/x/", "y/z") == "s3://bucket/x/y/z"
    with pytest.raises(TracklineException):
        join_uri("/root", "../up")
