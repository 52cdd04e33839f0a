"""The proxied artifact service and run-artifact listing: happy paths and every path trick."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from server_test_helpers import API, error, ok, post, raw_request

ART = "/api/2.0/mlflow-artifacts/artifacts"


def test_upload_download_list_delete(client, tmp_path):
    assert client.put(ART + "/1/run/artifacts/dir/x.txt", content=b"hello").status_code == 200
    assert (tmp_path / "mlartifacts/1/run/artifacts/dir/x.txt").read_bytes() == b"hello"
    got = client.get(ART + "/1/run/artifacts/dir/x.txt")
    assert got.status_code == 200 and got.content == b"hello"
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff"
    listing = ok(client.get(ART, params={"path": "1/run/artifacts"}))
    assert listing["files"] == [{"path": "dir", "is_dir": True}]
    listing = ok(client.get(ART, params={"path": "1/run/artifacts/dir"}))
    assert listing["files"] == [{"path": "x.txt", "is_dir": False, "file_size": 5}]
    assert ok(client.delete(ART + "/1/run/artifacts/dir/x.txt")) == {}
    assert not (tmp_path / "mlartifacts/1/run/artifacts/dir/x.txt").exists()
    # Deleting what is not there is not an error.
    assert ok(client.delete(ART + "/1/run/artifacts/dir/x.txt")) == {}


def test_download_missing_is_404(client):
    error(client.get(ART + "/nope.txt"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_download_range(client):
    client.put(ART + "/r.bin", content=b"0123456789")
    got = client.get(ART + "/r.bin", headers={"range": "bytes=2-4"})
    assert got.status_code == 206 and got.content == b"234"


def test_html_is_served_as_text(client):
    client.put(ART + "/page.html", content=b"<script>alert(1)</script>")
    got = client.get(ART + "/page.html")
    assert got.headers["content-type"].startswith("text/plain")


def test_upload_replaces_atomically(client, tmp_path):
    client.put(ART + "/a.txt", content=b"one")
    client.put(ART + "/a.txt", content=b"two")
    assert (tmp_path / "mlartifacts/a.txt").read_bytes() == b"two"
    assert [p.name for p in (tmp_path / "mlartifacts").iterdir()] == ["a.txt"]


@pytest.mark.parametrize("verb", ["create", "complete", "abort"])
def test_multipart_is_not_implemented(client, verb):
    response = client.post(f"/api/2.0/mlflow-artifacts/mpu/{verb}/x.bin", json={"path": "x.bin"})
    error(response, 501, "NOT_IMPLEMENTED")


def test_presigned_is_not_implemented(client):
    response = client.get("/api/2.0/mlflow-artifacts/presigned/x.bin")
    error(response, 501, "NOT_IMPLEMENTED")
    # MLflow's wording: its clients recognise it.
    assert response.json()["message"].startswith("Multipart download is not supported")


def test_a_local_destination_offers_no_presigned_downloads(client):
    info = ok(client.get("/api/3.0/mlflow/server-info"))
    assert info["multipart_downloads_enabled"] is False
    assert info["multipart_uploads_enabled"] is False


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=10-", (10, None)),
        ("bytes=-5", (-5, None)),
        ("BYTES = 3 - 4", (3, 4)),
        ("bytes=5-4", None),  # invalid: the whole file
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
    ],
)
def test_parse_range(header, expected):
    from trackline_server.artifacts import parse_range

    assert parse_range(header) == expected


def test_a_zero_suffix_range_can_never_be_satisfied():
    from trackline_server.artifacts import parse_range

    first, last = parse_range("bytes=-0")
    assert first >= 2**62 and last is None


# -- traversal ---------------------------------------------------------------------------------

TRICKS = [
    b"../secret.txt",
    b"a/../../secret.txt",
    b"%2e%2e/secret.txt",
    b"%2E%2E/secret.txt",
    b"..%2fsecret.txt",
    b"a%2f..%2f..%2fsecret.txt",
    b"..%5csecret.txt",
    b"a\\..\\..\\secret.txt",
    b"%252e%252e/secret.txt",
    b"/etc/passwd",
    b"%2fetc/passwd",
    b"~/secret.txt",
    b"~root/secret.txt",
    b"C:/Windows/win.ini",
    b"c:%5cWindows",
    b"a/%00/b.txt",
    b"a%00.txt",
]
TRICK_IDS = [t.decode("latin-1") for t in TRICKS]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("trick", TRICKS, ids=TRICK_IDS)
def test_proxy_path_tricks_are_refused(client, tmp_path, method, trick):
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"secret")
    raw = b"/api/2.0/mlflow-artifacts/artifacts/" + trick
    status, _, body = raw_request(client.app, method, raw, body=b"evil")
    assert status in (400, 404), body
    assert b"secret" not in body or b"Invalid path" in body
    assert outside.read_bytes() == b"secret"
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes() == b"evil"]
    assert leaked == []


@pytest.mark.parametrize(
    "path",
    ["..", "../x", "a/../../x", "/etc", "%2e%2e", "%252e%252e", "~", "C:/x", "a\\b", "a\x00b"],
    ids=[
        "dotdot",
        "dotdot-x",
        "nested",
        "absolute",
        "encoded",
        "double-encoded",
        "tilde",
        "drive",
        "backslash",
        "nul",
    ],
)
def test_list_path_tricks_are_refused(client, path):
    error(client.get(ART, params={"path": path}), 400, "INVALID_PARAMETER_VALUE")


def test_symlink_inside_destination_cannot_escape(client, tmp_path):
    dest = tmp_path / "mlartifacts"
    dest.mkdir(exist_ok=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    os.symlink(outside, dest / "link")
    error(client.get(ART + "/link/secret.txt"), 400, "INVALID_PARAMETER_VALUE")
    error(client.put(ART + "/link/new.txt", content=b"evil"), 400, "INVALID_PARAMETER_VALUE")
    error(client.get(ART, params={"path": "link"}), 400, "INVALID_PARAMETER_VALUE")
    error(client.delete(ART + "/link/secret.txt"), 400, "INVALID_PARAMETER_VALUE")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_disconnect_mid_upload_leaves_nothing(client, tmp_path):
    app = client.app
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "PUT",
        "scheme": "http",
        "path": "/api/2.0/mlflow-artifacts/artifacts/big/file.bin",
        "raw_path": b"/api/2.0/mlflow-artifacts/artifacts/big/file.bin",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"content-length", b"1000000")],
        "client": ("127.0.0.1", 1),
        "server": ("localhost", 80),
    }
    messages = [{"type": "http.request", "body": b"x" * 1000, "more_body": True}]

    async def receive():
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message):
        pass

    asyncio.run(app(scope, receive, send))
    folder = tmp_path / "mlartifacts" / "big"
    assert not (folder / "file.bin").exists()
    assert list(folder.iterdir()) == []  # no partial temporary file either


# -- run artifacts through the tracking API ----------------------------------------------------


def _run(client) -> dict:
    return ok(post(client, "/runs/create", {"experiment_id": "0"}))["run"]["info"]


def test_list_run_artifacts_and_get_artifact(client):
    info = _run(client)
    root = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    client.put(f"{ART}/{root}/x.txt", content=b"hello")
    client.put(f"{ART}/{root}/sub/y.txt", content=b"why")
    listing = ok(client.get(API + "/artifacts/list", params={"run_id": info["run_id"]}))
    assert listing["root_uri"] == info["artifact_uri"]
    assert listing["files"] == [
        {"path": "sub", "is_dir": True},
        {"path": "x.txt", "is_dir": False, "file_size": 5},
    ]
    sub = ok(
        client.get(API + "/artifacts/list", params={"run_uuid": info["run_id"], "path": "sub"})
    )
    assert sub["files"] == [{"path": "sub/y.txt", "is_dir": False, "file_size": 3}]
    got = client.get("/get-artifact", params={"run_id": info["run_id"], "path": "sub/y.txt"})
    assert got.status_code == 200 and got.content == b"why"
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    ["..", "../../x", "/etc", "%2e%2e/x", "a\x00"],
    ids=["dotdot", "up2", "abs", "enc", "nul"],
)
def test_list_run_artifacts_refuses_bad_paths(client, path):
    info = _run(client)
    params = {"run_id": info["run_id"], "path": path}
    message = error(
        client.get(API + "/artifacts/list", params=params), 400, "INVALID_PARAMETER_VALUE"
    )
    assert "Invalid path" in message
    error(client.get("/get-artifact", params=params), 400, "INVALID_PARAMETER_VALUE")


def test_run_with_local_artifact_root(make_client, tmp_path: Path):
    client = make_client(serve_artifacts=False, default_artifact_root=str(tmp_path / "roots"))
    exp = ok(post(client, "/experiments/create", {"name": "local"}))["experiment_id"]
    info = ok(post(client, "/runs/create", {"experiment_id": exp}))["run"]["info"]
    assert info["artifact_uri"] == f"{tmp_path / 'roots'}/{exp}/{info['run_id']}/artifacts"
    folder = Path(info["artifact_uri"])
    folder.mkdir(parents=True)
    (folder / "f.txt").write_text("x")
    listing = ok(client.get(API + "/artifacts/list", params={"run_id": info["run_id"]}))
    assert listing["files"] == [{"path": "f.txt", "is_dir": False, "file_size": 1}]


# -- client-chosen local artifact locations --------------------------------------------------


def test_local_artifact_location_outside_the_server_roots_is_refused(client, tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "secret.txt").parent.mkdir(parents=True)
    (outside / "secret.txt").write_text("secret")
    for location in (str(outside), f"file://{outside}", "/etc"):
        message = error(
            post(
                client,
                "/experiments/create",
                {"name": f"e-{len(location)}", "artifact_location": location},
            ),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        assert "inside the server's artifact root" in message
    inside = tmp_path / "mlartifacts" / "team-a"
    created = ok(
        post(client, "/experiments/create", {"name": "inside", "artifact_location": str(inside)})
    )
    assert created["experiment_id"]
    remote = ok(
        post(client, "/experiments/create", {"name": "s3", "artifact_location": "s3://b/x"})
    )
    assert remote["experiment_id"]


def test_runs_whose_local_location_lies_outside_are_not_served(client, tmp_path):
    """A run written by a local client with its own artifact root is not readable over HTTP."""
    from trackline.tracking.uri import get_tracking_store

    outside = tmp_path / "elsewhere"
    store = get_tracking_store(f"sqlite:///{tmp_path / 'trackline.db'}")
    experiment_id = store.create_experiment("local-client", str(outside))
    run = store.create_run(experiment_id, "me", 0, [], None)
    artifacts = Path(run.info.artifact_uri)
    artifacts.mkdir(parents=True)
    (artifacts / "secret.txt").write_text("secret")
    listing = client.get(API + "/artifacts/list", params={"run_id": run.info.run_id})
    error(listing, 400, "INVALID_PARAMETER_VALUE")
    got = client.get("/get-artifact", params={"run_id": run.info.run_id, "path": "secret.txt"})
    assert got.status_code == 400 and b"secret" not in got.content


# -- the UI's upload-artifact route ----------------------------------------------------------

UPLOAD = "/ajax-api/2.0/mlflow/upload-artifact"


def test_upload_artifact_stores_the_body_under_the_run(client):
    info = _run(client)
    params = {"run_uuid": info["run_id"], "path": "eval/table.json"}
    response = client.post(UPLOAD, params=params, content=b'{"rows": []}')
    assert response.status_code == 200, response.text
    got = client.get("/get-artifact", params={"run_id": info["run_id"], "path": "eval/table.json"})
    assert got.content == b'{"rows": []}'
    listing = ok(client.get(API + "/artifacts/list", params={"run_id": info["run_id"]}))
    assert listing["files"] == [{"path": "eval", "is_dir": True}]


def test_upload_artifact_into_a_local_run_root(make_client, tmp_path: Path):
    client = make_client(serve_artifacts=False, default_artifact_root=str(tmp_path / "roots"))
    info = _run(client)
    params = {"run_uuid": info["run_id"], "path": "note.txt"}
    assert client.post(UPLOAD, params=params, content=b"local").status_code == 200
    assert (Path(info["artifact_uri"]) / "note.txt").read_bytes() == b"local"


@pytest.mark.parametrize(
    ("params", "body", "message"),
    [
        ({"path": "a.txt"}, b"x", "Request must specify run_uuid."),
        ({"run_id": "RUN", "path": "a.txt"}, b"x", "Request must specify run_uuid."),
        ({"run_uuid": "RUN"}, b"x", "Request must specify path."),
        ({"run_uuid": "RUN", "path": "a.txt"}, b"", "Request must specify data."),
        ({"run_uuid": "RUN", "path": "a.txt"}, b"x" * (10 * 1024 * 1024 + 1), "Max size is 10MB"),
        ({"run_uuid": "RUN", "path": "../../escape.txt"}, b"x", "Invalid path"),
        ({"run_uuid": "RUN", "path": "/etc/passwd"}, b"x", "Invalid path"),
    ],
    ids=["no-run", "run-id-instead", "no-path", "no-data", "too-large", "dot-dot", "absolute"],
)
def test_upload_artifact_refuses_bad_requests_and_writes_nothing(
    client, tmp_path, params, body, message
):
    info = _run(client)
    params = {key: info["run_id"] if value == "RUN" else value for key, value in params.items()}
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    got = error(client.post(UPLOAD, params=params, content=body), 400, "INVALID_PARAMETER_VALUE")
    assert message in got
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert after == before


def test_upload_artifact_to_an_unknown_run_is_404(client):
    response = client.post(UPLOAD, params={"run_uuid": "f" * 32, "path": "a.txt"}, content=b"x")
    error(response, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize("path", ["1/run/artifacts/f.txt", "1/run/nothing"])
def test_listing_a_file_or_a_missing_folder_answers_no_files_key(client, path):
    # MLflow's server answers {} here, not {"files": []}.
    client.put(ART + "/1/run/artifacts/f.txt", content=b"x")
    assert ok(client.get(ART, params={"path": path})) == {}
