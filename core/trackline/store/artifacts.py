"""The artifact-repository interface and the path rules every repository shares.

A plugin registers a factory per URI scheme (see
``trackline.plugins.hookspecs.register_artifact_repositories``); the factory is called as
``factory(artifact_uri, tracking_uri=None)`` and returns an ``ArtifactRepository`` rooted at
that URI.

All paths given to a repository are relative, POSIX-style, and checked with
``validate_artifact_path``: no ``..`` segment, no absolute path, no NUL or backslash
tricks, so no artifact path can escape the repository root.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from urllib.parse import unquote

from trackline.entities import FileInfo
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException

_URI_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:/")


def validate_artifact_path(path: str | None) -> str:
    """Return ``path`` normalised (``""`` for the root) or raise INVALID_PARAMETER_VALUE.

    Refused: ``..`` segments, absolute paths, Windows drives, backslashes, NUL, ``~``,
    URIs (``file:///…``), and percent-encodings of any of these or of invalid UTF-8.
    """
    if path is None or path in ("", ".", "/"):
        return ""
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        decoded = None
    bad = (
        decoded is None
        or "\x00" in decoded
        or "\\" in decoded
        or "\ufffd" in decoded
        or decoded.startswith(("/", "~"))
        or (len(decoded) > 1 and decoded[1] == ":")  # a Windows drive
        or _URI_PREFIX.match(decoded) is not None
        or any(part == ".." for part in decoded.split("/"))
    )
    if bad:
        raise TracklineException.invalid_parameter_value(
            f"Invalid artifact path {path!r}: it must be a relative path inside the artifact "
            "root, without '..', '~', URI schemes, backslashes, NUL or invalid UTF-8."
        )
    normalised = posixpath.normpath(path)
    return "" if normalised == "." else normalised.strip("/")


class ArtifactRepository(ABC):
    """Files stored under one root URI (a run's or an experiment's artifact location)."""

    def __init__(self, artifact_uri: str) -> None:
        self.artifact_uri = artifact_uri

    @abstractmethod
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Copy one local file into ``artifact_path`` (a directory; the root by default)."""

    @abstractmethod
    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Copy the contents of a local directory into ``artifact_path``."""

    @abstractmethod
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Direct children of ``path``, sorted by path; ``[]`` if ``path`` is a file or missing.

        Paths in the result are relative to the repository root; directories have no size.
        """

    @abstractmethod
    def _download_file(self, remote_file_path: str, local_path: str) -> None:
        """Copy one stored file to ``local_path`` (its directory exists)."""

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Store ``data`` as ``artifact_file``; repositories may do this without a temp file."""
        artifact_file = validate_artifact_path(artifact_file)
        if not artifact_file:
            # "" or "/" is the root directory: there is no file name to write to.
            raise TracklineException.invalid_parameter_value(
                "log_bytes needs a file name, not the artifact root."
            )
        directory, name = posixpath.split(artifact_file)
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, name)
            with open(local, "wb") as f:
                f.write(data)
            self.log_artifact(local, directory or None)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete a file or a directory tree (everything when ``artifact_path`` is empty)."""
        raise TracklineException(
            f"{type(self).__name__} cannot delete artifacts", "NOT_IMPLEMENTED"
        )

    def is_directory(self, path: str) -> bool:
        """Whether ``path`` is a directory (the root always is).

        The default asks ``list_artifacts``, so an empty directory counts as missing;
        repositories that can tell (a local file system) should override this.
        """
        path = validate_artifact_path(path)
        if not path:
            return True
        return bool(self.list_artifacts(path))

    def download_artifacts(self, artifact_path: str | None, dst_path: str | None = None) -> str:
        """Download a file or a directory tree and return its local path.

        ``dst_path`` must exist if given; a temporary directory is used otherwise (and
        removed again if the download fails). A missing file raises RESOURCE_DOES_NOT_EXIST.
        """
        artifact_path = validate_artifact_path(artifact_path)
        if dst_path is not None and not os.path.isdir(dst_path):
            raise TracklineException.invalid_parameter_value(
                f"The destination path {dst_path!r} does not exist or is not a directory."
            )
        own_tmp = dst_path is None
        dst_path = os.path.abspath(
            tempfile.mkdtemp(prefix="trackline-artifacts-") if dst_path is None else dst_path
        )
        try:
            if self.is_directory(artifact_path):
                self._download_tree(artifact_path, dst_path)
            else:
                self._download_one(artifact_path, dst_path)
        except BaseException:
            if own_tmp:  # the caller never saw this directory: do not leak it
                shutil.rmtree(dst_path, ignore_errors=True)
            raise
        return _local_path(dst_path, artifact_path)

    def _download_one(self, remote: str, dst_root: str) -> None:
        local = _local_path(dst_root, remote)
        os.makedirs(os.path.dirname(local), exist_ok=True)
        try:
            self._download_file(remote, local)
        except FileNotFoundError as exc:
            raise TracklineException(
                f"No artifact at {remote!r} under {self.artifact_uri!r}.",
                RESOURCE_DOES_NOT_EXIST,
            ) from exc

    def _download_tree(self, remote_dir: str, dst_root: str) -> None:
        os.makedirs(_local_path(dst_root, remote_dir), exist_ok=True)
        for info in self.list_artifacts(remote_dir or None):
            if info.is_dir:
                self._download_tree(info.path, dst_root)
            else:
                self._download_one(info.path, dst_root)


def _local_path(dst_root: str, remote: str) -> str:
    """Where ``remote`` lands under ``dst_root``.

    Listed paths come from the store, and object stores accept keys such as
    ``a/../../x``: validating them again keeps a download inside ``dst_root``.
    """
    remote = validate_artifact_path(remote)
    return os.path.join(dst_root, *remote.split("/")) if remote else dst_root
