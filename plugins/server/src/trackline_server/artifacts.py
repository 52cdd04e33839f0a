"""The proxied artifact store: path checks, listing, streamed upload and download.

Every path a client sends is checked twice: syntactically (``check_path``: the core's
``validate_artifact_path`` plus the encodings and spellings that only matter on the way in
through a URL), and, for a local destination, physically (``ArtifactProxy.local_path``: the
resolved real path must stay inside the resolved destination, so a symlink planted inside the
destination cannot lead out of it).
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from trackline.artifacts import get_artifact_repository
from trackline.entities import FileInfo
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.store.artifacts import ArtifactRepository, validate_artifact_path

if TYPE_CHECKING:
    from starlette.responses import Response

MLFLOW_ARTIFACTS_SCHEME = "mlflow-artifacts"
# Percent-encoded '/', '\', '.' and NUL in the *raw* URL path: after uvicorn decodes the path
# they would look like ordinary separators or dots, so they are refused before decoding.
_ENCODED_TRICKS = re.compile(rb"%(2f|5c|2e|00)", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")
# Served as text so a browser never renders an uploaded page in the server's origin.
_ACTIVE_TYPES = {"text/html", "image/svg+xml", "text/javascript", "application/javascript"}


def bad_path(path: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(f"Invalid path: {path!r}")


def check_raw_url_path(raw: bytes) -> None:
    if _ENCODED_TRICKS.search(raw) or b"\\" in raw:
        raise bad_path(raw.decode("latin-1"))


def check_path(path: str | None) -> str:
    """A client-given artifact path, normalised; ``""`` is the root."""
    path = path or ""
    for decoded in _decodings(path):
        if "\x00" in decoded or "\\" in decoded or _DRIVE.match(decoded):
            raise bad_path(path)
        if decoded.startswith("/") or ".." in decoded.split("/"):
            raise bad_path(path)
        if any(part.startswith("~") for part in decoded.split("/")):
            raise bad_path(path)  # fsspec and shells expand a leading '~'
    try:
        return validate_artifact_path(path)
    except TracklineException as exc:
        raise bad_path(path) from exc


def _decodings(path: str, limit: int = 4) -> list[str]:
    """``path`` and its successive percent-decodings: a layer of encoding must not hide
    ``..`` from a later component that decodes once more."""
    out = [path]
    while len(out) <= limit:
        decoded = unquote(out[-1])
        if decoded == out[-1]:
            break
        out.append(decoded)
    return out


def is_local_uri(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return len(scheme) <= 1 or scheme == "file"  # one letter: a Windows drive


def local_root(uri: str) -> str:
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        return unquote(parsed.path)
    return uri


def check_local_location(uri: str, allowed_roots: tuple[str, ...]) -> None:
    """A local artifact location must lie inside one of the server's own artifact roots.

    Clients choose experiment artifact locations; without this rule anyone who can create an
    experiment could make the server list and serve ``<any dir>/<run id>/artifacts``.
    """
    if not is_local_uri(uri):
        return
    real = os.path.realpath(local_root(uri))
    if not any(
        real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in allowed_roots
    ):
        raise TracklineException.invalid_parameter_value(
            f"Invalid artifact location {uri!r}: a local path must lie inside the server's "
            "artifact root. Leave artifact_location unset to get the default."
        )


def proxied_path(uri: str) -> str:
    """``mlflow-artifacts:/1/<run>/artifacts`` → ``1/<run>/artifacts`` (host part dropped)."""
    rest = uri[len(MLFLOW_ARTIFACTS_SCHEME) + 1 :]
    if rest.startswith("//"):
        rest = "/" + rest[2:].partition("/")[2]  # mlflow-artifacts://host:port/path
    return check_path(rest.lstrip("/"))


class ArtifactProxy:
    """Artifacts under one destination URI (``--artifacts-destination``)."""

    def __init__(self, destination: str) -> None:
        self.destination = destination
        self.local = is_local_uri(destination)

    @cached_property
    def repository(self) -> ArtifactRepository:
        return get_artifact_repository(self.destination)

    @cached_property
    def real_root(self) -> str:
        root = os.path.abspath(local_root(self.destination))
        os.makedirs(root, exist_ok=True)
        return os.path.realpath(root)

    # -- containment -----------------------------------------------------------------------

    def local_path(self, path: str) -> str:
        """The real local path of a checked relative ``path``; refuses escapes by symlink."""
        candidate = os.path.realpath(os.path.join(self.real_root, *path.split("/")))
        if candidate != self.real_root and not candidate.startswith(self.real_root + os.sep):
            raise bad_path(path)
        return candidate

    def contain(self, path: str) -> None:
        if self.local:
            self.local_path(path)

    # -- operations ------------------------------------------------------------------------

    def list(self, path: str, relative_to: str | None = None) -> list[FileInfo]:
        """Children of ``path``; their paths relative to ``relative_to`` (default: ``path``)."""
        self.contain(path)
        base = path if relative_to is None else relative_to
        out = []
        for info in self.repository.list_artifacts(path or None):
            rel = posixpath.relpath(info.path, base) if base else info.path
            if self.local and info.is_dir is False:
                self.contain(info.path)  # a symlinked file pointing out is not listed
            out.append(FileInfo(rel, info.is_dir, info.file_size))
        return out

    def delete(self, path: str) -> None:
        if not path:
            raise bad_path(path)  # deleting the whole destination is never what was meant
        self.contain(path)
        try:
            self.repository.delete_artifacts(path)
        except TracklineException as exc:
            if exc.error_code != RESOURCE_DOES_NOT_EXIST:
                raise

    async def download_response(self, path: str, range_header: str | None = None) -> Response:
        """The response sending file ``path``: straight from a local destination, else
        streamed from the store as it arrives (no local copy), honouring one byte range.

        Files up to one chunk (1 MiB) are read whole and sent in one go; larger ones go out
        1 MiB at a time, so memory per download stays constant. Stores whose repository
        cannot stream (no ``open_artifact``) are copied to a temporary file first.
        """
        from starlette.concurrency import run_in_threadpool

        if not path:
            raise not_found(path)
        opener = None if self.local else getattr(self.repository, "open_artifact", None)
        if opener is None:
            from trackline_server.routing import file_response

            local, tmp = await run_in_threadpool(self.download_target, path)
            return file_response(local, tmp)
        byte_range = parse_range(range_header)

        def open_stream() -> Any:
            try:
                stream = opener(path, byte_range)
            except TracklineException as exc:
                size = getattr(exc, "size", None)
                if size is not None:  # the range lies outside the file
                    return size
                if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                    raise not_found(path) from None
                raise
            if stream.length <= STREAM_CHUNK:  # small: one read, one send
                try:
                    stream.body = b"".join(stream.chunks)
                finally:
                    stream.close()
            return stream

        stream = await run_in_threadpool(open_stream)
        return _stream_response(path, stream, partial=byte_range is not None)

    @property
    def supports_presigned_download(self) -> bool:
        """Whether the destination hands out presigned download URLs (S3): MLflow's
        ``multipart_downloads_enabled``. Asked of the factory, as for multipart uploads."""
        return self._factory_offers("supports_presigned_download")

    def presigned_download(self, path: str) -> dict[str, Any]:
        """``{"url", "headers", "file_size"}`` for downloading ``path`` from the store."""
        if not path:
            raise bad_path(path)
        if not self.supports_presigned_download:
            raise TracklineException(PRESIGNED_DOWNLOAD_UNSUPPORTED, "NOT_IMPLEMENTED")
        ttl = _ttl_seconds()
        try:
            answer = self.repository.get_download_presigned_url(  # type: ignore[attr-defined]
                path, expiration=ttl
            )
        except TracklineException as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                raise not_found(path) from None
            raise
        out: dict[str, Any] = {"url": answer["url"], "headers": dict(answer.get("headers") or {})}
        if answer.get("file_size") is not None:
            out["file_size"] = int(answer["file_size"])
        return out

    def download_target(self, path: str) -> tuple[str, str | None]:
        """(local file to send, temporary directory to remove afterwards or None)."""
        if not path:
            raise not_found(path)
        if self.local:
            target = self.local_path(path)
            if not os.path.isfile(target):
                raise not_found(path)
            return target, None
        tmp = tempfile.mkdtemp(prefix="trackline-download-")
        try:
            local = os.path.join(tmp, posixpath.basename(path))
            self.repository._download_file(path, local)
        except TracklineException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                raise not_found(path) from None
            raise  # permission denied, store unreachable…: say so, not "not found"
        except Exception:
            shutil.rmtree(tmp, ignore_errors=True)
            raise not_found(path) from None
        return local, tmp

    # -- multipart uploads -----------------------------------------------------------------

    @property
    def supports_multipart_upload(self) -> bool:
        """Whether the destination's repository hands out presigned part URLs (S3).

        Repositories opt in with MLflow's method names (``create_multipart_upload``,
        ``complete_multipart_upload``, ``abort_multipart_upload``); local ones do not.
        """
        return self._factory_offers("supports_multipart_upload")

    def _factory_offers(self, capability: str) -> bool:
        if self.local:
            return False
        # Asked of the factory, not of a repository: /server-info must answer at once (MLflow
        # clients give it 3 s), and opening a cloud store can take longer than that.
        try:
            from trackline.plugins.manager import get_plugin_manager

            factory = get_plugin_manager().artifact_repository_factory(self.destination)
        except Exception:  # no plugin for the scheme: nothing to advertise
            return False
        return bool(getattr(factory, capability, False))

    def _multipart_repository(self) -> ArtifactRepository:
        if not self.supports_multipart_upload:
            raise TracklineException(MULTIPART_UNSUPPORTED, "NOT_IMPLEMENTED")
        return self.repository

    def create_multipart_upload(self, directory: str, name: str, num_parts: int) -> dict:
        """Start an upload of file ``name`` into ``directory``; presigned URL per part."""
        repository = self._multipart_repository()
        return repository.create_multipart_upload(  # type: ignore[attr-defined]
            _file_name(name), num_parts, directory or None
        )

    def complete_multipart_upload(
        self, directory: str, name: str, upload_id: str, parts: list[dict]
    ) -> None:
        repository = self._multipart_repository()
        repository.complete_multipart_upload(  # type: ignore[attr-defined]
            _file_name(name), upload_id, parts, directory or None
        )

    def abort_multipart_upload(self, directory: str, name: str, upload_id: str) -> None:
        repository = self._multipart_repository()
        repository.abort_multipart_upload(  # type: ignore[attr-defined]
            _file_name(name), upload_id, directory or None
        )

    async def upload(self, path: str, chunks: AsyncIterator[bytes]) -> None:
        """Stream ``chunks`` into ``path``; nothing is visible there until the last byte.

        Locally the data goes to a hidden temporary file next to the target and is renamed
        over it (atomic on one file system); elsewhere it is spooled to a local temporary
        file and handed to the repository whole. Either way a client that disconnects leaves
        only a deleted temporary file behind.
        """
        if not path:
            raise bad_path(path)
        if self.local:
            await self._upload_local(path, chunks)
        else:
            await self._upload_remote(path, chunks)

    async def _upload_local(self, path: str, chunks: AsyncIterator[bytes]) -> None:
        target = self.local_path(path)
        if os.path.isdir(target):
            raise TracklineException.invalid_parameter_value(
                f"Cannot upload to {path!r}: it is a directory."
            )
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        self.local_path(path)  # the directories just made may not be symlinks, re-check
        fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=parent)
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    out.write(chunk)
            os.replace(tmp, target)
        except BaseException:
            _remove(tmp)
            raise

    async def _upload_remote(self, path: str, chunks: AsyncIterator[bytes]) -> None:
        """Bodies up to ``UPLOAD_IN_MEMORY`` go to the store from memory (one request, no
        temporary file); larger ones spill to a temporary file as they arrive."""
        from starlette.concurrency import run_in_threadpool

        buffered: list[bytes] = []
        held = 0
        iterator = chunks.__aiter__()
        async for chunk in iterator:
            buffered.append(chunk)
            held += len(chunk)
            if held > UPLOAD_IN_MEMORY:
                break
        else:
            await run_in_threadpool(self.repository.log_bytes, b"".join(buffered), path)
            return
        tmp_dir = tempfile.mkdtemp(prefix="trackline-upload-")
        try:
            local = os.path.join(tmp_dir, posixpath.basename(path))
            with open(local, "wb") as out:
                out.writelines(buffered)
                buffered.clear()
                async for chunk in iterator:
                    out.write(chunk)
            directory = posixpath.dirname(path) or None
            await run_in_threadpool(self.repository.log_artifact, local, directory)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)


class RunArtifacts:
    """The artifacts of one run, wherever its ``artifact_uri`` points."""

    def __init__(
        self, proxy: ArtifactProxy, artifact_uri: str, allowed_roots: tuple[str, ...]
    ) -> None:
        self.artifact_uri = artifact_uri
        if artifact_uri.startswith(MLFLOW_ARTIFACTS_SCHEME + ":"):
            self.proxy: ArtifactProxy | None = proxy
            self.prefix = proxied_path(artifact_uri)
        else:
            check_local_location(artifact_uri, allowed_roots)
            self.proxy = None
            self.prefix = ""

    def _join(self, path: str) -> str:
        return posixpath.join(self.prefix, path) if path else self.prefix

    def list(self, path: str) -> list[FileInfo]:
        if self.proxy is not None:
            return self.proxy.list(self._join(path), relative_to=self.prefix)
        return get_artifact_repository(self.artifact_uri).list_artifacts(path or None)

    def download_target(self, path: str) -> tuple[str, str | None]:
        if self.proxy is not None:
            return self.proxy.download_target(self._join(path))
        return ArtifactProxy(self.artifact_uri).download_target(path)

    async def upload(self, path: str, chunks: AsyncIterator[bytes]) -> None:
        if self.proxy is not None:
            await self.proxy.upload(self._join(path), chunks)
        else:
            await ArtifactProxy(self.artifact_uri).upload(path, chunks)


MULTIPART_UNSUPPORTED = "Multipart upload is not supported for the current artifact repository"
PRESIGNED_DOWNLOAD_UNSUPPORTED = (
    "Multipart download is not supported for the current artifact repository"
)
# A proxied download is read and sent in pieces of this size.
STREAM_CHUNK = 1024 * 1024
# Proxied uploads up to this size are held in memory and stored in one request.
UPLOAD_IN_MEMORY = 8 * 1024 * 1024
_PAST_ANY_END = 2**63
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str | None) -> tuple[int, int | None] | None:
    """One ``Range: bytes=a-b`` (``a-``, ``-n``) as (first, last or None); a suffix range
    ``-n`` is (-n, None). Anything else (several ranges, other units) means the whole file,
    as HTTP allows a server to answer."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = int(last) if last else None
        if end is not None and end < start:
            return None
        return start, end
    if last:
        suffix = int(last)
        return (-suffix, None) if suffix else (_PAST_ANY_END, None)  # "-0": nothing to send
    return None


