"""trackline's own REST store (trackline-rest) against ``trackline server``, and cross-reading:
what trackline logs over HTTP the real MLflow client reads back exactly, and the reverse."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest

if importlib.util.find_spec("trackline_rest") is None:
    pytest.skip(
        "trackline-rest is not installed (pip install -e plugins/rest): the trackline client "
        "has no store for http:// URIs",
        allow_module_level=True,
    )

import trackline  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from trackline.entities import Metric, Param, RunTag, ViewType  # noqa: E402
from trackline.exceptions import TracklineException  # noqa: E402


@pytest.fixture
def tl(server, monkeypatch):
    from trackline.tracking import fluent
    from trackline.tracking.uri import clear_store_cache

    for var in ("EXPERIMENT_NAME", "EXPERIMENT_ID", "RUN_ID", "TRACKING_URI"):
        monkeypatch.delenv(f"MLFLOW_{var}", raising=False)
        monkeypatch.delenv(f"TRACKLINE_{var}", raising=False)
    trackline.set_tracking_uri(server.url)
    yield trackline
    while fluent.active_run():
        fluent.end_run()
    trackline.set_tracking_uri(None)
    clear_store_cache()


@pytest.fixture
def tclient(tl, server):
    return trackline.TracklineClient(tracking_uri=server.url)


@pytest.fixture
def mclient(server, mlflow_at):
    mlflow_at(server.url)
    return MlflowClient(tracking_uri=server.url)


def _all_pages(fetch, page_size: int) -> list:
    items, token = [], None
    for _ in range(1000):
        page = fetch(max_results=page_size, page_token=token)
        assert len(page) <= page_size
        items.extend(page)
        token = page.token
        if not token:
            return items
    raise AssertionError("more than 1000 pages")


def test_trackline_fluent_flow_over_http(tl, tclient, server, unique, tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text("alpha")
    (tmp_path / "d" / "sub" / "b.bin").write_bytes(b"\x00\x01\x02")
    experiment_id = tl.set_experiment(unique("tl-fluent")).experiment_id
    with tl.start_run(run_name="parent") as parent:
        tl.log_param("lr", 0.1)
        tl.log_params({"depth": 4})
        for step in range(50):
            tl.log_metric("loss", 1.0 / (step + 1), step=step)
        tl.log_metrics({"acc": 0.5})
        tl.set_tags({"t": "v"})
        tl.log_dict({"a": 1}, "cfg/c.json")
        tl.log_text("hi", "notes.txt")
        tl.log_artifacts(str(tmp_path / "d"), "bundle")
        with tl.start_run(run_name="child", nested=True) as child:
            tl.log_metric("c", 1.0)
    run = tclient.get_run(parent.info.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.experiment_id == experiment_id
    assert run.data.params == {"lr": "0.1", "depth": "4"}
    assert run.data.metrics["loss"] == pytest.approx(1 / 50)
    assert run.data.tags["t"] == "v"
    history = tclient.get_metric_history(parent.info.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(50))
    assert tclient.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == (
        parent.info.run_id
    )
    names = {f.path for f in tclient.list_artifacts(parent.info.run_id)}
    assert names == {"cfg", "notes.txt", "bundle"}
    out = Path(tclient.download_artifacts(parent.info.run_id, "bundle", str(tmp_path / "dl")))
    assert (out / "sub" / "b.bin").read_bytes() == b"\x00\x01\x02"
    stored = server.artifacts / experiment_id / parent.info.run_id / "artifacts"
    assert json.loads((stored / "cfg" / "c.json").read_text()) == {"a": 1}


def test_trackline_client_experiments_runs_search_and_errors(tclient, unique):
    suite = unique("tl-suite")
    ids = [tclient.create_experiment(f"{suite}-{i}", tags={"suite": suite}) for i in range(5)]
    found = _all_pages(
        lambda **kw: tclient.search_experiments(
            filter_string=f"tags.suite = '{suite}'", order_by=["name ASC"], **kw
        ),
        page_size=2,
    )
    assert [e.experiment_id for e in found] == ids
    with pytest.raises(TracklineException) as excinfo:
        tclient.create_experiment(f"{suite}-0")
    assert excinfo.value.error_code == "RESOURCE_ALREADY_EXISTS"

    run_ids = []
    for i in range(9):
        run = tclient.create_run(ids[0], run_name=f"r{i}")
        tclient.log_batch(
            run.info.run_id, metrics=[Metric("m", float(i), 1, 0)], params=[Param("p", str(i))]
        )
        run_ids.append(run.info.run_id)
    hits = _all_pages(
        lambda **kw: tclient.search_runs(
            [ids[0]], "metrics.m >= 3", order_by=["metrics.m ASC"], **kw
        ),
        page_size=2,
    )
    assert [r.data.params["p"] for r in hits] == [str(i) for i in range(3, 9)]

    tclient.delete_run(run_ids[0])
    deleted = tclient.search_runs([ids[0]], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [run_ids[0]]
    with pytest.raises(TracklineException) as excinfo:
        tclient.log_param(run_ids[0], "x", "y")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    tclient.restore_run(run_ids[0])

    with pytest.raises(TracklineException) as excinfo:
        tclient.log_param(run_ids[1], "p", "changed")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(TracklineException) as excinfo:
        tclient.get_run("0" * 32)
    assert excinfo.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(TracklineException) as excinfo:
        tclient.search_runs([ids[0]], "metrics.m > 'x'")
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"


def test_trackline_large_log_batch_over_http(tclient, unique):
    run_id = tclient.create_run(tclient.create_experiment(unique("tl-batch"))).info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric("k", float(s), now, s) for s in range(2600)]
    params = [Param(f"p{i}", str(i)) for i in range(230)]
    tags = [RunTag(f"t{i}", "v") for i in range(130)]
    tclient.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    history = tclient.get_metric_history(run_id, "k")
    assert sorted(m.step for m in history) == list(range(2600))
    assert len(tclient.get_run(run_id).data.params) == 230


def test_logged_with_trackline_read_with_mlflow(tl, tclient, mclient, unique, tmp_path):
    experiment_id = tclient.create_experiment(unique("cross-tl"), tags={"origin": "trackline"})
    with tl.start_run(experiment_id=experiment_id, run_name="from-trackline") as run:
        tl.log_params({"a": 1, "b": "two"})
        for step in range(10):
            tl.log_metric("m", step * 2.0, step=step)
        tl.set_tag("who", "trackline")
        tl.log_text("written by trackline", "out/t.txt")
    run_id = run.info.run_id

    got = mclient.get_run(run_id)
    assert got.info.run_name == "from-trackline"
    assert got.info.status == "FINISHED"
    assert got.data.params == {"a": "1", "b": "two"}
    assert got.data.metrics == {"m": 18.0}
    assert got.data.tags["who"] == "trackline"
    assert [(m.step, m.value) for m in mclient.get_metric_history(run_id, "m")] == [
        (s, s * 2.0) for s in range(10)
    ]
    assert mclient.get_experiment(experiment_id).tags["origin"] == "trackline"
    assert [f.path for f in mclient.list_artifacts(run_id, "out")] == ["out/t.txt"]
    path = mclient.download_artifacts(run_id, "out/t.txt", str(tmp_path))
    assert Path(path).read_text() == "written by trackline"
    found = mclient.search_runs([experiment_id], "params.b = 'two'")
    assert [r.info.run_id for r in found] == [run_id]


def test_logged_with_mlflow_read_with_trackline(server, mlflow_at, tclient, unique, tmp_path):
    mlflow = mlflow_at(server.url)
    experiment = mlflow.set_experiment(unique("cross-mlflow"))
    with mlflow.start_run(run_name="from-mlflow") as run:
        mlflow.log_params({"x": 3})
        mlflow.log_metrics({"loss": 0.5, "acc": 0.75}, step=3)
        mlflow.set_tag("who", "mlflow")
        mlflow.log_dict({"from": "mlflow"}, "meta/info.json")
        with mlflow.start_run(run_name="kid", nested=True) as child:
            mlflow.log_metric("k", 1.0)
    run_id = run.info.run_id

    got = tclient.get_run(run_id)
    assert got.info.run_name == "from-mlflow"
    assert got.info.status == "FINISHED"
    assert got.data.params == {"x": "3"}
    assert got.data.metrics == {"loss": 0.5, "acc": 0.75}
    assert got.data.tags["who"] == "mlflow"
    assert [(m.step, m.value) for m in tclient.get_metric_history(run_id, "loss")] == [(3, 0.5)]
    assert tclient.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == run_id
    assert [f.path for f in tclient.list_artifacts(run_id, "meta")] == ["meta/info.json"]
    out = tclient.download_artifacts(run_id, "meta/info.json", str(tmp_path))
    assert json.loads(Path(out).read_text()) == {"from": "mlflow"}
    found = tclient.search_runs([experiment.experiment_id], "tags.who = 'mlflow'")
    assert [r.info.run_id for r in found] == [run_id]
