"""The registry endpoints in process: event hooks on the server (veto -> HTTP 403), local
version sources, the raw get-artifact route, and a separate --registry-store-uri."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from server_test_helpers import API
from trackline.exceptions import TracklineException
from trackline.plugins.hookspecs import hookimpl

pytest_plugins = ["trackline.testing.pytest_plugin"]


def _json(response):
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()


def _run(client, artifact_root: str | None = None) -> dict:
    experiment = _json(client.post(f"{API}/experiments/create", json={"name": "e"}))
    run = _json(
        client.post(f"{API}/runs/create", json={"experiment_id": experiment["experiment_id"]})
    )
    return run["run"]["info"]


class Gate:
    def __init__(self) -> None:
        self.changed: list[str] = []

    @hookimpl
    def registry_change_requested(self, event):
        if event.event == "model_version_alias.created" and event.data["alias"] == "prod":
            raise TracklineException("aliases named prod need a review", "PERMISSION_DENIED")
        if event.event == "registered_model.created" and event.name.startswith("tmp"):
            raise RuntimeError("temporary names are not allowed")

    @hookimpl
    def registry_changed(self, event):
        self.changed.append(event.event)


def test_server_fires_registry_events_and_plugins_can_veto(make_client, register_plugin):
    gate = register_plugin(Gate(), name="gate")
    client = make_client()
    assert client.post(f"{API}/registered-models/create", json={"name": "m"}).status_code == 200
    body = {"name": "m", "source": "s3://bucket/m"}
    assert client.post(f"{API}/model-versions/create", json=body).status_code == 200
    refused = client.post(
        f"{API}/registered-models/alias", json={"name": "m", "alias": "prod", "version": "1"}
    )
    assert refused.status_code == 403
    assert _json(refused) == {
        "error_code": "PERMISSION_DENIED",
        "message": "aliases named prod need a review",
    }
    other = client.post(f"{API}/registered-models/create", json={"name": "tmp-1"})
    assert other.status_code == 403 and "temporary names" in _json(other)["message"]
    assert client.get(f"{API}/registered-models/get", params={"name": "tmp-1"}).status_code == 404
    got = _json(client.get(f"{API}/registered-models/get", params={"name": "m"}))
    assert "aliases" not in got["registered_model"]  # the vetoed alias was not written
    assert gate.changed == ["registered_model.created", "model_version.created"]


def test_local_sources_must_lie_in_the_runs_artifact_dir(make_client, tmp_path: Path):
    root = tmp_path / "artifacts"
    client = make_client(default_artifact_root=str(root), serve_artifacts=False)
    info = _run(client)
    run_dir = Path(info["artifact_uri"])
    (run_dir / "model").mkdir(parents=True)
    (run_dir / "model" / "MLmodel").write_text("flavors: {}\n")
    os.symlink(tmp_path, run_dir / "escape")
    client.post(f"{API}/registered-models/create", json={"name": "local"})

    def create(source: str, run_id: str | None = info["run_id"]):
        body = {"name": "local", "source": source}
        if run_id:
            body["run_id"] = run_id
        return client.post(f"{API}/model-versions/create", json=body)

    for bad, run_id in (
        (str(run_dir / "model"), None),
        (str(run_dir / "escape"), info["run_id"]),
        (str(tmp_path), info["run_id"]),
        (str(run_dir / ".." / "x"), info["run_id"]),
        (f"file://{tmp_path}", info["run_id"]),
    ):
        response = create(bad, run_id)
        assert response.status_code == 400, bad
        assert _json(response)["message"].startswith("Invalid model version source"), bad
    ok = create(str(run_dir / "model"))
    assert ok.status_code == 200, ok.text
    raw = client.get(
        "/model-versions/get-artifact", params={"name": "local", "version": "1", "path": "MLmodel"}
    )
    assert raw.status_code == 200 and raw.content == b"flavors: {}\n"
    assert raw.headers["content-disposition"].startswith("attachment")
    bad_path = client.get(
        "/model-versions/get-artifact",
        params={"name": "local", "version": "1", "path": "../../../etc/passwd"},
    )
    assert bad_path.status_code == 400


def test_get_artifact_of_a_runs_uri_version(client):
    info = _run(client)
    run_path = info["artifact_uri"].split(":", 1)[1].lstrip("/")
    client.put(f"/api/2.0/mlflow-artifacts/artifacts/{run_path}/model/w.txt", content=b"7")
    client.post(f"{API}/registered-models/create", json={"name": "r"})
    body = {"name": "r", "source": f"runs:/{info['run_id']}/model", "run_id": info["run_id"]}
    assert client.post(f"{API}/model-versions/create", json=body).status_code == 200
    uri = _json(
        client.get(f"{API}/model-versions/get-download-uri", params={"name": "r", "version": "1"})
    )
    assert uri == {"artifact_uri": f"runs:/{info['run_id']}/model"}
    raw = client.get(
        "/model-versions/get-artifact", params={"name": "r", "version": "1", "path": "w.txt"}
    )
    assert raw.status_code == 200 and raw.content == b"7"


def test_separate_registry_store_uri(make_client, tmp_path: Path):
    registry_db = tmp_path / "registry.db"
    client = make_client(registry_store_uri=f"sqlite:///{registry_db}")
    assert client.post(f"{API}/registered-models/create", json={"name": "x"}).status_code == 200
    assert registry_db.exists()
    # The backend store's own database holds no registered model.
    import trackline

    main_db = f"sqlite:///{tmp_path / 'trackline.db'}"
    assert list(trackline.MlflowClient(main_db, main_db).search_registered_models()) == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        (
            "POST",
            "/model-versions/transition-stage",
            {"name": "n", "version": "1", "stage": "x"},
            400,
            "INVALID_PARAMETER_VALUE",
        ),  # archive_existing_versions is required
        ("GET", "/registered-models/alias?name=n", None, 400, "INVALID_PARAMETER_VALUE"),
        ("DELETE", "/registered-models/delete", {}, 400, "INVALID_PARAMETER_VALUE"),
        ("GET", "/model-versions/get?name=n&version=abc", None, 400, "INVALID_PARAMETER_VALUE"),
    ],
)
def test_request_validation(client, method, path, body, status, code):
    response = client.request(method, API + path, json=body)
    assert response.status_code == status, response.text
    assert _json(response)["error_code"] == code
