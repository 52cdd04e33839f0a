"""Scheme registration, URI parsing, settings from the environment, missing extras, masked
passwords, progress bars and retries: what needs no storage server.

HDFS has no server here (see test_remote_conformance.py); its URI handling, its settings and
the errors a user meets are tested here.
"""

from __future__ import annotations

import io
import sys

import pytest
from trackline.exceptions import TracklineException
from trackline.plugins.manager import get_plugin_manager
from trackline_fsspec import stores, transfer
from trackline_fsspec.plugin import SCHEMES
from trackline_fsspec.repository import FsspecArtifactRepository
from trackline_fsspec.s3 import S3ArtifactRepository
from trackline_fsspec.uris import mask_uri


@pytest.mark.parametrize("scheme", ["file", "s3", "wasbs", "abfss", "gs", "ftp", "sftp", "hdfs"])
def test_every_scheme_is_registered(scheme):
    assert scheme in SCHEMES
    factory = get_plugin_manager().artifact_repository_factory(f"{scheme}://x/y")
    expected = S3ArtifactRepository if scheme == "s3" else FsspecArtifactRepository
    assert factory is expected


def test_only_s3_offers_multipart_uploads():
    assert S3ArtifactRepository.supports_multipart_upload is True
    assert getattr(FsspecArtifactRepository, "supports_multipart_upload", False) is False


