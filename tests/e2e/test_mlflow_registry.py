"""The real MLflow client's model-registry calls against a running ``trackline server``.

``MlflowClient`` registry methods, ``mlflow.register_model("runs:/…")``, aliases, stages,
search with paging, ``models:/`` downloads, and every error case of the registry with its
code and HTTP status. The server runs over each SQL backend (SQLite always; PostgreSQL and
MariaDB when marked).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


@pytest.fixture
def mlflow(server, mlflow_at):
    return mlflow_at(server.url)


@pytest.fixture
def client(server, mlflow):
    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


@pytest.fixture(autouse=True)
def _quiet_stage_deprecation():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


def _logged_run(mlflow, unique, tmp_path: Path) -> str:
    """A run with a small 'model' directory as artifacts; returns its id."""
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    (model_dir / "weights.txt").write_text("42")
    mlflow.set_experiment(unique("registry"))
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(model_dir), "model")
    return run.info.run_id


def _api(server, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{server.url}/api/2.0/mlflow{path}", timeout=30, **kwargs)


def test_register_model_from_a_run_alias_and_download(mlflow, client, server, unique, tmp_path):
    run_id = _logged_run(mlflow, unique, tmp_path)
    name = unique("fraud")
    mv = mlflow.register_model(f"runs:/{run_id}/model", name)
    assert (mv.name, str(mv.version), mv.run_id) == (name, "1", run_id)
    assert mv.current_stage == "None" and mv.status == "READY"
    assert mv.source.startswith("mlflow-artifacts:/") and mv.source.endswith("/artifacts/model")
    client.set_registered_model_alias(name, "champion", mv.version)
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert str(by_alias.version) == "1" and by_alias.aliases == ["champion"]
    assert client.get_registered_model(name).aliases == {"champion": "1"}
    # Lineage: the run shows the versions created from it.
    from_run = client.search_model_versions(f"run_id = '{run_id}'")
    assert [(v.name, str(v.version)) for v in from_run] == [(name, "1")]
    # models:/ URIs of every registry form download the version's files.
    client.transition_model_version_stage(name, "1", "Staging")
    for uri in (
        f"models:/{name}/1",
        f"models:/{name}@champion",
        f"models:/{name}/latest",
        f"models:/{name}/Staging",
    ):
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "dl")))
        assert (local / "weights.txt").read_text() == "42", uri
    assert client.get_model_version_download_uri(name, "1") == mv.source
    raw = requests.get(
        f"{server.url}/model-versions/get-artifact",
        params={"name": name, "version": "1", "path": "weights.txt"},
        timeout=30,
    )
    assert raw.status_code == 200 and raw.content == b"42"


def test_registered_model_lifecycle(client, unique):
    name = unique("lifecycle")
    created = client.create_registered_model(name, tags={"team": "risk"}, description="first")
    assert created.name == name and created.tags == {"team": "risk"}
    assert created.description == "first"
    client.update_registered_model(name, description="second")
    client.set_registered_model_tag(name, "tier", "gold")
    client.delete_registered_model_tag(name, "team")
    model = client.get_registered_model(name)
    assert model.description == "second" and model.tags == {"tier": "gold"}
    client.create_model_version(name, "s3://bucket/m", tags={"k": "v"}, description="v1")
    client.rename_registered_model(name, name + "-new")  # MLflow's client returns None
    assert client.get_registered_model(name + "-new").name == name + "-new"
    mv = client.get_model_version(name + "-new", "1")
    assert mv.tags == {"k": "v"} and mv.description == "v1"
    client.update_model_version(name + "-new", "1", description="better")
    client.set_model_version_tag(name + "-new", "1", "q", "ok")
    client.delete_model_version_tag(name + "-new", "1", "k")
    mv = client.get_model_version(name + "-new", "1")
    assert mv.description == "better" and mv.tags == {"q": "ok"}
    client.delete_registered_model(name + "-new")
    with pytest.raises(MlflowException) as info:
        client.get_registered_model(name + "-new")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_versions_stages_and_tombstones(client, unique):
    name = unique("stages")
    client.create_registered_model(name)
    for i in range(3):
        client.create_model_version(name, f"s3://bucket/{i}")
    client.transition_model_version_stage(name, "1", "production")
    client.transition_model_version_stage(name, "2", "Production", archive_existing_versions=True)
    assert client.get_model_version(name, "1").current_stage == "Archived"
    assert client.get_model_version(name, "2").current_stage == "Production"
    latest = client.get_latest_versions(name, stages=["Production"])
    assert [str(v.version) for v in latest] == ["2"]
    stages = {
        v.current_stage: str(v.version) for v in client.get_registered_model(name).latest_versions
    }
    assert stages == {"Archived": "1", "Production": "2", "None": "3"}
    client.delete_model_version(name, "3")
    assert str(client.create_model_version(name, "s3://bucket/4").version) == "4"
    assert client.get_model_version_stages(name, "1") == [
        "None",
        "Staging",
        "Production",
        "Archived",
    ]


def test_search_with_paging(client, unique):
    prefix = unique("page")
    names = [f"{prefix}-{i}" for i in range(5)]
    for name in names:
        client.create_registered_model(name, tags={"group": prefix})
        client.create_model_version(name, "s3://bucket/x")
        client.create_model_version(name, "s3://bucket/y")
    seen, token = [], None
    while True:
        page = client.search_registered_models(
            filter_string=f"name LIKE '{prefix}-%'", max_results=2, page_token=token
        )
        assert len(page) <= 2
        seen.extend(m.name for m in page)
        token = page.token
        if not token:
            break
    assert seen == names
    by_tag = client.search_registered_models(f"tags.group = '{prefix}'", order_by=["name DESC"])
    assert [m.name for m in by_tag] == names[::-1]
    versions, token = [], None
    while True:
        page = client.search_model_versions(
            f"name = '{names[0]}'", max_results=1, page_token=token, order_by=["version_number ASC"]
        )
        versions.extend(str(v.version) for v in page)
        token = page.token
        if not token:
            break
    assert versions == ["1", "2"]
    found = client.search_model_versions(
        f"name IN ('{names[0]}', '{names[1]}') AND version_number > 1"
    )
    assert sorted((v.name, str(v.version)) for v in found) == [(names[0], "2"), (names[1], "2")]


# -- errors: each with MLflow's code and HTTP status --------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "status", "fragment"),
    [
        ("POST", "/registered-models/create", {}, "INVALID_PARAMETER_VALUE", 400, "'name'"),
        (
            "POST",
            "/registered-models/create",
            {"name": "a/b"},
            "INVALID_PARAMETER_VALUE",
            400,
            "a/b",
        ),
        (
            "POST",
            "/registered-models/create",
            {"name": "a:b"},
            "INVALID_PARAMETER_VALUE",
            400,
            "a:b",
        ),
        (
            "GET",
            "/registered-models/get?name=missing-model",
            None,
            "RESOURCE_DOES_NOT_EXIST",
            404,
            "Registered Model with name=missing-model not found",
        ),
        (
            "GET",
            "/model-versions/get?name=missing-model&version=1",
            None,
            "RESOURCE_DOES_NOT_EXIST",
            404,
            "missing-model",
        ),
        (
            "GET",
            "/registered-models/search?max_results=1001",
            None,
            "INVALID_PARAMETER_VALUE",
            400,
            "max_results",
        ),
        (
            "GET",
            "/registered-models/search?filter=name%20%3D",
            None,
            "INVALID_PARAMETER_VALUE",
            400,
            "filter",
        ),
    ],
)
def test_request_errors(server, method, path, body, code, status, fragment):
    response = (
        _api(server, method, path, json=body) if body is not None else _api(server, method, path)
    )
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["error_code"] == code
    assert fragment in payload["message"]


def test_registry_errors_through_the_client(client, unique):
    name = unique("errors")
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/m")
    cases = [
        (
            lambda: client.create_registered_model(name),
            "RESOURCE_ALREADY_EXISTS",
            f"Registered Model (name={name}) already exists.",
        ),
        (
            lambda: client.transition_model_version_stage(name, "1", "Bogus"),
            "INVALID_PARAMETER_VALUE",
            "Invalid Model Version stage: Bogus.",
        ),
        (
            lambda: client.set_registered_model_alias(name, "latest", "1"),
            "INVALID_PARAMETER_VALUE",
            "reserved",
        ),
        (
            lambda: client.set_registered_model_alias(name, "v2", "1"),
            "INVALID_PARAMETER_VALUE",
            "reserved",
        ),
        (
            lambda: client.get_model_version_by_alias(name, "nobody"),
            "INVALID_PARAMETER_VALUE",
            "Registered model alias nobody not found.",
        ),
        (lambda: client.get_model_version(name, "9"), "RESOURCE_DOES_NOT_EXIST", "not found"),
        (
            lambda: client.set_registered_model_alias(name, "champion", "9"),
            "RESOURCE_DOES_NOT_EXIST",
            "not found",
        ),
        (lambda: client.rename_registered_model(name, "x/y"), "INVALID_PARAMETER_VALUE", "x/y"),
        (
            lambda: client.transition_model_version_stage(name, "1", "Archived", True),
            "INVALID_PARAMETER_VALUE",
            "archive",
        ),
    ]
    for call, code, fragment in cases:
        with pytest.raises(MlflowException) as info:
            call()
        assert info.value.error_code == code, (fragment, info.value.message)
        assert fragment in info.value.message
    assert client.get_model_version(name, "1").current_stage == "None"
    assert client.get_registered_model(name).aliases == {}


def test_unknown_alias_is_http_400(server, client, unique):
    name = unique("alias400")
    client.create_registered_model(name)
    response = _api(server, "GET", "/registered-models/alias", params={"name": name, "alias": "x"})
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_version_sources_are_validated(server, client, mlflow, unique, tmp_path):
    run_id = _logged_run(mlflow, unique, tmp_path)
    other_run = _logged_run(mlflow, unique, tmp_path)
    run_root = client.get_run(run_id).info.artifact_uri
    other_root = client.get_run(other_run).info.artifact_uri
    name = unique("sources")
    client.create_registered_model(name)
    refused = [
        (f"runs:/{run_id}/model", None),  # runs:/ without the matching run_id
        (f"runs:/{run_id}/model", other_run),
        (f"{run_root}/../../x", run_id),  # a path escape
        (f"{run_root}/%2e%2e/x", run_id),
        (f"{other_root}/model", run_id),  # another run's files
        (str(tmp_path), run_id),  # a local path of the client's choosing
        ("/etc", None),
        ("models:/m-0123456789abcdef0123456789abcdef", None),
        (f"file://{tmp_path}", run_id),
    ]
    for source, source_run in refused:
        body = {"name": name, "source": source}
        if source_run:
            body["run_id"] = source_run
        response = _api(server, "POST", "/model-versions/create", json=body)
        assert response.status_code == 400, (source, response.text)
        payload = response.json()
        assert payload["error_code"] == "INVALID_PARAMETER_VALUE"
        assert payload["message"].startswith("Invalid model version source"), payload
    accepted = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    assert str(accepted.version) == "1"
    inside = client.create_model_version(name, f"{run_root}/model", run_id=run_id)
    assert str(inside.version) == "2"
    assert client.search_model_versions(f"name = '{name}'").__len__() == 2


def test_mlflow3_log_model_with_registered_model_name(mlflow, client, server, unique):
    """MLflow 3's flow: log_model creates a logged model on the server, uploads it, and
    registers models:/m-<id> (with model_id); the alias then loads it back."""
    pyfunc = pytest.importorskip("mlflow.pyfunc")

    class AddOne(pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [x + 1 for x in model_input]

    name = unique("logged")
    mlflow.set_experiment(unique("mlflow3"))
    with mlflow.start_run() as run:
        info = pyfunc.log_model(name="model", python_model=AddOne(), registered_model_name=name)
    mv = client.get_model_version(name, "1")
    assert mv.source == info.model_uri and info.model_uri.startswith("models:/m-")
    assert mv.run_id == run.info.run_id
    # MLflow's ModelVersion.from_proto drops model_id, so read it from the wire.
    raw = _api(server, "GET", "/model-versions/get", params={"name": name, "version": "1"})
    assert raw.json()["model_version"]["model_id"] == info.model_id
    client.set_registered_model_alias(name, "champion", "1")
    assert pyfunc.load_model(f"models:/{name}@champion").predict([1, 2]) == [2, 3]
    # A version may not borrow another logged model's files.
    response = _api(
        server,
        "POST",
        "/model-versions/create",
        json={"name": name, "source": info.model_uri, "model_id": "m-" + "0" * 32},
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("Invalid model version source")
