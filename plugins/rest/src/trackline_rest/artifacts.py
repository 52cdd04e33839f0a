"""Artifact repositories that speak the tracking server's proxied artifact API.

* ``mlflow-artifacts:/<path>`` — the server the tracking URI points at stores the files;
  ``mlflow-artifacts://host:port/<path>`` names another server.
* ``http(s)://host/.../api/2.0/mlflow-artifacts/artifacts/<path>`` — the same API at an
  explicit URL.

Both map a repository path to ``<server>/api/2.0/mlflow-artifacts/artifacts/<root>/<path>``:
PUT uploads (the open file is the request body, so memory stays constant), GET downloads
(streamed into a temporary file that is renamed into place only when complete), GET with
``?path=`` lists, DELETE deletes. Files above ``MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE``
go up in parts straight to the store when the server offers it (``trackline_rest.multipart``). Every path goes through ``validate_artifact_path`` and is
percent-encoded in URLs, so file names such as ``100% done.txt`` or ``a#b`` stay literal.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
import threading
from urllib.parse import quote, unquote, urlsplit

import requests
from trackline.entities import FileInfo
from trackline.exceptions import TracklineException
from trackline.store.artifacts import ArtifactRepository, validate_artifact_path

from trackline_rest import multipart as _multipart
from trackline_rest.http import HttpClient, HttpConfig, raise_for_error, redact

ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
# What an http(s) artifact URI must contain; the part before it is the server (with prefix).
_MARKER = "/mlflow-artifacts/artifacts"
_CHUNK = 1024 * 1024

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
        base = validate_artifact_path(artifact_path)
        if not os.path.isdir(local_dir):  # os.walk would silently upload nothing
            raise FileNotFoundError(f"No such directory: {local_dir!r}")
        for current, dirs, files in os.walk(local_dir):
            dirs.sort()
            relative = os.path.relpath(current, local_dir)
            parts = [] if relative == "." else relative.split(os.sep)
            directory = posixpath.join(base, *parts) if (base or parts) else ""
            for name in sorted(files):
                self.log_artifact(os.path.join(current, name), directory or None)

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
            size = None if is_dir or entry.get("file_size") is None else int(entry["file_size"])
            infos.append(FileInfo(child, is_dir, size))
        return sorted(infos, key=lambda info: info.path)

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        url = self._file_url(self._remote(remote_file_path))
        response = self._http.request("GET", url, stream=True)
        with contextlib.closing(response):
            if response.status_code == 404:
                raise FileNotFoundError(remote_file_path)
            raise_for_error(response)
            _save_stream(response, local_path)

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


def _save_stream(response: object, local_path: str) -> None:
    """Write a streamed body next to ``local_path``, then rename: never a partial file."""
    directory = os.path.dirname(os.path.abspath(local_path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".trackline-download-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in response.iter_content(_CHUNK):  # type: ignore[attr-defined]
                out.write(chunk)
        os.replace(tmp, local_path)
    except requests.RequestException as exc:  # the connection broke mid-body
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise TracklineException(
            f"Download of {redact(response.url)} was cut off: {type(exc).__name__}",  # type: ignore[attr-defined]
            "TEMPORARILY_UNAVAILABLE",
        ) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
