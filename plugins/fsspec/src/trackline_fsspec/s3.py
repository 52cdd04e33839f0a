"""The S3 repository: the generic fsspec repository plus multipart uploads by presigned URL.

The tracking server's proxied artifact API lets a client upload a large file in parts
straight to the bucket (``/api/2.0/mlflow-artifacts/mpu/create|complete|abort``): the server
starts an S3 multipart upload, hands out one presigned ``UploadPart`` URL per part, and the
client PUTs each part there, then asks the server to complete (or abort) the upload. The
three methods below are that server side; the server finds them by name (they are MLflow's
``MultipartUploadMixin`` names), so any repository offering them gets multipart uploads.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import posixpath
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from trackline.exceptions import TracklineException
from trackline.store.artifacts import validate_artifact_path

from trackline_fsspec.repository import FsspecArtifactRepository
from trackline_fsspec.stores import S3_PART_SIZE

# Below this a file goes up in one PUT (as s3fs's put_file does below two parts).
SINGLE_PUT_LIMIT = 2 * S3_PART_SIZE
# S3's limits on one multipart upload.
MAX_PARTS = 10_000
# How long a presigned part URL stays valid (seconds): long enough for a slow 5 GiB part.
PART_URL_EXPIRY = 24 * 3600


class S3ArtifactRepository(FsspecArtifactRepository):
    """Artifacts under ``s3://<bucket>/<path>`` (AWS or any S3-compatible endpoint)."""

    supports_multipart_upload = True

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
        digest = hashlib.md5(data, usedforsecurity=False).digest()
        bucket, _, key = target.partition("/")
        extra = {k: v for k, v in self._store.upload_kwargs.items() if k != "chunksize"}
        content_type = mimetypes.guess_type(local_file)[0]
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
