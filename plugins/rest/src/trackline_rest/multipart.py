"""Multipart uploads and downloads through the tracking server's proxied artifact API, as
MLflow's client does them.

When the server's destination can take a file in parts (S3), the client asks the server to
start an upload (``POST …/mlflow-artifacts/mpu/create/<dir>``), gets one presigned URL per
part, PUTs the parts straight to the store in parallel, and asks the server to complete the
upload with the parts' ETags; on any failure it asks the server to abort, so nothing appears
under the file's name. A server answering 501 cannot do it; the caller then uploads the file
in one request.

Used when the file has at least ``MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE`` bytes (500 MiB)
and ``MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD`` says so, or, when that is unset, the server
advertises ``multipart_uploads_enabled`` in ``/api/3.0/mlflow/server-info``. Parts have
``MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE`` bytes (10 MiB); memory holds one part per worker.

Downloads of at least ``MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE`` (500 MiB) come in
``MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE`` (100 MiB) byte ranges, eight at a time, each
streamed 1 MiB at a time to its offset in a hidden file renamed into place at the end: from
the store through ``GET …/mlflow-artifacts/presigned/<path>`` when the server advertises
``multipart_downloads_enabled`` (or ``MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD`` says so),
otherwise as Range requests to the server itself.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import requests
from trackline.concurrency import map_concurrently
from trackline.exceptions import TracklineException
from trackline.tracking.uri import env

from trackline_rest.http import HttpClient, raise_for_error, redact

ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
MPU_API = "/api/2.0/mlflow-artifacts/mpu"
SERVER_INFO = "/api/3.0/mlflow/server-info"
PRESIGNED_API = "/api/2.0/mlflow-artifacts/presigned"
DEFAULT_MINIMUM_SIZE = 500 * 1024 * 1024
DEFAULT_CHUNK_SIZE = 10 * 1024 * 1024
PART_WORKERS = 8
# Downloads (MLflow's MLFLOW_MULTIPART_DOWNLOAD_* defaults): 100 MiB ranges, 8 at a time.
DEFAULT_DOWNLOAD_MINIMUM = 500 * 1024 * 1024
DEFAULT_DOWNLOAD_CHUNK = 100 * 1024 * 1024
DOWNLOAD_WORKERS = 8
READ_SIZE = 1024 * 1024
PART_ATTEMPTS = 3
# The prefix of the server's 501 message when its destination cannot do multipart uploads.
UNSUPPORTED_MESSAGE = "Multipart upload is not supported"

_advertised: dict[str, dict[str, Any]] = {}
_advertised_lock = threading.Lock()


class Unsupported(Exception):
    """The server's destination cannot take multipart uploads."""


def _size_setting(name: str, default: int) -> int:
    raw = env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise TracklineException.invalid_parameter_value(
            f"MLFLOW_{name} must be a number of bytes, got {raw!r}."
        ) from None
    if value <= 0:
        raise TracklineException.invalid_parameter_value(f"MLFLOW_{name} must be positive.")
    return value


def _server(endpoint: str) -> str:
    """The server's base URL (with any path prefix) from its artifact API endpoint."""
    return endpoint[: -len(ARTIFACTS_API)] if endpoint.endswith(ARTIFACTS_API) else endpoint


def wanted(size: int, endpoint: str, http: HttpClient) -> bool:
    if size < _size_setting("MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", DEFAULT_MINIMUM_SIZE):
        return False
    forced = env("ENABLE_PROXY_MULTIPART_UPLOAD")
    if forced is not None:
        return forced.strip().lower() in ("1", "true", "yes", "on")
    return _server_offers_it(_server(endpoint), http)


def _server_offers_it(server: str, http: HttpClient, what: str = "uploads") -> bool:
    """Whether the server's ``/server-info`` says ``multipart_<what>_enabled`` (cached)."""
    with _advertised_lock:
        info = _advertised.get(server)
    if info is None:
        try:
            response = http.request("GET", server + SERVER_INFO)
            info = response.json() if response.ok else {}
            if not isinstance(info, dict):
                info = {}
        except (TracklineException, ValueError):
            info = {}  # an older server: no server-info, no multipart
        with _advertised_lock:
            _advertised[server] = info
    return bool(info.get(f"multipart_{what}_enabled"))


