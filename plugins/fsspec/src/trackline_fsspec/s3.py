"""The S3 repository: the generic fsspec repository plus multipart uploads by presigned URL.

The tracking server's proxied artifact API lets a client upload a large file in parts
straight to the bucket (``/api/2.0/mlflow-artifacts/mpu/create|complete|abort``): the server
starts an S3 multipart upload, hands out one presigned ``UploadPart`` URL per part, and the
client PUTs each part there, then asks the server to complete (or abort) the upload. The
three methods below are that server side; the server finds them by name (they are MLflow's
``MultipartUploadMixin`` names), so any repository offering them gets multipart uploads.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import mimetypes
import os
import posixpath
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any
from urllib.parse import quote

from trackline.exceptions import TracklineException
from trackline.store.artifacts import validate_artifact_path

from trackline_fsspec.repository import (
    STREAM_CHUNK,
    ArtifactStream,
    FsspecArtifactRepository,
    _missing,
    _resolve_range,
)
from trackline_fsspec.stores import S3_DOWNLOAD_PART_SIZE, S3_PART_SIZE
from trackline_fsspec.transfer import is_transient

# Below this a file goes up in one PUT (as s3fs's put_file does below two parts).
SINGLE_PUT_LIMIT = 2 * S3_PART_SIZE
# S3's limits on one multipart upload.
MAX_PARTS = 10_000
# How long a presigned part URL stays valid (seconds): long enough for a slow 5 GiB part.
PART_URL_EXPIRY = 24 * 3600
# How long a presigned download URL stays valid by default (MLflow's
# MLFLOW_PRESIGNED_DOWNLOAD_URL_TTL_SECONDS default).
PRESIGNED_DOWNLOAD_TTL = 300
MiB = 1024 * 1024
# Each ranged download reads its body this much at a time.
READ_SIZE = MiB
# Attempts at one byte range whose connection broke (each resumes where the last stopped).
RANGE_ATTEMPTS = 3


def _attachment(filename: str) -> str:
    """An RFC 6266 ``attachment`` Content-Disposition for ``filename``."""
    if not filename.isascii() or not filename.isprintable():
        return f"attachment; filename*=UTF-8''{quote(filename)}"
    escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
    return f'attachment; filename="{escaped}"'


class S3ArtifactRepository(FsspecArtifactRepository):
    """Artifacts under ``s3://<bucket>/<path>`` (AWS or any S3-compatible endpoint)."""

    supports_multipart_upload = True
    supports_presigned_download = True

    def _put_object(
        self, local_file: str, target: str, size: int, put: Callable[[str], None]
    ) -> None:
        """Small files in one PUT carrying their MD5 (``Content-MD5``): S3 refuses a body
        that does not match it, and the returned ETag confirms it, so no second request is
        needed to check the upload. Large files go in parts (``put_file``), checked after."""
        if size >= SINGLE_PUT_LIMIT:
            super()._put_object(local_file, target, size, put)
            return
        with open(local_file, "rb") as f:
            data = f.read()
        self._put_bytes(data, target)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Small payloads (the server's proxied uploads) in one checked PUT, as files."""
        remote = validate_artifact_path(artifact_file)
        if not remote or len(data) >= SINGLE_PUT_LIMIT:
            super().log_bytes(data, artifact_file)
            return
        with self._errors("upload", remote):
            self._put_bytes(data, self._full(remote))

    def _put_bytes(self, data: bytes, target: str) -> None:
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        bucket, _, key = target.partition("/")
        extra = {k: v for k, v in self._store.upload_kwargs.items() if k != "chunksize"}
        content_type = mimetypes.guess_type(target)[0]
        if content_type and "ContentType" not in extra:
            extra["ContentType"] = content_type

        def send() -> dict[str, Any]:
            return self._call(
                "put_object",
                Bucket=bucket,
                Key=key,
                Body=data,
                ContentMD5=base64.b64encode(digest).decode(),
                **extra,
            )

        answer = self._retrying(send)
        self.fs.invalidate_cache(target)
        etag = str(answer.get("ETag", "")).strip('"')
        # With SSE-KMS the ETag is not the MD5; S3 has checked Content-MD5 already.
        plain_etag = len(etag) == 32 and answer.get("ServerSideEncryption") != "aws:kms"
        if plain_etag and etag != digest.hex():
            with suppress(Exception):
                self.fs.rm_file(target)
            raise TracklineException(
                f"The stored copy of {target!r} differs from the local file (MD5).",
                "DATA_LOSS",
            )

    # -- downloads ---------------------------------------------------------------------------

    def _get_file(self, source: str, local_tmp: str, callback: Any) -> None:
        """One GET for the whole object; above one part (64 MiB, or a share of the file
        such that the parts fill the ``S3_DOWNLOAD_CONCURRENCY`` workers), the first part
        is read from it and the others come as ranged GETs in parallel. Every range is
        streamed to its place in ``local_tmp`` (pre-sized), 1 MiB at a time, so
        memory stays at a few MiB per file; a range cut short resumes where it stopped,
        and later ranges must match the first response's ETag (``If-Match``)."""
        from fsspec.asyn import sync

        sync(self.fs.loop, self._ranged_get, source, local_tmp, callback)

    async def _ranged_get(self, source: str, local_tmp: str, callback: Any) -> None:
        bucket, key, _ = self.fs.split_path(source)
        smallest = int(self._store.download_kwargs.get("chunksize") or S3_DOWNLOAD_PART_SIZE)
        workers = max(1, int(self._store.download_kwargs.get("max_concurrency") or 1))
        answer = await self.fs._call_s3("get_object", Bucket=bucket, Key=key)
        body = answer["Body"]
        size = int(answer["ContentLength"])
        # Few large ranges rather than many small ones: every GET has a fixed cost at the
        # store, and a range's size costs no memory here (it is streamed to disk).
        part = max(smallest, -(-size // workers // MiB) * MiB)
        etag = answer.get("ETag")
        if callback is not None:
            callback.set_size(size)
        fd = os.open(local_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            os.ftruncate(fd, size)
            ranges = [(start, min(start + part, size) - 1) for start in range(0, size, part)]
            if not ranges:
                body.close()
                return
            slots = asyncio.Semaphore(workers)

            async def fetch(first: int, last: int, opened: Any = None) -> None:
                async with slots:
                    await self._fetch_range(bucket, key, etag, fd, first, last, opened, callback)

            tasks = [asyncio.ensure_future(fetch(*ranges[0], body))]
            tasks += [asyncio.ensure_future(fetch(first, last)) for first, last in ranges[1:]]
            try:
                await asyncio.gather(*tasks)
            except BaseException:  # the first failure stops the other ranges
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        except BaseException:
            body.close()
            raise
        finally:
            os.close(fd)

    async def _fetch_range(
        self,
        bucket: str,
        key: str,
        etag: str | None,
        fd: int,
        first: int,
        last: int,
        body: Any,
        callback: Any,
    ) -> None:
        """Write bytes ``first``..``last`` at their offsets in ``fd``; ``body`` (if given)
        already streams from ``first``. Resumes a cut-off body up to ``RANGE_ATTEMPTS``."""
        offset = first
        for attempt in range(1, RANGE_ATTEMPTS + 1):
            try:
                if body is None:
                    extra = {"IfMatch": etag} if etag else {}
                    answer = await self.fs._call_s3(
                        "get_object",
                        Bucket=bucket,
                        Key=key,
                        Range=f"bytes={offset}-{last}",
                        **extra,
                    )
                    body = answer["Body"]
                while offset <= last:
                    chunk = await body.read(min(READ_SIZE, last - offset + 1))
                    if not chunk:
                        break
                    os.pwrite(fd, chunk, offset)
                    offset += len(chunk)
                    if callback is not None:
                        callback.relative_update(len(chunk))
            except Exception as exc:
                if attempt == RANGE_ATTEMPTS or not is_transient(exc):
                    raise
            finally:
                if body is not None:
                    body.close()
                body = None
            if offset > last:
                return
        raise EOFError(
            f"s3://{bucket}/{key} ended early: bytes {offset}-{last} never arrived "
            f"after {RANGE_ATTEMPTS} attempts."
        )

    def open_artifact(
        self, path: str, byte_range: tuple[int, int | None] | None = None
    ) -> ArtifactStream:
        """A stored object as a stream, in one GET (a ranged GET after a HEAD for ranges)."""
        from fsspec.asyn import sync

        rel = validate_artifact_path(path)
        if not rel:
            raise _missing(rel, self.artifact_uri)
        bucket, _, key = self._full(rel).partition("/")
        loop = self.fs.loop
        with self._errors("download", rel):
            try:
                if byte_range is None:
                    answer = sync(loop, self.fs._call_s3, "get_object", Bucket=bucket, Key=key)
                    size = int(answer["ContentLength"])
                    first, last = 0, size - 1
                else:
                    head = sync(loop, self.fs._call_s3, "head_object", Bucket=bucket, Key=key)
                    size = int(head["ContentLength"])
                    first, last = _resolve_range(byte_range, size)
                    answer = sync(
                        loop,
                        self.fs._call_s3,
                        "get_object",
                        Bucket=bucket,
                        Key=key,
                        Range=f"bytes={first}-{last}",
                        **({"IfMatch": head["ETag"]} if head.get("ETag") else {}),
                    )
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise _missing(rel, self.artifact_uri) from None
        body = answer["Body"]

        def chunks() -> Iterator[bytes]:
            remaining = last - first + 1
            while remaining > 0:
                data = sync(loop, body.read, min(STREAM_CHUNK, remaining))
                if not data:
                    raise TracklineException(
                        f"{rel!r} ended early: the store closed the connection.",
                        "TEMPORARILY_UNAVAILABLE",
                    )
                remaining -= len(data)
                yield data

        return ArtifactStream(size, first, last, chunks(), body.close)

    # -- presigned downloads -----------------------------------------------------------------

    def get_download_presigned_url(
        self, artifact_path: str, expiration: int = PRESIGNED_DOWNLOAD_TTL
    ) -> dict[str, Any]:
        """``{"url", "headers", "file_size"}``: a presigned GET of one object (MLflow's
        ``MultipartDownloadMixin`` name). The URL names the file as an attachment, so a
        browser opening it saves the file instead of rendering it."""
        from fsspec.asyn import sync

        rel = validate_artifact_path(artifact_path)
        if not rel:
            raise _missing(rel, self.artifact_uri)
        bucket, _, key = self._full(rel).partition("/")
        with self._errors("download", rel):
            try:
                head = self._call("head_object", Bucket=bucket, Key=key)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise _missing(rel, self.artifact_uri) from None
            params = {
                "Bucket": bucket,
                "Key": key,
                "ResponseContentDisposition": _attachment(posixpath.basename(key)),
                **self.fs.s3_additional_kwargs,
            }

            async def sign() -> str:
                client = await self.fs.set_session()
                return await client.generate_presigned_url(
                    "get_object", Params=params, ExpiresIn=int(expiration)
                )

            url = sync(self.fs.loop, sign)
        return {"url": url, "headers": {}, "file_size": int(head["ContentLength"])}

    # -- multipart uploads -------------------------------------------------------------------

    def _key(self, local_file: str, artifact_path: str | None) -> tuple[str, str, str]:
        """(bucket, key, relative path) of the object a multipart upload writes."""
        name = posixpath.basename(local_file.replace("\\", "/"))
        directory = validate_artifact_path(artifact_path)
        rel = validate_artifact_path(posixpath.join(directory, name) if directory else name)
        if not name or not rel:
            raise TracklineException.invalid_parameter_value(
                f"Multipart upload needs a file name, got {local_file!r}."
            )
        bucket, _, key = self._full(rel).partition("/")
        return bucket, key, rel

    def _call(self, method: str, **kwargs: Any) -> Any:
        return self.fs.call_s3(method, **kwargs)

    def create_multipart_upload(
        self, local_file: str, num_parts: int = 1, artifact_path: str | None = None
    ) -> dict[str, Any]:
        """Start a multipart upload of ``basename(local_file)`` into ``artifact_path``.

        Returns ``{"upload_id": …, "credentials": [{"url", "part_number", "headers"}]}``:
        one presigned PUT URL per part, numbered from 1.
        """
        if not 1 <= int(num_parts) <= MAX_PARTS:
            raise TracklineException.invalid_parameter_value(
                f"num_parts must be between 1 and {MAX_PARTS}, got {num_parts}."
            )
        bucket, key, rel = self._key(local_file, artifact_path)
        with self._errors("start a multipart upload of", rel):
            created = self._call("create_multipart_upload", Bucket=bucket, Key=key)
            upload_id = created["UploadId"]
            credentials = [
                {
                    "url": self._presign(bucket, key, upload_id, number),
                    "part_number": number,
                    "headers": {},
                }
                for number in range(1, int(num_parts) + 1)
            ]
        return {"upload_id": upload_id, "credentials": credentials}

    def _presign(self, bucket: str, key: str, upload_id: str, number: int) -> str:
        from fsspec.asyn import sync

        async def sign() -> str:
            client = await self.fs.set_session()
            return await client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
                ExpiresIn=PART_URL_EXPIRY,
            )

        return sync(self.fs.loop, sign)

    def complete_multipart_upload(
        self,
        local_file: str,
        upload_id: str,
        parts: list[dict[str, Any]] | None = None,
        artifact_path: str | None = None,
    ) -> None:
        """Join the uploaded ``parts`` (``{"part_number", "etag"}``) into the object."""
        bucket, key, rel = self._key(local_file, artifact_path)
        if not upload_id:
            raise TracklineException.invalid_parameter_value("upload_id is required.")
        if not parts:
            raise TracklineException.invalid_parameter_value("parts must list the parts.")
        listed = sorted(
            (
                {"PartNumber": int(p["part_number"]), "ETag": str(p.get("etag") or "")}
                for p in parts
            ),
            key=lambda part: part["PartNumber"],
        )
        with self._errors("complete the multipart upload of", rel):
            self._call(
                "complete_multipart_upload",
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
            )
            self.fs.invalidate_cache(f"{bucket}/{key}")

    def abort_multipart_upload(
        self, local_file: str, upload_id: str, artifact_path: str | None = None
    ) -> None:
        """Drop the parts of an unfinished upload; nothing appears under its name."""
        bucket, key, rel = self._key(local_file, artifact_path)
        if not upload_id:
            raise TracklineException.invalid_parameter_value("upload_id is required.")
        with self._errors("abort the multipart upload of", rel):
            self._call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
