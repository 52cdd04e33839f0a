"""FsspecArtifactRepository behaviour beyond the conformance kit: atomic writes, laziness,
links, and the plugin's registration."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from trackline.entities import FileInfo
from trackline.exceptions import TracklineException
from trackline_fsspec import repository as repository_module
from trackline_fsspec.repository import TEMP_PREFIX, FsspecArtifactRepository

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file names and signals")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def repo(root: Path) -> FsspecArtifactRepository:
    return FsspecArtifactRepository(str(root))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "model.bin"
    path.write_bytes(b"N" * 100_000)
    return path


def _half_copy_then_fail(exc: BaseException):
    """A stand-in for put_file/get_file that dies half-way, as a full disk or ^C would."""

    def copy(src: str, dst: str, *args, **kwargs) -> None:
        with open(src, "rb") as f_in, open(dst, "wb") as f_out:
            f_out.write(f_in.read(os.path.getsize(src) // 2))
        raise exc

    return copy


def _visible_and_hidden(directory: Path) -> tuple[list[str], list[str]]:
    names = sorted(p.name for p in directory.iterdir())
    return [n for n in names if not n.startswith(TEMP_PREFIX)], [
        n for n in names if n.startswith(TEMP_PREFIX)
    ]


# ---- truncated writes ------------------------------------------------------------------------


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_interrupted_upload_leaves_no_partial_file(repo, root, source, monkeypatch, exc):
    repo.log_bytes(b"other", "d/other.txt")
    monkeypatch.setattr(repo.fs, "put_file", _half_copy_then_fail(exc))
    with pytest.raises(type(exc)):
        repo.log_artifact(str(source), "d")
    visible, hidden = _visible_and_hidden(root / "d")
    assert visible == ["other.txt"]
    assert hidden == []  # the temporary file is cleaned up too
    assert repo.list_artifacts("d") == [FileInfo("d/other.txt", False, 5)]


def test_interrupted_overwrite_keeps_the_old_version(repo, root, source, monkeypatch):
    repo.log_bytes(b"version 1", "model.bin")
    monkeypatch.setattr(repo.fs, "put_file", _half_copy_then_fail(OSError("disk full")))
    with pytest.raises(OSError):
        repo.log_artifact(str(source))
    assert (root / "model.bin").read_bytes() == b"version 1"
    assert _visible_and_hidden(root) == (["model.bin"], [])


def test_interrupted_log_bytes_leaves_no_partial_file(repo, root, monkeypatch):
    def write_half(path: str, data: bytes) -> None:
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(repository_module, "_write_bytes", write_half)
    with pytest.raises(OSError):
        repo.log_bytes(b"0123456789", "f.txt")
    assert _visible_and_hidden(root) == ([], [])


def test_interrupted_download_leaves_no_partial_file(repo, source, tmp_path, monkeypatch):
    repo.log_artifact(str(source))
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "model.bin").write_bytes(b"previous download")
    monkeypatch.setattr(repo.fs, "get_file", _half_copy_then_fail(OSError("network")))
    with pytest.raises(OSError):
        repo.download_artifacts("model.bin", str(dst))
    assert (dst / "model.bin").read_bytes() == b"previous download"
    assert _visible_and_hidden(dst) == (["model.bin"], [])


@posix_only
def test_killed_upload_never_shows_a_partial_file(repo, root, source, tmp_path):
    # A process killed mid-copy cannot clean up: the final name must still never exist,
    # and the orphaned temporary file must stay out of listings and downloads.
    script = textwrap.dedent(
        f"""
        import os, signal
        from trackline_fsspec.repository import FsspecArtifactRepository
        repo = FsspecArtifactRepository({str(root)!r})
        def copy(src, dst, *args, **kwargs):
            with open(src, "rb") as f_in, open(dst, "wb") as f_out:
                f_out.write(f_in.read(1000))
                f_out.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        repo.fs.put_file = copy
        repo.log_artifact({str(source)!r}, "models")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -9, result.stderr.decode()
    visible, hidden = _visible_and_hidden(root / "models")
    assert visible == [] and len(hidden) == 1
    assert repo.list_artifacts("models") == []
    dst = tmp_path / "dst"
    dst.mkdir()
    repo.download_artifacts(None, str(dst))
    assert [p.name for p in (dst / "models").iterdir()] == []


def test_temporary_files_are_hidden_from_listings(repo, root):
    repo.log_bytes(b"real", "real.txt")
    (root / f"{TEMP_PREFIX}0123abcd").write_bytes(b"in flight")
    assert repo.list_artifacts() == [FileInfo("real.txt", False, 4)]


# ---- laziness and the root -------------------------------------------------------------------


def test_the_root_is_created_by_the_first_write_only(repo, root, tmp_path):
    assert repo.list_artifacts() == []
    assert repo.list_artifacts("a/b") == []
    assert repo.is_directory("a") is False
    dst = tmp_path / "dst"
    dst.mkdir()
    repo.download_artifacts(None, str(dst))
    with pytest.raises(TracklineException):
        repo.download_artifacts("missing.txt", str(dst))
    repo.delete_artifacts()
    assert not root.exists()
    repo.log_bytes(b"x", "a/b/c.txt")
    assert (root / "a" / "b" / "c.txt").read_bytes() == b"x"


