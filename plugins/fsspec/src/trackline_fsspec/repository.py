"""``FsspecArtifactRepository``: an artifact repository on any fsspec file system.

The repository speaks only fsspec's file-system API (``ls``, ``put_file``, ``get_file``,
``find``, ``rm_file``…), so a new storage scheme needs a URI mapping and a registration,
not a new class. Local files get two extras fsspec does not give:

* writes are atomic: data goes to a hidden temporary file next to the target, which is
  renamed over it once complete, so an interrupted upload never leaves a truncated file
  under the final name (object stores publish an object only when its upload completes,
  so they need no such step);
* paths are taken literally: local URIs are resolved here, not by fsspec's URL parser,
  which would treat ``::`` as a chain of file systems.

Transfers are file-to-file copies (``put_file``/``get_file``, which stream in chunks or,
locally, use the kernel's copy), so memory use does not grow with file size.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem, make_path_posix
from trackline.entities import FileInfo
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.store.artifacts import ArtifactRepository, validate_artifact_path

from trackline_fsspec.uris import is_local_uri, local_path

# Hidden name of an upload or download in progress; list_artifacts never shows these.
TEMP_PREFIX = ".trackline-tmp-"


class FsspecArtifactRepository(ArtifactRepository):
    """Artifacts under one root on an fsspec file system.

    :param artifact_uri: a plain local path, a ``file:`` URI, or any URL fsspec opens.
    :param storage_options: passed to the fsspec file system (credentials, endpoints…).

    Nothing is created until the first write: the root folder appears with the first file.
    """

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, **storage_options: Any
    ) -> None:
        # tracking_uri is part of the factory contract; file systems do not need it.
        super().__init__(artifact_uri)
        self.fs, self.root = _open_root(artifact_uri, storage_options)
        self._local = isinstance(self.fs, LocalFileSystem)
        if not self.root or self.root == self.fs.root_marker:
            self._prefix = self.fs.root_marker
        else:
            self._prefix = self.root.rstrip("/") + "/"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.artifact_uri!r})"

    # -- writing -------------------------------------------------------------------------------

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        directory = validate_artifact_path(artifact_path)
        local_file = os.path.abspath(local_file)
        if not os.path.isfile(local_file):
            raise TracklineException.invalid_parameter_value(
                f"Cannot log {local_file!r}: it is not an existing file."
            )
        remote = _checked_join(directory, os.path.basename(local_file))
        self._upload(local_file, remote)

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        directory = validate_artifact_path(artifact_path)
        local_dir = os.path.abspath(local_dir)
        if not os.path.isdir(local_dir):
            raise TracklineException.invalid_parameter_value(
                f"Cannot log {local_dir!r}: it is not an existing directory."
            )
        # Check every name before copying anything, so a bad name fails the whole call
        # instead of leaving half a tree behind.
        files: list[tuple[str, str]] = []
        empty_dirs: list[str] = []
        for rel_dir, dirnames, filenames in _walk(local_dir):
            remote_dir = _checked_join(directory, rel_dir)
            if not dirnames and not filenames:
                empty_dirs.append(remote_dir)
            for name in filenames:
                local = os.path.join(local_dir, *rel_dir.split("/"), name)
                files.append((local, _checked_join(remote_dir, name)))
        for remote_dir in empty_dirs:
            # Kept where folders exist (local, SFTP, HDFS); a no-op on object stores.
            self.fs.makedirs(self._full(remote_dir), exist_ok=True)
        for local, remote in files:
            self._upload(local, remote)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        remote = validate_artifact_path(artifact_file)
        if not remote:
            raise TracklineException.invalid_parameter_value(
                "log_bytes needs a file name, not the artifact root."
            )
        target = self._full(remote)
        self._make_parent(target)
        if self._local:
            _atomic_local_write(target, lambda tmp: _write_bytes(tmp, data))
        else:
            self.fs.pipe_file(target, data)

    def _upload(self, local_file: str, remote: str) -> None:
        target = self._full(remote)
        self._make_parent(target)
        if self._local:
            _atomic_local_write(target, lambda tmp: self.fs.put_file(local_file, tmp))
        else:
            self.fs.put_file(local_file, target)

    def _make_parent(self, target: str) -> None:
        # Creates the root lazily too: the first write makes every missing folder.
        parent = posixpath.dirname(target)
        if parent:
            self.fs.makedirs(parent, exist_ok=True)

    # -- reading -------------------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = validate_artifact_path(path)
        listed = self._full(rel)
        try:
            entries = self.fs.ls(listed, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        own_name = self._norm(listed)
        infos = []
        for entry in entries:
            name = self._norm(entry["name"])
            if name == own_name:
                continue  # ls of a file answers with the file itself: a file has no children
            base = name.rsplit("/", 1)[-1]
            is_dir = self._entry_is_dir(entry, name)
            if base.startswith(TEMP_PREFIX) or is_dir is None:
                continue
            size = None if is_dir else _size(entry)
            infos.append(FileInfo(f"{rel}/{base}" if rel else base, is_dir, size))
        return sorted(infos, key=lambda info: info.path)

    def is_directory(self, path: str) -> bool:
        rel = validate_artifact_path(path)
        return not rel or bool(self.fs.isdir(self._full(rel)))

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        rel = validate_artifact_path(remote_file_path)
        source = self._full(rel)

        def fetch(tmp: str) -> None:
            self.fs.get_file(source, tmp)
            if os.path.isdir(tmp):  # get_file of a folder makes a folder, not an error
                os.rmdir(tmp)
                raise TracklineException.invalid_parameter_value(
                    f"{remote_file_path!r} is a directory, not a file."
                )

        try:
            _atomic_local_write(os.path.abspath(local_path), fetch)
        except OSError as exc:
            # File systems disagree on the error for a missing file (a path below a file
            # gives NotADirectoryError locally, FileExistsError in memory): ask once more.
            if isinstance(exc, FileNotFoundError) or not self._is_file(source):
                raise TracklineException(
                    f"No artifact at {remote_file_path!r} under {self.artifact_uri!r}.",
                    RESOURCE_DOES_NOT_EXIST,
                ) from exc
            raise

    def _is_file(self, target: str) -> bool:
        try:
            return bool(self.fs.isfile(target))
        except OSError:
            return False

    # -- deleting ------------------------------------------------------------------------------

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        rel = validate_artifact_path(artifact_path)
        if rel:
            self._remove(self._full(rel))
            return
        # Everything: empty the root but keep the folder itself, which may carry
        # permissions or be a mount point someone else set up.
        try:
            names = self.fs.ls(self.root, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in names:
            if self._norm(name) != self._norm(self.root):
                self._remove(name)

    def _remove(self, target: str) -> None:
        try:
            if self._local:
                self.fs.rm(target, recursive=True)  # the local rm takes its path literally
            else:
                _remove_literal(self.fs, target)
        except (FileNotFoundError, NotADirectoryError):
            pass  # already gone (or never was, below a file): deleting is idempotent

    # -- paths ---------------------------------------------------------------------------------

    def _full(self, rel: str) -> str:
        """The file-system path of a validated relative artifact path."""
        return f"{self._prefix}{rel}" if rel else self.root

    def _norm(self, name: str) -> str:
        stripped = self.fs._strip_protocol(name)
        return stripped.rstrip("/") or stripped

    def _entry_is_dir(self, entry: dict[str, Any], name: str) -> bool | None:
        """``True``/``False`` for folders/files; ``None`` for anything else (a socket)."""
        kind = entry.get("type")
        if kind in ("directory", "file"):
            return kind == "directory"
        # The local file system reports symbolic links as "other": follow them.
        if self.fs.isdir(name):
            return True
        return False if self.fs.isfile(name) else None


def _open_root(
    artifact_uri: str, storage_options: dict[str, Any]
) -> tuple[AbstractFileSystem, str]:
    if is_local_uri(artifact_uri):
        root = make_path_posix(local_path(artifact_uri))
        return LocalFileSystem(**storage_options), root.rstrip("/") or "/"
    fs, root = url_to_fs(artifact_uri, **storage_options)
    return fs, root.rstrip("/")


def _checked_join(directory: str, name: str) -> str:
    """``directory/name`` validated as a whole (a local name may hold a backslash)."""
    joined = posixpath.join(directory, name) if directory else name
    return validate_artifact_path(joined)


def _walk(local_dir: str) -> Iterator[tuple[str, list[str], list[str]]]:
    """``os.walk`` with POSIX relative folder paths, following links to folders.

    A link to one of its own ancestors would loop forever; such a folder is skipped.
    """
    ancestors: dict[str, frozenset[str]] = {}
    for dirpath, dirnames, filenames in os.walk(local_dir, followlinks=True):
        real = os.path.realpath(dirpath)
        chain = ancestors.get(os.path.dirname(dirpath), frozenset())
        if dirpath != local_dir and real in chain:
            dirnames[:] = []
            continue
        ancestors[dirpath] = chain | {real}
        rel = os.path.relpath(dirpath, local_dir)
        rel = "" if rel == os.curdir else rel.replace(os.sep, "/")
        yield rel, sorted(dirnames), sorted(filenames)


def _atomic_local_write(final: str, write: Callable[[str], None]) -> None:
    """Run ``write(tmp)`` on a temporary sibling of ``final``, then rename it into place."""
    tmp = os.path.join(os.path.dirname(final), f"{TEMP_PREFIX}{uuid.uuid4().hex}")
    try:
        write(tmp)
        os.replace(tmp, final)  # atomic on one file system; replaces an older version
    except BaseException:
        with suppress(OSError):
            os.remove(tmp)
        raise


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _size(entry: dict[str, Any]) -> int | None:
    size = entry.get("size")
    return int(size) if size is not None else None


def _remove_literal(fs: AbstractFileSystem, target: str) -> None:
    """Delete a file or a tree without glob expansion.

    ``fs.rm`` expands ``*``, ``?`` and ``[...]``, so deleting ``data[1].txt`` would also
    delete ``data1.txt``. ``find`` lists literally, and files are removed one by one.
    """
    found = fs.find(target, withdirs=True, detail=True)
    if not found:
        raise FileNotFoundError(target)
    dirs = [name for name, info in found.items() if info.get("type") == "directory"]
    for name, info in found.items():
        if info.get("type") != "directory":
            fs.rm_file(name)
    for name in sorted(dirs, key=len, reverse=True):  # deepest first
        # Object stores have no folders to remove; file systems with folders do.
        with suppress(OSError):
            fs.rmdir(name)