# -- missing extras ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "module", "extra"),
    [
        ("s3://bucket/path", "s3fs", "s3"),
        ("gs://bucket/path", "gcsfs", "gcs"),
        ("wasbs://c@acct.blob.core.windows.net/p", "adlfs", "azure"),
        ("abfss://c@acct.dfs.core.windows.net/p", "adlfs", "azure"),
        ("sftp://user@host/path", "sshfs", "sftp"),
        ("hdfs://namenode:8020/path", "pyarrow", "hdfs"),
    ],
)
def test_a_missing_library_names_the_extra(monkeypatch, uri, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # "import module" now fails
    with pytest.raises(TracklineException) as exc_info:
        FsspecArtifactRepository(uri)
    assert f"pip install 'trackline-fsspec[{extra}]'" in exc_info.value.message
    assert module in exc_info.value.message


def test_importing_the_plugin_imports_no_cloud_library():
    import subprocess

    code = (
        "import sys, trackline_fsspec.plugin, trackline_fsspec.repository;"
        "heavy = [m for m in ('s3fs', 'boto3', 'botocore', 'adlfs', 'gcsfs', 'sshfs', "
        "'asyncssh', 'pyarrow') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- URI parsing ------------------------------------------------------------------------------


def test_s3_uri_and_settings(monkeypatch):
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://minio.local:9000")
    monkeypatch.setenv("MLFLOW_S3_IGNORE_TLS", "true")
    monkeypatch.setenv("MLFLOW_S3_UPLOAD_EXTRA_ARGS", '{"ServerSideEncryption": "aws:kms"}')
    monkeypatch.setenv("MLFLOW_S3_EXPECTED_BUCKET_OWNER", "123456789012")
    monkeypatch.setenv("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE", "path")
    monkeypatch.setenv("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", "30")
    store = stores.open_s3("s3://my-bucket/exp/1/a%20b")
    assert store.root == "my-bucket/exp/1/a b"  # percent-decoded, as join_uri encodes it
    assert store.fs.client_kwargs == {"endpoint_url": "http://minio.local:9000", "verify": False}
    assert store.fs.config_kwargs["s3"] == {"addressing_style": "path"}
    assert store.fs.config_kwargs["read_timeout"] == 30.0
    assert store.fs.s3_additional_kwargs == {"ExpectedBucketOwner": "123456789012"}
    assert store.upload_kwargs["ServerSideEncryption"] == "aws:kms"


def test_s3_bad_upload_extra_args(monkeypatch):
    monkeypatch.setenv("MLFLOW_S3_UPLOAD_EXTRA_ARGS", "{not json")
    with pytest.raises(TracklineException) as exc_info:
        stores.open_s3("s3://b/p")
    assert "MLFLOW_S3_UPLOAD_EXTRA_ARGS" in exc_info.value.message


def test_azure_uri_and_credentials(monkeypatch):
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.setenv("AZURE_STORAGE_ACCESS_KEY", "a2V5")
    store = stores.open_azure("wasbs://models@myaccount.blob.core.windows.net/runs/1")
    assert store.root == "models/runs/1"
    assert store.fs.account_name == "myaccount"
    assert store.fs.account_key == "a2V5"


def test_gcs_uri(monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1")
    store = stores.open_gcs("gs://bucket/exp/1")
    assert store.root == "bucket/exp/1"
    assert store.scheme == "gs"
    # An emulator serves only the JSON API: not the file system that first asks Google's
    # gRPC control API for the bucket type.
    assert type(store.fs).__module__ == "gcsfs.core"


def test_hdfs_without_a_name_node_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MLFLOW_KERBEROS_USER", "alice")
    with pytest.raises(TracklineException) as exc_info:
        FsspecArtifactRepository("hdfs://127.0.0.1:1/user/alice/artifacts")
    assert "hdfs://127.0.0.1:1/user/alice/artifacts" in exc_info.value.message
    assert exc_info.value.error_code == "TEMPORARILY_UNAVAILABLE"


@pytest.mark.parametrize(
    "uri",
    [
        "s3:///no-bucket",
        "gs://",
        "wasbs://host-without-container.blob.core.windows.net/p",
        "ftp:///path-without-host",
        "sftp:///path-without-host",
        "s3://bucket/a/../../escape",
        "s3://bucket/p?versionId=1",
        "ftp://user:pw@host:notaport/p",
    ],
)
def test_malformed_uris_are_refused(uri):
    with pytest.raises(TracklineException) as exc_info:
        FsspecArtifactRepository(uri)
    assert exc_info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "pw" not in exc_info.value.message


# -- masking, progress, retries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("ftp://bob:secret@host/x", "ftp://bob:***@host/x"),
        ("sftp://bob:p@ss@host:22/x", "sftp://bob:***@host:22/x"),
        ("failed on ftp://u:pw@h/a and s3://b/k", "failed on ftp://u:***@h/a and s3://b/k"),
        ("sftp://bob@host/x", "sftp://bob@host/x"),
    ],
)
def test_passwords_are_masked(text, masked):
    assert mask_uri(text) == masked


def test_progress_bar_only_on_a_terminal_and_above_the_threshold(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TRACKLINE_PROGRESS_MIN_BYTES", "1000")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert transfer.Progress(10_000, "x")._bar is None  # not a terminal
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert transfer.Progress(999, "x")._bar is None  # below the threshold
    with transfer.Progress(10_000, "Uploading model.bin") as progress:
        assert progress._bar is not None
        callback = progress.callback()
        callback.relative_update(4000)
        callback.relative_update(6000)
        assert progress._bar.n == 10_000
    assert "Uploading model.bin" in terminal.getvalue()


def test_transient_errors_are_retried_then_reported():
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("connection reset by peer")
        return "done"

    reconnects = []
    assert transfer.retrying(flaky, lambda: reconnects.append(1)) == "done"
    assert len(calls) == 3 and len(reconnects) == 2

    def denied() -> None:
        calls.append(1)
        raise PermissionError("403")

    calls.clear()
    with pytest.raises(PermissionError):
        transfer.retrying(denied)
    assert len(calls) == 1  # a permission error is not retried


def test_stored_md5_of_each_store():
    import base64
    import hashlib

    digest = hashlib.md5(b"x").digest()
    assert transfer.stored_md5({"ETag": f'"{digest.hex()}"'}) == digest
    assert transfer.stored_md5({"ETag": '"abc-3"'}) is None  # multipart: not an MD5
    assert transfer.stored_md5({"md5Hash": base64.b64encode(digest).decode()}) == digest
    assert transfer.stored_md5({"content_settings": {"content_md5": bytearray(digest)}}) == digest
    assert transfer.stored_md5({}) is None
