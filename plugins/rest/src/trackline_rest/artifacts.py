"""Artifact repositories that speak the tracking server's proxied artifact API.

* ``mlflow-artifacts:/<path>`` — the server the tracking URI points at stores the files;
  ``mlflow-artifacts://host:port/<path>`` names another server.
* ``http(s)://host/.../api/2.0/mlflow-artifacts/artifacts/<path>`` — the same API at an
  explicit URL.

Both map a repository path to ``<server>/api/2.0/mlflow-artifacts/artifacts/<root>/<path>``:
PUT uploads (the open file is the request body, so memory stays constant), GET downloads
(written into a hidden temporary file that is renamed into place only when complete), GET
with ``?path=`` lists, DELETE deletes. Folders move ``TRANSFER_WORKERS`` (8) files at a time
over one pooled keep-alive session. Files above ``MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE``
go up in parts straight to the store when the server offers it, and files above
``MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE`` come down in parallel byte ranges, straight
from the store through a presigned URL when the server offers one, else through the server
(``trackline_rest.multipart``). Every path goes through ``validate_artifact_path`` and is
percent-encoded in URLs, so file names such as ``100% done.txt`` or ``a#b`` stay literal.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import threading
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests
from trackline.concurrency import map_concurrently
from trackline.entities import FileInfo
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.store.artifacts import ArtifactRepository, validate_artifact_path

from trackline_rest import multipart as _multipart
from trackline_rest.http import HttpClient, HttpConfig, raise_for_error, redact

ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
# What an http(s) artifact URI must contain; the part before it is the server (with prefix).
_MARKER = "/mlflow-artifacts/artifacts"
# Files moved at once by log_artifacts and folder downloads (each on its own pooled
# keep-alive connection; the pool holds MLFLOW_HTTP_POOL_MAXSIZE, 10 by default).
TRANSFER_WORKERS = 8

_clients: dict[tuple[str, HttpConfig], HttpClient] = {}
_clients_lock = threading.Lock()


def artifact_repository(artifact_uri: str, tracking_uri: str | None = None) -> ArtifactRepository:
    """The factory registered for ``mlflow-artifacts``, ``http`` and ``https`` URIs.

    ``mlflow-artifacts:`` URIs resolve against ``tracking_uri`` when it names a server;
    otherwise (unknown, or a database) against the process-wide tracking URI.
    """
    if urlsplit(artifact_uri).scheme.lower() == "mlflow-artifacts":
        server = tracking_uri if _is_http(tracking_uri) else None
        return MlflowArtifactsRepository(artifact_uri, server)
    return HttpArtifactRepository(artifact_uri)


def _is_http(uri: str | None) -> bool:
    return bool(uri) and urlsplit(uri).scheme.lower() in ("http", "https")


def resolve_mlflow_artifacts_uri(artifact_uri: str, tracking_uri: str | None = None) -> str:
    """``mlflow-artifacts:`` URI → the http(s) URL of the same files on the server.

    The scheme, host and path prefix come from the tracking URI; a host in the artifact URI
    (``mlflow-artifacts://other:5000/...``) replaces the tracking URI's host.
    """
    from trackline.tracking.uri import get_tracking_uri

    parts = urlsplit(artifact_uri)
    tracking = urlsplit(tracking_uri or get_tracking_uri())
    if tracking.scheme.lower() in ("http", "https"):
        scheme, netloc, prefix = tracking.scheme, tracking.netloc, tracking.path.rstrip("/")
    elif parts.netloc:
        scheme, netloc, prefix = "http", parts.netloc, ""
    else:
        raise TracklineException.invalid_parameter_value(
            f"Cannot resolve the artifact URI {artifact_uri!r}: mlflow-artifacts:/ URIs are "
            "served by the tracking server, so the tracking URI must be http:// or https:// "
            f"(it is {redact(tracking_uri or get_tracking_uri())!r}). Set MLFLOW_TRACKING_URI "
            "to the server, or use mlflow-artifacts://<host>:<port>/<path>."
        )
    if parts.netloc:
        netloc = parts.netloc
    return f"{scheme}://{netloc}{prefix}{ARTIFACTS_API}/{parts.path.lstrip('/')}"


def _shared_client(endpoint: str) -> HttpClient:
    """One client (one connection pool) per server and settings.

    Repositories are created per call (``log_artifact`` on a run opens one), so a session
    per repository would give up keep-alive between calls.
    """
    config = HttpConfig.from_env()
    key = (endpoint, config)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = HttpClient(endpoint, config)
        return client


class HttpArtifactRepository(ArtifactRepository):
    """Files under ``<server>/.../mlflow-artifacts/artifacts/<root>``, at an http(s) URL."""

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, *, http_url: str | None = None
    ) -> None:
        # A full http(s) URL names its server; tracking_uri is only part of the contract.
        super().__init__(artifact_uri)
        url = http_url or artifact_uri
        self._endpoint, self._root = _split_artifacts_url(url)
        self._http = _shared_client(self._endpoint)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.artifact_uri)!r})"

    # -- paths -----------------------------------------------------------------------------

    def _remote(self, path: str | None) -> str:
        """A repository path → the path the server's artifact API knows (decoded)."""
        path = validate_artifact_path(path)
        return posixpath.join(self._root, path) if path else self._root

    def _file_url(self, remote: str) -> str:
        return f"{self._endpoint}/{quote(remote, safe='/')}"

    # -- ArtifactRepository ----------------------------------------------------------------

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        directory = validate_artifact_path(artifact_path)
        name = os.path.basename(local_file)
        remote = self._remote(posixpath.join(directory, name) if directory else name)
        if _multipart.wanted(os.path.getsize(local_file), self._endpoint, self._http):
            try:
                _multipart.upload(self._http, self._endpoint, local_file, self._remote(directory))
                return
            except _multipart.Unsupported:
                pass  # the destination cannot: send the file in one request
        with open(local_file, "rb") as f:
            # An empty file object would make requests fall back to chunked encoding; send
            # b"" so the server gets Content-Length: 0.
            body = f if os.fstat(f.fileno()).st_size else b""
            response = self._http.request(
                "PUT",
                self._file_url(remote),
                data=body,
                headers={"Content-Type": "application/octet-stream"},
            )
        raise_for_error(response)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Upload a tree, ``TRANSFER_WORKERS`` files at a time over the shared connection
        pool; each file is streamed from disk, so memory does not grow with file sizes."""
        base = validate_artifact_path(artifact_path)
        if not os.path.isdir(local_dir):  # os.walk would silently upload nothing
            raise FileNotFoundError(f"No such directory: {local_dir!r}")
        jobs: list[tuple[str, str | None]] = []
        for current, dirs, files in os.walk(local_dir):
            dirs.sort()
            relative = os.path.relpath(current, local_dir)
            parts = [] if relative == "." else relative.split(os.sep)
            directory = posixpath.join(base, *parts) if (base or parts) else ""
            # Check every name before sending anything: a bad one fails the whole call.
            validate_artifact_path(directory)
            jobs.extend((os.path.join(current, name), directory or None) for name in sorted(files))
        self._each(lambda job: self.log_artifact(*job), jobs)

    def _each(self, action: Any, items: list[Any]) -> list[Any]:
        """``action`` on every item, ``TRANSFER_WORKERS`` at a time; results in order. The
        first failure cancels what has not started and is raised."""
        workers = min(TRANSFER_WORKERS, self._http.config.pool_maxsize)
        return map_concurrently(action, items, workers, "trackline-artifacts")

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        path = validate_artifact_path(path)
        remote = self._remote(path)
        response = self._http.request("GET", self._endpoint, params={"path": remote or None})
        if response.status_code == 404:
            return []
        payload = raise_for_error(response).json() if response.content else {}
        infos = []
        for entry in payload.get("files", []):
            # Servers answer with names relative to the listed directory.
            name = posixpath.basename(str(entry["path"]).rstrip("/"))
            child = validate_artifact_path(posixpath.join(path, name) if path else name)
            is_dir = bool(entry.get("is_dir", False))
            # A file without a size is empty: servers (MLflow's too) leave out a size of 0.
            size = None if is_dir else int(entry.get("file_size") or 0)
            infos.append(FileInfo(child, is_dir, size))
        return sorted(infos, key=lambda info: info.path)

    def _download_tree(self, remote_dir: str, dst_root: str) -> None:
        """List the tree level by level, then download its files ``TRANSFER_WORKERS`` at a
        time (sizes from the listing pick the way: through the server, or presigned)."""
        from trackline.store.artifacts import _local_path

        os.makedirs(_local_path(dst_root, remote_dir), exist_ok=True)
        files: list[tuple[str, int | None]] = []
        level = [remote_dir]
        while level:
            listings = self._each(lambda folder: self.list_artifacts(folder or None), level)
            level = []
            for info in (info for listing in listings for info in listing):
                if info.is_dir:
                    os.makedirs(_local_path(dst_root, info.path), exist_ok=True)
                    level.append(info.path)
                else:
                    files.append((info.path, info.file_size))

        def fetch(item: tuple[str, int | None]) -> None:
            remote, size = item
            try:
                self._download(remote, _local_path(dst_root, remote), size)
            except FileNotFoundError as exc:
                raise TracklineException(
                    f"No artifact at {remote!r} under {redact(self.artifact_uri)!r}.",
                    RESOURCE_DOES_NOT_EXIST,
                ) from exc

        self._each(fetch, files)

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        self._download(remote_file_path, local_path, None)

    def _download(self, remote_file_path: str, local_path: str, size: int | None) -> None:
        """One file into ``local_path``, complete or not at all.

        Large files (``MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE``, 500 MiB) come straight
        from the store through a presigned URL when the server offers them
        (``multipart_downloads_enabled``), else through the server; either way in parallel
        byte ranges. Smaller files come in one streamed GET.
        """
        remote = self._remote(remote_file_path)
        try:
            if _multipart.download_wanted(size, self._endpoint, self._http):
                answer = _multipart.presigned_download_url(self._http, self._endpoint, remote)
                if answer is not None:
                    _multipart.download_presigned(answer, local_path)
                    return
            url = self._file_url(remote)
            response = self._http.request("GET", url, stream=True)
            if response.status_code == 404:
                response.close()
                raise FileNotFoundError(remote_file_path)
            if response.status_code >= 400:
                with contextlib.closing(response):
                    raise_for_error(response)
            length = response.headers.get("Content-Length")
            ranged = response.headers.get("Accept-Ranges", "").lower() == "bytes"
            total = int(length) if length and length.isdigit() else None
            if not (ranged and total is not None and total >= _multipart.download_minimum()):
                total = None  # one streamed GET

            def get(headers: dict[str, str]) -> requests.Response:
                return self._http.request("GET", url, headers=headers, stream=True)

            _multipart.download_ranges(get, total, local_path, first=response)
        except requests.RequestException as exc:  # the connection broke mid-body
            raise TracklineException(
                f"Download of {remote_file_path!r} from {redact(self._endpoint)} was cut off: "
                f"{type(exc).__name__}",
                "TEMPORARILY_UNAVAILABLE",
            ) from exc

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        remote = self._remote(artifact_path)
        response = self._http.request("DELETE", self._file_url(remote))
        if response.status_code != 404:  # deleting what is not there is not an error
            raise_for_error(response)


class MlflowArtifactsRepository(HttpArtifactRepository):
    """``mlflow-artifacts:`` URIs, served by the tracking server (or the host they name)."""

    def __init__(self, artifact_uri: str, tracking_uri: str | None = None) -> None:
        super().__init__(
            artifact_uri, http_url=resolve_mlflow_artifacts_uri(artifact_uri, tracking_uri)
        )


def _split_artifacts_url(url: str) -> tuple[str, str]:
    """``http://h/p/api/2.0/mlflow-artifacts/artifacts/1/r`` → (API endpoint URL, ``1/r``)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise TracklineException.invalid_parameter_value(
            f"Not an http(s) artifact URL: {redact(url)!r}."
        )
    at = parts.path.find(_MARKER)
    if at < 0:
        raise TracklineException.invalid_parameter_value(
            f"The artifact URI {redact(url)!r} does not point at a tracking server's artifact "
            f"API: http(s) artifact URIs look like http://<host>{ARTIFACTS_API}/<path>."
        )
    end = at + len(_MARKER)
    endpoint = parts._replace(path=parts.path[:end], query="", fragment="").geturl()
    root = validate_artifact_path(unquote(parts.path[end:]).strip("/"))
    return endpoint, root
