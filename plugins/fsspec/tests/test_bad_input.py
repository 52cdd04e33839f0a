"""Bad input against real servers: wrong credentials, a missing bucket, no permission, a
connection that breaks mid-transfer. Each gives a clear error naming the artifact URI with
its password masked, and leaves nothing under the final name."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from trackline.artifacts import get_artifact_repository
from trackline.exceptions import TracklineException
from trackline_fsspec import testing


def _env(monkeypatch, server) -> None:
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights" * 1000)
    return path


# -- S3 ---------------------------------------------------------------------------------------


@pytest.fixture
def bucket(s3_server, monkeypatch) -> str:
    _env(monkeypatch, s3_server)
    import s3fs

    name = f"bucket-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server.endpoint}).mkdir(name)
    return name


def test_s3_missing_bucket_is_a_clear_error_and_is_not_created(s3_server, monkeypatch, payload):
    _env(monkeypatch, s3_server)
    uri = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/runs/1"
    repo = get_artifact_repository(uri)
    with pytest.raises(TracklineException) as upload_error:
        repo.log_artifact(str(payload))
    assert upload_error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert uri in upload_error.value.message and "model.bin" in upload_error.value.message
    with pytest.raises(TracklineException) as list_error:
        repo.list_artifacts()
    assert list_error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "does not exist" in list_error.value.message
    import s3fs

    bucket_name = uri.split("/")[2]
    assert not s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server.endpoint}).exists(
        bucket_name
    )


def test_s3_broken_connection_mid_upload_leaves_nothing(
    s3_server, bucket, tmp_path: Path, monkeypatch
):
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x01" * (20 * 1024 * 1024))
    with testing.cutting_proxy(s3_server.port, cut_after=2 * 1024 * 1024) as port:
        monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        repo = get_artifact_repository(f"s3://{bucket}/runs/1")
        with pytest.raises(TracklineException) as exc_info:
            repo.log_artifact(str(big), "models")
    message = exc_info.value.message
    assert f"s3://{bucket}/runs/1" in message and "models/big.bin" in message
    # Seen directly: no object under the name, and no unfinished upload keeping parts.
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_server.endpoint)
    direct = get_artifact_repository(f"s3://{bucket}/runs/1")
    assert direct.list_artifacts("models") == []
    pending = direct.fs.call_s3("list_multipart_uploads", Bucket=bucket)
    assert pending.get("Uploads", []) == []


def test_s3_download_of_a_missing_file_names_it(bucket, tmp_path: Path):
    repo = get_artifact_repository(f"s3://{bucket}/runs/1")
    with pytest.raises(TracklineException) as exc_info:
        repo.download_artifacts("nothing/here.txt", str(tmp_path))
    assert exc_info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "nothing/here.txt" in exc_info.value.message
    assert list(tmp_path.iterdir()) == []


# -- Azure ------------------------------------------------------------------------------------


def test_azure_bad_key_is_permission_denied(azure_server, monkeypatch, payload):
    import adlfs

    container = f"c-{uuid.uuid4().hex[:12]}"
    connection = azure_server.env["AZURE_STORAGE_CONNECTION_STRING"]
    adlfs.AzureBlobFileSystem(connection_string=connection).mkdir(container)
    wrong = connection.replace(testing.AZURITE_KEY, "d3Jvbmcga2V5" * 8)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", wrong)
    uri = f"wasbs://{container}@devstoreaccount1.blob.core.windows.net/runs/1"
    repo = get_artifact_repository(uri)
    with pytest.raises(TracklineException) as exc_info:
        repo.log_artifact(str(payload))
    assert exc_info.value.error_code == "PERMISSION_DENIED", exc_info.value.message
    assert uri in exc_info.value.message
    assert adlfs.AzureBlobFileSystem(connection_string=connection).ls(container) == []


# -- FTP --------------------------------------------------------------------------------------


def _ftp_uri(server, password: str | None = None, path: str = "runs") -> str:
    secret = quote(password if password is not None else server.password, safe="")
    return f"ftp://{server.username}:{secret}@{server.endpoint}/{path}"


def test_ftp_wrong_password_is_masked_in_the_error(ftp_server):
    uri = _ftp_uri(ftp_server, password="not-the-password")
    with pytest.raises(TracklineException) as exc_info:
        get_artifact_repository(uri)
    message = exc_info.value.message
    assert "not-the-password" not in message
    assert f"ftp://{ftp_server.username}:***@{ftp_server.endpoint}/runs" in message


def test_ftp_read_only_server_refuses_and_leaves_nothing(tmp_path: Path, payload):
    root = tmp_path / "ftp"
    root.mkdir()
    (root / "runs").mkdir()
    with testing.ftp_server(root, writable=False) as server:
        repo = get_artifact_repository(_ftp_uri(server))
        with pytest.raises(TracklineException) as exc_info:
            repo.log_artifact(str(payload))
        assert exc_info.value.error_code in ("PERMISSION_DENIED", "INTERNAL_ERROR")
        assert "***" in exc_info.value.message and server.password not in exc_info.value.message
    assert list((root / "runs").iterdir()) == []


# -- SFTP -------------------------------------------------------------------------------------


def test_sftp_wrong_password(sftp_server, monkeypatch):
    _env(monkeypatch, sftp_server)
    uri = f"sftp://{sftp_server.username}:wrong@{sftp_server.endpoint}/runs"
    with pytest.raises(TracklineException) as exc_info:
        get_artifact_repository(uri)
    assert "wrong" not in exc_info.value.message
    assert f"sftp://{sftp_server.username}:***@" in exc_info.value.message


def test_sftp_unknown_host_key_is_refused(sftp_server, monkeypatch, tmp_path: Path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    monkeypatch.setenv("TRACKLINE_SFTP_KNOWN_HOSTS", str(empty))
    password = quote(sftp_server.password, safe="")
    with pytest.raises(TracklineException) as exc_info:
        get_artifact_repository(
            f"sftp://{sftp_server.username}:{password}@{sftp_server.endpoint}/x"
        )
    assert sftp_server.password not in exc_info.value.message
