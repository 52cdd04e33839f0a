"""Proxied artifact transfers against a small in-process artifact server: many files at a
time, large files in byte ranges (through the server or from a presigned URL), and cut-off
downloads that must leave nothing under the final name.

The server keeps files in a dict, honours ``Range``, and can be told to cut bodies short,
to offer presigned URLs (served by itself under ``/store/``), and to hold each request a
moment so that overlapping requests can be counted.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from trackline.exceptions import TracklineException
from trackline_rest import multipart
from trackline_rest.artifacts import HttpArtifactRepository

API = "/api/2.0/mlflow-artifacts/artifacts"
KiB = 1024


class ArtifactServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.presigned = False
        self.hold = 0.0  # seconds each file request waits, so that overlaps can be counted
        self.cut_ranges = 0  # how many ranged answers to cut short (then answer in full)
        self.cut_everything = False
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *args: None  # clients hanging up early are expected
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def repository(self) -> HttpArtifactRepository:
        return HttpArtifactRepository(f"{self.url}{API}/1/run")

    def ranged_gets(self) -> list[str]:
        return [h.get("Range", "") for m, p, h in self.requests if m == "GET" and "Range" in h]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _enter(self) -> None:
                with server._lock:
                    server.requests.append((self.command, self.path, dict(self.headers)))
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                if server.hold:
                    time.sleep(server.hold)

            def _leave(self) -> None:
                with server._lock:
                    server.in_flight -= 1

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                self._enter()
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    path = unquote(urlsplit(self.path).path)[len(API) + 1 :]
                    data = self.rfile.read(length)
                    if "refused" in path:
                        return self._json(403, {"error_code": "PERMISSION_DENIED"})
                    server.files[path] = data
                    self._json(200, {})
                finally:
                    self._leave()

            def do_GET(self) -> None:
                self._enter()
                try:
                    self._get()
                finally:
                    self._leave()

            def _get(self) -> None:
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                if path == "/api/3.0/mlflow/server-info":
                    return self._json(200, {"multipart_downloads_enabled": server.presigned})
                if path == API:
                    return self._list(parse_qs(parts.query).get("path", [""])[0])
                if path.startswith("/api/2.0/mlflow-artifacts/presigned/"):
                    name = path[len("/api/2.0/mlflow-artifacts/presigned/") :]
                    if not server.presigned:
                        return self._json(501, {"error_code": "NOT_IMPLEMENTED", "message": "-"})
                    if name not in server.files:
                        return self._json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
                    return self._json(
                        200,
                        {
                            "url": f"{server.url}/store/{name}?signature=x",
                            "headers": {"x-store-header": "yes"},
                            "file_size": len(server.files[name]),
                        },
                    )
                if path.startswith("/store/"):
                    return self._file(path[len("/store/") :])
                if path.startswith(API + "/"):
                    return self._file(path[len(API) + 1 :])
                self._json(404, {"error_code": "ENDPOINT_NOT_FOUND"})

            def _list(self, folder: str) -> None:
                prefix = folder.rstrip("/") + "/"
                entries: dict[str, dict] = {}
                for name, data in server.files.items():
                    if name.startswith(prefix):
                        child, _, rest = name[len(prefix) :].partition("/")
                        if rest:
                            entries[child] = {"path": child, "is_dir": True}
                        else:
                            entries[child] = {
                                "path": child,
                                "is_dir": False,
                                "file_size": len(data),
                            }
                self._json(200, {"files": list(entries.values())})

            def _file(self, name: str) -> None:
                data = server.files.get(name)
                if data is None:
                    return self._json(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
                match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
                status, body = 200, data
                if match:
                    first, last = int(match[1]), min(int(match[2]), len(data) - 1)
                    status, body = 206, data[first : last + 1]
                self.send_response(status)
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(body)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
                self.end_headers()
                with server._lock:
                    cut = server.cut_everything or (match is not None and server.cut_ranges > 0)
                    if cut and not server.cut_everything:
                        server.cut_ranges -= 1
                if cut:  # announce the whole length, send half, hang up
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        return Handler


@pytest.fixture
def server(monkeypatch) -> Iterator[ArtifactServer]:
    for name in (
        "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD",
        "MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE",
        "MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    running = ArtifactServer()
    multipart._advertised.clear()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


@pytest.fixture
def small_ranges(monkeypatch) -> None:
    """Files from 64 KiB on come in 16 KiB ranges."""
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE", str(64 * KiB))
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE", str(16 * KiB))


def _tree(root: Path, count: int) -> dict[str, bytes]:
    contents = {}
    for i in range(count):
        rel = f"d{i % 3}/f{i:02d}.txt"
        data = f"file {i}\n".encode() * (i + 1)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        contents[rel] = data
    return contents


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".trackline"))


def test_log_artifacts_sends_several_files_at_once(server, tmp_path: Path) -> None:
    contents = _tree(tmp_path / "src", 24)
    server.hold = 0.05
    server.repository().log_artifacts(str(tmp_path / "src"), "out")
    assert {k: v for k, v in server.files.items()} == {
        f"1/run/out/{rel}": data for rel, data in contents.items()
    }
    assert server.most_in_flight > 1


def test_folder_download_fetches_several_files_at_once(server, tmp_path: Path) -> None:
    contents = _tree(tmp_path / "src", 24)
    server.files = {f"1/run/out/{rel}": data for rel, data in contents.items()}
    server.hold = 0.05
    (tmp_path / "dst").mkdir()
    local = server.repository().download_artifacts("out", str(tmp_path / "dst"))
    got = {p.relative_to(local).as_posix(): p.read_bytes() for p in Path(local).rglob("*.txt")}
    assert got == contents
    assert server.most_in_flight > 1
    assert _leftovers(tmp_path / "dst") == []


def test_a_refused_file_fails_the_folder_upload(server, tmp_path: Path) -> None:
    _tree(tmp_path / "src", 6)
    (tmp_path / "src" / "d1" / "refused.txt").write_text("no")
    with pytest.raises(TracklineException) as info:
        server.repository().log_artifacts(str(tmp_path / "src"))
    assert info.value.error_code == "PERMISSION_DENIED"
    assert "1/run/d1/refused.txt" not in server.files


def test_large_download_through_the_server_comes_in_ranges(
    server, small_ranges, tmp_path: Path
) -> None:
    data = os.urandom(100 * KiB + 7)
    server.files["1/run/big.bin"] = data
    local = server.repository().download_artifacts("big.bin", str(tmp_path))
    assert Path(local).read_bytes() == data
    assert sorted(server.ranged_gets(), key=lambda r: int(r[6:].split("-")[0])) == [
        f"bytes={a}-{min(a + 16 * KiB, len(data)) - 1}" for a in range(0, len(data), 16 * KiB)
    ]


def test_small_download_is_one_get_without_ranges(server, small_ranges, tmp_path) -> None:
    server.files["1/run/small.bin"] = b"x" * (64 * KiB - 1)
    local = server.repository().download_artifacts("small.bin", str(tmp_path))
    assert Path(local).read_bytes() == b"x" * (64 * KiB - 1)
    assert server.ranged_gets() == []


def test_a_range_cut_short_is_asked_for_again(server, small_ranges, tmp_path) -> None:
    data = os.urandom(100 * KiB)
    server.files["1/run/big.bin"] = data
    server.cut_ranges = 1
    local = server.repository().download_artifacts("big.bin", str(tmp_path))
    assert Path(local).read_bytes() == data
    ranges = server.ranged_gets()
    # One range came half and was asked for again (from where the data stopped arriving).
    assert len(ranges) == len(range(0, len(data), 16 * KiB)) + 1


@pytest.mark.parametrize("size", [10 * KiB, 100 * KiB], ids=["one-get", "ranges"])
def test_a_cut_off_download_leaves_no_file(server, small_ranges, tmp_path, size) -> None:
    server.files["1/run/big.bin"] = os.urandom(size)
    server.cut_everything = True
    with pytest.raises(TracklineException) as info:
        server.repository().download_artifacts("big.bin", str(tmp_path))
    assert info.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert not (tmp_path / "big.bin").exists()
    assert _leftovers(tmp_path) == []


def test_presigned_download_goes_to_the_store_without_the_server_credentials(
    server, small_ranges, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-token")
    server.presigned = True
    data = os.urandom(100 * KiB)
    server.files["1/run/big.bin"] = data
    local = server.repository().download_artifacts("big.bin", str(tmp_path))
    assert Path(local).read_bytes() == data
    store_gets = [(p, h) for m, p, h in server.requests if p.startswith("/store/")]
    assert len(store_gets) == len(range(0, len(data), 16 * KiB))
    for _, headers in store_gets:
        assert headers.get("x-store-header") == "yes"
        assert "Authorization" not in headers
    # The file itself never came through the artifact API.
    assert not [p for m, p, h in server.requests if p.startswith(API + "/")]


def test_folder_download_takes_small_files_through_the_server_large_ones_presigned(
    server, small_ranges, tmp_path
) -> None:
    server.presigned = True
    big, small = os.urandom(80 * KiB), b"small"
    server.files.update({"1/run/m/big.bin": big, "1/run/m/small.txt": small})
    local = Path(server.repository().download_artifacts("m", str(tmp_path)))
    assert (local / "big.bin").read_bytes() == big
    assert (local / "small.txt").read_bytes() == small
    paths = [p for m, p, h in server.requests]
    assert f"{API}/1/run/m/small.txt" in paths
    assert "/api/2.0/mlflow-artifacts/presigned/1/run/m/big.bin" in paths
    assert "/api/2.0/mlflow-artifacts/presigned/1/run/m/small.txt" not in paths


def test_without_presigned_urls_the_server_is_used(server, small_ranges, tmp_path, monkeypatch):
    # Forced on by the client, but the server answers 501: fall back to the proxy.
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "true")
    data = os.urandom(70 * KiB)
    server.files["1/run/big.bin"] = data
    local = server.repository().download_artifacts("big.bin", str(tmp_path))
    assert Path(local).read_bytes() == data
    assert not [p for m, p, h in server.requests if p.startswith("/store/")]


def test_presigned_download_of_a_missing_file_is_resource_does_not_exist(server, tmp_path) -> None:
    server.presigned = True
    server.files["1/run/other.txt"] = b"x"
    with pytest.raises(TracklineException) as info:
        server.repository().download_artifacts("missing.txt", str(tmp_path))
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
