"""MLflow 3 logged models: the real ``mlflow`` client against a running ``trackline server``.

``mlflow.pyfunc.log_model(name=...)`` creates a logged model over REST, uploads the model
to the model's own ``mlflow-artifacts:/`` location, links it to the run and finalizes it;
``mlflow.pyfunc.load_model("models:/m-…")`` then downloads it back and predicts. The rest of
the logged-model API (get, search, tags, params, metrics, delete) and its error cases run
through ``MlflowClient``. The server runs over each SQL backend (SQLite always; PostgreSQL
and MariaDB when marked).
"""

from __future__ import annotations

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel

UNKNOWN_MODEL_ID = "m-" + "0" * 32


class AddN(PythonModel):
    """A tiny pyfunc model: adds ``n`` to every input value."""

    def __init__(self, n: int) -> None:
        self.n = n

    def predict(self, context, model_input: list[int], params=None) -> list[int]:
        return [value + self.n for value in model_input]


@pytest.fixture
def mlflow(server, mlflow_at):
    return mlflow_at(server.url)


@pytest.fixture
def client(server, mlflow):
    return MlflowClient(tracking_uri=server.url)


def _status(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("error_code", "")


def test_pyfunc_log_model_load_model_and_predict(mlflow, client, server, unique):
    experiment = mlflow.set_experiment(unique("pyfunc"))
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=AddN(3),
            pip_requirements=["mlflow"],  # no requirement inference: it runs a subprocess
            params={"n": 3},
            tags={"kind": "adder"},
            model_type="toy",
        )
        mlflow.log_metric("quality", 0.97, model_id=info.model_id)
    model_id = info.model_id
    assert model_id.startswith("m-") and info.model_uri == f"models:/{model_id}"

    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert list(loaded.predict([1, 2, 39])) == [4, 5, 42]
    # runs:/<run>/<name> finds the run's logged model through search_logged_models.
    by_run = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert list(by_run.predict([0])) == [3]

    model = mlflow.get_logged_model(model_id)
    assert model.name == "model"
    assert model.status == LoggedModelStatus.READY
    assert model.source_run_id == run.info.run_id
    assert model.experiment_id == experiment.experiment_id
    assert model.params == {"n": "3"}
    assert model.tags["kind"] == "adder"
    assert model.model_type == "toy"
    assert model.artifact_location == (
        f"mlflow-artifacts:/{experiment.experiment_id}/models/{model_id}/artifacts"
    )
    assert [(m.key, m.value, m.run_id) for m in model.metrics] == [
        ("quality", 0.97, run.info.run_id)
    ]
    # The files went to the model's own location, not the run's artifacts.
    names = {f.path for f in client.list_logged_model_artifacts(model_id)}
    assert {"MLmodel", "python_model.pkl"} <= names
    # The run lists the model as its output.
    outputs = client.get_run(run.info.run_id).outputs.model_outputs
    assert [o.model_id for o in outputs] == [model_id]
    # The UI's file download serves the model's MLmodel.
    got = requests.get(
        f"{server.url}/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files",
        params={"artifact_file_path": "MLmodel"},
        timeout=30,
    )
    assert got.status_code == 200 and b"python_function" in got.content


def test_sklearn_log_model_with_metrics_and_load(mlflow, client, unique):
    sklearn = pytest.importorskip("sklearn.linear_model")
    mlflow.set_experiment(unique("sklearn"))
    estimator = sklearn.LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(estimator, name="linear", pip_requirements=["scikit-learn"])
        mlflow.log_metric("r2", 1.0, model_id=info.model_id)
    loaded = mlflow.sklearn.load_model(info.model_uri)
    assert loaded.predict([[3.0]]) == pytest.approx([7.0])
    model = client.get_logged_model(info.model_id)
    assert str(model.status) == "READY" and [m.key for m in model.metrics] == ["r2"]
    found = mlflow.search_logged_models(filter_string="metrics.r2 >= 1", output_format="list")
    assert [m.model_id for m in found] == [info.model_id]


def test_search_tags_params_finalize_and_delete(mlflow, client, unique):
    experiment = mlflow.set_experiment(unique("search"))
    exp_id = experiment.experiment_id
    with mlflow.start_run():
        ids = {}
        for name, acc in (("low", 0.2), ("high", 0.9), ("mid", 0.5)):
            model = mlflow.initialize_logged_model(name=name, params={"acc": str(acc)})
            mlflow.log_metric("acc", acc, model_id=model.model_id)
            ids[name] = model.model_id
    mlflow.finalize_logged_model(ids["high"], LoggedModelStatus.READY)
    mlflow.finalize_logged_model(ids["low"], "FAILED")

    ordered = mlflow.search_logged_models(
        experiment_ids=[exp_id],
        filter_string="metrics.acc >= 0.5",
        order_by=[{"field_name": "metrics.acc", "ascending": False}],
        output_format="list",
    )
    assert [m.name for m in ordered] == ["high", "mid"]
    ready = client.search_logged_models([exp_id], filter_string="status = 'READY'")
    assert [m.name for m in ready] == ["high"]
    frame = mlflow.search_logged_models(experiment_ids=[exp_id])
    assert sorted(frame["name"]) == ["high", "low", "mid"]
    page = client.search_logged_models([exp_id], max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_logged_models([exp_id], max_results=2, page_token=page.token)
    assert len(rest) == 1 and not rest.token

    client.set_logged_model_tags(ids["mid"], {"stage": "dev", "owner": "me"})
    client.delete_logged_model_tag(ids["mid"], "owner")
    mlflow.log_model_params(model_id=ids["mid"], params={"extra": "1"})
    mid = client.get_logged_model(ids["mid"])
    # The client adds its context tags (mlflow.user, mlflow.source.*) to new models.
    assert {k: v for k, v in mid.tags.items() if not k.startswith("mlflow.")} == {"stage": "dev"}
    assert mid.tags["mlflow.source.type"] == "LOCAL"
    assert mid.params == {"acc": "0.5", "extra": "1"}
    assert str(mid.status) == "PENDING"
    assert str(client.get_logged_model(ids["low"]).status) == "FAILED"

    client.delete_logged_model(ids["mid"])
    with pytest.raises(MlflowException) as info:
        client.get_logged_model(ids["mid"])
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert sorted(m.name for m in client.search_logged_models([exp_id])) == ["high", "low"]


def test_bad_input_is_refused_with_mlflow_codes(mlflow, client, server, unique):
    experiment = mlflow.set_experiment(unique("bad"))
    exp_id = experiment.experiment_id
    model = client.create_logged_model(exp_id, name="b")

    with pytest.raises(MlflowException) as info:
        client.get_logged_model(UNKNOWN_MODEL_ID)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as info:
        client.search_logged_models([exp_id], filter_string="metrics.acc > 'high'")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as info:
        client.search_logged_models([exp_id], filter_string="nonsense = 1")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as info:
        client.create_logged_model("987654321")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as info:
        client.delete_logged_model_tag(model.model_id, "missing")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    # A status the client cannot even express, sent raw: 400, and the model is unchanged.
    api = f"{server.url}/api/2.0/mlflow/logged-models"
    for status in ("DONE", "LOGGED_MODEL_PENDING"):
        bad = requests.patch(f"{api}/{model.model_id}", json={"status": status}, timeout=30)
        assert _status(bad) == (400, "INVALID_PARAMETER_VALUE"), status
    missing = requests.get(f"{api}/{UNKNOWN_MODEL_ID}", timeout=30)
    assert _status(missing) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert str(client.get_logged_model(model.model_id).status) == "PENDING"
