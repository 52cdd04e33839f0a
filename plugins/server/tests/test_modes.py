"""Server modes, static prefix, security middleware, server-info, version and OpenAPI."""

from __future__ import annotations

from server_test_helpers import API, error, make_config, ok, post
from starlette.testclient import TestClient
from trackline_server.app import build_app

ART = "/api/2.0/mlflow-artifacts/artifacts"


def test_no_serve_artifacts(make_client, tmp_path):
    client = make_client(serve_artifacts=False)
    response = client.put(ART + "/x.txt", content=b"x")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/plain")
    assert client.get(ART, params={"path": ""}).status_code == 503
    exp = ok(post(client, "/experiments/create", {"name": "e"}))["experiment_id"]
    location = ok(client.get(API + "/experiments/get", params={"experiment_id": exp}))
    assert location["experiment"]["artifact_location"].endswith(f"mlruns/{exp}")
    assert location["experiment"]["artifact_location"].startswith("/")
    info = ok(client.get("/api/3.0/mlflow/server-info"))
    assert info["artifact_serving_enabled"] is False


def test_artifacts_only(make_client):
    client = make_client(artifacts_only=True, backend_store_uri="nosuchscheme://x")
    response = post(client, "/experiments/create", {"name": "e"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/plain")
    assert client.put(ART + "/x.txt", content=b"x").status_code == 200
    assert client.get(ART + "/x.txt").content == b"x"
    assert client.get("/health").text == "OK"
    assert ok(client.get("/api/3.0/mlflow/server-info"))["store_type"] is None


def test_default_artifact_root_option(make_client, tmp_path):
    client = make_client(default_artifact_root="s3://bucket/root")
    exp = ok(post(client, "/experiments/create", {"name": "e"}))["experiment_id"]
    got = ok(client.get(API + "/experiments/get", params={"experiment_id": exp}))
    assert got["experiment"]["artifact_location"] == f"s3://bucket/root/{exp}"


def test_static_prefix(make_client):
    client = make_client(static_prefix="/mlflow")
    assert client.get("/mlflow/health").text == "OK"
    assert client.get("/health").status_code == 404
    ok(client.get("/mlflow" + API + "/experiments/get", params={"experiment_id": "0"}))
    assert client.get(API + "/experiments/get", params={"experiment_id": "0"}).status_code == 404
    assert client.put("/mlflow" + ART + "/x.txt", content=b"x").status_code == 200
    assert client.get("/mlflow/version").status_code == 200
    assert (
        "/mlflow/api/2.0/mlflow/runs/create" in client.get("/mlflow/openapi.json").json()["paths"]
    )


def test_health_version_server_info(client):
    from trackline import __version__

    assert client.get("/health").text == "OK"
    assert client.get("/version").text == __version__
    for prefix in ("/api", "/ajax-api"):
        info = ok(client.get(f"{prefix}/3.0/mlflow/server-info"))
        assert info["store_type"] == "SqlStore"
        assert info["artifact_serving_enabled"] is True
        assert info["multipart_uploads_enabled"] is False
        assert info["workspaces_enabled"] is False


def test_openapi_describes_the_routes(client):
    doc = ok(client.get("/openapi.json"))
    assert doc["openapi"] == "3.1.0"
    create = doc["paths"]["/api/2.0/mlflow/experiments/create"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["name"]
    assert "tags" in schema["properties"]
    search = doc["paths"]["/api/2.0/mlflow/experiments/search"]
    assert set(search) == {"get", "post"}
    assert (
        "post" not in doc["paths"]["/api/2.0/mlflow/runs/search"]
        or "get" not in doc["paths"]["/api/2.0/mlflow/runs/search"]
    )
    assert "/api/2.0/mlflow-artifacts/artifacts/{path}" in doc["paths"]
    assert "Run" in doc["components"]["schemas"]


def test_host_check(tmp_path):
    app = build_app(make_config(tmp_path))
    with TestClient(app, base_url="http://evil.example.com") as evil:
        response = evil.get(API + "/experiments/get", params={"experiment_id": "0"})
        assert response.status_code == 403
        assert response.text == "Invalid Host header - possible DNS rebinding attack detected"
        assert evil.get("/health").status_code == 200  # probes use any host name
    for host in (
        "http://127.0.0.1:5000",
        "http://192.168.1.5",
        "http://[::1]:80",
        "http://localhost:8080",
    ):
        with TestClient(app, base_url=host) as good:
            assert good.get("/version").status_code == 200, host


def test_allowed_hosts_option(tmp_path):
    app = build_app(make_config(tmp_path, allowed_hosts=("tracking.example.com",)))
    with TestClient(app, base_url="http://tracking.example.com") as client:
        assert client.get("/version").status_code == 200
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/version").status_code == 403


def test_disable_security_middleware(tmp_path):
    app = build_app(make_config(tmp_path, disable_security_middleware=True))
    with TestClient(app, base_url="http://evil.example.com") as client:
        response = client.get("/version")
        assert response.status_code == 200
        assert "x-frame-options" not in response.headers


def test_x_frame_options(make_client):
    assert make_client().get("/version").headers["x-frame-options"] == "SAMEORIGIN"
    assert make_client(x_frame_options="DENY").get("/version").headers["x-frame-options"] == "DENY"
    assert "x-frame-options" not in make_client(x_frame_options="NONE").get("/version").headers


def test_cors(client):
    allowed = {"origin": "http://localhost:3000"}
    response = client.get("/version", headers=allowed)
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    preflight = client.options(
        API + "/experiments/create",
        headers={**allowed, "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 204
    blocked = client.post(
        API + "/experiments/create",
        json={"name": "x"},
        headers={"origin": "http://evil.example.com"},
    )
    assert blocked.status_code == 403
    error(post(client, "/experiments/create", {}), 400, "INVALID_PARAMETER_VALUE")  # same origin


def test_cors_allowed_origins_option(make_client):
    client = make_client(cors_allowed_origins=("https://ui.example.com",))
    response = client.post(
        API + "/experiments/create",
        json={"name": "x"},
        headers={"origin": "https://ui.example.com"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://ui.example.com"


def test_workers_get_time_to_answer_the_supervisor():
    from trackline_server.cli import WORKER_HEALTHCHECK_SECONDS, uvicorn_argv

    several = uvicorn_argv("127.0.0.1", 5000, 2, False, None)
    assert several[several.index("--timeout-worker-healthcheck") + 1] == str(
        WORKER_HEALTHCHECK_SECONDS
    )
    # One worker has no supervisor; --uvicorn-opts still wins (it comes last).
    assert "--timeout-worker-healthcheck" not in uvicorn_argv("127.0.0.1", 5000, 1, False, None)
    custom = uvicorn_argv("127.0.0.1", 5000, 2, False, "--timeout-worker-healthcheck 9")
    assert custom[-2:] == ["--timeout-worker-healthcheck", "9"]