def _ttl_seconds() -> int:
    from trackline.tracking.uri import env

    raw = env("PRESIGNED_DOWNLOAD_URL_TTL_SECONDS")
    try:
        return max(1, int(raw)) if raw else 300
    except ValueError:
        return 300


def _stream_response(path: str, stream: Any, partial: bool) -> Response:
    """The response for an opened stream (``int``: the file's size, range not satisfiable)."""
    from starlette.background import BackgroundTask
    from starlette.responses import Response, StreamingResponse

    name = posixpath.basename(path)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": _attachment(name),
        "X-Content-Type-Options": "nosniff",
    }
    if isinstance(stream, int):
        headers["Content-Range"] = f"bytes */{stream}"
        return Response(status_code=416, headers=headers)
    headers["Content-Length"] = str(stream.length)
    status = 200
    if partial:
        status = 206
        headers["Content-Range"] = f"bytes {stream.first}-{stream.last}/{stream.size}"
    body = getattr(stream, "body", None)
    if body is not None:
        return Response(body, status_code=status, headers=headers, media_type=media_type(path))
    return StreamingResponse(
        stream.chunks,
        status_code=status,
        headers=headers,
        media_type=media_type(path),
        background=BackgroundTask(stream.close),
    )


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    if filename.isascii() and filename.isprintable():
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'attachment; filename="{escaped}"'
    return f"attachment; filename*=utf-8''{quote(filename)}"


def _file_name(client_path: str) -> str:
    """The file name of a multipart upload: the last part of the client's (local) path.

    MLflow clients send their local file path; only its base name is used, and it must be
    a plain name (no '..', no NUL).
    """
    name = client_path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    if not name or name in (".", "..") or "\x00" in name:
        raise bad_path(client_path)
    check_path(name)
    return name


def not_found(path: str) -> TracklineException:
    return TracklineException(f"No artifact found at {path!r}", RESOURCE_DOES_NOT_EXIST)


def media_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path)
    if guessed is None:
        return "application/octet-stream"
    if guessed in _ACTIVE_TYPES:
        return "text/plain"
    return guessed


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