def upload(http: HttpClient, endpoint: str, local_file: str, remote_dir: str) -> None:
    """Upload ``local_file`` into ``remote_dir`` (a path of the server's artifact API)."""
    server = _server(endpoint)
    size = os.path.getsize(local_file)
    chunk = _size_setting("MULTIPART_UPLOAD_CHUNK_SIZE", DEFAULT_CHUNK_SIZE)
    num_parts = max(1, math.ceil(size / chunk))
    directory = quote(remote_dir, safe="/")

    def call(verb: str, body: dict[str, Any]) -> requests.Response:
        url = f"{server}{MPU_API}/{verb}/{directory}"
        return http.request("POST", url, json=body, retry_safe=verb != "create")

    created = call("create", {"path": local_file, "num_parts": num_parts})
    if created.status_code == 501:
        try:
            message = str(created.json().get("message", ""))
        except ValueError:
            message = ""
        if message.startswith(UNSUPPORTED_MESSAGE):
            raise Unsupported(message)
    credentials = raise_for_error(created).json()
    upload_id = credentials.get("upload_id") or ""
    try:
        parts = _put_parts(local_file, size, chunk, credentials.get("credentials", []))
        raise_for_error(
            call("complete", {"path": local_file, "upload_id": upload_id, "parts": parts})
        )
    except BaseException:
        with contextlib.suppress(Exception):  # the original error is the one to report
            call("abort", {"path": local_file, "upload_id": upload_id})
        raise


