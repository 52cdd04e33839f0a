"""``FsspecArtifactRepository``: an artifact repository on any fsspec file system.

The repository speaks only fsspec's file-system API (``ls``, ``put_file``, ``get_file``,
``find``, ``rm_file``…); ``trackline_fsspec.stores`` turns each supported URI scheme into a
file system, so a new scheme needs an opener and a registration, not a new class.

What it adds to fsspec:

* nothing half-written is ever visible under a final name: local files and file systems
  with folders (FTP, SFTP, HDFS) receive data in a hidden ``.trackline-tmp-*`` sibling
  that is renamed into place once complete; object stores (S3, GCS, Azure) publish an
  object only when its upload completes; downloads land in a hidden local file first;
* after each remote upload the stored size is compared with the local one, and the MD5
  too where the store reports one; a mismatch deletes the object and raises DATA_LOSS;
* many files move in parallel (a thread pool; fsspec's async clients are thread-safe),
  large files in parts (S3: 8 MiB parts, four in flight), so memory use stays bounded
  whatever the file size;
* transient network errors are retried (after reconnecting where the client holds a
  connection), and remote errors become ``TracklineException`` naming the operation and
  the URI with any password masked;
* transfers above ``TRACKLINE_PROGRESS_MIN_BYTES`` (100 MiB) show a progress bar when
  stderr is a terminal;
* paths are taken literally: local URIs are resolved here, not by fsspec's URL parser,
  which would treat ``::`` as a chain of file systems, and deletes never glob.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext, suppress
from dataclasses import dataclass
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem, make_path_posix
from trackline.concurrency import map_concurrently
from trackline.entities import FileInfo
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.store.artifacts import ArtifactRepository, validate_artifact_path

from trackline_fsspec.stores import OPENERS, Store
from trackline_fsspec.transfer import (
    Progress,
    file_md5,
    retrying,
    stored_md5,
    translated_errors,
)
from trackline_fsspec.uris import is_local_uri, local_path, mask_uri, uri_scheme

# Hidden name of an upload or download in progress; list_artifacts never shows these.
TEMP_PREFIX = ".trackline-tmp-"
# Pieces of a file streamed by ``open_artifact``.
STREAM_CHUNK = 1024 * 1024
# Object stores whose bucket (container) is the first segment of the root.
_OBJECT_STORES = frozenset({"s3", "gs", "wasbs", "abfss", "memory"})


class FsspecArtifactRepository(ArtifactRepository):
    """Artifacts under one root on an fsspec file system.

    :param artifact_uri: a plain local path, a ``file:`` URI, a URI of a scheme in
        ``trackline_fsspec.stores.OPENERS`` (``s3://``, ``gs://``, ``wasbs://``…), or any
        other URL fsspec opens (then ``storage_options`` go to its file system).
    :param storage_options: passed to fsspec for URLs without an opener here.

    Nothing is created until the first write: the root folder appears with the first file.
    """

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, **storage_options: Any
    ) -> None:
        # tracking_uri is part of the factory contract; file systems do not need it.
        super().__init__(artifact_uri)
        self._store = _open_store(artifact_uri, storage_options)
        self._fs: AbstractFileSystem = self._store.fs
        self._per_thread = threading.local() if self._store.per_thread else None
        if self._per_thread is not None:
            self._per_thread.fs = self._fs  # the creating thread keeps the first connection
        self.root = self._store.root
        self._local = isinstance(self.fs, LocalFileSystem)
        self._by_rename = self._store.publish_by_rename and not self._local
        if not self.root or self.root == self.fs.root_marker:
            self._prefix = self.fs.root_marker
        else:
            self._prefix = self.root.rstrip("/") + "/"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask_uri(self.artifact_uri)!r})"

    # -- plumbing ------------------------------------------------------------------------------

    @property
    def fs(self) -> AbstractFileSystem:
        """The file system; one per thread for clients that hold a single connection."""
        if self._per_thread is None:
            return self._fs
        fs = getattr(self._per_thread, "fs", None)
        if fs is None:
            fs = self._per_thread.fs = self._store.reconnect()  # type: ignore[misc]
        return fs

    @fs.setter
    def fs(self, value: AbstractFileSystem) -> None:
        if self._per_thread is None:
            self._fs = value
        else:
            self._per_thread.fs = value

    def _errors(self, action: str, path: str) -> Any:
        """Remote errors become TracklineException; local OSErrors already name the path."""
        if self._local:
            return nullcontext()
        return translated_errors(action, path, self.artifact_uri)

    def _retrying(self, operation: Callable[[], Any]) -> Any:
        if self._local:
            return operation()
        return retrying(operation, self._reconnect)

    def _reconnect(self) -> None:
        # Clients holding one connection (FTP, SFTP) cannot go on after it broke.
        if self._store.reconnect is not None:
            self.fs = self._store.reconnect()

    def _parallel(self, jobs: list[Callable[[], None]]) -> None:
        """Run ``jobs`` on the store's worker count; the first error cancels the rest."""
        map_concurrently(lambda job: job(), jobs, self._store.max_workers, "trackline-transfer")

    # -- writing -------------------------------------------------------------------------------

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        directory = validate_artifact_path(artifact_path)
        local_file = os.path.abspath(local_file)
        if not os.path.isfile(local_file):
            raise TracklineException.invalid_parameter_value(
                f"Cannot log {local_file!r}: it is not an existing file."
            )
        remote = _checked_join(directory, os.path.basename(local_file))
        with Progress(os.path.getsize(local_file), f"Uploading {remote}") as progress:
            self._upload(local_file, remote, progress)

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
        if self._has_folders():
            for remote_dir in empty_dirs:
                with self._errors("create the folder", remote_dir):
                    self.fs.makedirs(self._full(remote_dir), exist_ok=True)
        if not self._local and self._has_folders():
            # Create each folder once, before the parallel uploads race to create it.
            for parent in sorted({posixpath.dirname(remote) for _, remote in files} - {""}):
                with self._errors("create the folder", parent):
                    self._make_parent(self._full(posixpath.join(parent, "x")))
        total = sum(os.path.getsize(local) for local, _ in files)
        with Progress(total, f"Uploading {len(files)} files") as progress:
            self._parallel(
                [lambda f=local, r=remote: self._upload(f, r, progress) for local, remote in files]
            )

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        remote = validate_artifact_path(artifact_file)
        if not remote:
            raise TracklineException.invalid_parameter_value(
                "log_bytes needs a file name, not the artifact root."
            )
        target = self._full(remote)
        if self._local:
            self._make_parent(target)
            _atomic_local_write(target, lambda tmp: _write_bytes(tmp, data))
            return
        if self._store.scheme in ("wasbs", "abfss"):
            # adlfs's pipe_file parses the blob name as a URL, so a first folder named
            # like "a [1]" fails as an IPv6 host; its put_file does not: go through a file.
            super().log_bytes(data, remote)
            return
        with self._errors("upload", remote):
            self._make_parent(target)
            if self._by_rename:
                self._publish(target, lambda tmp: self.fs.pipe_file(tmp, data), len(data))
            else:
                self._retrying(lambda: self.fs.pipe_file(target, data))
                self._verify(target, len(data), None)

    def _upload(self, local_file: str, remote: str, progress: Progress) -> None:
        target = self._full(remote)
        if self._local:
            self._make_parent(target)
            _atomic_local_write(target, lambda tmp: self.fs.put_file(local_file, tmp))
            return
        size = os.path.getsize(local_file)
        kwargs = self._store.upload_kwargs

        def put(destination: str) -> None:
            self.fs.put_file(local_file, destination, callback=progress.callback(), **kwargs)

        with self._errors("upload", remote):
            self._make_parent(target)
            if self._by_rename:
                self._publish(target, put, size)
            else:
                self._put_object(local_file, target, size, put)

    def _put_object(
        self, local_file: str, target: str, size: int, put: Callable[[str], None]
    ) -> None:
        """Upload to an object store, then check what it stored (a subclass may do both
        in one request)."""
        self._retrying(lambda: put(target))
        self._verify(target, size, local_file)

    def _publish(self, target: str, write: Callable[[str], None], size: int) -> None:
        """Write to a hidden sibling of ``target``, check its size, rename it into place."""
        tmp = posixpath.join(posixpath.dirname(target), f"{TEMP_PREFIX}{uuid.uuid4().hex}")
        try:
            self._retrying(lambda: write(tmp))
            self._check_size(tmp, size)
            if self._store.scheme == "ftp" and self.fs.exists(target):
                self.fs.rm_file(target)  # some FTP servers refuse to rename over a file
            self._retrying(lambda: self.fs.mv(tmp, target))
        except BaseException:
            with suppress(Exception):
                self.fs.rm_file(tmp)
            raise

    def _verify(self, target: str, size: int, local_file: str | None) -> None:
        """Compare what the store holds with what was sent; delete it if they differ."""
        try:
            info = self.fs.info(target)
            self._compare_size(target, size, info)
            md5 = stored_md5(info)
            if md5 is not None and local_file is not None and md5 != file_md5(local_file):
                raise TracklineException(
                    f"The stored copy of {target!r} differs from the local file (MD5).",
                    "DATA_LOSS",
                )
        except TracklineException:
            with suppress(Exception):
                self.fs.rm_file(target)
            raise

    def _check_size(self, target: str, size: int) -> None:
        self._compare_size(target, size, self.fs.info(target))

    def _compare_size(self, target: str, size: int, info: dict[str, Any]) -> None:
        stored = info.get("size")
        if stored is not None and int(stored) != size:
            raise TracklineException(
                f"The upload of {target!r} is incomplete: {stored} of {size} bytes stored.",
                "DATA_LOSS",
            )

    def _has_folders(self) -> bool:
        return self._store.scheme not in _OBJECT_STORES

    def _make_parent(self, target: str) -> None:
        # Creates the root lazily too: the first write makes every missing folder. Object
        # stores have no folders (and s3fs's makedirs would create a missing bucket).
        parent = posixpath.dirname(target)
        if parent and self._has_folders():
            for attempt in range(3):
                try:
                    self.fs.makedirs(parent, exist_ok=True)
                    return
                except Exception:
                    # Another writer created a folder of the chain between our check and
                    # our mkdir (FTP then says "550 File exists"): look again.
                    if self._local or attempt == 2:
                        raise

    # -- reading -------------------------------------------------------------------------------

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = validate_artifact_path(path)
        listed = self._full(rel)
        with self._errors("list", rel or "/"):
            try:
                entries = self._retrying(lambda: self.fs.ls(listed, detail=True))
            except (FileNotFoundError, NotADirectoryError):
                self._check_container()
                return []
            own_name = self._norm(listed)
            if (
                rel
                and len(entries) == 1
                and entries[0].get("type") == "file"
                and self._norm(entries[0]["name"]).rsplit("/", 1)[-1] == posixpath.basename(rel)
                and self._is_file(listed)
            ):
                return []  # some servers (FTP) list a file as a folder holding itself
            infos = []
            for entry in entries:
                name = self._norm(entry["name"])
                if name == own_name:
                    continue  # ls of a file answers with the file itself: it has no children
                base = name.rsplit("/", 1)[-1]
                is_dir = self._entry_is_dir(entry, name)
                if base.startswith(TEMP_PREFIX) or is_dir is None:
                    continue
                size = None if is_dir else _size(entry)
                infos.append(FileInfo(f"{rel}/{base}" if rel else base, is_dir, size))
        return sorted(infos, key=lambda info: info.path)

    def _check_container(self) -> None:
        """On an object store an empty listing may hide a missing bucket: say so."""
        if self._store.scheme not in _OBJECT_STORES or self._store.scheme == "memory":
            return
        bucket = self.root.split("/", 1)[0]
        if not self.fs.exists(bucket):
            raise TracklineException(
                f"The bucket (container) {bucket!r} of the artifact location "
                f"{mask_uri(self.artifact_uri)!r} does not exist or cannot be accessed.",
                RESOURCE_DOES_NOT_EXIST,
            )

    def is_directory(self, path: str) -> bool:
        rel = validate_artifact_path(path)
        if not rel:
            return True
        with self._errors("inspect", rel):
            return bool(self._retrying(lambda: self.fs.isdir(self._full(rel))))

    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        self._download(validate_artifact_path(remote_file_path), local_path, None)

    def _download_one(self, remote: str, dst_root: str) -> None:
        # A single file asked for by name: a progress bar if it is big.
        from trackline.store.artifacts import _local_path

        local = _local_path(dst_root, remote)
        created = _first_missing_dir(os.path.dirname(local))
        os.makedirs(os.path.dirname(local), exist_ok=True)
        try:
            size = None
            if not self._local:
                with suppress(Exception):
                    size = _size(self.fs.info(self._full(remote)))
            with Progress(size or 0, f"Downloading {remote}") as progress:
                self._download(remote, local, progress)
        except BaseException:
            if created is not None:  # a failed download leaves no empty folders behind
                shutil.rmtree(created, ignore_errors=True)
            raise

    def _download_tree(self, remote_dir: str, dst_root: str) -> None:
        """Download every file below ``remote_dir``, many at a time."""
        from trackline.store.artifacts import _local_path

        files, folders = self._tree(remote_dir)
        # Check every name before fetching anything; folders (empty ones too) come first.
        targets = [(rel, _local_path(dst_root, rel)) for rel, _ in files]
        for folder in [remote_dir, *folders]:
            os.makedirs(_local_path(dst_root, folder), exist_ok=True)
        total = sum(size or 0 for _, size in files)
        with Progress(total, f"Downloading {len(files)} files") as progress:

            def fetch(rel: str, local: str) -> None:
                os.makedirs(os.path.dirname(local), exist_ok=True)
                self._download(rel, local, progress)

            self._parallel([lambda r=rel, lo=local: fetch(r, lo) for rel, local in targets])

    def _tree(self, remote_dir: str) -> tuple[list[tuple[str, int | None]], list[str]]:
        """(files with sizes, folders) below a folder; in one listing where possible."""
        files: list[tuple[str, int | None]] = []
        folders: list[str] = []
        if self._local:
            stack = [remote_dir]
            while stack:  # list_artifacts follows links to folders; find would not
                for info in self.list_artifacts(stack.pop() or None):
                    if info.is_dir:
                        stack.append(info.path)
                        folders.append(info.path)
                    else:
                        files.append((info.path, info.file_size))
            return files, folders
        base = self._full(remote_dir)
        prefix = self._norm(base).rstrip("/") + "/"
        with self._errors("list", remote_dir or "/"):
            try:
                found = self._retrying(lambda: _find(self.fs, base))
            except (FileNotFoundError, NotADirectoryError):
                return [], []
        for name, entry in found.items():
            name = self._norm(name)
            if not name.startswith(prefix):
                continue
            rel = name[len(prefix) :]
            if not rel or any(part.startswith(TEMP_PREFIX) for part in rel.split("/")):
                continue
            path = posixpath.join(remote_dir, rel) if remote_dir else rel
            if entry.get("type") == "directory":
                folders.append(path)
            else:
                files.append((path, _size(entry)))
        return sorted(files), sorted(folders)

    def _download(self, rel: str, local_path: str, progress: Progress | None) -> None:
        source = self._full(rel)

        def get(tmp: str) -> None:
            callback = progress.callback() if progress is not None else None
            self._retrying(lambda: self._get_file(source, tmp, callback))
            if os.path.isdir(tmp):  # get_file of a folder makes a folder, not an error
                os.rmdir(tmp)
                raise TracklineException.invalid_parameter_value(
                    f"{rel!r} is a directory, not a file."
                )

        try:
            with self._errors("download", rel):
                _atomic_local_write(os.path.abspath(local_path), get)
        except OSError as exc:
            # File systems disagree on the error for a missing file (a path below a file
            # gives NotADirectoryError locally, FileExistsError in memory): ask once more.
            if isinstance(exc, FileNotFoundError) or not self._is_file(source):
                raise TracklineException(
                    f"No artifact at {rel!r} under {mask_uri(self.artifact_uri)!r}.",
                    RESOURCE_DOES_NOT_EXIST,
                ) from exc
            raise
        except TracklineException as exc:
            # Remote stores: an error about a path that is not a file means "not there".
            translated = exc.error_code not in (RESOURCE_DOES_NOT_EXIST, "INVALID_PARAMETER_VALUE")
            if translated and not self._is_file(source):
                raise TracklineException(
                    f"No artifact at {rel!r} under {mask_uri(self.artifact_uri)!r}.",
                    RESOURCE_DOES_NOT_EXIST,
                ) from exc
            raise

    def _get_file(self, source: str, local_tmp: str, callback: Any) -> None:
        """Copy ``source`` into the hidden local file ``local_tmp`` (a subclass may do it
        its own way: S3 reads ranges in parallel)."""
        kwargs = dict(self._store.download_kwargs)
        if callback is not None:
            kwargs["callback"] = callback
        self.fs.get_file(source, local_tmp, **kwargs)

    def open_artifact(
        self, path: str, byte_range: tuple[int, int | None] | None = None
    ) -> ArtifactStream:
        """A stored file as a stream of chunks, for the server to relay without a local copy.

        ``byte_range`` is ``(first, last)`` (inclusive; ``last`` None: to the end). A
        missing file raises RESOURCE_DOES_NOT_EXIST; a range starting past the end raises
        INVALID_PARAMETER_VALUE with ``.size`` set on the stream-less exception.
        """
        rel = validate_artifact_path(path)
        if not rel:
            raise _missing(rel, self.artifact_uri)
        target = self._full(rel)
        with self._errors("download", rel):
            try:
                handle = self._retrying(lambda: self.fs.open(target, "rb", block_size=STREAM_CHUNK))
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise _missing(rel, self.artifact_uri) from None
        try:
            size = int(handle.size)
            first, last = _resolve_range(byte_range, size)
            if first:
                handle.seek(first)
        except BaseException:
            handle.close()
            raise

        def chunks() -> Iterator[bytes]:
            remaining = last - first + 1
            while remaining > 0:
                data = handle.read(min(STREAM_CHUNK, remaining))
                if not data:
                    raise TracklineException(
                        f"{rel!r} ended early: it changed or the store failed mid-read.",
                        "DATA_LOSS",
                    )
                remaining -= len(data)
                yield data

        return ArtifactStream(size, first, last, chunks(), handle.close)

    def _is_file(self, target: str) -> bool:
        try:
            return bool(self.fs.isfile(target))
        except Exception:
            return False

    # -- deleting ------------------------------------------------------------------------------

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        rel = validate_artifact_path(artifact_path)
        with self._errors("delete", rel or "/"):
            if rel:
                self._remove(self._full(rel))
                return
            # Everything: empty the root but keep the folder itself, which may carry
            # permissions or be a mount point someone else set up.
            try:
                entries = self.fs.ls(self.root, detail=True)
            except (FileNotFoundError, NotADirectoryError):
                return
            own_name = self._norm(self.root)
            for entry in entries:
                name = self._norm(entry["name"])
                if name != own_name:
                    self._remove(self._full(name.rsplit("/", 1)[-1]))

    def _remove(self, target: str) -> None:
        try:
            if self._local:
                self.fs.rm(target, recursive=True)  # the local rm takes its path literally
            else:
                self._remove_literal(target)
        except (FileNotFoundError, NotADirectoryError):
            pass  # already gone (or never was, below a file): deleting is idempotent

    def _remove_literal(self, target: str) -> None:
        """Delete a file or a tree without glob expansion.

        ``fs.rm`` expands ``*``, ``?`` and ``[...]``, so deleting ``data[1].txt`` would also
        delete ``data1.txt``. ``find`` lists literally, and files are removed one by one.
        """
        if self._has_folders() and self._is_file(target):
            self.fs.rm_file(target)  # FTP cannot list a file as if it were a folder
            return
        found = _find(self.fs, target)
        if not found:
            raise FileNotFoundError(target)
        dirs = [name for name, info in found.items() if info.get("type") == "directory"]
        files = [name for name, info in found.items() if info.get("type") != "directory"]
        self._parallel([lambda name=name: self.fs.rm_file(name) for name in files])
        for name in sorted(dirs, key=len, reverse=True):  # deepest first
            # Object stores have no folders to remove; file systems with folders do.
            with suppress(OSError):
                _rmdir(self.fs, name)

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


def _open_store(artifact_uri: str, storage_options: dict[str, Any]) -> Store:
    if is_local_uri(artifact_uri):
        root = make_path_posix(local_path(artifact_uri))
        return Store(LocalFileSystem(**storage_options), root.rstrip("/") or "/", "file")
    scheme = uri_scheme(artifact_uri)
    opener = OPENERS.get(scheme)
    if opener is not None and not storage_options:
        return opener(artifact_uri)
    fs, root = url_to_fs(artifact_uri, **storage_options)
    return Store(fs, root.rstrip("/"), scheme)


def _first_missing_dir(path: str) -> str | None:
    """The outermost folder of ``path`` that does not exist yet (``None``: all exist)."""
    missing = None
    while path and not os.path.exists(path):
        missing = path
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def _find(fs: AbstractFileSystem, path: str) -> dict[str, dict[str, Any]]:
    """Everything below ``path`` (folders too) by name; adlfs answers a list for a file."""
    found = fs.find(path, withdirs=True, detail=True)
    if isinstance(found, dict):
        return found
    return {entry["name"]: entry for entry in found if isinstance(entry, dict)} or {
        name: fs.info(name) for name in found if isinstance(name, str)
    }


def _rmdir(fs: AbstractFileSystem, path: str) -> None:
    """Remove an empty folder; sshfs has only the async ``_rmdir`` (its ``rmdir`` is the
    base class's no-op)."""
    if getattr(fs, "async_impl", False) and "_rmdir" in type(fs).__dict__:
        from fsspec.asyn import sync

        sync(fs.loop, fs._rmdir, path)
    else:
        fs.rmdir(path)


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


@dataclass
class ArtifactStream:
    """The bytes ``first``..``last`` (inclusive) of a stored file of ``size`` bytes.

    ``chunks`` yields them in order; ``close`` releases the connection (call it even when
    the chunks were not all read).
    """

    size: int
    first: int
    last: int
    chunks: Iterator[bytes]
    close: Callable[[], None]

    @property
    def length(self) -> int:
        return self.last - self.first + 1


class RangeNotSatisfiable(TracklineException):
    """A requested byte range lies outside the file (HTTP 416); ``size`` is the file's."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"The range lies outside the file ({size} bytes).", "INVALID_PARAMETER_VALUE"
        )
        self.size = size


def _resolve_range(byte_range: tuple[int, int | None] | None, size: int) -> tuple[int, int]:
    """(first, last) inclusive of a requested range within a file of ``size`` bytes."""
    if byte_range is None:
        return 0, size - 1
    first, last = byte_range
    if first < 0:  # a suffix range: the last -first bytes
        return max(0, size + first), size - 1
    if first >= size:
        raise RangeNotSatisfiable(size)
    return first, size - 1 if last is None else min(last, size - 1)


def _missing(rel: str, uri: str) -> TracklineException:
    return TracklineException(
        f"No artifact at {rel!r} under {mask_uri(uri)!r}.", RESOURCE_DOES_NOT_EXIST
    )


def _write_bytes(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _size(entry: dict[str, Any]) -> int | None:
    size = entry.get("size")
    return int(size) if size is not None else None
