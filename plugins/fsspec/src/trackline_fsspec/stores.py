"""From an artifact URI to an fsspec file system, one function per storage scheme.

Each ``open_<scheme>`` parses its URI, imports the scheme's library (a missing one is an
error naming the extra to install), reads the credentials and settings MLflow's users set
in the environment, and returns a ``Store``: the file system, the root path on it, and how
transfers behave there.

| scheme | library (extra) | credentials and settings |
|---|---|---|
| ``s3`` | s3fs (``[s3]``) | AWS chain (``AWS_*``, profiles, instance roles); ``MLFLOW_S3_ENDPOINT_URL``, ``MLFLOW_S3_IGNORE_TLS``, ``MLFLOW_S3_UPLOAD_EXTRA_ARGS``, ``MLFLOW_S3_EXPECTED_BUCKET_OWNER``, ``MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE`` |
| ``wasbs``, ``abfss`` | adlfs (``[azure]``) | ``AZURE_STORAGE_CONNECTION_STRING``, ``AZURE_STORAGE_ACCESS_KEY``, else Azure's default credential chain |
| ``gs`` | gcsfs (``[gcs]``) | Google's default credentials; ``STORAGE_EMULATOR_HOST`` |
| ``ftp`` | fsspec (built in) | user and password in the URI |
| ``sftp`` | sshfs (``[sftp]``) | user (and password) in the URI, else keys and agent; ``~/.ssh/known_hosts`` |
| ``hdfs``, ``viewfs`` | pyarrow (``[hdfs]``) | ``MLFLOW_KERBEROS_TICKET_CACHE``, ``MLFLOW_KERBEROS_USER`` |

``MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT`` (seconds) bounds each network operation on every
scheme that has a timeout setting.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from trackline.exceptions import TracklineException
from trackline.tracking.uri import env

from trackline_fsspec.uris import mask_uri

# Parts of a multipart upload: S3 accepts 5 MiB to 5 GiB per part. 8 MiB parts, four in
# flight, bound the memory of one upload to ~32 MiB whatever the file size.
S3_PART_SIZE = 8 * 1024 * 1024
S3_PART_CONCURRENCY = 4
# Large downloads read ranges of 64 MiB, eight at a time, each streamed straight to its
# place in the file (1 MiB reads): memory stays near 8 MiB per file whatever the range size,
# unlike s3fs's get_file, which holds whole ranges (50 MiB x 10) in memory.
S3_DOWNLOAD_PART_SIZE = 64 * 1024 * 1024
S3_DOWNLOAD_CONCURRENCY = 8


@dataclass
class Store:
    """An opened artifact location."""

    fs: Any  # fsspec.AbstractFileSystem
    root: str  # the root path on ``fs``, without a trailing slash
    scheme: str
    # Where a file is visible while it is written (file systems with folders: local, FTP,
    # SFTP, HDFS), uploads go to a hidden sibling that is renamed into place at the end.
    # Object stores publish an object only once its upload completes.
    publish_by_rename: bool = False
    # Parallel transfers of many files; 1 where the client holds a single connection.
    max_workers: int = 8
    # Extra keyword arguments of every upload (``put_file``) and download (``get_file``).
    upload_kwargs: dict[str, Any] = field(default_factory=dict)
    download_kwargs: dict[str, Any] = field(default_factory=dict)
    # Makes a fresh file system after a broken connection (``None``: retry on the same).
    reconnect: Callable[[], Any] | None = None
    # The client is not thread-safe: each thread uses its own (made by ``reconnect``).
    per_thread: bool = False


def require(module: str, extra: str) -> Any:
    """Import ``module`` or say which extra of trackline-fsspec brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise TracklineException(
            f"Artifact locations of this kind need the {module!r} package, which is not "
            f"installed: pip install 'trackline-fsspec[{extra}]'",
            "NOT_IMPLEMENTED",
        ) from exc


def timeout() -> float | None:
    raw = env("ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise TracklineException.invalid_parameter_value(
            f"MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT must be a number of seconds, not {raw!r}."
        ) from None
    return value if value > 0 else None


