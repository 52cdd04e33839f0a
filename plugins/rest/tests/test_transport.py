"""The HTTP transport against a scripted local server: retries, timeouts, auth, headers, TLS.

The server (``http.server`` in a thread) answers from a script of responses, one per
request (the last one repeats), and records every request it saw.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from trackline.entities import Metric
from trackline.exceptions import TracklineException
from trackline.plugins.hookspecs import hookimpl
from trackline.testing.pytest_plugin import plugin_manager, register_plugin  # noqa: F401
from trackline_rest.artifacts import (
    HttpArtifactRepository,
    MlflowArtifactsRepository,
    resolve_mlflow_artifacts_uri,
)
from trackline_rest.http import HttpClient, HttpConfig
from trackline_rest.store import RestTrackingStore

EXPERIMENT = {"experiment": {"experiment_id": "1", "name": "e", "lifecycle_stage": "active"}}


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)  # dict → JSON; bytes/str → raw
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False  # announce the full length, send a part, close


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client_port: int


class FakeServer:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.script: list[Reply] = [Reply()]
        self.seen: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, so pooling can be observed

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Transfer-Encoding") == "chunked":
                    body = self._read_chunked()
                else:
                    body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                fake.seen.append(
                    Seen(
                        self.command,
                        parts.path,
                        parse_qs(parts.query),
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        self.client_address[1],
                    )
                )
                reply = fake.script[min(len(fake.seen), len(fake.script)) - 1]
                if reply.delay:
                    time.sleep(reply.delay)
                raw = reply.body
                if isinstance(raw, dict):
                    raw = json.dumps(raw).encode()
                elif isinstance(raw, str):
                    raw = raw.encode()
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                if reply.truncate:
                    self.wfile.write(raw[: len(raw) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(raw)

            def _read_chunked(self) -> bytes:
                out = b""
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        scheme = "http"
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "TRACKING_USERNAME",
        "TRACKING_PASSWORD",
        "TRACKING_TOKEN",
        "TRACKING_INSECURE_TLS",
        "TRACKING_SERVER_CERT_PATH",
        "TRACKING_CLIENT_CERT_PATH",
        "HTTP_REQUEST_TIMEOUT",
    ):
        monkeypatch.delenv(f"MLFLOW_{name}", raising=False)
        monkeypatch.delenv(f"TRACKLINE_{name}", raising=False)
    monkeypatch.setenv("TRACKLINE_HTTP_REQUEST_MAX_RETRIES", "3")
    monkeypatch.setenv("TRACKLINE_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("TRACKLINE_HTTP_REQUEST_BACKOFF_JITTER", "0")


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


def store_for(fake: FakeServer) -> RestTrackingStore:
    return RestTrackingStore(fake.url, None)


# -- retries -------------------------------------------------------------------------------


def test_get_is_retried_after_503(fake: FakeServer) -> None:
    fake.script = [Reply(503, "busy"), Reply(200, EXPERIMENT)]
    assert store_for(fake).get_experiment("1").name == "e"
    assert [s.path for s in fake.seen] == ["/api/2.0/mlflow/experiments/get"] * 2
    assert fake.seen[0].query == {"experiment_id": ["1"]}


def test_retry_safe_post_is_retried_after_500(fake: FakeServer) -> None:
    fake.script = [Reply(500, "oops"), Reply(200, {})]
    store_for(fake).log_batch("r" * 32, metrics=[Metric("m", 1.0, 5, 0)])
    assert len(fake.seen) == 2
    assert json.loads(fake.seen[1].body)["metrics"] == [
        {"key": "m", "value": 1.0, "timestamp": 5, "step": 0}
    ]


def test_create_run_is_not_retried_after_500(fake: FakeServer) -> None:
    fake.script = [Reply(500, {"error_code": "INTERNAL_ERROR", "message": "db down"}), Reply()]
    with pytest.raises(TracklineException) as info:
        store_for(fake).create_run("1", "me", 0, [], "r")
    assert info.value.error_code == "INTERNAL_ERROR" and info.value.message == "db down"
    assert len(fake.seen) == 1


def test_create_experiment_is_retried_after_429(fake: FakeServer) -> None:
    # 429 means the server refused to process it: resending cannot create a duplicate.
    fake.script = [Reply(429, "slow down"), Reply(200, {"experiment_id": "7"})]
    assert store_for(fake).create_experiment("x") == "7"
    assert len(fake.seen) == 2


def test_create_run_is_not_retried_after_a_read_timeout(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "0.3")
    fake.script = [Reply(200, {}, delay=1.0)]
    with pytest.raises(TracklineException) as info:
        store_for(fake).create_experiment("x")
    assert info.value.error_code == "DEADLINE_EXCEEDED"
    assert "timed out" in info.value.message
    assert len(fake.seen) == 1


def test_retries_give_up_with_the_last_error(fake: FakeServer) -> None:
    fake.script = [Reply(503, "Service Unavailable: artifacts only")]
    with pytest.raises(TracklineException) as info:
        store_for(fake).get_experiment("1")
    assert info.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert "artifacts only" in info.value.message
    assert len(fake.seen) == 4  # the first try and 3 retries


def test_retry_after_is_honoured(fake: FakeServer) -> None:
    fake.script = [Reply(503, "wait", headers={"Retry-After": "1"}), Reply(200, EXPERIMENT)]
    started = time.monotonic()
    store_for(fake).get_experiment("1")
    assert time.monotonic() - started >= 0.9


def test_timeout(fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "0.2")
    monkeypatch.setenv("TRACKLINE_HTTP_REQUEST_MAX_RETRIES", "0")
    fake.script = [Reply(200, EXPERIMENT, delay=1.0)]
    started = time.monotonic()
    with pytest.raises(TracklineException) as info:
        store_for(fake).get_experiment("1")
    assert info.value.error_code == "DEADLINE_EXCEEDED"
    assert time.monotonic() - started < 0.9


def test_connection_pool_is_reused(fake: FakeServer) -> None:
    fake.script = [Reply(200, EXPERIMENT)]
    store = store_for(fake)
    for _ in range(5):
        store.get_experiment("1")
    assert len({s.client_port for s in fake.seen}) == 1


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BAD_REQUEST"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "ENDPOINT_NOT_FOUND"),
        (501, "NOT_IMPLEMENTED"),
        (418, "INTERNAL_ERROR"),
    ],
)
def test_non_json_errors_get_a_code_from_the_status(
    fake: FakeServer, status: int, code: str
) -> None:
    fake.script = [Reply(status, "<html>nope</html>")]
    with pytest.raises(TracklineException) as info:
        store_for(fake).get_run("r" * 32)
    assert info.value.error_code == code
    assert f"HTTP {status}" in info.value.message


def test_json_error_envelope_is_kept(fake: FakeServer) -> None:
    fake.script = [
        Reply(
            404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no run", "sqlstate": "KAM00"}
        )
    ]
    with pytest.raises(TracklineException) as info:
        store_for(fake).get_run("r" * 32)
    assert (info.value.error_code, info.value.message) == ("RESOURCE_DOES_NOT_EXIST", "no run")


def test_credentials_never_appear_in_errors() -> None:
    store = RestTrackingStore(
        "http://alice:s3cret@127.0.0.1:1", None, config=HttpConfig(max_retries=0, timeout=2)
    )
    with pytest.raises(TracklineException) as info:
        store.get_experiment("1")
    assert "s3cret" not in str(info.value) and "alice" not in str(info.value)
    assert "s3cret" not in repr(store)
    assert "s3cret" not in repr(HttpConfig(username="u", password="s3cret", token="tok"))


def test_gc_is_not_supported_over_rest(fake: FakeServer) -> None:
    store = store_for(fake)
    for call in (
        lambda: store.get_deleted_run_ids(),
        lambda: store.hard_delete_run("r"),
        lambda: store.hard_delete_experiment("1"),
    ):
        with pytest.raises(TracklineException) as info:
            call()
        assert info.value.error_code == "NOT_IMPLEMENTED"
    assert fake.seen == []


# -- requests ------------------------------------------------------------------------------


def test_search_experiments_always_sends_max_results(fake: FakeServer) -> None:
    fake.script = [Reply(200, {"experiments": [EXPERIMENT["experiment"]], "next_page_token": "t"})]
    page = store_for(fake).search_experiments(filter_string="name = 'a' OR name = 'b'")
    assert page.token == "t" and page[0].name == "e"
    body = json.loads(fake.seen[0].body)
    assert body == {
        "max_results": 1000,
        "view_type": "ACTIVE_ONLY",
        "filter": "name = 'a' OR name = 'b'",
    }
    assert fake.seen[0].headers["content-type"] == "application/json"


def test_metric_history_pages_until_done(fake: FakeServer) -> None:
    point = {"key": "m", "value": "NaN", "timestamp": 1, "step": 0}
    fake.script = [
        Reply(200, {"metrics": [point], "next_page_token": "p2"}),
        Reply(200, {"metrics": [point, point]}),
    ]
    history = store_for(fake).get_metric_history("r" * 32, "m")
    assert len(history) == 3 and history.token is None
    assert [s.query.get("page_token") for s in fake.seen] == [None, ["p2"]]
    assert all(s.query["max_results"] == ["25000"] for s in fake.seen)


def test_user_agent_and_no_auth_by_default(fake: FakeServer) -> None:
    fake.script = [Reply(200, EXPERIMENT)]
    store_for(fake).get_experiment("1")
    headers = fake.seen[0].headers
    assert headers["user-agent"].startswith("trackline-python-client/")
    assert "authorization" not in headers


def test_basic_auth(fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "ignored-when-basic-is-set")
    fake.script = [Reply(200, EXPERIMENT)]
    store_for(fake).get_experiment("1")
    expected = "Basic " + base64.b64encode(b"alice:pw").decode()
    assert fake.seen[0].headers["authorization"] == expected


def test_bearer_token(fake: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKLINE_TRACKING_TOKEN", "tok-123")
    fake.script = [Reply(200, EXPERIMENT)]
    store_for(fake).get_experiment("1")
    assert fake.seen[0].headers["authorization"] == "Bearer tok-123"


def test_request_headers_hook(fake: FakeServer, request: pytest.FixtureRequest) -> None:
    register = request.getfixturevalue("register_plugin")

    class First:
        @hookimpl
        def request_headers(self, url: str) -> dict[str, str]:
            return {"X-Team": "first", "X-Url-Seen": url}

    class Second:
        @hookimpl
        def request_headers(self, url: str) -> dict[str, str]:
            return {"X-Team": "second"}

    register(First(), name="first-headers")
    register(Second(), name="second-headers")
    fake.script = [Reply(200, EXPERIMENT)]
    store_for(fake).get_experiment("1")
    headers = fake.seen[0].headers
    assert headers["x-team"] == "second"  # registered later, wins
    assert headers["x-url-seen"] == f"{fake.url}/api/2.0/mlflow/experiments/get"


# -- TLS -----------------------------------------------------------------------------------


def test_tls_options_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert HttpConfig.from_env().verify is True
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    assert HttpConfig.from_env().verify is False
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", "/ca.pem")
    with pytest.raises(TracklineException, match="cannot both"):
        HttpConfig.from_env()
    monkeypatch.delenv("MLFLOW_TRACKING_INSECURE_TLS")
    monkeypatch.setenv("MLFLOW_TRACKING_CLIENT_CERT_PATH", "/client.pem")
    config = HttpConfig.from_env()
    assert (config.verify, config.client_cert) == ("/ca.pem", "/client.pem")
    session = HttpClient("https://example.invalid", config).session
    assert (session.verify, session.cert) == ("/ca.pem", "/client.pem")


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl cannot make a test certificate: {exc}")
    return cert, key


@pytest.fixture
def tls_fake(self_signed: tuple[Path, Path]) -> Iterator[FakeServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(self_signed[0]), str(self_signed[1]))
    server = FakeServer(context)
    server.script = [Reply(200, EXPERIMENT)]
    yield server
    server.close()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_verification(
    tls_fake: FakeServer, self_signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKLINE_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(TracklineException) as info:
        store_for(tls_fake).get_experiment("1")
    assert "SSL" in info.value.message
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(self_signed[0]))
    assert store_for(tls_fake).get_experiment("1").name == "e"
    monkeypatch.delenv("MLFLOW_TRACKING_SERVER_CERT_PATH")
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    assert store_for(tls_fake).get_experiment("1").name == "e"


# -- artifact repositories -------------------------------------------------------------------


def test_mlflow_artifacts_uri_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    api = "/api/2.0/mlflow-artifacts/artifacts"
    assert resolve_mlflow_artifacts_uri("mlflow-artifacts:/1/r/artifacts", "https://h:5/pre/") == (
        f"https://h:5/pre{api}/1/r/artifacts"
    )
    assert resolve_mlflow_artifacts_uri("mlflow-artifacts://o:7/1", "http://h:5") == (
        f"http://o:7{api}/1"
    )
    assert resolve_mlflow_artifacts_uri("mlflow-artifacts://o:7/1", "sqlite:///x.db") == (
        f"http://o:7{api}/1"
    )
    with pytest.raises(TracklineException, match="must be http"):
        resolve_mlflow_artifacts_uri("mlflow-artifacts:/1", "sqlite:///x.db")
    monkeypatch.setenv("TRACKLINE_TRACKING_URI", "http://from-env:9")
    repo = MlflowArtifactsRepository("mlflow-artifacts:/3/abc")
    assert repo._file_url("3/abc/a b#.txt") == f"http://from-env:9{api}/3/abc/a%20b%23.txt"


def test_http_artifact_uri_must_name_the_artifact_api() -> None:
    with pytest.raises(TracklineException, match="artifact API"):
        HttpArtifactRepository("http://host/some/files")


def test_upload_is_streamed_with_encoded_path(fake: FakeServer, tmp_path: Path) -> None:
    local = tmp_path / "100% done.txt"
    local.write_bytes(b"x" * 100_000)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    repo = HttpArtifactRepository(f"{fake.url}/api/2.0/mlflow-artifacts/artifacts/1/r")
    repo.log_artifact(str(local), "sub dir")
    repo.log_artifact(str(empty))
    put, put_empty = fake.seen
    assert put.method == "PUT"
    assert put.path == "/api/2.0/mlflow-artifacts/artifacts/1/r/sub%20dir/100%25%20done.txt"
    assert put.body == b"x" * 100_000 and put.headers["content-length"] == "100000"
    assert put_empty.headers.get("content-length") == "0"


def test_list_artifacts_paths_are_relative_to_the_root(fake: FakeServer) -> None:
    fake.script = [
        Reply(
            200,
            {
                "files": [
                    {"path": "b.txt", "is_dir": False, "file_size": 3},
                    {"path": "a", "is_dir": True},
                ]
            },
        )
    ]
    repo = HttpArtifactRepository(f"{fake.url}/api/2.0/mlflow-artifacts/artifacts/1/r")
    infos = repo.list_artifacts("d")
    assert [(i.path, i.is_dir, i.file_size) for i in infos] == [
        ("d/a", True, None),
        ("d/b.txt", False, 3),
    ]
    assert fake.seen[0].path == "/api/2.0/mlflow-artifacts/artifacts"
    assert fake.seen[0].query == {"path": ["1/r/d"]}


def test_cut_off_download_leaves_no_file(fake: FakeServer, tmp_path: Path) -> None:
    fake.script = [Reply(200, b"y" * 10_000, truncate=True)]
    repo = HttpArtifactRepository(f"{fake.url}/api/2.0/mlflow-artifacts/artifacts/1/r")
    target = tmp_path / "out.bin"
    with pytest.raises(TracklineException):
        repo._download_file("f.bin", str(target))
    assert list(tmp_path.iterdir()) == []


def test_missing_download_is_resource_does_not_exist(fake: FakeServer, tmp_path: Path) -> None:
    fake.script = [
        Reply(200, {"files": []}),
        Reply(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "nope"}),
    ]
    repo = HttpArtifactRepository(f"{fake.url}/api/2.0/mlflow-artifacts/artifacts/1/r")
    with pytest.raises(TracklineException) as info:
        repo.download_artifacts("missing.txt", str(tmp_path))
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
