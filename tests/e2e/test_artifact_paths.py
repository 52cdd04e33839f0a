"""Path traversal against a running server: every known trick, each its own case.

The variants come from MLflow's security history: ``../`` in ``/get-artifact`` (2022),
CVE-2023-1177/-2356/-2780 (``..``, backslashes, local sources), CVE-2023-6831 and
CVE-2024-1560 (URL-encoded and double-encoded ``../`` in the artifact DELETE route),
CVE-2023-6909/CVE-2024-1483/CVE-2024-3848 (``#`` and ``?`` in a client-chosen artifact
location), CVE-2023-6977 (``//`` hosts), mlflow#18964 (symlinks inside the artifact store).

Requests are sent with ``http.client`` so that the target reaches the server byte for byte
(``requests``/urllib3 would normalise ``..`` segments away before sending). Every case
asserts the status *and* that nothing outside the artifact root was read, written or deleted.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

SECRET = b"TOPSECRET-" + uuid.uuid4().hex.encode()
VICTIM = b"victim-must-survive"
REJECTED = {400, 403, 404}
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
API = "/api/2.0/mlflow"


def raw_request(
    base_url: str,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """Send ``target`` exactly as given (no normalisation, no re-encoding)."""
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        all_headers = {"Content-Length": str(len(body or b"")), **(headers or {})}
        for key, value in all_headers.items():
            connection.putheader(key, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def layout(sqlite_server):
    """An experiment, a run with one artifact, and files outside the artifact root."""
    root = sqlite_server.artifacts
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.txt").write_bytes(SECRET)
    api = f"{sqlite_server.url}{API}"
    experiment_id = requests.post(
        f"{api}/experiments/create", json={"name": f"paths-{uuid.uuid4().hex[:6]}"}, timeout=30
    ).json()["experiment_id"]
    run = requests.post(
        f"{api}/runs/create", json={"experiment_id": experiment_id}, timeout=30
    ).json()["run"]
    run_id = run["info"]["run_id"]
    run_root = f"{experiment_id}/{run_id}/artifacts"
    status, _ = raw_request(sqlite_server.url, "PUT", f"{ARTIFACTS}/{run_root}/ok.txt", b"fine")
    assert status == 200
    return {
        "url": sqlite_server.url,
        "root": root,
        "outside": outside,
        "secret": outside / "secret.txt",
        "experiment_id": experiment_id,
        "run_id": run_id,
        "run_root": run_root,
    }


@pytest.fixture
def outside_untouched(layout):
    """Fail if anything outside the artifact root changed during the test."""
    outside: Path = layout["outside"]
    victim = outside / "victim.txt"
    victim.write_bytes(VICTIM)
    before = {p.name: p.read_bytes() for p in outside.iterdir() if p.is_file()}
    parent_before = {p.name for p in layout["root"].parent.iterdir()}
    yield layout
    after = {p.name: p.read_bytes() for p in outside.iterdir() if p.is_file()}
    assert after == before, "a file outside the artifact root was written or deleted"
    parent_after = {p.name for p in layout["root"].parent.iterdir()}
    created = parent_after - parent_before - {"logs"}
    assert not created, f"created next to the artifact root: {created}"


def _deep(path: Path) -> str:
    """A relative path that climbs to / from any depth and then descends to ``path``."""
    return "../" * 12 + str(path).lstrip("/")


# Each encoder turns a plain relative path with "/" separators into what goes on the wire.
ENCODERS: dict[str, Callable[[str], str]] = {
    "dotdot": lambda s: s,
    "dotdot-encoded-slash": lambda s: s.replace("/", "%2F"),
    "dotdot-encoded-all": lambda s: s.replace(".", "%2e").replace("/", "%2f"),
    "dotdot-double-encoded": lambda s: s.replace(".", "%252e").replace("/", "%252f"),
    "dotdot-double-encoded-slash": lambda s: s.replace("/", "%252F"),
    "dot-encoded-dot": lambda s: s.replace("../", ".%2e/"),
    "backslash": lambda s: s.replace("/", "\\"),
    "backslash-encoded": lambda s: s.replace("/", "%5c"),
    "backslash-double-encoded": lambda s: s.replace("/", "%255c"),
    "dotdot-backslash-mixed": lambda s: s.replace("../", "..\\"),
    "overlong-utf8-dot": lambda s: s.replace("../", "%c0%ae%c0%ae/"),
    "nul-suffix": lambda s: s + "%00",
    "nul-before-extension": lambda s: s.replace(".txt", ".txt%00.png"),
    "absolute": lambda s: "/" + s.lstrip("./"),
    "absolute-encoded": lambda s: "%2F" + s.lstrip("./").replace("/", "%2F"),
    "double-slash-host": lambda s: "//" + s.lstrip("./"),
    "windows-drive": lambda s: "C:/" + s.lstrip("./"),
    "windows-drive-backslash": lambda s: "C:%5c" + s.lstrip("./").replace("/", "%5c"),
    "unc": lambda s: "%5c%5clocalhost%5c" + s.lstrip("./").replace("/", "%5c"),
    "file-uri": lambda s: "file:///" + s.lstrip("./"),
    "fragment": lambda s: "%23/" + s,
    "tilde": lambda s: "~/" + s,
}

ABSOLUTE_ENCODERS = {
    "absolute",
    "absolute-encoded",
    "double-slash-host",
    "windows-drive",
    "windows-drive-backslash",
    "unc",
    "file-uri",
}


def _expect_rejected(status: int, body: bytes, encoder: str, what: str) -> None:
    assert status in REJECTED, f"{what} answered {status}: {body[:300]!r}"


def _target(layout, encoder: str, filename: str | Path, inside_run: bool) -> str:
    """The encoded traversal towards ``filename`` (absolute) from the root or a run root."""
    plain = _deep(Path(filename))
    if encoder in ABSOLUTE_ENCODERS:
        plain = str(filename).lstrip("/")
    encoded = ENCODERS[encoder](plain)
    if inside_run and encoder not in ABSOLUTE_ENCODERS:
        return f"{layout['run_root']}/{encoded}"
    return encoded


def _assert_no_leak(status: int, body: bytes, *names: str, encoder: str = "") -> None:
    assert status < 500, f"server error {status}: {body[:300]!r}"
    assert SECRET not in body
    for name in names:
        assert name.encode() not in body, f"{name} leaked in {body[:300]!r}"
    _expect_rejected(status, body, encoder, "request")


# -- controls: the routes exist and work for honest paths -------------------------------------


def test_controls_honest_requests_succeed(layout):
    url, run_root, run_id = layout["url"], layout["run_root"], layout["run_id"]
    assert raw_request(url, "GET", f"{ARTIFACTS}/{run_root}/ok.txt") == (200, b"fine")
    status, body = raw_request(url, "GET", f"{ARTIFACTS}?path={run_root}")
    assert status == 200 and json.loads(body)["files"][0]["path"] == "ok.txt"
    status, body = raw_request(url, "GET", f"{API}/artifacts/list?run_id={run_id}")
    assert status == 200 and [f["path"] for f in json.loads(body)["files"]] == ["ok.txt"]
    assert raw_request(url, "GET", f"/get-artifact?run_id={run_id}&path=ok.txt") == (200, b"fine")
    status, _ = raw_request(url, "PUT", f"{ARTIFACTS}/{run_root}/sub/dir/new.txt", b"x")
    assert status == 200
    assert (layout["root"] / run_root / "sub" / "dir" / "new.txt").read_bytes() == b"x"


# -- mlflow-artifacts: GET / PUT / DELETE / list ----------------------------------------------


DOWNLOAD_CASES = [
    pytest.param(encoder, inside, id=f"{encoder}-{'from-run' if inside else 'from-root'}")
    for encoder in sorted(ENCODERS)
    for inside in (False, True)
    if not (inside and encoder in ABSOLUTE_ENCODERS)  # absolute paths ignore the start point
]


@pytest.mark.parametrize(("encoder", "inside_run"), DOWNLOAD_CASES)
def test_proxy_download_does_not_escape(outside_untouched, encoder, inside_run):
    layout = outside_untouched
    target = _target(layout, encoder, layout["secret"], inside_run)
    status, body = raw_request(layout["url"], "GET", f"{ARTIFACTS}/{target}")
    _assert_no_leak(status, body, encoder=encoder)


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_proxy_upload_does_not_escape(outside_untouched, encoder):
    layout = outside_untouched
    pwned = layout["outside"] / f"pwned-{uuid.uuid4().hex[:6]}.txt"
    target = _target(layout, encoder, pwned, inside_run=True)
    status, body = raw_request(layout["url"], "PUT", f"{ARTIFACTS}/{target}", b"pwned")
    assert status < 500, body
    assert not pwned.exists()
    _expect_rejected(status, body, encoder, f"upload to {target!r}")


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_proxy_delete_does_not_escape(outside_untouched, encoder):
    layout = outside_untouched
    victim = layout["outside"] / "victim.txt"
    target = _target(layout, encoder, victim, inside_run=True)
    status, body = raw_request(layout["url"], "DELETE", f"{ARTIFACTS}/{target}")
    assert status < 500, body
    assert victim.read_bytes() == VICTIM
    # The delete must not have escaped *upwards* either: the run's own files are intact.
    assert (layout["root"] / layout["run_root"] / "ok.txt").exists()
    _expect_rejected(status, body, encoder, f"delete of {target!r}")


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_proxy_list_does_not_escape(outside_untouched, encoder):
    layout = outside_untouched
    target = _target(layout, encoder, layout["outside"], inside_run=False)
    status, body = raw_request(layout["url"], "GET", f"{ARTIFACTS}?path={target}")
    _assert_no_leak(status, body, "secret.txt", "victim.txt", encoder=encoder)


# -- tracking service: runs' artifacts/list and /get-artifact --------------------------------


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_run_artifact_list_does_not_escape(outside_untouched, encoder):
    layout = outside_untouched
    target = _target(layout, encoder, layout["outside"], inside_run=False)
    status, body = raw_request(
        layout["url"], "GET", f"{API}/artifacts/list?run_id={layout['run_id']}&path={target}"
    )
    _assert_no_leak(status, body, "secret.txt", "victim.txt", encoder=encoder)


@pytest.mark.parametrize("path", ["..", "../..", "../../..", "../../../..", "a/../../.."])
def test_run_artifact_list_short_climbs_are_rejected(outside_untouched, path):
    layout = outside_untouched
    status, body = raw_request(
        layout["url"],
        "GET",
        f"{API}/artifacts/list?run_id={layout['run_id']}&path={quote(path, safe='')}",
    )
    # ".." from the run root would list the run directory, the experiment, the root...
    _assert_no_leak(status, body, layout["run_id"], "outside", "trackline.db")


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_get_artifact_does_not_escape(outside_untouched, encoder):
    layout = outside_untouched
    target = _target(layout, encoder, layout["secret"], inside_run=False)
    status, body = raw_request(
        layout["url"], "GET", f"/get-artifact?run_id={layout['run_id']}&path={target}"
    )
    _assert_no_leak(status, body, encoder=encoder)


@pytest.mark.parametrize("path", ["../../../trackline.db", "../../../outside/secret.txt"])
def test_get_artifact_short_climbs_are_rejected(outside_untouched, path):
    layout = outside_untouched
    for prefix in ("/get-artifact", f"{API}/get-artifact"):
        status, body = raw_request(
            layout["url"],
            "GET",
            f"{prefix}?run_id={layout['run_id']}&path={quote(path, safe='')}",
        )
        _assert_no_leak(status, body, "SQLite format")


# -- symlinks planted inside the destination --------------------------------------------------


@pytest.fixture
def planted_links(outside_untouched):
    layout = outside_untouched
    run_dir = layout["root"] / layout["run_root"]
    file_link = run_dir / f"link-file-{uuid.uuid4().hex[:6]}"
    dir_link = run_dir / f"link-dir-{uuid.uuid4().hex[:6]}"
    file_link.symlink_to(layout["secret"])
    dir_link.symlink_to(layout["outside"], target_is_directory=True)
    yield layout, file_link.name, dir_link.name
    file_link.unlink()
    dir_link.unlink()


def test_symlink_to_a_file_outside_is_not_served(planted_links):
    layout, file_link, _ = planted_links
    url, run_root, run_id = layout["url"], layout["run_root"], layout["run_id"]
    _assert_no_leak(*raw_request(url, "GET", f"{ARTIFACTS}/{run_root}/{file_link}"))
    _assert_no_leak(*raw_request(url, "GET", f"/get-artifact?run_id={run_id}&path={file_link}"))


def test_symlink_to_a_directory_outside_is_not_listed_or_served(planted_links):
    layout, _, dir_link = planted_links
    url, run_root, run_id = layout["url"], layout["run_root"], layout["run_id"]
    _assert_no_leak(*raw_request(url, "GET", f"{ARTIFACTS}/{run_root}/{dir_link}/secret.txt"))
    _assert_no_leak(
        *raw_request(url, "GET", f"{ARTIFACTS}?path={run_root}/{dir_link}"), "secret.txt"
    )
    _assert_no_leak(
        *raw_request(url, "GET", f"{API}/artifacts/list?run_id={run_id}&path={dir_link}"),
        "secret.txt",
    )
    _assert_no_leak(
        *raw_request(url, "GET", f"/get-artifact?run_id={run_id}&path={dir_link}/secret.txt")
    )


def test_listing_a_directory_with_links_does_not_describe_their_targets(planted_links):
    layout, file_link, _ = planted_links
    status, body = raw_request(layout["url"], "GET", f"{ARTIFACTS}?path={layout['run_root']}")
    if status == 200:
        files = {f["path"]: f for f in json.loads(body).get("files", [])}
        # Listing the name is tolerable; reporting the outside file's size is a leak.
        if file_link in files:
            assert files[file_link].get("file_size") != len(SECRET)
    else:
        assert status in REJECTED


def test_upload_through_a_symlinked_directory_does_not_write_outside(planted_links):
    layout, _, dir_link = planted_links
    name = f"pwned-{uuid.uuid4().hex[:6]}.txt"
    status, body = raw_request(
        layout["url"], "PUT", f"{ARTIFACTS}/{layout['run_root']}/{dir_link}/{name}", b"pwned"
    )
    assert status in REJECTED, f"upload through a symlink answered {status}: {body[:200]!r}"
    assert not (layout["outside"] / name).exists()


def test_delete_through_a_symlinked_directory_does_not_delete_outside(planted_links):
    layout, _, dir_link = planted_links
    status, body = raw_request(
        layout["url"], "DELETE", f"{ARTIFACTS}/{layout['run_root']}/{dir_link}/victim.txt"
    )
    assert status in REJECTED | {200}, f"delete through a symlink answered {status}"
    assert (layout["outside"] / "victim.txt").read_bytes() == VICTIM
    assert layout["secret"].read_bytes() == SECRET


def test_symlinked_top_level_directory_is_not_followed(outside_untouched):
    """A link directly under the destination root (where experiment folders live)."""
    layout = outside_untouched
    link = layout["root"] / f"linked-{uuid.uuid4().hex[:6]}"
    link.symlink_to(layout["outside"], target_is_directory=True)
    try:
        url, name = layout["url"], f"pwned-{uuid.uuid4().hex[:6]}.txt"
        _assert_no_leak(*raw_request(url, "GET", f"{ARTIFACTS}/{link.name}/secret.txt"))
        _assert_no_leak(*raw_request(url, "GET", f"{ARTIFACTS}?path={link.name}"), "secret.txt")
        status, body = raw_request(url, "PUT", f"{ARTIFACTS}/{link.name}/{name}", b"pwned")
        assert status in REJECTED, f"upload through a root-level link answered {status}"
        assert not (layout["outside"] / name).exists()
        status, _ = raw_request(url, "DELETE", f"{ARTIFACTS}/{link.name}/victim.txt")
        assert status < 500
        assert (layout["outside"] / "victim.txt").read_bytes() == VICTIM
    finally:
        link.unlink()


# -- client-chosen artifact locations ---------------------------------------------------------


def _locations(outside: Path) -> dict[str, str]:
    o = str(outside)
    climb = "../" * 12 + o.lstrip("/")
    return {
        "file-uri": f"file://{o}",
        "plain-path": o,
        "file-uri-fragment": f"file://{o}#",
        "file-uri-query": f"file://{o}?x=",
        "http-empty-host-fragment": f"http:///#/{climb}",
        "file-fragment-climb": f"file:///tmp#/{climb}",
        "file-query-climb": f"file:///tmp?/{climb}",
        "mlflow-artifacts-climb": f"mlflow-artifacts:/{climb}",
        "mlflow-artifacts-encoded-climb": "mlflow-artifacts:/" + climb.replace("/", "%2F"),
        "double-slash-host": f"file://{o}".replace("file://", "file:////"),
        "backslash": "file://" + o.replace("/", "\\"),
    }


@pytest.mark.parametrize("kind", sorted(_locations(Path("/x"))))
def test_client_chosen_artifact_location_cannot_read_outside(outside_untouched, kind):
    layout = outside_untouched
    url = layout["url"]
    location = _locations(layout["outside"])[kind]
    created = requests.post(
        f"{url}{API}/experiments/create",
        json={"name": f"loc-{uuid.uuid4().hex[:8]}", "artifact_location": location},
        timeout=30,
    )
    assert created.status_code < 500, created.text
    if "#" in location or "?" in location:
        # The CVE-2023-6909 / CVE-2024-1483 / CVE-2024-3848 shape: refused up front, as by MLflow.
        assert created.status_code == 400, f"{location!r} accepted: {created.text}"
    if created.status_code != 200:
        assert created.status_code == 400
        assert created.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        return
    experiment_id = created.json()["experiment_id"]
    run = requests.post(
        f"{url}{API}/runs/create", json={"experiment_id": experiment_id}, timeout=30
    )
    assert run.status_code < 500, run.text
    if run.status_code != 200:
        return
    run_id = run.json()["run"]["info"]["run_id"]
    listing = requests.get(f"{url}{API}/artifacts/list", params={"run_id": run_id}, timeout=30)
    assert listing.status_code < 500, listing.text
    assert b"secret.txt" not in listing.content and b"victim.txt" not in listing.content
    for path in ("secret.txt", "../secret.txt", "../../secret.txt"):
        got = requests.get(
            f"{url}/get-artifact", params={"run_id": run_id, "path": path}, timeout=30
        )
        assert got.status_code < 500
        assert SECRET not in got.content
    # Uploading through the run's artifact URI must not write outside the root either.
    put = raw_request(url, "PUT", f"{ARTIFACTS}/{experiment_id}/{run_id}/artifacts/x.txt", b"x")
    assert put[0] < 500


# -- a client that disconnects mid-upload -----------------------------------------------------


def test_interrupted_upload_leaves_no_visible_partial_artifact(layout):
    url, run_root, run_id = layout["url"], layout["run_root"], layout["run_id"]
    name = f"partial-{uuid.uuid4().hex[:6]}.bin"
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"PUT {ARTIFACTS}/{run_root}/{name} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: 10000000\r\n\r\n"
        ).encode()
        sock.sendall(head + os.urandom(256 * 1024))
        time.sleep(0.2)  # let the server start writing; then vanish mid-body
    # The server notices the disconnect asynchronously: check repeatedly for a while.
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        status, body = raw_request(url, "GET", f"{ARTIFACTS}/{run_root}/{name}")
        assert status == 404, f"partial upload is visible: {status}, {len(body)} bytes"
        listing = requests.get(
            f"{url}{API}/artifacts/list", params={"run_id": run_id}, timeout=30
        ).json()
        assert name not in {f["path"] for f in listing.get("files", [])}
        proxy = requests.get(f"{url}{ARTIFACTS}", params={"path": run_root}, timeout=30).json()
        assert name not in {f["path"] for f in proxy.get("files", [])}
        assert not (layout["root"] / run_root / name).exists()
        time.sleep(0.1)
    # The same path can still be uploaded completely afterwards.
    data = os.urandom(300_000)
    assert raw_request(url, "PUT", f"{ARTIFACTS}/{run_root}/{name}", data)[0] == 200
    assert raw_request(url, "GET", f"{ARTIFACTS}/{run_root}/{name}") == (200, data)