def _truthy(name: str) -> bool:
    return (env(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _invalid(uri: str, why: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(
        f"Invalid artifact location {mask_uri(uri)!r}: {why}."
    )


def _path(uri: str, parts: Any) -> str:
    """The decoded path of a URI, without leading or trailing slashes.

    Paths are percent-decoded, as ``trackline.artifacts.join_uri`` encodes them: a key with
    a space is written ``a%20b`` in the URI.
    """
    if parts.query or parts.fragment:
        raise _invalid(uri, "artifact URIs take no query or fragment")
    path = unquote(parts.path)
    if "\x00" in path or any(part == ".." for part in path.split("/")):
        raise _invalid(uri, "the path may not contain '..' or NUL")
    return path.strip("/")


# -- S3 ---------------------------------------------------------------------------------------


def open_s3(uri: str) -> Store:
    parts = urlsplit(uri)
    bucket = parts.netloc
    if not bucket or "@" in bucket:
        raise _invalid(uri, "an S3 URI looks like s3://<bucket>/<path>")
    key = _path(uri, parts)
    s3fs = require("s3fs", "s3")

    client_kwargs: dict[str, Any] = {}
    endpoint = env("S3_ENDPOINT_URL")
    if endpoint:
        client_kwargs["endpoint_url"] = endpoint
    if _truthy("S3_IGNORE_TLS"):
        client_kwargs["verify"] = False
    # botocore's own retries cover throttling and dropped connections ("standard" mode).
    config_kwargs: dict[str, Any] = {"retries": {"max_attempts": 5, "mode": "standard"}}
    style = env("BOTO_CLIENT_ADDRESSING_STYLE")
    if style:
        config_kwargs["s3"] = {"addressing_style": style}
    seconds = timeout()
    if seconds:
        config_kwargs.update(connect_timeout=seconds, read_timeout=seconds)
    upload_kwargs: dict[str, Any] = {"chunksize": S3_PART_SIZE}
    extra = env("S3_UPLOAD_EXTRA_ARGS")
    if extra:
        try:
            upload_kwargs.update(json.loads(extra))
        except (ValueError, TypeError):
            raise TracklineException.invalid_parameter_value(
                "MLFLOW_S3_UPLOAD_EXTRA_ARGS must be a JSON object, e.g. "
                '\'{"ServerSideEncryption": "aws:kms"}\'.'
            ) from None
    additional: dict[str, Any] = {}
    owner = env("S3_EXPECTED_BUCKET_OWNER")
    if owner:
        additional["ExpectedBucketOwner"] = owner

    def make() -> Any:
        return s3fs.S3FileSystem(
            client_kwargs=client_kwargs,
            config_kwargs=config_kwargs,
            s3_additional_kwargs=additional,
            max_concurrency=S3_PART_CONCURRENCY,
            # Other processes (server workers, clients) write the same bucket: never answer
            # a listing from a cache.
            use_listings_cache=False,
        )

    root = f"{bucket}/{key}" if key else bucket
    # HTTP clients reconnect by themselves: no reconnect hook.
    return Store(
        make(),
        root,
        "s3",
        upload_kwargs=upload_kwargs,
        download_kwargs={
            "chunksize": S3_DOWNLOAD_PART_SIZE,
            "max_concurrency": S3_DOWNLOAD_CONCURRENCY,
        },
        max_workers=16,
    )


# -- Azure ------------------------------------------------------------------------------------


def open_azure(uri: str) -> Store:
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    container, at, host = parts.netloc.rpartition("@")
    if not at or not container or "." not in host:
        raise _invalid(
            uri,
            f"an Azure URI looks like {scheme}://<container>@<account>."
            f"{'dfs' if scheme == 'abfss' else 'blob'}.core.windows.net/<path>",
        )
    account = host.split(".", 1)[0]
    key = _path(uri, parts)
    adlfs = require("adlfs", "azure")
    options: dict[str, Any] = {"account_name": account}
    connection_string = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    access_key = os.environ.get("AZURE_STORAGE_ACCESS_KEY")
    if connection_string:
        options["connection_string"] = connection_string
    elif access_key:
        options["account_key"] = access_key
    else:
        options["anon"] = False  # Azure's default credential chain (azure-identity)
    seconds = timeout()
    if seconds:
        options["timeout"] = seconds

    def make() -> Any:
        return adlfs.AzureBlobFileSystem(**options, use_listings_cache=False)

    root = f"{container}/{key}" if key else container
    return Store(make(), root, scheme)


# -- Google Cloud Storage ---------------------------------------------------------------------


def open_gcs(uri: str) -> Store:
    parts = urlsplit(uri)
    bucket = parts.netloc
    if not bucket or "@" in bucket:
        raise _invalid(uri, "a GCS URI looks like gs://<bucket>/<path>")
    key = _path(uri, parts)
    gcsfs = require("gcsfs", "gcs")
    filesystem_class = gcsfs.GCSFileSystem
    options: dict[str, Any] = {}
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        options["token"] = "anon"  # an emulator takes no credentials
        # Recent gcsfs first asks Google's gRPC control API for the bucket type, which an
        # emulator does not serve (a minute of TLS retries per bucket); the JSON API suffices.
        from gcsfs.core import GCSFileSystem as filesystem_class
    seconds = timeout()
    if seconds:
        options["timeout"] = seconds

    def make() -> Any:
        return filesystem_class(**options, use_listings_cache=False)

    root = f"{bucket}/{key}" if key else bucket
    return Store(make(), root, "gs")


# -- FTP --------------------------------------------------------------------------------------


def open_ftp(uri: str) -> Store:
    parts = urlsplit(uri)
    if not parts.hostname:
        raise _invalid(uri, "an FTP URI looks like ftp://<user>:<password>@<host>[:port]/<path>")
    from fsspec.implementations.ftp import FTPFileSystem

    try:
        port = parts.port or 21
    except ValueError:
        raise _invalid(uri, "the port is not a number") from None
    options: dict[str, Any] = {
        "host": parts.hostname,
        "port": port,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }
    seconds = timeout()
    if seconds:
        options["timeout"] = seconds

    def make() -> Any:
        return FTPFileSystem(**options, use_listings_cache=False, skip_instance_cache=True)

    root = "/" + _path(uri, parts)
    # One FTP connection carries one transfer at a time: each thread gets its own.
    store = Store(_connect(make, uri), root.rstrip("/") or "/", "ftp", True, 4, reconnect=make)
    store.per_thread = True
    return store


# -- SFTP -------------------------------------------------------------------------------------


def open_sftp(uri: str) -> Store:
    parts = urlsplit(uri)
    if not parts.hostname:
        raise _invalid(
            uri, "an SFTP URI looks like sftp://<user>[:<password>]@<host>[:port]/<path>"
        )
    try:
        port = parts.port or 22
    except ValueError:
        raise _invalid(uri, "the port is not a number") from None
    sshfs = require("sshfs", "sftp")
    options: dict[str, Any] = {"port": port}
    if parts.username:
        options["username"] = unquote(parts.username)
    if parts.password:
        options["password"] = unquote(parts.password)
    known_hosts = env("SFTP_KNOWN_HOSTS")
    if known_hosts:
        # A file of trusted host keys other than ~/.ssh/known_hosts (asyncssh's default).
        options["known_hosts"] = os.path.expanduser(known_hosts)
    seconds = timeout()
    if seconds:
        options["connect_timeout"] = seconds
    host = parts.hostname

    def make() -> Any:
        return sshfs.SSHFileSystem(host, **options, skip_instance_cache=True)

    root = "/" + _path(uri, parts)
    return Store(_connect(make, uri), root.rstrip("/") or "/", "sftp", True, 4, reconnect=make)


# -- HDFS -------------------------------------------------------------------------------------


def open_hdfs(uri: str) -> Store:
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    key = _path(uri, parts)
    require("pyarrow", "hdfs")
    from fsspec.implementations.arrow import HadoopFileSystem

    try:
        port = parts.port or 0
    except ValueError:
        raise _invalid(uri, "the port is not a number") from None
    # No host: pyarrow takes the name node from the Hadoop configuration ("default").
    host = f"{scheme}://{parts.hostname}" if parts.hostname else "default"
    options: dict[str, Any] = {"host": host, "port": port}
    user = env("KERBEROS_USER")
    ticket = env("KERBEROS_TICKET_CACHE")
    if user:
        options["user"] = user
    if ticket:
        options["kerb_ticket"] = ticket

    def make() -> Any:
        return HadoopFileSystem(**options, skip_instance_cache=True)

    return Store(_connect(make, uri), "/" + key, scheme, True, 4, reconnect=make)


def _connect(make: Callable[[], Any], uri: str) -> Any:
    """Open a file system that connects when created, with a clear error if it cannot."""
    try:
        return make()
    except TracklineException:
        raise
    except Exception as exc:
        raise TracklineException(
            f"Cannot connect to the artifact location {mask_uri(uri)!r}: "
            f"{type(exc).__name__}: {mask_uri(str(exc))}",
            "TEMPORARILY_UNAVAILABLE",
        ) from exc


OPENERS: dict[str, Callable[[str], Store]] = {
    "s3": open_s3,
    "wasbs": open_azure,
    "abfss": open_azure,
    "gs": open_gcs,
    "ftp": open_ftp,
    "sftp": open_sftp,
    "hdfs": open_hdfs,
    "viewfs": open_hdfs,
}
