"""The core's artifact-repository contract, run on every kind of root this plugin serves."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import fsspec
import pytest
from trackline.testing.artifacts import ArtifactRepositoryContract
from trackline_fsspec.repository import FsspecArtifactRepository

# Root folder names with a space, a non-ASCII letter and glob characters: the repository
# must take its root literally.
ROOT_NAME = "art [1] é"


class TestPlainAbsolutePath(ArtifactRepositoryContract):
    @pytest.fixture
    def repo(self, tmp_path: Path) -> Iterator[FsspecArtifactRepository]:
        yield FsspecArtifactRepository(str(tmp_path / ROOT_NAME))

    @pytest.fixture
    def repo_factory(self):
        return FsspecArtifactRepository


class TestFileUri(ArtifactRepositoryContract):
    """``file:///…`` roots, percent-encoded as URIs are (the space becomes %20)."""

    @pytest.fixture
    def repo(self, tmp_path: Path) -> Iterator[FsspecArtifactRepository]:
        uri = (tmp_path / ROOT_NAME).as_uri()
        assert uri.startswith("file:///") and "%20" in uri
        yield FsspecArtifactRepository(uri)

    @pytest.fixture
    def repo_factory(self):
        return FsspecArtifactRepository


class TestRelativePath(ArtifactRepositoryContract):
    """Relative roots, resolved against the working directory."""

    @pytest.fixture
    def repo(self, tmp_path: Path, monkeypatch) -> Iterator[FsspecArtifactRepository]:
        (tmp_path / "cwd").mkdir()
        monkeypatch.chdir(tmp_path / "cwd")
        yield FsspecArtifactRepository("mlruns/0/artifacts")

    @pytest.fixture
    def repo_factory(self):
        return FsspecArtifactRepository


class TestMemoryFileSystem(ArtifactRepositoryContract):
    """fsspec's in-memory file system: the code path remote stores (s3, gs…) take.

    Not a registered scheme; it proves the repository is generic over fsspec and keeps
    the non-local branches (no atomic rename, literal deletes) tested.
    """

    large_file_peak_memory = None  # the store itself is memory

    @pytest.fixture
    def repo(self) -> Iterator[FsspecArtifactRepository]:
        bucket = f"trackline-test-{uuid.uuid4().hex}"
        yield FsspecArtifactRepository(f"memory://{bucket}/artifacts")
        with suppress(FileNotFoundError):  # nothing was written
            fsspec.filesystem("memory").rm(f"/{bucket}", recursive=True)

    @pytest.fixture
    def repo_factory(self):
        return FsspecArtifactRepository
