"""MLflow's tracking documentation, run as written, against a ``trackline server``.

Each test follows a page of MLflow's docs (quickstart, "Tracking", "Logging artifacts",
"Search runs", "Dataset tracking", "Automatic logging") with the real ``mlflow`` client and
asserts what the docs promise. Every expectation here was also checked against a real
``mlflow server`` 3.17.2; where trackline still differs, the test is a strict xfail that names
the difference. tests/e2e/test_mlflow_client.py covers the basic run/experiment API; this
module does not repeat it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Param, ViewType
from mlflow.exceptions import MlflowException


@pytest.fixture
def mlflow(docs_server, mlflow_at):
    return mlflow_at(docs_server.url)


@pytest.fixture
def client(docs_server, mlflow):
    return MlflowClient(tracking_uri=docs_server.url)


def _code(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.error_code


# -- quickstart: runs, system tags, metrics with explicit timestamps -------------------------------


def test_start_run_with_description_tags_and_system_tags(mlflow, client, unique):
    experiment = mlflow.set_experiment(unique("quickstart"))
    with mlflow.start_run(
        run_name="baseline", tags={"team": "fraud"}, description="first **try**"
    ) as run:
        mlflow.log_params({"lr": 0.01, "epochs": 3, "optimizer": None})
        mlflow.log_metric("loss", 0.9, step=0, timestamp=1_700_000_000_000)
        mlflow.log_metric("loss", 0.5, step=1, timestamp=1_700_000_001_000)
        assert mlflow.get_artifact_uri() == (
            f"mlflow-artifacts:/{experiment.experiment_id}/{run.info.run_id}/artifacts"
        )
        assert mlflow.get_artifact_uri("plots/a.png").endswith("/artifacts/plots/a.png")
        assert mlflow.active_run().info.run_id == run.info.run_id
    last = mlflow.last_active_run()
    assert last.info.run_id == run.info.run_id and last.info.status == "FINISHED"

    fetched = mlflow.get_run(run.info.run_id)
    tags = fetched.data.tags
    assert tags["team"] == "fraud"
    assert tags["mlflow.note.content"] == "first **try**"  # what description= writes
    assert tags["mlflow.runName"] == "baseline"
    assert tags["mlflow.user"] == fetched.info.user_id and tags["mlflow.user"]
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.name"]
    assert fetched.data.params == {"lr": "0.01", "epochs": "3", "optimizer": "None"}
    assert fetched.data.metrics == {"loss": 0.5}
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (0, 0.9, 1_700_000_000_000),
        (1, 0.5, 1_700_000_001_000),
    ]


def test_nested_runs_parent_lookup_and_logging_to_another_run(mlflow, client, unique):
    mlflow.set_experiment(unique("nested"))
    with mlflow.start_run(run_name="sweep") as parent:
        children = []
        for lr in (0.1, 0.01):
            with mlflow.start_run(run_name=f"lr={lr}", nested=True) as child:
                mlflow.log_param("lr", lr)
                children.append(child.info.run_id)
        # log_metric(run_id=...) writes to a run that is not the active one.
        mlflow.log_metric("best_lr", 0.01, run_id=children[1])
    for child_id in children:
        assert mlflow.get_parent_run(child_id).info.run_id == parent.info.run_id
    assert mlflow.get_parent_run(parent.info.run_id) is None
    assert client.get_run(children[1]).data.metrics == {"best_lr": 0.01}
    found = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        order_by=["attributes.run_name ASC"],
        output_format="list",
    )
    assert [r.info.run_name for r in found] == ["lr=0.01", "lr=0.1"]


def test_over_long_param_and_tag_values_are_truncated_not_rejected(mlflow, client, unique):
    """MLflow truncates params to 6000 and tags to 8000 characters by default."""
    mlflow.set_experiment(unique("truncate"))
    with mlflow.start_run() as run, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.log_param("long", "p" * 7000)
        mlflow.set_tag("long", "t" * 9000)
    data = client.get_run(run.info.run_id).data
    assert data.params["long"] == "p" * 6000
    assert data.tags["long"] == "t" * 8000


def test_run_status_transitions(client, unique):
    experiment_id = client.create_experiment(unique("status"))
    run = client.create_run(experiment_id, run_name="manual")
    assert run.info.status == "RUNNING" and run.info.end_time is None
    client.set_terminated(run.info.run_id)
    finished = client.get_run(run.info.run_id).info
    assert finished.status == "FINISHED" and finished.end_time >= finished.start_time
    client.set_terminated(run.info.run_id, status="KILLED", end_time=finished.start_time + 5)
    killed = client.get_run(run.info.run_id).info
    assert (killed.status, killed.end_time) == ("KILLED", finished.start_time + 5)
    client.update_run(run.info.run_id, status="RUNNING")
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    with pytest.raises(Exception, match="EXPLODED"):  # the client refuses unknown statuses
        client.set_terminated(run.info.run_id, status="EXPLODED")
    given = client.create_run(experiment_id, start_time=12345)
    assert given.info.start_time == 12345


# -- artifacts: dicts, text, tables, images, figures ------------------------------------------------


def test_log_dict_text_table_image_and_figure_round_trip(mlflow, client, unique, tmp_path):
    np = pytest.importorskip("numpy")
    pil = pytest.importorskip("PIL.Image")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mlflow.set_experiment(unique("artifacts"))
    pixels = np.zeros((8, 6, 3), dtype=np.uint8)
    pixels[:, :, 0] = 255
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [2, 1, 3])
    with mlflow.start_run() as run:
        mlflow.log_dict({"layers": [64, 32]}, "config/model.json")
        mlflow.log_dict({"layers": [64, 32]}, "config/model.yaml")
        mlflow.log_text("<h1>report</h1>", "report.html")
        mlflow.log_table({"question": ["a", "b"], "score": [0.5, 0.75]}, "eval/table.json")
        mlflow.log_image(pixels, "images/red.png")
        mlflow.log_image(pil.new("RGB", (3, 2), color=(0, 0, 255)), "images/blue.png")
        mlflow.log_image(pixels, key="sample", step=2)  # the step-indexed form
        mlflow.log_figure(fig, "plots/curve.png")
    plt.close(fig)
    run_id = run.info.run_id

    root = {f.path: f.is_dir for f in client.list_artifacts(run_id)}
    assert root == {
        "config": True,
        "report.html": False,
        "eval": True,
        "images": True,
        "plots": True,
    }
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config/model.json") == {"layers": [64, 32]}
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/config/model.yaml") == (
        "layers:\n- 64\n- 32\n"
    )
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/report.html") == "<h1>report</h1>"
    red = mlflow.artifacts.load_image(f"runs:/{run_id}/images/red.png")
    assert red.size == (6, 8) and red.getpixel((0, 0)) == (255, 0, 0)
    assert mlflow.artifacts.load_image(f"runs:/{run_id}/images/blue.png").size == (3, 2)
    table = mlflow.load_table("eval/table.json", run_ids=[run_id])
    assert table["question"].tolist() == ["a", "b"] and table["score"].tolist() == [0.5, 0.75]
    # log_table records the table in a run tag that the UI reads.
    logged = json.loads(client.get_run(run_id).data.tags["mlflow.loggedArtifacts"])
    assert logged == [{"path": "eval/table.json", "type": "table"}]
    step_images = [f.path for f in client.list_artifacts(run_id, "images")]
    assert any(p.startswith("images/sample+step+2+") and p.endswith(".png") for p in step_images)
    figure = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="plots/curve.png", dst_path=str(tmp_path)
    )
    assert Path(figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The artifact URI form works as well as runs:/.
    uri = client.get_run(run_id).info.artifact_uri + "/config/model.json"
    local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "u"))
    assert json.loads(Path(local).read_text()) == {"layers": [64, 32]}


# -- search ----------------------------------------------------------------------------------------


def test_search_runs_documented_filters_orders_and_output_formats(mlflow, client, unique):
    pd = pytest.importorskip("pandas")
    experiment = mlflow.set_experiment(unique("search-docs"))
    other = mlflow.set_experiment(unique("search-docs-other"))
    mlflow.set_experiment(experiment_id=experiment.experiment_id)
    ids = {}
    for name, acc, model in (("a", 0.7, "rf"), ("b", 0.9, "xgb"), ("c", 0.8, "rf")):
        with mlflow.start_run(run_name=name, tags={"model": model}) as run:
            mlflow.log_metric("acc", acc)
            mlflow.log_param("model", model)
        ids[name] = run.info.run_id
    failed = client.create_run(experiment.experiment_id, run_name="failed")
    client.set_terminated(failed.info.run_id, "FAILED")
    with mlflow.start_run(experiment_id=other.experiment_id, run_name="elsewhere"):
        mlflow.log_metric("acc", 0.95)

    def names(filter_string: str, order_by=None) -> list[str]:
        runs = mlflow.search_runs(
            [experiment.experiment_id],
            filter_string=filter_string,
            order_by=order_by,
            output_format="list",
        )
        return [r.info.run_name for r in runs]

    assert names("metrics.acc > 0.75", ["metrics.acc DESC"]) == ["b", "c"]
    assert names("params.model = 'rf' and metrics.acc < 0.75") == ["a"]
    assert names("tags.model LIKE 'x%'") == ["b"]
    assert names("params.model ILIKE 'RF'", ["attributes.run_name DESC"]) == ["c", "a"]
    assert names("attributes.status = 'FAILED'") == ["failed"]
    assert names("attributes.status != 'FAILED' and attributes.end_time > 0", ["run_name"]) == [
        "a",
        "b",
        "c",
    ]
    assert names("tags.model IS NULL") == ["failed"]
    assert names("params.model IS NOT NULL", ["metrics.acc ASC"]) == ["a", "c", "b"]
    assert names(f"attributes.run_id IN ('{ids['a']}', '{ids['c']}')", ["run_name"]) == ["a", "c"]
    assert names("attributes.`Run name` = 'b'") == ["b"]
    assert names("attributes.created > 0", ["attributes.start_time ASC"]) == [
        "a",
        "b",
        "c",
        "failed",
    ]
    # Missing metrics sort last in both directions.
    assert names("", ["metrics.acc DESC"])[-1] == "failed"
    assert names("", ["metrics.acc ASC"])[-1] == "failed"

    frame = mlflow.search_runs([experiment.experiment_id], order_by=["metrics.acc DESC"])
    for column in ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"):
        assert column in frame.columns
    assert {"metrics.acc", "params.model", "tags.model", "tags.mlflow.runName"} <= set(
        frame.columns
    )
    assert pd.api.types.is_datetime64_any_dtype(frame["start_time"])
    assert frame["metrics.acc"].tolist()[:3] == [0.9, 0.8, 0.7]
    every = mlflow.search_runs(search_all_experiments=True, filter_string="metrics.acc > 0.9")
    assert "elsewhere" in every["tags.mlflow.runName"].tolist()
    by_names = mlflow.search_runs(experiment_names=[other.name], output_format="list")
    assert [r.info.run_name for r in by_names] == ["elsewhere"]


def test_search_runs_paging_with_page_tokens(client, unique):
    experiment_id = client.create_experiment(unique("pages"))
    for i in range(5):
        client.create_run(experiment_id, run_name=f"p{i}", start_time=1000 + i)
    pages, token = [], None
    while True:
        page = client.search_runs([experiment_id], max_results=2, page_token=token)
        pages.append([r.info.run_name for r in page])
        token = page.token
        if not token:
            break
    assert pages == [["p4", "p3"], ["p2", "p1"], ["p0"]]
    with pytest.raises(MlflowException) as excinfo:
        client.search_runs([experiment_id], page_token="not-a-token")
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"


def test_search_experiments_documented_filters(mlflow, client, unique):
    prefix = unique("sx")
    ids = [
        client.create_experiment(f"{prefix}-{i}", tags={"owner": "ana" if i else "bo"})
        for i in range(3)
    ]
    mlflow.set_experiment(experiment_id=ids[2])
    mlflow.set_experiment_tags({"stage": "dev", "k": "v"})
    found = mlflow.search_experiments(
        filter_string=f"name LIKE '{prefix}-%' AND tags.owner = 'ana'", order_by=["name DESC"]
    )
    assert [e.name for e in found] == [f"{prefix}-2", f"{prefix}-1"]
    quoted = ", ".join(f"'{i}'" for i in ids[:2])
    by_id = client.search_experiments(filter_string=f"experiment_id IN ({quoted})")
    assert sorted(e.experiment_id for e in by_id) == sorted(ids[:2])
    newest = client.search_experiments(
        filter_string=f"name LIKE '{prefix}%' AND creation_time > 0",
        order_by=["last_update_time DESC"],
        max_results=1,
    )
    assert [e.experiment_id for e in newest] == [ids[2]]  # its tags were just changed
    assert client.get_experiment(ids[2]).tags["stage"] == "dev"
    untagged = client.search_experiments(filter_string=f"name LIKE '{prefix}%' AND tags.k IS NULL")
    assert sorted(e.experiment_id for e in untagged) == sorted(ids[:2])
    client.delete_experiment(ids[0])
    assert mlflow.get_experiment_by_name(f"{prefix}-0").lifecycle_stage == "deleted"
    deleted = client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name LIKE '{prefix}%'"
    )
    assert [e.experiment_id for e in deleted] == [ids[0]]
    every = client.search_experiments(
        view_type=ViewType.ALL, filter_string=f"name LIKE '{prefix}%'"
    )
    assert len(every) == 3
    with pytest.raises(MlflowException) as excinfo:
        mlflow.set_experiment(f"{prefix}-0")  # a deleted experiment cannot be made active
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as excinfo:
        mlflow.start_run(experiment_id=ids[0])
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"


# -- datasets --------------------------------------------------------------------------------------


def test_log_input_pandas_and_numpy_datasets(mlflow, client, unique):
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    import mlflow.data

    train = mlflow.data.from_pandas(
        pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]}), source="data/train.csv", targets="y"
    )
    evaluation = mlflow.data.from_numpy(
        np.array([[1.0, 2.0], [3.0, 4.0]]), targets=np.array([0, 1]), name="eval"
    )
    mlflow.set_experiment(unique("datasets"))
    with mlflow.start_run() as run:
        mlflow.log_input(train, context="training")
        mlflow.log_input(evaluation, context="evaluation", tags={"split": "holdout"})
        mlflow.log_input(train, context="training")  # logging again adds nothing
    inputs = {d.dataset.name: d for d in client.get_run(run.info.run_id).inputs.dataset_inputs}
    assert set(inputs) == {train.name, "eval"}
    logged_train = inputs[train.name].dataset
    assert logged_train.digest == train.digest and logged_train.source_type == "local"
    assert json.loads(logged_train.source) == {"uri": "data/train.csv"}
    assert json.loads(logged_train.profile) == {"num_rows": 3, "num_elements": 6}
    assert [c["name"] for c in json.loads(logged_train.schema)["mlflow_colspec"]] == ["x", "y"]
    assert {(t.key, t.value) for t in inputs[train.name].tags} == {
        ("mlflow.data.context", "training")
    }
    logged_eval = inputs["eval"].dataset
    assert "mlflow_tensorspec" in json.loads(logged_eval.schema)
    assert json.loads(logged_eval.profile)["features_shape"] == [2, 2]
    assert {(t.key, t.value) for t in inputs["eval"].tags} == {
        ("mlflow.data.context", "evaluation"),
        ("split", "holdout"),
    }
    # The dataset loads back from the run as the docs show.
    source = mlflow.data.get_source(inputs[train.name])
    assert source.uri == "data/train.csv"
    found = mlflow.search_runs(
        filter_string="datasets.context IN ('evaluation') AND datasets.name = 'eval'",
        output_format="list",
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_dataset_inputs_keep_the_order_they_were_logged(mlflow, client, unique):
    pd = pytest.importorskip("pandas")
    import mlflow.data

    frame = pd.DataFrame({"a": [1]})
    mlflow.set_experiment(unique("dataset-order"))
    with mlflow.start_run() as run:
        for name in ("train", "eval"):
            mlflow.log_input(mlflow.data.from_pandas(frame, name=name), context=name)
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [d.dataset.name for d in inputs] == ["train", "eval"]


def test_search_datasets_lists_each_dataset_and_context_once(docs_server, mlflow, unique):
    # The UI's dataset filter: an ajax-only route (MLflow's proto path lacks its leading slash).
    pd = pytest.importorskip("pandas")
    import mlflow.data

    frame = pd.DataFrame({"a": [1, 2]})
    train = mlflow.data.from_pandas(frame, name="train")
    experiment_id = mlflow.set_experiment(unique("search-datasets")).experiment_id
    for _ in range(2):
        with mlflow.start_run():
            mlflow.log_input(train, context="training")
            mlflow.log_input(mlflow.data.from_pandas(frame.head(1), name="eval"))
    url = f"{docs_server.url}/ajax-api/2.0/mlflow/experiments/search-datasets"
    response = requests.post(url, json={"experiment_ids": [experiment_id]}, timeout=30)
    assert response.status_code == 200, response.text
    summaries = response.json()["dataset_summaries"]
    assert sorted((s["name"], s.get("context")) for s in summaries) == [
        ("eval", None),
        ("train", "training"),
    ]
    assert {s["experiment_id"] for s in summaries} == {experiment_id}
    assert {s["digest"] for s in summaries if s["name"] == "train"} == {train.digest}
    for ids in ([], [str(i) for i in range(21)]):
        response = requests.post(url, json={"experiment_ids": ids}, timeout=30)
        assert response.status_code == 400, response.text
        assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# -- autologging -----------------------------------------------------------------------------------


def test_sklearn_autolog_records_params_metrics_tags_and_a_loadable_model(mlflow, client, unique):
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor

    experiment = mlflow.set_experiment(unique("autolog"))
    X, y = load_diabetes(return_X_y=True)
    mlflow.sklearn.autolog()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            RandomForestRegressor(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    run = mlflow.last_active_run()
    fetched = client.get_run(run.info.run_id)
    assert fetched.info.status == "FINISHED"
    assert fetched.data.params["n_estimators"] == "3"
    assert fetched.data.params["max_depth"] == "2"
    assert {"training_score", "training_r2_score", "training_mean_squared_error"} <= set(
        fetched.data.metrics
    )
    assert fetched.data.tags["estimator_name"] == "RandomForestRegressor"
    assert fetched.data.tags["mlflow.autologging"] == "sklearn"
    models = mlflow.search_logged_models(
        experiment_ids=[experiment.experiment_id], output_format="list"
    )
    assert [(m.name, str(m.status)) for m in models] == [("model", "READY")]
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert len(loaded.predict(X[:4])) == 4


# -- errors ----------------------------------------------------------------------------------------


def test_documented_error_codes(mlflow, client, unique):
    experiment_id = client.create_experiment(unique("errors"))
    run_id = client.create_run(experiment_id).info.run_id
    cases = [
        (lambda: client.get_run("f" * 32), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.get_experiment("424242"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.delete_run("f" * 32), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.create_run("424242"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.set_experiment_tag("424242", "k", "v"), "RESOURCE_DOES_NOT_EXIST"),
        (lambda: client.log_metric(run_id, "m", 1.0, timestamp=-5), "INVALID_PARAMETER_VALUE"),
        (
            lambda: client.log_batch(run_id, params=[Param("d", "1"), Param("d", "2")]),
            "INVALID_PARAMETER_VALUE",
        ),
        (lambda: client.set_tag(run_id, "k" * 251, "v"), "INVALID_PARAMETER_VALUE"),
        (
            lambda: client.create_run(experiment_id, run_name="a", tags={"mlflow.runName": "b"}),
            "INVALID_PARAMETER_VALUE",
        ),
        (lambda: client.create_experiment(""), "INVALID_PARAMETER_VALUE"),
        (lambda: client.search_runs([experiment_id], "foo = bar"), "INVALID_PARAMETER_VALUE"),
        (lambda: client.search_runs([experiment_id], "params.p > '1'"), "INVALID_PARAMETER_VALUE"),
        (
            lambda: client.search_runs([experiment_id], "attributes.status IS NULL"),
            "INVALID_PARAMETER_VALUE",
        ),
        (
            lambda: client.search_runs([experiment_id], order_by=["attributes.duration"]),
            "INVALID_PARAMETER_VALUE",
        ),
        (
            lambda: client.search_runs([experiment_id], max_results=50_001),
            "INVALID_PARAMETER_VALUE",
        ),
        (lambda: client.search_experiments(max_results=50_001), "INVALID_PARAMETER_VALUE"),
    ]
    for call, code in cases:
        with pytest.raises(MlflowException) as excinfo:
            call()
        assert _code(excinfo) == code, excinfo.value.message
    # A non-numeric metric value never reaches the server: the client refuses it.
    with pytest.raises((MlflowException, TypeError, ValueError)):
        client.log_metric(run_id, "m", "high")
    assert client.get_experiment_by_name(unique("missing")) is None
    assert client.get_run(run_id).data.metrics == {}


def test_http_statuses_of_documented_errors(docs_server, client, unique):
    api = f"{docs_server.url}/api/2.0/mlflow"
    experiment_id = client.create_experiment(unique("status-codes"))
    run_id = client.create_run(experiment_id).info.run_id
    cases = [
        ("GET", "/experiments/get-by-name", {"experiment_name": unique("nope")}, None, 404),
        ("GET", "/runs/get", {"run_id": "f" * 32}, None, 404),
        ("POST", "/runs/log-metric", None, {"run_id": run_id, "key": "m", "value": 1}, 400),
        (
            "POST",
            "/runs/log-metric",
            None,
            {"run_id": run_id, "key": "m", "value": "abc", "timestamp": 1},
            400,
        ),
        ("POST", "/experiments/search", None, {}, 400),  # max_results is required over REST
        ("POST", "/runs/search", None, {"experiment_ids": [experiment_id], "max_results": 0}, 400),
    ]
    for method, path, params, body, status in cases:
        response = requests.request(method, api + path, params=params, json=body, timeout=30)
        assert response.status_code == status, (path, response.text)
        assert response.json()["error_code"] in (
            "RESOURCE_DOES_NOT_EXIST",
            "INVALID_PARAMETER_VALUE",
        )


def test_deleting_a_deleted_experiment_is_resource_does_not_exist(client, unique):
    experiment_id = client.create_experiment(unique("twice"))
    with pytest.raises(MlflowException) as excinfo:
        client.restore_experiment(experiment_id)
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"
    client.delete_experiment(experiment_id)
    with pytest.raises(MlflowException) as excinfo:
        client.delete_experiment(experiment_id)
    assert _code(excinfo) == "RESOURCE_DOES_NOT_EXIST"


def test_search_runs_with_a_non_numeric_experiment_id_is_invalid(client):
    with pytest.raises(MlflowException) as excinfo:
        client.search_runs(["not-a-number"])
    assert _code(excinfo) == "INVALID_PARAMETER_VALUE"


def test_metric_history_of_an_unknown_run_is_empty(client):
    assert client.get_metric_history("f" * 32, "loss") == []