def test_delete_everything_keeps_the_root_folder(repo, root):
    repo.log_bytes(b"x", "a/b.txt")
    repo.log_bytes(b"y", "c.txt")
    repo.delete_artifacts()
    assert root.is_dir()
    assert list(root.iterdir()) == []


def test_an_empty_directory_downloads_as_a_directory(repo, root, tmp_path):
    (root / "empty").mkdir(parents=True)
    dst = tmp_path / "dst"
    dst.mkdir()
    local = repo.download_artifacts("empty", str(dst))
    assert Path(local).is_dir() and list(Path(local).iterdir()) == []


def test_download_file_of_a_directory_is_an_error(repo, tmp_path):
    repo.log_bytes(b"x", "d/f.txt")
    with pytest.raises(TracklineException) as exc_info:
        repo._download_file("d", str(tmp_path / "out"))
    assert exc_info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)] == []


def test_log_artifact_of_a_directory_is_an_error(repo, tmp_path):
    with pytest.raises(TracklineException) as exc_info:
        repo.log_artifact(str(tmp_path))
    assert exc_info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_log_artifact_of_a_relative_local_file(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("file:looking.txt").write_bytes(b"literal")  # fsspec would strip "file:"
    repo.log_artifact("file:looking.txt")
    assert repo.list_artifacts() == [FileInfo("file:looking.txt", False, 7)]


# ---- log_artifacts and the local tree --------------------------------------------------------


@posix_only
def test_log_artifacts_follows_links(repo, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "weights.bin").write_bytes(b"w")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "linked-dir").symlink_to(data, target_is_directory=True)
    (tree / "linked-file.bin").symlink_to(data / "weights.bin")
    (tree / "loop").symlink_to(tree, target_is_directory=True)  # must not recurse forever
    repo.log_artifacts(str(tree))
    assert repo.list_artifacts("linked-dir") == [FileInfo("linked-dir/weights.bin", False, 1)]
    # The link back up the tree is skipped, not copied as an endless tree.
    assert repo.list_artifacts() == [
        FileInfo("linked-dir", True, None),
        FileInfo("linked-file.bin", False, 1),
    ]


@posix_only
def test_log_artifacts_checks_every_name_before_copying(repo, root, tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a-good.txt").write_bytes(b"fine")
    (tree / "z-bad\\name.txt").write_bytes(b"a backslash is a path separator on Windows")
    with pytest.raises(TracklineException) as exc_info:
        repo.log_artifacts(str(tree))
    assert exc_info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert not root.exists()  # nothing was copied, not even the good file


def test_symlinked_file_in_the_store_is_listed_as_a_file(repo, root, tmp_path):
    if os.name == "nt":
        pytest.skip("symlinks need privileges on Windows")
    repo.log_bytes(b"12345", "real.txt")
    (root / "link.txt").symlink_to(root / "real.txt")
    (root / "broken").symlink_to(tmp_path / "nowhere")
    assert repo.list_artifacts() == [
        FileInfo("link.txt", False, 5),
        FileInfo("real.txt", False, 5),
    ]


# ---- downloads: the core's guard against hostile listings ------------------------------------


class _HostileListing(FsspecArtifactRepository):
    """A store whose listing holds a key with '..', which object stores allow."""

    def list_artifacts(self, path=None):
        if not path:
            return [FileInfo("../escaped.txt", False, 4)]
        return super().list_artifacts(path)


def test_download_refuses_listed_paths_that_leave_the_destination(root, tmp_path):
    repo = _HostileListing(str(root))
    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(TracklineException) as exc_info:
        repo.download_artifacts(None, str(dst))
    assert exc_info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert not (tmp_path / "escaped.txt").exists()


# ---- generic (non-local) file systems --------------------------------------------------------


def test_storage_options_reach_the_file_system(root):
    repo = FsspecArtifactRepository(str(root), auto_mkdir=True)
    assert repo.fs.auto_mkdir is True


def test_repr_names_the_uri(root):
    assert repr(FsspecArtifactRepository(str(root))) == f"FsspecArtifactRepository({str(root)!r})"


# ---- the plugin ------------------------------------------------------------------------------


def test_plugin_registers_the_file_scheme():
    from trackline.plugins.manager import TracklinePluginManager

    pm = TracklinePluginManager()
    pm.load_entrypoints()
    spec, plugin_name = pm.registry.artifact_repositories["file"]
    assert plugin_name == "fsspec"
    for uri in ("/abs/path", "relative/path", "file:///abs", "file:rel"):
        assert pm.artifact_repository_factory(uri) is FsspecArtifactRepository


def test_plugin_module_import_is_cheap():
    code = (
        "import sys, trackline_fsspec.plugin\n"
        "heavy = [m for m in ('fsspec', 'trackline_fsspec.repository') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
