"""How artifact URIs and plain paths become local paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from trackline.exceptions import TracklineException
from trackline_fsspec.repository import FsspecArtifactRepository
from trackline_fsspec.uris import is_local_uri, local_path, uri_scheme


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("/abs/path", ""),
        ("relative/path", ""),
        ("C:\\Users\\me\\art", ""),
        ("c:/Users/me/art", ""),
        ("file:///abs", "file"),
        ("FILE:///abs", "file"),
        ("file:rel", "file"),
        ("s3://bucket/key", "s3"),
        ("memory://x", "memory"),
    ],
)
def test_uri_scheme(uri: str, scheme: str):
    assert uri_scheme(uri) == scheme
    assert is_local_uri(uri) is (scheme in ("", "file"))


def test_plain_absolute_path_is_kept_literally(tmp_path: Path):
    # '%20' in a plain path is three characters, not an escaped space.
    path = str(tmp_path / "a%20b" / "c d")
    assert local_path(path) == path


def test_plain_relative_path_resolves_against_cwd(cwd: Path):
    assert local_path("mlruns/0") == str(cwd / "mlruns" / "0")
    assert local_path("./mlruns") == str(cwd / "mlruns")


def test_plain_path_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert local_path("~/art") == str(tmp_path / "art")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///data/art", "/data/art"),
        ("file:/data/art", "/data/art"),
        ("file://localhost/data/art", "/data/art"),
        ("file://LOCALHOST/data/art", "/data/art"),
        ("file:///data/my%20art/%C3%A9", "/data/my art/é"),
        ("file:///data/100%25", "/data/100%"),
        ("file:///data/art/", "/data/art"),
    ],
)
@pytest.mark.skipif(os.name == "nt", reason="POSIX paths")
def test_file_uris(uri: str, expected: str):
    assert local_path(uri) == expected


def test_relative_file_uri_resolves_against_cwd(cwd: Path):
    # MLflow users write file:./mlruns; RFC 8089 has no relative form, MLflow reads it so.
    assert local_path("file:./mlruns") == str(cwd / "mlruns")
    assert local_path("file:mlruns/0") == str(cwd / "mlruns" / "0")


def test_file_uri_does_not_expand_home(cwd: Path):
    assert local_path("file:~/x") == str(cwd / "~" / "x")


@pytest.mark.parametrize(
    ("uri", "hint"),
    [
        ("file://tmp/x", "file:///tmp/x"),
        ("file://server/share/x", "host"),
        ("file:///tmp/x?version=2", "query"),
        ("file:///tmp/x#frag", "fragment"),
        ("file:///tmp/x?", "query"),
        ("file:", "no path"),
        ("file://", "no path"),
        ("", "no path"),
        ("file:///tmp/a%00b", "NUL"),
        ("s3://bucket/key", "not a local file system"),
    ],
)
def test_invalid_local_uris(uri: str, hint: str):
    with pytest.raises(TracklineException) as exc_info:
        local_path(uri)
    assert exc_info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert hint in exc_info.value.message


def test_repository_rejects_remote_file_host():
    with pytest.raises(TracklineException) as exc_info:
        FsspecArtifactRepository("file://tmp/artifacts")
    assert "file:///tmp/artifacts" in exc_info.value.message


def test_repository_resolves_relative_root_once(cwd: Path, monkeypatch: pytest.MonkeyPatch):
    repo = FsspecArtifactRepository("art")
    (cwd / "elsewhere").mkdir()
    monkeypatch.chdir(cwd / "elsewhere")
    repo.log_bytes(b"x", "f.txt")
    assert (cwd / "art" / "f.txt").read_bytes() == b"x"
    assert not (cwd / "elsewhere" / "art").exists()


def test_file_uri_and_plain_path_name_the_same_root(tmp_path: Path):
    root = tmp_path / "my art é"
    FsspecArtifactRepository(str(root)).log_bytes(b"1", "a/b.txt")
    for uri in (root.as_uri(), f"file:{root.as_posix()}", f"file://localhost{root.as_posix()}"):
        repo = FsspecArtifactRepository(uri)
        assert [i.path for i in repo.list_artifacts("a")] == ["a/b.txt"], uri


def test_double_colon_in_a_local_path_is_not_an_fsspec_chain(tmp_path: Path):
    # fsspec's URL parser reads "a::b" as a chain of file systems; local roots bypass it.
    root = tmp_path / "left::right"
    repo = FsspecArtifactRepository(str(root))
    repo.log_bytes(b"chained?", "f.txt")
    assert (root / "f.txt").read_bytes() == b"chained?"


def test_glob_characters_in_root_are_literal(tmp_path: Path):
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "decoy.txt").write_bytes(b"decoy")
    repo = FsspecArtifactRepository(str(tmp_path / "r[1]"))
    assert repo.list_artifacts() == []
    repo.log_bytes(b"real", "real.txt")
    assert [i.path for i in repo.list_artifacts()] == ["real.txt"]
