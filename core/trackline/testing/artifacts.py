"""Conformance tests for artifact repositories (``trackline.store.artifacts``).

Subclass ``ArtifactRepositoryContract`` in a test module and provide a ``repo`` fixture that
yields a fresh, empty repository; every test below then runs against it::

    import pytest
    from trackline.testing.artifacts import ArtifactRepositoryContract
    from my_plugin import MyRepository

    class TestMyRepository(ArtifactRepositoryContract):
        @pytest.fixture
        def repo(self, tmp_path):
            yield MyRepository(str(tmp_path / "artifacts"))

        # Optional: lets the kit open more repositories (a second view of the same root,
        # a repository on a sub-folder) to check persistence and that rejected paths
        # wrote nothing outside the root. Tests that need it are skipped without it.
        @pytest.fixture
        def repo_factory(self):
            return MyRepository

Class attributes tune the contract for repositories that cannot do everything:

* ``supports_delete`` — ``False`` if ``delete_artifacts`` is not implemented (the delete
  tests then check that it raises NOT_IMPLEMENTED instead);
* ``large_file_size`` — size of the large-file round trip (20 MiB);
* ``large_file_peak_memory`` — the most Python memory (``tracemalloc``) uploading and
  downloading that file may take; ``None`` for repositories that keep data in memory.

``child_uri`` builds the URI of a sub-folder of a root; override it for URIs where
appending ``/name`` is wrong.

What the contract requires, beyond the method signatures:

* paths in ``list_artifacts`` results are relative to the root, POSIX-style, sorted;
  directories have ``file_size=None``, files their exact size (``0`` for empty files);
* ``list_artifacts`` of a file or of a missing path is ``[]``;
* an artifact path that could leave the root (``..`` segments, absolute paths,
  backslashes, percent-encoded dots, NUL) raises ``TracklineException`` with
  INVALID_PARAMETER_VALUE from every method, and nothing is written or deleted;
* downloading a missing file raises ``TracklineException`` with RESOURCE_DOES_NOT_EXIST;
* deleting a missing path does nothing; deleting ``x`` never touches ``x2`` or ``x[1]``;
* constructing a repository or reading from it creates nothing;
* file names are stored literally: spaces, non-ASCII letters, ``%`` (even ``%20``), ``#``,
  ``&``, ``@``, ``+``, ``=``, glob characters (``[1]``) and leading dots all round-trip.

Empty directories may or may not survive ``log_artifacts`` (object stores have none), so
the contract does not check them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tracemalloc
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from trackline.entities import FileInfo
from trackline.exceptions import TracklineException
from trackline.store.artifacts import ArtifactRepository

RepoFactory = Callable[[str], ArtifactRepository]

# The sample tree: names exercise spaces, unicode, URL-significant characters and glob
# characters; contents exercise empty files, all byte values and CR/LF (no text mode).
SAMPLE_TREE: dict[str, bytes] = {
    "a.txt": b"alpha\n",
    "empty.txt": b"",
    "binary.bin": bytes(range(256)) * 8 + b"\r\n\x00\r\n",
    "with space.txt": b"a file name with a space",
    "données é.txt": "unicode content ✓\n".encode(),
    "日本語/ファイル.txt": "こんにちは".encode(),
    "emoji 🎉/party.txt": b"party",
    "nested/b.csv": b"x,y\n1,2\n",
    "nested/empty-in-dir": b"",
    "nested/deeper/deepest/leaf.json": b'{"k": [1, 2, 3]}',
    "my dir/sub dir/file name.txt": b"spaces all the way down",
    "odd/100% done.txt": b"a percent sign",
    "odd/a%20b.txt": b"looks percent-encoded, is not",
    "odd/data[1].txt": b"brackets are glob characters",
    "odd/data1.txt": b"what the glob data[1].txt would match",
    "odd/#hash+plus=eq&amp;@at.txt": b"URL punctuation",
    "odd/.hidden": b"a dot file",
}

# Relative paths that try to climb out of the root, in the spellings attackers use.
TRAVERSAL_PATHS: tuple[str, ...] = (
    "..",
    "../x",
    "a/../../x",
    "a/b/../../../x",
    "../../../../../../../../tmp/x",
    "a\\b",
    "..\\x",
    "a\\..\\..\\x",
    "%2e%2e/x",
    "%2E%2E/%2e%2e/x",
    "..%2fx",
    "a/%2e%2e/%2e%2e/x",
    "x\x00y",
    "\x00",
)

# Absolute paths for operations that only read. Operations that write or delete get
# absolute paths under the test's own tmp_path instead, so that an implementation that
# fails the test cannot damage the machine running it.
ABSOLUTE_READ_PATHS: tuple[str, ...] = ("/etc/passwd", "/etc", "//etc/passwd", "C:/Windows")

_CHUNK = 1024 * 1024


# ---- helpers ---------------------------------------------------------------------------------


def _nfc(text: str) -> str:
    # Some file systems (macOS) hand back decomposed unicode; compare names in NFC.
    return unicodedata.normalize("NFC", text)


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Create ``files`` (relative POSIX path -> content) under ``root``; return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        target = root.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root


def read_tree(root: str | Path) -> dict[str, bytes]:
    """All files under ``root`` as relative POSIX path -> content."""
    out: dict[str, bytes] = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            full = Path(dirpath, name)
            out[_nfc(full.relative_to(root).as_posix())] = full.read_bytes()
    return out


def repo_files(repo: ArtifactRepository, path: str | None = None) -> dict[str, int | None]:
    """Every file under ``path`` (recursively, through ``list_artifacts``) -> its size."""
    out: dict[str, int | None] = {}
    for info in repo.list_artifacts(path):
        if info.is_dir:
            out.update(repo_files(repo, info.path))
        else:
            out[_nfc(info.path)] = info.file_size
    return out


def _subtree(files: dict[str, bytes], prefix: str) -> dict[str, bytes]:
    return {k[len(prefix) + 1 :]: v for k, v in files.items() if k.startswith(prefix + "/")}


def _sizes(files: dict[str, bytes], prefix: str = "") -> dict[str, int]:
    return {(f"{prefix}/{k}" if prefix else k): len(v) for k, v in files.items()}


def _assert_invalid(exc_info: pytest.ExceptionInfo[TracklineException]) -> None:
    assert exc_info.value.error_code == "INVALID_PARAMETER_VALUE", exc_info.value


def _file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_large_file(path: Path, size: int) -> str:
    """Write ``size`` pseudo-random bytes chunk by chunk; return their sha256."""
    digest = hashlib.sha256()
    seed = hashlib.sha256(b"trackline").digest()
    with open(path, "wb") as f:
        written = 0
        while written < size:
            # Each chunk differs, so a store that repeats or reorders chunks is caught.
            seed = hashlib.sha256(seed).digest()
            chunk = (seed * (_CHUNK // len(seed)))[: min(_CHUNK, size - written)]
            f.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


# One function per repository method, each calling it with ``path`` as the artifact path.
def _op_log_artifact(repo: ArtifactRepository, path: str, scratch: Path) -> None:
    local = scratch / "payload.txt"
    local.write_bytes(b"payload")
    repo.log_artifact(str(local), path)


def _op_log_artifacts(repo: ArtifactRepository, path: str, scratch: Path) -> None:
    local = write_tree(scratch / "payload-dir", {"x": b"payload", "sub/y": b"payload"})
    repo.log_artifacts(str(local), path)


def _op_log_bytes(repo: ArtifactRepository, path: str, scratch: Path) -> None:
    repo.log_bytes(b"payload", path)


def _op_list(repo: ArtifactRepository, path: str, scratch: Path) -> None:
    repo.list_artifacts(path)


def _op_download(repo: ArtifactRepository, path: str, scratch: Path) -> None:
    dst = scratch / "download"
    dst.mkdir(exist_ok=True)
    repo.download_artifacts(path, str(dst))


def _op_download_tmp(repo: ArtifactRepository, path: str, scratch: Path) -> None:
    repo.download_artifacts(path)


def _op_delete(repo: ArtifactRepository, path: str, scratch: Path) -> None:
    repo.delete_artifacts(path)


def _op_is_directory(repo: ArtifactRepository, path: str, scratch: Path) -> None:
    repo.is_directory(path)


Operation = Callable[[ArtifactRepository, str, Path], None]
WRITE_OPS: dict[str, Operation] = {
    "log_artifact": _op_log_artifact,
    "log_artifacts": _op_log_artifacts,
    "log_bytes": _op_log_bytes,
}
READ_OPS: dict[str, Operation] = {
    "list_artifacts": _op_list,
    "download_artifacts": _op_download,
    "download_artifacts(tmp)": _op_download_tmp,
    "is_directory": _op_is_directory,
}
ALL_OPS: dict[str, Operation] = {**WRITE_OPS, **READ_OPS, "delete_artifacts": _op_delete}


# ---- the contract ----------------------------------------------------------------------------


class ArtifactRepositoryContract:
    """Behavioural tests for an ``ArtifactRepository``; see the module docstring."""

    supports_delete: bool = True
    large_file_size: int = 20 * 1024 * 1024
    large_file_peak_memory: int | None = 8 * 1024 * 1024

    # -- fixtures the subclass provides -----------------------------------------------------

    @pytest.fixture
    def repo(self) -> Iterator[ArtifactRepository]:
        pytest.fail(
            f"{type(self).__name__} must define a 'repo' fixture yielding a fresh, empty "
            "ArtifactRepository (see trackline.testing.artifacts)."
        )
        yield  # pragma: no cover

    @pytest.fixture
    def repo_factory(self) -> RepoFactory | None:
        """Override to return a callable ``uri -> ArtifactRepository``."""
        return None

    def child_uri(self, uri: str, name: str) -> str:
        """The URI of folder ``name`` under the root ``uri``."""
        return f"{uri.rstrip('/')}/{name}"

    # -- fixtures the contract uses -----------------------------------------------------------

    @pytest.fixture
    def sample_dir(self, tmp_path: Path) -> Path:
        root = write_tree(tmp_path / "sample", SAMPLE_TREE)
        (root / "nested" / "empty-dir").mkdir()  # may or may not be kept by the store
        return root

    @pytest.fixture
    def dst(self, tmp_path: Path) -> Path:
        path = tmp_path / "dst"
        path.mkdir()
        return path

    @pytest.fixture
    def populated(self, repo: ArtifactRepository, sample_dir: Path) -> ArtifactRepository:
        repo.log_artifacts(str(sample_dir))
        return repo

    def _factory(self, repo_factory: RepoFactory | None) -> RepoFactory:
        if repo_factory is None:
            pytest.skip("needs a 'repo_factory' fixture")
        return repo_factory

    def _require_delete(self, repo: ArtifactRepository) -> None:
        if not self.supports_delete:
            with pytest.raises(TracklineException) as exc_info:
                repo.delete_artifacts(None)
            assert exc_info.value.error_code == "NOT_IMPLEMENTED"
            pytest.skip("this repository does not support delete_artifacts")

    # -- an empty repository -------------------------------------------------------------------

    @pytest.mark.parametrize("root", [None, "", "."])
    def test_new_repository_lists_nothing(self, repo: ArtifactRepository, root: str | None):
        assert repo.list_artifacts(root) == []

    def test_missing_path_lists_nothing(self, repo: ArtifactRepository):
        assert repo.list_artifacts("missing") == []
        assert repo.list_artifacts("missing/deeper/still") == []

    def test_download_root_of_empty_repository(self, repo: ArtifactRepository, dst: Path):
        local = repo.download_artifacts(None, str(dst))
        assert Path(local).resolve() == dst.resolve()
        assert list(dst.iterdir()) == []

    def test_root_is_a_directory(self, repo: ArtifactRepository):
        assert repo.is_directory("") is True

    # -- log_artifact --------------------------------------------------------------------------

    @pytest.mark.parametrize("root", [None, "", "."])
    def test_log_artifact_into_root(self, repo: ArtifactRepository, tmp_path: Path, root):
        local = tmp_path / "model.pkl"
        local.write_bytes(b"\x80\x04 not really a pickle")
        repo.log_artifact(str(local), root)
        assert repo.list_artifacts() == [FileInfo("model.pkl", False, local.stat().st_size)]

    def test_log_artifact_into_nested_path(self, repo: ArtifactRepository, tmp_path: Path):
        local = tmp_path / "weights.bin"
        local.write_bytes(b"w" * 1000)
        repo.log_artifact(str(local), "a/b/c")
        assert repo.list_artifacts() == [FileInfo("a", True, None)]
        assert repo.list_artifacts("a") == [FileInfo("a/b", True, None)]
        assert repo.list_artifacts("a/b") == [FileInfo("a/b/c", True, None)]
        assert repo.list_artifacts("a/b/c") == [FileInfo("a/b/c/weights.bin", False, 1000)]

    def test_log_artifact_uses_the_local_file_name(self, repo: ArtifactRepository, tmp_path):
        local = tmp_path / "deep" / "inside" / "report.html"
        local.parent.mkdir(parents=True)
        local.write_bytes(b"<html></html>")
        repo.log_artifact(str(local), "reports")
        assert repo_files(repo) == {"reports/report.html": 13}

    def test_log_artifact_trailing_slash_in_artifact_path(self, repo: ArtifactRepository, tmp_path):
        local = tmp_path / "f.txt"
        local.write_bytes(b"abc")
        repo.log_artifact(str(local), "dir/")
        assert repo_files(repo) == {"dir/f.txt": 3}

    @pytest.mark.parametrize(
        "name",
        ["with space.txt", "données é.txt", "日本語.txt", "emoji 🎉.txt", "100% done.txt",
         "a%20b.txt", "data[1].txt", "#hash+plus=eq&amp;@at.txt", ".hidden"],
    )  # fmt: skip
    def test_log_artifact_unusual_file_names(self, repo: ArtifactRepository, tmp_path, name):
        local = tmp_path / name
        local.write_bytes(name.encode())
        repo.log_artifact(str(local), "names")
        assert repo.list_artifacts("names") == [
            FileInfo(f"names/{name}", False, len(name.encode()))
        ]
        dst = tmp_path / "dst"
        dst.mkdir()
        downloaded = repo.download_artifacts(f"names/{name}", str(dst))
        assert Path(downloaded).read_bytes() == name.encode()

    def test_log_artifact_missing_local_file_raises(self, repo: ArtifactRepository, tmp_path):
        with pytest.raises((OSError, TracklineException)):
            repo.log_artifact(str(tmp_path / "does-not-exist.txt"))
        assert repo.list_artifacts() == []

    def test_log_artifact_overwrites_with_a_smaller_file(self, repo, tmp_path: Path):
        local = tmp_path / "f.txt"
        local.write_bytes(b"a much longer first version of the file\n" * 100)
        repo.log_artifact(str(local), "d")
        local.write_bytes(b"short")
        repo.log_artifact(str(local), "d")
        # One entry, the new size: the old content was replaced, not partly overwritten.
        assert repo.list_artifacts("d") == [FileInfo("d/f.txt", False, 5)]
        dst = tmp_path / "dst"
        dst.mkdir()
        assert Path(repo.download_artifacts("d/f.txt", str(dst))).read_bytes() == b"short"

    # -- log_artifacts -------------------------------------------------------------------------

    def test_log_artifacts_tree_into_root(self, populated: ArtifactRepository, dst: Path):
        assert repo_files(populated) == _sizes(SAMPLE_TREE)
        populated.download_artifacts(None, str(dst))
        assert read_tree(dst) == SAMPLE_TREE

    def test_log_artifacts_into_artifact_path(self, repo, sample_dir: Path, dst: Path):
        repo.log_artifacts(str(sample_dir), "run/outputs")
        assert repo.list_artifacts() == [FileInfo("run", True, None)]
        assert repo.list_artifacts("run") == [FileInfo("run/outputs", True, None)]
        assert repo_files(repo) == _sizes(SAMPLE_TREE, "run/outputs")
        local = repo.download_artifacts("run/outputs", str(dst))
        assert read_tree(local) == SAMPLE_TREE

    def test_log_artifacts_merges_into_existing_content(self, repo, tmp_path: Path, dst: Path):
        first = write_tree(tmp_path / "first", {"keep.txt": b"kept", "same.txt": b"old old old"})
        second = write_tree(tmp_path / "second", {"same.txt": b"new", "sub/added.txt": b"+"})
        repo.log_artifacts(str(first), "out")
        repo.log_artifacts(str(second), "out")
        repo.download_artifacts("out", str(dst))
        assert read_tree(dst / "out") == {
            "keep.txt": b"kept",
            "same.txt": b"new",
            "sub/added.txt": b"+",
        }

    def test_log_artifacts_of_an_empty_directory(self, repo, tmp_path: Path):
        (tmp_path / "empty").mkdir()
        repo.log_artifacts(str(tmp_path / "empty"), "nothing")
        assert repo_files(repo) == {}

    def test_log_artifacts_missing_local_dir_raises(self, repo, tmp_path: Path):
        with pytest.raises((OSError, TracklineException)):
            repo.log_artifacts(str(tmp_path / "no-such-dir"))
        assert repo.list_artifacts() == []

    # -- list_artifacts ------------------------------------------------------------------------

    def test_list_root_gives_direct_children_sorted(self, populated: ArtifactRepository):
        listing = populated.list_artifacts()
        paths = [info.path for info in listing]
        assert paths == sorted(paths)
        expected_children = {rel.split("/")[0] for rel in SAMPLE_TREE}
        assert {_nfc(p) for p in paths} == expected_children
        assert all(isinstance(info, FileInfo) for info in listing)

    def test_list_subdirectory_paths_are_relative_to_root(self, populated: ArtifactRepository):
        listing = [
            info for info in populated.list_artifacts("nested") if info.path != "nested/empty-dir"
        ]
        assert listing == [
            FileInfo("nested/b.csv", False, len(SAMPLE_TREE["nested/b.csv"])),
            FileInfo("nested/deeper", True, None),
            FileInfo("nested/empty-in-dir", False, 0),
        ]
        assert populated.list_artifacts("nested/deeper/deepest") == [
            FileInfo("nested/deeper/deepest/leaf.json", False, 16)
        ]

    def test_list_sizes_and_directories(self, populated: ArtifactRepository):
        by_path = {_nfc(info.path): info for info in populated.list_artifacts()}
        assert by_path["empty.txt"] == FileInfo("empty.txt", False, 0)
        assert by_path["binary.bin"].file_size == len(SAMPLE_TREE["binary.bin"])
        for name in ("nested", "odd", "my dir", "日本語", "emoji 🎉"):
            assert by_path[name].is_dir is True
            assert by_path[name].file_size is None

    def test_list_with_trailing_slash(self, populated: ArtifactRepository):
        assert populated.list_artifacts("nested/deeper/") == populated.list_artifacts(
            "nested/deeper"
        )

    @pytest.mark.parametrize("path", ["a.txt", "nested/b.csv", "empty.txt", "odd/data[1].txt"])
    def test_list_of_a_file_is_empty(self, populated: ArtifactRepository, path: str):
        assert populated.list_artifacts(path) == []

    @pytest.mark.parametrize("path", ["missing", "nested/missing", "a.txt/below-a-file"])
    def test_list_of_a_missing_path_is_empty(self, populated: ArtifactRepository, path):
        assert populated.list_artifacts(path) == []

    def test_list_does_not_mix_up_names_sharing_a_prefix(self, repo, tmp_path: Path):
        write_tree(tmp_path / "t", {"model/a": b"1", "model2/b": b"22", "model.bak": b"333"})
        repo.log_artifacts(str(tmp_path / "t"))
        assert repo.list_artifacts("model") == [FileInfo("model/a", False, 1)]
        assert repo.list_artifacts("model2") == [FileInfo("model2/b", False, 2)]

    def test_is_directory(self, populated: ArtifactRepository):
        assert populated.is_directory("nested") is True
        assert populated.is_directory("nested/deeper") is True
        assert populated.is_directory("a.txt") is False
        assert populated.is_directory("missing") is False

    # -- download_artifacts --------------------------------------------------------------------

    def test_download_one_file_into_dst(self, populated: ArtifactRepository, dst: Path):
        local = populated.download_artifacts("nested/b.csv", str(dst))
        assert Path(local).resolve() == (dst / "nested" / "b.csv").resolve()
        # Only the requested file arrives, at its relative path.
        assert read_tree(dst) == {"nested/b.csv": SAMPLE_TREE["nested/b.csv"]}

    def test_download_one_file_into_a_temp_dir(self, populated: ArtifactRepository):
        local = Path(populated.download_artifacts("binary.bin"))
        try:
            assert local.name == "binary.bin"
            assert local.read_bytes() == SAMPLE_TREE["binary.bin"]
        finally:
            shutil.rmtree(local.parent, ignore_errors=True)

    def test_download_a_directory_tree(self, populated: ArtifactRepository, dst: Path):
        local = populated.download_artifacts("nested", str(dst))
        assert Path(local).resolve() == (dst / "nested").resolve()
        assert read_tree(local) == _subtree(SAMPLE_TREE, "nested")
        assert sorted(p.name for p in dst.iterdir()) == ["nested"]

    def test_download_the_root(self, populated: ArtifactRepository, dst: Path):
        local = populated.download_artifacts("", str(dst))
        assert Path(local).resolve() == dst.resolve()
        assert read_tree(dst) == SAMPLE_TREE

    def test_download_the_root_into_a_temp_dir(self, populated: ArtifactRepository):
        local = populated.download_artifacts(None)
        try:
            assert read_tree(local) == SAMPLE_TREE
        finally:
            shutil.rmtree(local, ignore_errors=True)

    def test_download_replaces_an_existing_local_file(self, populated, dst: Path):
        (dst / "a.txt").write_bytes(b"a stale local copy, longer than the artifact")
        local = populated.download_artifacts("a.txt", str(dst))
        assert Path(local).read_bytes() == SAMPLE_TREE["a.txt"]

    @pytest.mark.parametrize(
        "path", ["missing.txt", "nested/missing.txt", "no/such/dir/f", "a.txt/below-a-file"]
    )
    def test_download_missing_file_raises_clearly(self, populated, dst: Path, path: str):
        with pytest.raises(TracklineException) as exc_info:
            populated.download_artifacts(path, str(dst))
        assert exc_info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
        assert path in exc_info.value.message
        assert not dst.joinpath(*path.split("/")).exists()

    def test_download_missing_file_into_temp_dir_raises(self, populated):
        with pytest.raises(TracklineException) as exc_info:
            populated.download_artifacts("missing.txt")
        assert exc_info.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    def test_download_to_a_missing_destination_raises(self, populated, tmp_path: Path):
        with pytest.raises(TracklineException) as exc_info:
            populated.download_artifacts("a.txt", str(tmp_path / "no-such-dir"))
        _assert_invalid(exc_info)
        assert not (tmp_path / "no-such-dir").exists()

    # -- log_bytes -----------------------------------------------------------------------------

    def test_log_bytes_into_root_and_nested(self, repo: ArtifactRepository, dst: Path):
        repo.log_bytes(b"top", "top.txt")
        repo.log_bytes(b"\x00\x01\x02", "deep/er/blob.bin")
        assert repo_files(repo) == {"top.txt": 3, "deep/er/blob.bin": 3}
        repo.download_artifacts(None, str(dst))
        assert read_tree(dst) == {"top.txt": b"top", "deep/er/blob.bin": b"\x00\x01\x02"}

    def test_log_bytes_empty_content(self, repo: ArtifactRepository):
        repo.log_bytes(b"", "empty.bin")
        assert repo.list_artifacts() == [FileInfo("empty.bin", False, 0)]

    def test_log_bytes_overwrites(self, repo: ArtifactRepository, dst: Path):
        repo.log_bytes(b"first version, the longer one", "f.txt")
        repo.log_bytes(b"second", "f.txt")
        assert repo.list_artifacts() == [FileInfo("f.txt", False, 6)]
        assert Path(repo.download_artifacts("f.txt", str(dst))).read_bytes() == b"second"

    @pytest.mark.parametrize("name", ["", "."])
    def test_log_bytes_needs_a_file_name(self, repo: ArtifactRepository, name: str):
        with pytest.raises(TracklineException) as exc_info:
            repo.log_bytes(b"x", name)
        _assert_invalid(exc_info)
        assert repo.list_artifacts() == []

    # -- delete_artifacts ----------------------------------------------------------------------

    def test_delete_a_file(self, populated: ArtifactRepository):
        self._require_delete(populated)
        populated.delete_artifacts("nested/b.csv")
        expected = {k: v for k, v in SAMPLE_TREE.items() if k != "nested/b.csv"}
        assert repo_files(populated) == _sizes(expected)

    def test_delete_a_file_with_glob_characters(self, populated: ArtifactRepository):
        self._require_delete(populated)
        populated.delete_artifacts("odd/data[1].txt")
        remaining = repo_files(populated, "odd")
        assert "odd/data[1].txt" not in remaining
        assert remaining["odd/data1.txt"] == len(SAMPLE_TREE["odd/data1.txt"])

    def test_delete_a_subtree(self, populated: ArtifactRepository, dst: Path):
        self._require_delete(populated)
        populated.delete_artifacts("nested")
        assert populated.list_artifacts("nested") == []
        assert "nested" not in {info.path for info in populated.list_artifacts()}
        expected = {k: v for k, v in SAMPLE_TREE.items() if not k.startswith("nested/")}
        assert repo_files(populated) == _sizes(expected)
        with pytest.raises(TracklineException):
            populated.download_artifacts("nested/b.csv", str(dst))

    def test_delete_does_not_touch_names_sharing_a_prefix(self, repo, tmp_path: Path):
        self._require_delete(repo)
        write_tree(tmp_path / "t", {"model/a": b"1", "model2/b": b"22", "model.bak": b"333"})
        repo.log_artifacts(str(tmp_path / "t"))
        repo.delete_artifacts("model")
        assert repo_files(repo) == {"model2/b": 2, "model.bak": 3}

    @pytest.mark.parametrize("root", [None, ""])
    def test_delete_everything(self, populated: ArtifactRepository, root):
        self._require_delete(populated)
        populated.delete_artifacts(root)
        assert populated.list_artifacts() == []
        # The repository stays usable: the root comes back on the next write.
        populated.log_bytes(b"again", "again.txt")
        assert populated.list_artifacts() == [FileInfo("again.txt", False, 5)]

    def test_delete_a_missing_path_does_nothing(self, populated: ArtifactRepository):
        self._require_delete(populated)
        populated.delete_artifacts("missing")
        populated.delete_artifacts("nested/missing/deeper")
        populated.delete_artifacts("a.txt/below-a-file")
        assert repo_files(populated) == _sizes(SAMPLE_TREE)

    def test_delete_in_an_empty_repository(self, repo: ArtifactRepository):
        self._require_delete(repo)
        repo.delete_artifacts(None)
        assert repo.list_artifacts() == []

    # -- path traversal ------------------------------------------------------------------------

    @pytest.mark.parametrize("op", list(ALL_OPS))
    @pytest.mark.parametrize("path", TRAVERSAL_PATHS)
    def test_traversal_is_rejected(self, populated, tmp_path: Path, op: str, path: str):
        if op == "delete_artifacts" and not self.supports_delete:
            pytest.skip("this repository does not support delete_artifacts")
        before = repo_files(populated)
        with pytest.raises(TracklineException) as exc_info:
            ALL_OPS[op](populated, path, tmp_path)
        _assert_invalid(exc_info)
        assert repo_files(populated) == before

    @pytest.mark.parametrize("op", list(READ_OPS))
    @pytest.mark.parametrize("path", ABSOLUTE_READ_PATHS)
    def test_absolute_path_is_rejected_for_reads(self, repo, tmp_path: Path, op, path):
        with pytest.raises(TracklineException) as exc_info:
            READ_OPS[op](repo, path, tmp_path)
        _assert_invalid(exc_info)

    @pytest.mark.parametrize("op", list(WRITE_OPS))
    def test_absolute_path_is_rejected_for_writes(self, repo, tmp_path: Path, op: str):
        victim = tmp_path / "victim"
        with pytest.raises(TracklineException) as exc_info:
            WRITE_OPS[op](repo, victim.as_posix(), tmp_path)
        _assert_invalid(exc_info)
        assert not victim.exists()
        assert repo.list_artifacts() == []

    def test_absolute_path_is_rejected_for_delete(self, repo, tmp_path: Path):
        self._require_delete(repo)
        victim = tmp_path / "victim"
        victim.mkdir()
        (victim / "precious.txt").write_bytes(b"keep me")
        with pytest.raises(TracklineException) as exc_info:
            repo.delete_artifacts(victim.as_posix())
        _assert_invalid(exc_info)
        assert (victim / "precious.txt").read_bytes() == b"keep me"

    def test_traversal_writes_nothing_outside_the_root(self, repo, repo_factory, tmp_path):
        # Seen from a repository on the parent folder, a rejected write must leave no trace.
        inner = self._factory(repo_factory)(self.child_uri(repo.artifact_uri, "inner"))
        for path in TRAVERSAL_PATHS:
            for name, op in WRITE_OPS.items():
                with pytest.raises(TracklineException) as exc_info:
                    op(inner, path, tmp_path)
                assert exc_info.value.error_code == "INVALID_PARAMETER_VALUE", (name, path)
        assert repo_files(repo) == {}

    def test_traversal_deletes_nothing_outside_the_root(self, repo, repo_factory, tmp_path):
        self._require_delete(repo)
        repo.log_bytes(b"outside", "x")
        repo.log_bytes(b"inside", "inner/y")
        inner = self._factory(repo_factory)(self.child_uri(repo.artifact_uri, "inner"))
        for path in TRAVERSAL_PATHS:
            with pytest.raises(TracklineException) as exc_info:
                inner.delete_artifacts(path)
            _assert_invalid(exc_info)
        assert repo_files(repo) == {"x": 7, "inner/y": 6}

    # -- large files ---------------------------------------------------------------------------

    def test_large_file_round_trip(self, repo: ArtifactRepository, tmp_path: Path, dst: Path):
        size = self.large_file_size
        local = tmp_path / "large.bin"
        expected = _write_large_file(local, size)
        with _PeakMemory() as peak:
            repo.log_artifact(str(local), "big")
            downloaded = repo.download_artifacts("big/large.bin", str(dst))
        assert repo.list_artifacts("big") == [FileInfo("big/large.bin", False, size)]
        assert os.path.getsize(downloaded) == size
        assert _file_sha256(downloaded) == expected
        if self.large_file_peak_memory is not None:
            assert peak.bytes <= self.large_file_peak_memory, (
                f"uploading and downloading {size} bytes took {peak.bytes} bytes of Python "
                "memory: stream in chunks instead of reading whole files"
            )

    # -- more than one repository on a root (needs repo_factory) -------------------------------

    def test_a_second_repository_sees_the_same_artifacts(self, populated, repo_factory, dst):
        other = self._factory(repo_factory)(populated.artifact_uri)
        assert other.list_artifacts() == populated.list_artifacts()
        other.download_artifacts(None, str(dst))
        assert read_tree(dst) == SAMPLE_TREE

    def test_a_repository_on_a_sub_folder(self, repo, repo_factory, dst: Path):
        repo.log_bytes(b"in sub", "sub/x.txt")
        repo.log_bytes(b"elsewhere", "other/z.txt")
        sub = self._factory(repo_factory)(self.child_uri(repo.artifact_uri, "sub"))
        assert sub.list_artifacts() == [FileInfo("x.txt", False, 6)]
        sub.log_bytes(b"from sub", "y.txt")
        assert repo_files(repo) == {"sub/x.txt": 6, "sub/y.txt": 8, "other/z.txt": 9}
        sub.download_artifacts(None, str(dst))
        assert read_tree(dst) == {"x.txt": b"in sub", "y.txt": b"from sub"}

    def test_construction_and_reads_create_nothing(self, repo, repo_factory, dst: Path):
        lazy = self._factory(repo_factory)(self.child_uri(repo.artifact_uri, "lazy/deeper"))
        assert lazy.list_artifacts() == []
        assert lazy.list_artifacts("x") == []
        assert lazy.download_artifacts(None, str(dst))
        assert list(dst.iterdir()) == []
        assert repo.list_artifacts() == []
        lazy.log_bytes(b"now", "f.txt")
        assert repo_files(repo) == {"lazy/deeper/f.txt": 3}


class _PeakMemory:
    """Peak Python allocation (``tracemalloc``) inside a ``with`` block, in ``.bytes``."""

    def __init__(self) -> None:
        self.bytes = 0
        self._started = False

    def __enter__(self) -> _PeakMemory:
        self._started = not tracemalloc.is_tracing()
        if self._started:
            tracemalloc.start()
        self._base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bytes = max(0, tracemalloc.get_traced_memory()[1] - self._base)
        if self._started:
            tracemalloc.stop()
