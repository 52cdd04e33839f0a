"""What every transfer shares: progress bars, retries of transient errors, error messages,
and checksums of uploaded files.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fsspec.callbacks import Callback, NoOpCallback
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.tracking.uri import env

from trackline_fsspec.uris import mask_uri

T = TypeVar("T")

# Transfers of at least this many bytes show a progress bar (on a terminal only).
DEFAULT_PROGRESS_MIN_BYTES = 100 * 1024 * 1024
RETRY_ATTEMPTS = 3
_CHUNK = 1024 * 1024

# -- progress ---------------------------------------------------------------------------------


def progress_min_bytes() -> int:
    raw = env("PROGRESS_MIN_BYTES")  # TRACKLINE_PROGRESS_MIN_BYTES
    try:
        return int(raw) if raw is not None else DEFAULT_PROGRESS_MIN_BYTES
    except ValueError:
        return DEFAULT_PROGRESS_MIN_BYTES


def _on_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class _BarCallback(Callback):
    """An fsspec callback that moves a shared tqdm bar by the bytes each transfer reports.

    One bar serves many files copied in parallel; each file's own size announcements
    (``set_size``) are ignored, only the increments count.
    """

    def __init__(self, bar: Any) -> None:
        super().__init__()
        self._bar = bar
        self._seen = 0

    def set_size(self, size: int | None) -> None:
        self.size = size

    def absolute_update(self, value: int) -> None:
        self.relative_update(value - self._seen)

    def relative_update(self, inc: int = 1) -> None:
        self._seen += inc
        self._bar.update(inc)

    def child(self) -> _BarCallback:
        return _BarCallback(self._bar)


class Progress:
    """Bytes moved by one operation; a tqdm bar when it is big enough and on a terminal."""

    def __init__(self, total: int, description: str) -> None:
        self._bar = None
        if total >= progress_min_bytes() and _on_terminal():
            try:
                from tqdm.auto import tqdm
            except ImportError:  # progress bars are a nicety, not a dependency to fail on
                return
            self._bar = tqdm(
                total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024
            )

    def callback(self) -> Callback:
        return _BarCallback(self._bar) if self._bar is not None else NoOpCallback()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- retries ----------------------------------------------------------------------------------

# Errors that say nothing about the request itself: the connection, not the data, failed.
_TRANSIENT_NAMES = frozenset(
    {
        "ConnectionLost",  # asyncssh
        "ChannelOpenError",  # asyncssh
        "error_temp",  # ftplib 4xx replies
        "ServerDisconnectedError",  # aiohttp
        "ClientConnectionError",  # aiohttp
        "ClientPayloadError",  # aiohttp
        "EndpointConnectionError",  # botocore
        "ConnectTimeoutError",  # botocore
        "ReadTimeoutError",  # botocore
        "ServiceRequestError",  # azure-core
        "ServiceResponseError",  # azure-core
    }
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError, EOFError)):
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def retrying(
    operation: Callable[[], T],
    on_retry: Callable[[], None] | None = None,
    attempts: int = RETRY_ATTEMPTS,
) -> T:
    """Run ``operation``; on a transient error, reconnect (``on_retry``) and run it again.

    Backs off 0.5 s, 1 s, … between attempts. The operation must be safe to repeat: every
    transfer here writes a whole file (or a temporary one) from its start.
    """
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            time.sleep(0.5 * 2 ** (attempt - 1))
            if on_retry is not None:
                on_retry()
    raise AssertionError("unreachable")


# -- errors -----------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    # The first line is the gist; Azure appends a whole XML error document.
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0][:300]
    return mask_uri(text)


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status a cloud SDK error carries (azure-core, google-api-core)."""
    for name in ("status_code", "code"):
        value = getattr(exc, name, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    return None


@contextmanager
def translated_errors(action: str, path: str, uri: str) -> Iterator[None]:
    """Library errors → ``TracklineException`` naming the operation and the masked URI."""
    try:
        yield
    except TracklineException:
        raise
    except FileNotFoundError as exc:
        if action == "download":
            raise TracklineException(
                f"No artifact at {path!r} under {mask_uri(uri)!r}.", RESOURCE_DOES_NOT_EXIST
            ) from exc
        raise TracklineException(
            f"Cannot {action} {path!r} at {mask_uri(uri)!r}: the location does not exist "
            f"({_reason(exc)}).",
            RESOURCE_DOES_NOT_EXIST,
        ) from exc
    except PermissionError as exc:
        raise TracklineException(
            f"Permission denied: cannot {action} {path!r} at {mask_uri(uri)!r} "
            f"({_reason(exc)}). Check the credentials and the permissions of the location.",
            "PERMISSION_DENIED",
        ) from exc
    except Exception as exc:
        status = _http_status(exc)
        if status in (401, 403):
            raise TracklineException(
                f"Permission denied: cannot {action} {path!r} at {mask_uri(uri)!r} "
                f"({_reason(exc)}). Check the credentials and the permissions of the location.",
                "PERMISSION_DENIED",
            ) from exc
        code = "TEMPORARILY_UNAVAILABLE" if is_transient(exc) else "INTERNAL_ERROR"
        raise TracklineException(
            f"Cannot {action} {path!r} at {mask_uri(uri)!r}: {type(exc).__name__}: {_reason(exc)}",
            code,
        ) from exc


# -- integrity --------------------------------------------------------------------------------


def file_md5(path: str) -> bytes:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.digest()


def stored_md5(info: dict[str, Any]) -> bytes | None:
    """The MD5 a store reports for an object, where it reports one; else ``None``.

    S3's ETag is the MD5 of the content for single-part uploads (a multipart ETag has a
    ``-<parts>`` suffix and is not); GCS gives ``md5Hash`` (base64); Azure gives
    ``content_settings.content_md5`` when the uploader set it.
    """
    etag = info.get("ETag") or info.get("etag")
    if isinstance(etag, str):
        etag = etag.strip('"')
        if len(etag) == 32 and "-" not in etag:
            try:
                return bytes.fromhex(etag)
            except ValueError:
                return None
    md5_b64 = info.get("md5Hash")
    if isinstance(md5_b64, str):
        try:
            return base64.b64decode(md5_b64)
        except ValueError:
            return None
    settings = info.get("content_settings")
    md5 = getattr(settings, "content_md5", None) if settings is not None else None
    if md5 is None and isinstance(settings, dict):
        md5 = settings.get("content_md5")
    if md5:
        return bytes(md5)
    return None
