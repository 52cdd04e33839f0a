"""The real MLflow client (``mlflow`` from PyPI) against a running ``trackline server``.

Everything here goes over HTTP: the fluent API, ``MlflowClient``, proxied artifacts through
``mlflow-artifacts:/`` URIs, and the error codes the client turns into ``MlflowException``.
The server runs over each SQL backend (SQLite always; PostgreSQL and MariaDB when marked).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException


@pytest.fixture
def mlflow(server, mlflow_at):
    return mlflow_at(server.url)


@pytest.fixture
def client(server, mlflow):
    return MlflowClient(tracking_uri=server.url)


def _error_code(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.error_code


def _all_pages(fetch, page_size: int) -> list:
    """Follow page tokens until exhausted; fail on a token loop."""
    items, token, seen = [], None, set()
    for _ in range(1000):
        page = fetch(max_results=page_size, page_token=token)
        assert len(page) <= page_size
        items.extend(page)
        token = page.token
        if not token:
            return items
        assert token not in seen, "page token repeated: paging would never end"
        seen.add(token)
    raise AssertionError("more than 1000 pages")


# -- fluent API ------------------------------------------------------------------------------


def test_fluent_run_with_nested_child_params_metrics_tags_and_artifacts(
    mlflow, client, server, unique, tmp_path
):
    experiment = mlflow.set_experiment(unique("fluent"))
    assert experiment.lifecycle_stage == "active"
    assert experiment.artifact_location.startswith("mlflow-artifacts:/")

    extra = tmp_path / "extra"
    (extra / "sub").mkdir(parents=True)
    (extra / "a.txt").write_text("alpha")
    (extra / "sub" / "b.bin").write_bytes(bytes(range(256)))
    single = tmp_path / "single.csv"
    single.write_text("x,y\n1,2\n")

    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"layers": 3, "act": "relu"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=7)
        mlflow.set_tag("team", "e2e")
        mlflow.set_tags({"stage": "dev", "note": "ünïcødé ✓"})
        mlflow.log_dict({"k": [1, 2, 3]}, "config/conf.json")
        mlflow.log_text("hello world", "notes/readme.txt")
        mlflow.log_artifact(str(single))
        mlflow.log_artifacts(str(extra), artifact_path="bundle")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("child_metric", 42.0)
        child_id = child.info.run_id
    parent_id = parent.info.run_id
    assert mlflow.active_run() is None

    run = client.get_run(parent_id)
    assert run.info.status == "FINISHED"
    assert run.info.end_time is not None and run.info.end_time >= run.info.start_time
    assert run.info.run_name == "parent"
    assert run.info.experiment_id == experiment.experiment_id
    assert run.info.artifact_uri == (
        f"mlflow-artifacts:/{experiment.experiment_id}/{parent_id}/artifacts"
    ) or run.info.artifact_uri.endswith(f"/{parent_id}/artifacts")
    assert run.data.params == {"lr": "0.01", "layers": "3", "act": "relu"}
    assert run.data.metrics == {"loss": pytest.approx(0.2), "acc": 0.9, "f1": 0.8}
    assert run.data.tags["team"] == "e2e"
    assert run.data.tags["note"] == "ünïcødé ✓"
    assert run.data.tags["mlflow.runName"] == "parent"

    history = client.get_metric_history(parent_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    assert all(m.timestamp > 0 for m in history)

    child_run = client.get_run(child_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent_id
    assert child_run.info.status == "FINISHED"
    assert child_run.data.metrics == {"child_metric": 42.0}

    root = {f.path: f for f in client.list_artifacts(parent_id)}
    assert set(root) == {"config", "notes", "single.csv", "bundle"}
    assert root["config"].is_dir and not root["single.csv"].is_dir
    assert root["single.csv"].file_size == len("x,y\n1,2\n")
    bundle = {f.path: f for f in client.list_artifacts(parent_id, "bundle")}
    assert set(bundle) == {"bundle/a.txt", "bundle/sub"}
    assert bundle["bundle/sub"].is_dir
    sub = client.list_artifacts(parent_id, "bundle/sub")
    assert [(f.path, f.file_size) for f in sub] == [("bundle/sub/b.bin", 256)]

    assert mlflow.artifacts.load_dict(f"runs:/{parent_id}/config/conf.json") == {"k": [1, 2, 3]}
    assert mlflow.artifacts.load_text(f"runs:/{parent_id}/notes/readme.txt") == "hello world"
    out = Path(client.download_artifacts(parent_id, "bundle", str(tmp_path / "dl")))
    assert (out / "a.txt").read_text() == "alpha"
    assert (out / "sub" / "b.bin").read_bytes() == bytes(range(256))

    # The proxy stored the files where MLflow's layout says: <destination>/<exp>/<run>/artifacts
    stored = server.artifacts / experiment.experiment_id / parent_id / "artifacts"
    assert (stored / "bundle" / "sub" / "b.bin").read_bytes() == bytes(range(256))
    assert json.loads((stored / "config" / "conf.json").read_text()) == {"k": [1, 2, 3]}


def test_fluent_resume_run_and_failed_status(mlflow, client, unique):
    mlflow.set_experiment(unique("resume"))
    with mlflow.start_run() as run:
        mlflow.log_param("a", "1")
    run_id = run.info.run_id
    generated_name = client.get_run(run_id).info.run_name
    assert generated_name and client.get_run(run_id).data.tags["mlflow.runName"] == generated_name

    with mlflow.start_run(run_id=run_id):
        mlflow.log_param("b", "2")
        mlflow.log_metric("m", 1.5)
    resumed = client.get_run(run_id)
    assert resumed.data.params == {"a": "1", "b": "2"}
    assert resumed.info.status == "FINISHED"

    with pytest.raises(RuntimeError), mlflow.start_run() as failing:
        raise RuntimeError("boom")
    assert client.get_run(failing.info.run_id).info.status == "FAILED"


def test_update_run_name_rewrites_the_run_name_tag(client, unique):
    experiment_id = client.create_experiment(unique("rename-run"))
    run = client.create_run(experiment_id, run_name="before")
    client.update_run(run.info.run_id, name="after")
    fetched = client.get_run(run.info.run_id)
    assert fetched.info.run_name == "after"
    assert fetched.data.tags["mlflow.runName"] == "after"
    client.set_terminated(run.info.run_id, status="KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"


# -- experiments -----------------------------------------------------------------------------


def test_experiments_create_search_page_rename_tag_delete_restore(client, unique):
    suite = unique("suite")
    names = [f"{suite}-{i:02d}" for i in range(7)]
    ids = [
        client.create_experiment(n, tags={"suite": suite, "i": str(i)}) for i, n in enumerate(names)
    ]
    assert len(set(ids)) == 7

    experiment = client.get_experiment(ids[3])
    assert experiment.name == names[3]
    assert experiment.tags["suite"] == suite and experiment.tags["i"] == "3"
    assert client.get_experiment_by_name(names[3]).experiment_id == ids[3]
    assert client.get_experiment_by_name(unique("missing")) is None

    found = _all_pages(
        lambda **kw: client.search_experiments(
            filter_string=f"tags.suite = '{suite}'", order_by=["name DESC"], **kw
        ),
        page_size=3,
    )
    assert [e.name for e in found] == sorted(names, reverse=True)

    like = client.search_experiments(filter_string=f"name LIKE '{suite}-0%'", order_by=["name"])
    assert [e.name for e in like] == names
    numeric = client.search_experiments(
        filter_string=f"tags.suite = '{suite}' AND tags.i != '0'", max_results=50
    )
    assert {e.name for e in numeric} == set(names[1:])

    client.rename_experiment(ids[0], f"{suite}-renamed")
    assert client.get_experiment(ids[0]).name == f"{suite}-renamed"
    client.set_experiment_tag(ids[0], "extra", "yes")
    assert client.get_experiment(ids[0]).tags["extra"] == "yes"
    client.delete_experiment_tag(ids[0], "extra")
    assert "extra" not in client.get_experiment(ids[0]).tags

    client.delete_experiment(ids[1])
    assert client.get_experiment(ids[1]).lifecycle_stage == "deleted"
    active = client.search_experiments(filter_string=f"tags.suite = '{suite}'")
    assert ids[1] not in {e.experiment_id for e in active}
    deleted = client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"tags.suite = '{suite}'"
    )
    assert [e.experiment_id for e in deleted] == [ids[1]]
    with pytest.raises(MlflowException) as excinfo:
        client.create_experiment(names[1])  # a deleted experiment keeps its name
    assert _error_code(excinfo) == "RESOURCE_ALREADY_EXISTS"
    client.restore_experiment(ids[1])
    assert client.get_experiment(ids[1]).lifecycle_stage == "active"


def test_experiment_delete_cascades_to_runs_and_restore_brings_them_back(client, unique):
    experiment_id = client.create_experiment(unique("cascade"))
    run_ids = [client.create_run(experiment_id).info.run_id for _ in range(3)]
    client.delete_experiment(experiment_id)
    assert {client.get_run(r).info.lifecycle_stage for r in run_ids} == {"deleted"}
    with pytest.raises(MlflowException) as excinfo:
        client.create_run(experiment_id)
    assert _error_code(excinfo) == "INVALID_PARAMETER_VALUE"
    client.restore_experiment(experiment_id)
    assert {client.get_run(r).info.lifecycle_stage for r in run_ids} == {"active"}


# -- runs: batches, history, search ----------------------------------------------------------


def test_log_batch_larger_than_the_server_limits_is_chunked_by_the_client(client, unique):
    experiment_id = client.create_experiment(unique("batch"))
    run_id = client.create_run(experiment_id).info.run_id
    now = int(time.time() * 1000)
    keys = ["loss", "acc", "lr"]
    steps = 850  # 3 * 850 = 2550 metrics -> at least 3 LogBatch requests
    metrics = [
        Metric(key, float(step) + 0.25 * k, now + step, step)
        for k, key in enumerate(keys)
        for step in range(steps)
    ]
    params = [Param(f"p{i:03d}", str(i)) for i in range(150)]
    tags = [RunTag(f"t{i:03d}", f"v{i}") for i in range(120)]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)

    run = client.get_run(run_id)
    assert run.data.params == {p.key: p.value for p in params}
    assert {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")} == {
        t.key: t.value for t in tags
    }
    for k, key in enumerate(keys):
        history = client.get_metric_history(run_id, key)
        assert sorted((m.step, m.value, m.timestamp) for m in history) == [
            (step, float(step) + 0.25 * k, now + step) for step in range(steps)
        ]
        assert run.data.metrics[key] == float(steps - 1) + 0.25 * k

    # Same params again is a no-op. An identical metric point (key, value, timestamp, step)
    # is stored once, as in MLflow's SQL store (its primary key); a new timestamp is a new point.
    client.log_batch(run_id, params=params[:10])
    client.log_batch(run_id, metrics=metrics[:5])
    assert len(client.get_metric_history(run_id, "loss")) == steps
    client.log_batch(run_id, metrics=[Metric("loss", 0.0, now + 10**6, 0)])
    assert len(client.get_metric_history(run_id, "loss")) == steps + 1


def test_metric_history_longer_than_one_client_page(client, unique):
    """The client reads get-history in pages of 25,000 points, following next_page_token."""
    run_id = client.create_run(client.create_experiment(unique("long-history"))).info.run_id
    points = 30_500
    metrics = [Metric("long", float(s), 1_700_000_000_000 + s, s) for s in range(points)]
    client.log_batch(run_id, metrics=metrics)
    history = client.get_metric_history(run_id, "long")
    assert len(history) == points
    assert sorted(m.step for m in history) == list(range(points))
    assert client.get_run(run_id).data.metrics["long"] == float(points - 1)


def test_async_logging_flushes_everything_at_end_run(mlflow, client, unique):
    mlflow.set_experiment(unique("async"))
    with mlflow.start_run() as run:
        for step in range(300):
            mlflow.log_metric("a", step * 1.0, step=step, synchronous=False)
        mlflow.log_params({f"p{i}": i for i in range(20)}, synchronous=False)
        mlflow.set_tag("mode", "async", synchronous=False)
    fetched = client.get_run(run.info.run_id)
    assert len(client.get_metric_history(run.info.run_id, "a")) == 300
    assert len(fetched.data.params) == 20
    assert fetched.data.tags["mode"] == "async"


def test_metric_history_keeps_special_values_and_steps(client, unique):
    experiment_id = client.create_experiment(unique("special"))
    run_id = client.create_run(experiment_id).info.run_id
    client.log_metric(run_id, "m", float("nan"), step=0)
    client.log_metric(run_id, "m", -3.5, step=-2)
    client.log_metric(run_id, "m", 1e300, step=10**12)
    client.log_metric(run_id, "m", float("inf"), step=3)
    history = sorted(client.get_metric_history(run_id, "m"), key=lambda m: m.step)
    assert [m.step for m in history] == [-2, 0, 3, 10**12]
    assert history[0].value == -3.5
    assert math.isnan(history[1].value)
    # MLflow's SQL store stores +inf as the largest finite double; either is compatible.
    assert history[2].value in (float("inf"), 1.7976931348623157e308)
    assert history[3].value == 1e300


def test_search_runs_filters_order_and_pages_until_exhausted(client, unique):
    experiment_id = client.create_experiment(unique("search"))
    other_id = client.create_experiment(unique("search-other"))
    runs = []
    for i in range(23):
        run = client.create_run(experiment_id, run_name=f"r{i:02d}", start_time=1_000 + i)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("m", float(i), 1, 0)],
            params=[Param("p", str(i % 3))],
            tags=[RunTag("parity", "even" if i % 2 == 0 else "odd")],
        )
        runs.append(run.info.run_id)
    client.create_run(other_id, run_name="elsewhere")

    def search(filter_string, order_by=None, page_size=4, view=ViewType.ACTIVE_ONLY):
        return _all_pages(
            lambda **kw: client.search_runs(
                [experiment_id], filter_string, view, order_by=order_by, **kw
            ),
            page_size=page_size,
        )

    everything = search("")
    # Default order: start_time DESC, then run_id.
    assert [r.info.run_id for r in everything] == list(reversed(runs))

    hits = search("metrics.m >= 5 and params.p = '1'", ["metrics.m DESC"])
    expected = [i for i in range(23) if i >= 5 and i % 3 == 1]
    assert [int(r.data.metrics["m"]) for r in hits] == sorted(expected, reverse=True)

    by_param = search("tags.parity = 'odd'", ["params.p ASC", "metrics.m DESC"], page_size=5)
    odd = [i for i in range(23) if i % 2 == 1]
    assert [int(r.data.metrics["m"]) for r in by_param] == sorted(
        odd, key=lambda i: (str(i % 3), -i)
    )

    named = search("attributes.run_name LIKE 'r1%'", ["attributes.run_name ASC"])
    assert [r.info.run_name for r in named] == [f"r{i}" for i in range(10, 20)]

    subset = runs[3:6]
    quoted = ", ".join(f"'{r}'" for r in subset)
    by_id = search(f"attributes.run_id IN ({quoted})", ["attributes.start_time ASC"])
    assert [r.info.run_id for r in by_id] == subset

    both = client.search_runs([experiment_id, other_id], max_results=100)
    assert len(both) == 24
    assert search("tags.parity = 'none'") == []


def test_delete_and_restore_run_changes_search_views(client, unique):
    experiment_id = client.create_experiment(unique("lifecycle"))
    keep = client.create_run(experiment_id).info.run_id
    gone = client.create_run(experiment_id).info.run_id
    client.delete_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "deleted"
    active = {r.info.run_id for r in client.search_runs([experiment_id])}
    deleted = {
        r.info.run_id
        for r in client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    }
    every = {r.info.run_id for r in client.search_runs([experiment_id], run_view_type=ViewType.ALL)}
    assert (active, deleted, every) == ({keep}, {gone}, {keep, gone})
    client.restore_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "active"
    assert {r.info.run_id for r in client.search_runs([experiment_id])} == {keep, gone}


def test_set_and_delete_run_tags(client, unique):
    experiment_id = client.create_experiment(unique("tags"))
    run_id = client.create_run(experiment_id).info.run_id
    client.set_tag(run_id, "k", "v1")
    client.set_tag(run_id, "k", "v2")  # tags are mutable
    client.set_tag(run_id, "other", 5)
    assert client.get_run(run_id).data.tags["k"] == "v2"
    assert client.get_run(run_id).data.tags["other"] == "5"
    client.delete_tag(run_id, "k")
    assert "k" not in client.get_run(run_id).data.tags
    with pytest.raises(MlflowException) as excinfo:
        client.delete_tag(run_id, "k")
    assert _error_code(excinfo) == "RESOURCE_DOES_NOT_EXIST"


def test_log_inputs_with_a_pandas_dataset(mlflow, client, unique):
    pd = pytest.importorskip("pandas")
    import mlflow.data

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(
        frame, source="s3://bucket/train.csv", name="train", targets="y"
    )
    mlflow.set_experiment(unique("inputs"))
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training", tags={"fold": "1"})
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    logged = inputs[0].dataset
    assert logged.name == "train"
    assert logged.digest == dataset.digest
    assert logged.source_type == "s3" or "s3" in logged.source_type
    assert json.loads(logged.source)["uri"] == "s3://bucket/train.csv"
    expected = dataset.to_dict()
    for field in ("schema", "profile"):
        if expected.get(field) is None:  # mlflow-skinny infers no schema without mlflow.types
            assert not getattr(logged, field)
        else:
            assert json.loads(getattr(logged, field)) == json.loads(expected[field])
    tags = {t.key: t.value for t in inputs[0].tags}
    assert tags["mlflow.data.context"] == "training"
    assert tags["fold"] == "1"
    found = client.search_runs(
        [run.info.experiment_id], "datasets.name = 'train' and datasets.context = 'training'"
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_fluent_search_runs_returns_a_dataframe(mlflow, unique):
    pytest.importorskip("pandas")
    experiment = mlflow.set_experiment(unique("frame"))
    for i in range(3):
        with mlflow.start_run(run_name=f"run{i}"):
            mlflow.log_metric("score", i * 10.0)
            mlflow.log_param("seed", i)
            mlflow.set_tag("kind", "frame")
    frame = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id], order_by=["metrics.score DESC"]
    )
    assert len(frame) == 3
    for column in ("run_id", "status", "start_time", "metrics.score", "params.seed", "tags.kind"):
        assert column in frame.columns
    assert list(frame["metrics.score"]) == [20.0, 10.0, 0.0]
    assert list(frame["params.seed"]) == ["2", "1", "0"]
    assert list(frame["tags.mlflow.runName"]) == ["run2", "run1", "run0"]
    by_name = mlflow.search_runs(
        experiment_names=[experiment.name], filter_string="params.seed = '1'"
    )
    assert list(by_name["tags.mlflow.runName"]) == ["run1"]


# -- errors as the client sees them ----------------------------------------------------------


def test_duplicate_experiment_is_resource_already_exists(client, unique):
    name = unique("dup")
    client.create_experiment(name)
    with pytest.raises(MlflowException) as excinfo:
        client.create_experiment(name)
    assert _error_code(excinfo) == "RESOURCE_ALREADY_EXISTS"


def test_unknown_run_and_experiment_are_resource_does_not_exist(client):
    with pytest.raises(MlflowException) as excinfo:
        client.get_run("0123456789abcdef0123456789abcdef")
    assert _error_code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as excinfo:
        client.get_experiment("987654321")
    assert _error_code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as excinfo:
        client.log_param("0123456789abcdef0123456789abcdef", "k", "v")
    assert _error_code(excinfo) == "RESOURCE_DOES_NOT_EXIST"


def test_changing_a_param_is_invalid_parameter_value(client, unique):
    run_id = client.create_run(client.create_experiment(unique("param"))).info.run_id
    client.log_param(run_id, "p", "1")
    client.log_param(run_id, "p", "1")  # same value: fine
    with pytest.raises(MlflowException) as excinfo:
        client.log_param(run_id, "p", "2")
    assert _error_code(excinfo) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as excinfo:
        client.log_batch(run_id, params=[Param("p", "3")])
    assert _error_code(excinfo) == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {"p": "1"}


@pytest.mark.parametrize(
    "filter_string",
    [
        "metrics.m > 'x'",
        "params.p = 1",
        "nonsense.key = 'a'",
        "attributes.no_such_attribute = 'x'",
        "params.p =",
        "metrics.m LIKE 'a%'",
        "params.p = 'a' AND",
        "params.p IS 'a'",
    ],
)
def test_bad_search_filter_is_invalid_parameter_value(client, unique, filter_string):
    experiment_id = client.create_experiment(unique("badfilter"))
    with pytest.raises(MlflowException) as excinfo:
        client.search_runs([experiment_id], filter_string)
    assert _error_code(excinfo) == "INVALID_PARAMETER_VALUE"


def test_or_and_parentheses_are_accepted_as_a_documented_extension(client, unique):
    """MLflow rejects OR; trackline accepts it (docs/search.md). The real client passes the
    filter through unchanged, so an MLflow user gets the extension over REST too."""
    experiment_id = client.create_experiment(unique("or"))
    ids = []
    for i in range(3):
        run_id = client.create_run(experiment_id).info.run_id
        client.log_metric(run_id, "m", float(i))
        ids.append(run_id)
    found = client.search_runs([experiment_id], "(metrics.m = 0 OR metrics.m = 2)")
    assert {r.info.run_id for r in found} == {ids[0], ids[2]}


def test_bad_experiment_filter_is_invalid_parameter_value(client):
    with pytest.raises(MlflowException) as excinfo:
        client.search_experiments(filter_string="creation_time = 'yesterday'")
    assert _error_code(excinfo) == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "write",
    [
        lambda c, r: c.log_param(r, "k", "v"),
        lambda c, r: c.log_metric(r, "k", 1.0),
        lambda c, r: c.set_tag(r, "k", "v"),
        lambda c, r: c.log_batch(r, metrics=[Metric("k", 1.0, 1, 0)]),
    ],
    ids=["log_param", "log_metric", "set_tag", "log_batch"],
)
def test_write_to_a_deleted_run_is_rejected(client, unique, write):
    run_id = client.create_run(client.create_experiment(unique("deleted-run"))).info.run_id
    client.delete_run(run_id)
    with pytest.raises(MlflowException) as excinfo:
        write(client, run_id)
    assert _error_code(excinfo) == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {}
    assert client.get_run(run_id).data.metrics == {}


@pytest.mark.parametrize("key", ["a/../b", "/abs", "bad key!", ""])
def test_invalid_keys_are_rejected(client, unique, key):
    run_id = client.create_run(client.create_experiment(unique("badkey"))).info.run_id
    with pytest.raises(MlflowException) as excinfo:
        client.log_batch(run_id, params=[Param(key, "v")])
    assert _error_code(excinfo) == "INVALID_PARAMETER_VALUE"


def test_error_envelope_on_the_wire(server, unique):
    """The raw JSON the client parses: 400 for duplicates, 404 for unknown ids."""
    api = f"{server.url}/api/2.0/mlflow"
    name = unique("wire")
    first = requests.post(f"{api}/experiments/create", json={"name": name}, timeout=30)
    assert first.status_code == 200 and first.json()["experiment_id"]
    again = requests.post(f"{api}/experiments/create", json={"name": name}, timeout=30)
    assert again.status_code == 400
    assert again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert isinstance(again.json()["message"], str)
    missing = requests.get(f"{api}/runs/get", params={"run_id": "f" * 32}, timeout=30)
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    no_name = requests.post(f"{api}/experiments/create", json={}, timeout=30)
    assert no_name.status_code == 400
    assert no_name.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    text = requests.post(
        f"{api}/experiments/create",
        data=json.dumps({"name": unique("ct")}),
        headers={"Content-Type": "text/plain"},
        timeout=30,
    )
    assert text.status_code == 400
    assert requests.get(f"{api}/runs/search", timeout=30).status_code == 405
