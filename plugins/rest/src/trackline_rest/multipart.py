"""Multipart uploads through the tracking server's proxied artifact API, as MLflow's client.

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
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import requests
from trackline.exceptions import TracklineException
from trackline.tracking.uri import env

from trackline_rest.http import HttpClient, raise_for_error, redact

ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
MPU_API = "/api/2.0/mlflow-artifacts/mpu"
SERVER_INFO = "/api/3.0/mlflow/server-info"
DEFAULT_MINIMUM_SIZE = 500 * 1024 * 1024
DEFAULT_CHUNK_SIZE = 10 * 1024 * 1024
PART_WORKERS = 8
PART_ATTEMPTS = 3
# The prefix of the server's 501 message when its destination cannot do multipart uploads.
UNSUPPORTED_MESSAGE = "Multipart upload is not supported"

_advertised: dict[str, bool] = {}
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


def _server_offers_it(server: str, http: HttpClient) -> bool:
    with _advertised_lock:
        if server in _advertised:
            return _advertised[server]
    try:
        response = http.request("GET", server + SERVER_INFO)
        offered = response.ok and bool(response.json().get("multipart_uploads_enabled"))
    except (TracklineException, ValueError):
        offered = False  # an older server: no server-info, no multipart
    with _advertised_lock:
        _advertised[server] = offered
    return offered


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
