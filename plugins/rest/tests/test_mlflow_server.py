"""trackline's client against a REAL MLflow server, read back with MLflow's own client.

Needs ``benchmarks/.venv-mlflow`` (a full ``mlflow`` install with its server); skipped with
the reason otherwise. The read-back uses ``mlflow`` (skinny) from the test environment.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import trackline
from trackline.entities import Metric, Param, RunTag
from trackline.exceptions import TracklineException
from trackline.tracking import uri as uri_module

pytestmark = pytest.mark.mlflow_server


@pytest.fixture
def tracking(mlflow_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The MLflow server as the current tracking URI, for trackline and for mlflow."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv("TRACKLINE_TRACKING_URI", raising=False)
    monkeypatch.setattr(uri_module, "_tracking_uri", None)
    yield mlflow_server.url
    if trackline.active_run() is not None:
        trackline.end_run()
    uri_module.clear_store_cache()


@pytest.fixture
def mlflow_client(tracking: str):
    mlflow = pytest.importorskip("mlflow")
    return mlflow.MlflowClient(tracking_uri=tracking)


def test_experiment_lifecycle(tracking: str, mlflow_client) -> None:
    client = trackline.TracklineClient()
    exp_id = client.create_experiment("rest-lifecycle", tags={"team": "a"})
    assert mlflow_client.get_experiment(exp_id).tags["team"] == "a"
    assert mlflow_client.get_experiment(exp_id).artifact_location == f"mlflow-artifacts:/{exp_id}"
    client.set_experiment_tag(exp_id, "stage", "dev")
    client.rename_experiment(exp_id, "rest-lifecycle-2")
    exp = mlflow_client.get_experiment_by_name("rest-lifecycle-2")
    assert exp.experiment_id == exp_id and exp.tags["stage"] == "dev"
    client.delete_experiment(exp_id)
    assert mlflow_client.get_experiment(exp_id).lifecycle_stage == "deleted"
    client.restore_experiment(exp_id)
    assert client.get_experiment_by_name("rest-lifecycle-2").lifecycle_stage == "active"
    assert client.get_experiment_by_name("no such experiment") is None
    with pytest.raises(TracklineException) as info:
        client.create_experiment("rest-lifecycle-2")
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_fluent_run_read_back_by_mlflow(tracking: str, mlflow_client, tmp_path: Path) -> None:
    trackline.set_experiment("rest-fluent")
    artifact = tmp_path / "notes 100%.txt"
    artifact.write_text("hello from trackline")
    with trackline.start_run(run_name="fluent") as run:
        trackline.log_param("lr", 0.01)
        trackline.log_params({"layers": 3, "act": "relu"})
        trackline.set_tag("team", "vision")
        for step in range(5):
            trackline.log_metric("loss", 1.0 / (step + 1), step=step)
        trackline.log_metric("nan", math.nan)
        trackline.log_artifact(str(artifact), artifact_path="docs")
        trackline.log_text("text body", "texts/t.txt")
    run_id = run.info.run_id

    got = mlflow_client.get_run(run_id)
    assert got.info.status == "FINISHED" and got.info.run_name == "fluent"
    assert got.data.params == {"lr": "0.01", "layers": "3", "act": "relu"}
    assert got.data.tags["team"] == "vision"
    assert got.data.metrics["loss"] == pytest.approx(0.2)
    assert math.isnan(got.data.metrics["nan"])
    history = mlflow_client.get_metric_history(run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]

    files = {f.path for f in mlflow_client.list_artifacts(run_id)}
    assert files == {"docs", "texts"}
    local = mlflow_client.download_artifacts(run_id, "docs/notes 100%.txt", str(tmp_path / "dl"))
    assert Path(local).read_text() == "hello from trackline"

    # And trackline reads what it wrote, through the same proxy.
    mine = trackline.TracklineClient()
    assert [f.path for f in mine.list_artifacts(run_id, "docs")] == ["docs/notes 100%.txt"]
    out = mine.download_artifacts(run_id, "texts/t.txt", str(tmp_path / "mine"))
    assert Path(out).read_text() == "text body"


def test_log_batch_is_one_request_and_round_trips(tracking: str, mlflow_client) -> None:
    store = uri_module.get_tracking_store()
    exp_id = store.create_experiment("rest-batch")
    run_id = store.create_run(exp_id, "me", 1000, [], "batch").info.run_id
    metrics = [Metric("m", float(i), 1000 + i, i) for i in range(300)]
    params = [Param(f"p{i}", str(i)) for i in range(50)]
    tags = [RunTag(f"t{i}", "v") for i in range(50)]
    store.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    got = mlflow_client.get_run(run_id)
    assert len(got.data.params) == 50 and got.data.metrics["m"] == 299.0
    assert len(mlflow_client.get_metric_history(run_id, "m")) == 300
    assert len(store.get_metric_history(run_id, "m")) == 300
    page = store.get_metric_history(run_id, "m", max_results=100)
    assert len(page) == 100


def test_search_runs_with_paging(tracking: str, mlflow_client) -> None:
    store = uri_module.get_tracking_store()
    exp_id = store.create_experiment("rest-search")
    for i in range(7):
        run_id = store.create_run(exp_id, "me", 1000 + i, [], f"run-{i}").info.run_id
        store.log_batch(run_id, metrics=[Metric("acc", i / 10, 0, 0)], params=[Param("i", str(i))])
    seen: list[str] = []
    token = None
    while True:
        page = store.search_runs(
            [exp_id],
            "metrics.acc >= 0.2",
            max_results=2,
            page_token=token,
            order_by=["metrics.acc DESC"],
        )
        seen.extend(r.info.run_name for r in page)
        token = page.token
        if not token:
            break
    assert seen == [f"run-{i}" for i in range(6, 1, -1)]
    df = trackline.search_runs([exp_id], filter_string="params.i = '3'")
    assert list(df["tags.mlflow.runName"]) == ["run-3"]
    exps = store.search_experiments(filter_string="name = 'rest-search'")
    assert [e.experiment_id for e in exps] == [exp_id]


def test_mlflow_errors_come_back_as_tracklineexceptions(tracking: str) -> None:
    store = uri_module.get_tracking_store()
    with pytest.raises(TracklineException) as info:
        store.get_run("0" * 32)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    exp_id = store.create_experiment("rest-errors")
    # MLflow's server does not know OR; its own error message comes back unchanged.
    with pytest.raises(TracklineException) as info:
        store.search_runs([exp_id], "params.a = '1' OR params.a = '2'")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(TracklineException) as info:
        store.hard_delete_run("0" * 32)
    assert info.value.error_code == "NOT_IMPLEMENTED"


def test_run_lifecycle(tracking: str, mlflow_client) -> None:
    store = uri_module.get_tracking_store()
    exp_id = store.create_experiment("rest-runs")
    run = store.create_run(exp_id, "me", 1000, [RunTag("k", "v")], None)
    run_id = run.info.run_id
    assert run.info.run_name  # generated by the server
    info = store.update_run_info(run_id, "FAILED", 2000, "renamed")
    assert info.status == "FAILED" and info.run_name == "renamed"
    assert mlflow_client.get_run(run_id).data.tags["mlflow.runName"] == "renamed"
    store.delete_tag(run_id, "k")
    assert "k" not in mlflow_client.get_run(run_id).data.tags
    store.delete_run(run_id)
    assert mlflow_client.get_run(run_id).info.lifecycle_stage == "deleted"
    store.restore_run(run_id)
    assert store.get_run(run_id).info.lifecycle_stage == "active"