def _put_parts(
    local_file: str, size: int, chunk: int, credentials: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    verify = (env("S3_IGNORE_TLS") or "").lower() not in ("1", "true", "yes", "on")
    session = requests.Session()

    def put(index: int, credential: dict[str, Any]) -> dict[str, Any]:
        with open(local_file, "rb") as f:
            f.seek(index * chunk)
            data = f.read(min(chunk, size - index * chunk))
        url = str(credential["url"])
        last: Exception | None = None
        for _ in range(PART_ATTEMPTS):
            try:
                response = session.put(
                    url, data=data, headers=credential.get("headers") or {}, verify=verify
                )
            except requests.RequestException as exc:
                last = exc
                continue
            if response.status_code >= 500:
                last = TracklineException(
                    f"the store answered {response.status_code}", "TEMPORARILY_UNAVAILABLE"
                )
                continue
            if not response.ok:
                raise TracklineException(
                    f"Uploading part {credential['part_number']} of {local_file!r} to "
                    f"{redact(url.split('?', 1)[0])} failed: HTTP {response.status_code} "
                    f"{response.text[:200]}",
                    "INTERNAL_ERROR",
                )
            return {
                "part_number": int(credential["part_number"]),
                "etag": response.headers.get("ETag", ""),
                "url": url,
            }
        raise TracklineException(
            f"Uploading part {credential['part_number']} of {local_file!r} to "
            f"{redact(url.split('?', 1)[0])} failed after {PART_ATTEMPTS} attempts: {last}",
            "TEMPORARILY_UNAVAILABLE",
        )

    ordered = sorted(credentials, key=lambda c: int(c["part_number"]))
    if len(ordered) != max(1, math.ceil(size / chunk)):
        raise TracklineException(
            f"The server handed out {len(ordered)} part URLs for {local_file!r}, expected "
            f"{max(1, math.ceil(size / chunk))}.",
            "INTERNAL_ERROR",
        )
    with session, ThreadPoolExecutor(min(PART_WORKERS, len(ordered))) as pool:
        return list(pool.map(put, range(len(ordered)), ordered))


# -- downloads ------------------------------------------------------------------------------------


def download_minimum() -> int:
    return _size_setting("MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE", DEFAULT_DOWNLOAD_MINIMUM)


def download_wanted(size: int | None, endpoint: str, http: HttpClient) -> bool:
    """Whether to ask the server for a presigned URL instead of streaming through it.

    ``MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD`` decides when set; otherwise the server's
    ``multipart_downloads_enabled``. A file known to be smaller than
    ``MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE`` comes through the server (one request
    instead of two); a file of unknown size asks, as MLflow's client does.
    """
    if size is not None and size < download_minimum():
        return False
    forced = env("ENABLE_PROXY_MULTIPART_DOWNLOAD")
    if forced is not None:
        return forced.strip().lower() in ("1", "true", "yes", "on")
    return _server_offers_it(_server(endpoint), http, "downloads")


def presigned_download_url(http: HttpClient, endpoint: str, remote: str) -> dict[str, Any] | None:
    """The server's ``{"url", "headers", "file_size"}`` for ``remote`` (a path of its artifact
    API), or None when it cannot give one (501: its destination has no presigned URLs)."""
    url = f"{_server(endpoint)}{PRESIGNED_API}/{quote(remote, safe='/')}"
    response = http.request("GET", url)
    if response.status_code in (404, 405, 501):
        try:
            code = response.json().get("error_code")
        except (ValueError, AttributeError):
            code = None
        if code == "RESOURCE_DOES_NOT_EXIST":
            raise FileNotFoundError(remote)
        return None  # no such route, or no presigned URLs for this destination
    answer = raise_for_error(response).json()
    if not isinstance(answer, dict) or not answer.get("url"):
        return None
    return answer


def download_presigned(answer: dict[str, Any], local_path: str) -> None:
    """Download a presigned URL straight from the store into ``local_path``: one GET for a
    small file, parallel ranges above ``MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE``."""
    verify = (env("S3_IGNORE_TLS") or "").lower() not in ("1", "true", "yes", "on")
    url = str(answer["url"])
    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
    # A session of its own: the tracking server's credentials must not go to the store.
    with requests.Session() as session:

        def get(extra: dict[str, str]) -> requests.Response:
            return session.get(
                url, headers={**headers, **extra}, stream=True, verify=verify, timeout=120
            )

        size = answer.get("file_size")
        if size is not None and int(size) >= download_minimum():
            download_ranges(get, int(size), local_path)
        else:
            download_ranges(get, None, local_path)


def download_ranges(
    get: Callable[[dict[str, str]], requests.Response],
    size: int | None,
    local_path: str,
    first: requests.Response | None = None,
) -> None:
    """Download into a hidden sibling of ``local_path``, renamed into place when complete.

    ``get(headers)`` sends one GET. With ``size`` unknown (or below two parts), one GET
    streams the whole file (``first`` if given, an open response). Otherwise the file is
    split into ``MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE`` parts fetched with Range requests,
    ``DOWNLOAD_WORKERS`` at a time, each streamed 1 MiB at a time to its offset in the
    pre-sized file: memory stays at a few MiB whatever the part size. A part cut short
    resumes where it stopped (``PART_ATTEMPTS``); a failure removes the hidden file, so
    nothing ever appears under ``local_path`` but a complete file.
    """
    directory = os.path.dirname(os.path.abspath(local_path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".trackline-download-")
    try:
        chunk = _size_setting("MULTIPART_DOWNLOAD_CHUNK_SIZE", DEFAULT_DOWNLOAD_CHUNK)
        if size is None or size <= chunk:
            response = first if first is not None else get({})
            with contextlib.closing(response):
                raise_for_error(response)
                expected = response.headers.get("Content-Length")
                written = _write_body(response, fd, 0, None)
            if expected is not None and written != int(expected):
                raise _cut_off(local_path, written, int(expected))
        else:
            if first is not None:
                first.close()  # its body is the whole file: ranges are fetched instead
            os.ftruncate(fd, size)
            ranges = [(a, min(a + chunk, size) - 1) for a in range(0, size, chunk)]
            map_concurrently(
                lambda span: _fetch_range(get, fd, span[0], span[1], local_path),
                ranges,
                DOWNLOAD_WORKERS,
                "trackline-download",
            )
        os.close(fd)
        fd = -1
        os.replace(tmp, local_path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fetch_range(
    get: Callable[[dict[str, str]], requests.Response], fd: int, first: int, last: int, name: str
) -> None:
    offset = first
    problem: Exception | None = None
    for _ in range(PART_ATTEMPTS):
        try:
            response = get({"Range": f"bytes={offset}-{last}"})
        except (requests.RequestException, TracklineException) as exc:
            problem = exc
            continue
        with contextlib.closing(response):
            if response.status_code >= 500:
                problem = TracklineException(
                    f"the store answered {response.status_code}", "TEMPORARILY_UNAVAILABLE"
                )
                continue
            raise_for_error(response)
            if response.status_code != 206:
                raise TracklineException(
                    f"Downloading {name!r}: the server ignored the byte range "
                    f"(HTTP {response.status_code}).",
                    "INTERNAL_ERROR",
                )
            try:
                offset += _write_body(response, fd, offset, last - offset + 1)
            except requests.RequestException as exc:  # resume after what arrived
                problem = exc
                offset += getattr(exc, "written", 0)
                continue
        if offset > last:
            return
    raise _cut_off(name, offset - first, last - first + 1, problem)


def _write_body(response: requests.Response, fd: int, offset: int, limit: int | None) -> int:
    """Write the body at ``offset`` in ``fd`` (at most ``limit`` bytes); bytes written.

    A broken connection raises with the count so far in ``.written``.
    """
    written = 0
    try:
        for piece in response.iter_content(READ_SIZE):
            if limit is not None:
                piece = piece[: limit - written]
            os.pwrite(fd, piece, offset + written)
            written += len(piece)
            if limit is not None and written >= limit:
                break
    except requests.RequestException as exc:
        exc.written = written  # type: ignore[attr-defined]
        raise
    return written


def _cut_off(
    name: str, got: int, expected: int, cause: Exception | None = None
) -> TracklineException:
    detail = f": {type(cause).__name__}" if cause is not None else ""
    return TracklineException(
        f"The download of {name!r} was cut off after {got} of {expected} bytes{detail}.",
        "TEMPORARILY_UNAVAILABLE",
    )
