"""The core's artifact-repository contract against a real server of each protocol.

Every class starts from a fresh root (a new bucket, container or folder) on a server
started for the session on loopback (see ``conftest.py``): moto's S3 server, Azurite,
gcp-storage-emulator (GCS's JSON API), pyftpdlib and an asyncssh SFTP server. No HDFS
server runs here (it needs a JVM and a name node): ``test_stores.py`` tests what can be
tested of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from trackline.artifacts import get_artifact_repository
from trackline.testing.artifacts import ArtifactRepositoryContract
from trackline_fsspec.repository import FsspecArtifactRepository
from trackline_fsspec.s3 import S3ArtifactRepository

# A root with a space, a non-ASCII letter and glob characters, percent-encoded in the URI
# as trackline.artifacts.join_uri writes it: the repository must decode it and take it
# literally.
ROOT = quote("art [1] é")
# The most Python memory (tracemalloc) a 20 MiB round trip may take on a remote store:
# four 8 MiB parts in flight (S3), each held twice while read; independent of the file size.
REMOTE_PEAK_MEMORY = 80 * 1024 * 1024


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class TestS3(ArtifactRepositoryContract):
    large_file_peak_memory = REMOTE_PEAK_MEMORY

    @pytest.fixture
    def bucket(self, s3_server, monkeypatch) -> str:
        for key, value in s3_server.env.items():
            monkeypatch.setenv(key, value)
        import s3fs

        name = _unique("bucket")
        s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server.endpoint}).mkdir(name)
        return name

    @pytest.fixture
    def repo(self, bucket) -> Iterator[S3ArtifactRepository]:
        repo = get_artifact_repository(f"s3://{bucket}/{ROOT}")
        assert isinstance(repo, S3ArtifactRepository)
        yield repo

    @pytest.fixture
    def repo_factory(self):
        return get_artifact_repository


class TestAzureBlob(ArtifactRepositoryContract):
    large_file_peak_memory = REMOTE_PEAK_MEMORY

    @pytest.fixture
    def container(self, azure_server, monkeypatch) -> str:
        for key, value in azure_server.env.items():
            monkeypatch.setenv(key, value)
        import adlfs

        name = _unique("container")
        adlfs.AzureBlobFileSystem(
            connection_string=azure_server.env["AZURE_STORAGE_CONNECTION_STRING"]
        ).mkdir(name)
        return name

    @pytest.fixture(params=["wasbs", "abfss"])
    def repo(self, request, container) -> Iterator[FsspecArtifactRepository]:
        kind = "dfs" if request.param == "abfss" else "blob"
        uri = f"{request.param}://{container}@devstoreaccount1.{kind}.core.windows.net/{ROOT}"
        yield get_artifact_repository(uri)

    @pytest.fixture
    def repo_factory(self):
        return get_artifact_repository


class TestGcs(ArtifactRepositoryContract):
    large_file_peak_memory = REMOTE_PEAK_MEMORY

    @pytest.fixture
    def bucket(self, gcs_server, monkeypatch) -> str:
        for key, value in gcs_server.env.items():
            monkeypatch.setenv(key, value)
        from gcsfs.core import GCSFileSystem

        name = _unique("bucket")
        GCSFileSystem(token="anon", skip_instance_cache=True).mkdir(name)
        return name

    @pytest.fixture
    def repo(self, bucket) -> Iterator[FsspecArtifactRepository]:
        yield get_artifact_repository(f"gs://{bucket}/{ROOT}")

    @pytest.fixture
    def repo_factory(self):
        return get_artifact_repository


class TestFtp(ArtifactRepositoryContract):
    @pytest.fixture
    def repo(self, ftp_server) -> Iterator[FsspecArtifactRepository]:
        user, password = quote(ftp_server.username, safe=""), quote(ftp_server.password, safe="")
        uri = f"ftp://{user}:{password}@{ftp_server.endpoint}/{_unique('run')}/{ROOT}"
        yield get_artifact_repository(uri)

    @pytest.fixture
    def repo_factory(self):
        return get_artifact_repository


class TestSftp(ArtifactRepositoryContract):
    # asyncssh keeps up to 128 requests of 64 KiB in flight per file.
    large_file_peak_memory = 16 * 1024 * 1024

    @pytest.fixture
    def repo(self, sftp_server, monkeypatch) -> Iterator[FsspecArtifactRepository]:
        for key, value in sftp_server.env.items():
            monkeypatch.setenv(key, value)
        user, password = quote(sftp_server.username, safe=""), quote(sftp_server.password, safe="")
        uri = f"sftp://{user}:{password}@{sftp_server.endpoint}/{_unique('run')}/{ROOT}"
        yield get_artifact_repository(uri)

    @pytest.fixture
    def repo_factory(self):
        return get_artifact_repository
