"""Where a project comes from: a local folder, a git repository or a ``.zip`` archive.

``fetch_project(uri, version)`` gives a local directory to run in, plus what the run records
about the source (its name, the git commit, the repository URL, the branch).

* A local folder runs in place. ``--version`` then needs the folder to be a git repository,
  which is cloned at that version into a scratch directory (the folder itself is not touched).
* Anything else with a scheme (``https://``, ``ssh://``, ``git://``, ``file://``) or in scp
  form (``git@host:org/repo.git``) is cloned with the ``git`` executable, so any URL git can
  fetch works, with git's own credential helpers. ``--version`` picks a branch, a tag or a
  commit; only that one commit is fetched (``--depth 1``) when the server allows it.
* ``URI#sub/dir`` runs the project in a subdirectory of the repository or folder.
* A ``.zip`` file (local, or ``http(s)://``) is unpacked into a scratch directory.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from urllib.parse import urlparse

from trackline.projects.exceptions import ExecutionException

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:org/repo.git


@dataclass(frozen=True)
class FetchedProject:
    """A project made local, and what a run records about its source."""

    uri: str  # as the user gave it, subdirectory included
    work_dir: str  # absolute directory holding the project (the subdirectory, if any)
    source_name: str  # mlflow.source.name
    version: str | None = None
    git_commit: str | None = None
    git_repo_url: str | None = None
    git_branch: str | None = None  # only when --version named a branch, as MLflow records it


def split_subdirectory(uri: str) -> tuple[str, str]:
    """``"repo.git#a/b"`` → ``("repo.git", "a/b")``; a subdirectory may not climb out."""
    uri = uri.strip().strip("'\"")
    base, _, subdirectory = uri.partition("#")
    subdirectory = subdirectory.strip("/")
    if subdirectory:
        parts = subdirectory.replace("\\", "/").split("/")
        if ".." in parts or os.path.isabs(subdirectory):
            raise ExecutionException(
                f"Project subdirectory {subdirectory!r} must be a relative path inside the "
                "project, without '..'."
            )
    return base, subdirectory


def _local_path_of(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        path = (parsed.netloc or "") + parsed.path
        return path if os.path.exists(path) else None
    if parsed.scheme and len(parsed.scheme) > 1:
        return None
    return uri if os.path.exists(uri) else None


def _looks_remote(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return (len(scheme) > 1) or bool(_SCP_LIKE.match(uri))


def fetch_project(
    uri: str, version: str | None = None, storage_dir: str | None = None
) -> FetchedProject:
    """Make the project at ``uri`` local (see the module doc); raise ``ExecutionException``.

    :param storage_dir: where clones and unpacked archives go (a new folder inside it per
        call); the system's temporary directory by default.
    """
    base, subdirectory = split_subdirectory(uri)
    if not base:
        raise ExecutionException("The project URI is empty.")
    local = _local_path_of(base)
    if base.lower().endswith(".zip"):
        if version is not None:
            raise ExecutionException("--version works with git repositories, not .zip archives.")
        root = _scratch_dir(storage_dir)
        _unzip(local or base, root, from_url=local is None)
        work_dir = _subdirectory(root, subdirectory, uri)
        return FetchedProject(uri, work_dir, source_name=_absolute_uri(base, local, subdirectory))
    if local is not None and version is None:
        if not os.path.isdir(local):
            raise ExecutionException(f"Project {local!r} is a file; give the folder holding it.")
        work_dir = _subdirectory(os.path.abspath(local), subdirectory, uri)
        return _describe_local(uri, work_dir)
    if local is None and not _looks_remote(base):
        raise ExecutionException(
            f"Project {base!r} is neither an existing folder nor a URL git can fetch "
            "(such as https://host/org/repo.git or file:///path/to/repo)."
        )
    if local is None:
        remote, source_name, repo_url = base, uri, base
    else:
        code, top = (
            (1, "")
            if not os.path.isdir(local)
            else _git(["rev-parse", "--show-toplevel"], cwd=local, check=False)
        )
        if code != 0:
            raise ExecutionException(
                f"--version {version!r} needs a git repository, and {local} is not one."
            )
        # git clones repositories, not folders inside them: clone the repository and run the
        # folder as a subdirectory of it.
        inner = os.path.relpath(os.path.realpath(local), os.path.realpath(top))
        if inner != ".":
            subdirectory = posixpath.join(inner.replace(os.sep, "/"), subdirectory).rstrip("/")
        remote = top
        repo_url = base if _looks_remote(base) and inner == "." else top
        if _looks_remote(base):  # a file:// URL is recorded as the user wrote it
            source_name = uri
        else:  # a path is recorded absolute, to mean the same from anywhere
            source_name = f"{top}#{subdirectory}" if subdirectory else top
    root = _scratch_dir(storage_dir)
    commit, branch = _clone(remote, version, root)
    work_dir = _subdirectory(root, subdirectory, uri)
    return FetchedProject(
        uri=uri,
        work_dir=work_dir,
        source_name=source_name,
        version=version,
        git_commit=commit,
        git_repo_url=repo_url,
        git_branch=branch,
    )


def _scratch_dir(storage_dir: str | None) -> str:
    if storage_dir is not None:
        os.makedirs(storage_dir, exist_ok=True)
    return tempfile.mkdtemp(prefix="trackline-project-", dir=storage_dir)


def _subdirectory(root: str, subdirectory: str, uri: str) -> str:
    path = os.path.abspath(os.path.join(root, subdirectory)) if subdirectory else root
    if not os.path.isdir(path):
        raise ExecutionException(f"Project {uri!r} has no subdirectory {subdirectory!r}.")
    return path


def _absolute_uri(base: str, local: str | None, subdirectory: str) -> str:
    name = os.path.abspath(local) if local is not None else base
    return f"{name}#{subdirectory}" if subdirectory else name


# -- local folders ---------------------------------------------------------------------------


def _describe_local(uri: str, work_dir: str) -> FetchedProject:
    """A folder run in place; inside a git checkout its commit and remote are recorded.

    As in MLflow, the source name of a folder inside a checkout with an ``origin`` remote is
    that remote's URL (plus ``#subdir``), so that the run names code others can fetch.
    """
    code, top = _git(["rev-parse", "--show-toplevel"], cwd=work_dir, check=False)
    if code != 0:
        return FetchedProject(uri, work_dir, source_name=work_dir)
    commit = _git(["rev-parse", "HEAD"], cwd=work_dir, check=False)
    remote = _git(["config", "--get", "remote.origin.url"], cwd=work_dir, check=False)
    repo_url = remote[1] if remote[0] == 0 and remote[1] else None
    source_name = work_dir
    if repo_url:
        relative = os.path.relpath(work_dir, os.path.realpath(top))
        if relative.startswith(".."):  # symlinked paths: compare real paths
            relative = os.path.relpath(os.path.realpath(work_dir), os.path.realpath(top))
        source_name = repo_url if relative == "." else f"{repo_url}#{relative}"
    return FetchedProject(
        uri,
        work_dir,
        source_name=source_name,
        git_commit=commit[1] if commit[0] == 0 and commit[1] else None,
        git_repo_url=repo_url,
    )


# -- git ---------------------------------------------------------------------------------------


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"  # an unreachable private repo fails instead of hanging
    return env


def _git(args: list[str], cwd: str | None = None, check: bool = True) -> tuple[int, str]:
    """Run git; return its exit code and output (stdout, or the error text when it failed)."""
    if shutil.which("git") is None:
        raise ExecutionException("Running a project from git needs the git executable on PATH.")
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=_git_env())
    if result.returncode == 0:
        return 0, result.stdout.strip()
    lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line]
    error = " ".join(lines[-3:]) or f"git exited with code {result.returncode}"
    if check:
        raise ExecutionException(f"git {' '.join(args)} failed: {error}")
    return result.returncode, error


def _clone(remote: str, version: str | None, dst: str) -> tuple[str, str | None]:
    """Fetch ``version`` (default: the remote's HEAD) of ``remote`` into ``dst``.

    Returns the commit checked out, and the branch when ``version`` names one.
    """
    code, refs = _git(["ls-remote", remote], check=False)
    if code != 0:
        raise ExecutionException(f"Cannot reach git repository {remote!r}: {refs}")
    ref_names = {line.split("\t", 1)[1] for line in refs.splitlines() if "\t" in line}
    _git(["init", "-q", dst])
    _git(["remote", "add", "origin", remote], cwd=dst)
    branch = None
    if version is None:
        target = "HEAD"
    else:
        target = version
        if f"refs/heads/{version}" in ref_names:
            branch = version
    code, _ = _git(["fetch", "-q", "--depth", "1", "origin", target], cwd=dst, check=False)
    if code != 0:
        # Servers that refuse to serve a single commit by id: fetch everything, then pick it.
        code, _ = _git(["fetch", "-q", "--tags", "origin"], cwd=dst, check=False)
        verify = ["rev-parse", "--verify", "-q", f"{target}^{{commit}}"]
        if code != 0 or _git(verify, cwd=dst, check=False)[0] != 0:
            raise ExecutionException(
                f"Version {version!r} is not a branch, tag or commit of git repository {remote!r}."
            )
        _git(["checkout", "-q", target], cwd=dst)
    else:
        _git(["checkout", "-q", "FETCH_HEAD"], cwd=dst)
    if os.path.exists(os.path.join(dst, ".gitmodules")):
        _git(["submodule", "update", "-q", "--init", "--recursive", "--depth", "1"], cwd=dst)
    _, commit = _git(["rev-parse", "HEAD"], cwd=dst)
    return commit, branch


# -- zip archives ------------------------------------------------------------------------------


def _unzip(source: str, dst: str, from_url: bool) -> None:
    archive = source
    if from_url:
        import urllib.request

        archive = os.path.join(dst, ".download.zip")
        try:
            with urllib.request.urlopen(source, timeout=60) as response, open(archive, "wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            raise ExecutionException(f"Cannot download project archive {source!r}: {exc}") from exc
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.namelist():
                normal = posixpath.normpath(member)
                if normal.startswith("../") or normal == ".." or posixpath.isabs(normal):
                    raise ExecutionException(
                        f"Project archive {source!r} has an entry outside its root: {member!r}."
                    )
            zipped.extractall(dst)
    except zipfile.BadZipFile as exc:
        raise ExecutionException(f"{source!r} is not a valid .zip archive: {exc}") from exc
    finally:
        if from_url and os.path.exists(archive):
            os.remove(archive)
