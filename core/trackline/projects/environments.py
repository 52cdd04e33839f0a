"""The environment a project's command runs in, built once per specification and reused.

Environment managers (``--env-manager``):

* ``local``: the current interpreter and its packages (its ``bin`` folder goes first on
  ``PATH``, so ``python`` in a command is the interpreter running trackline).
* ``virtualenv``: a virtual environment made with the standard library's ``venv`` from an
  interpreter of the Python version ``python_env.yaml`` asks for (the current one, a
  ``pythonX.Y`` on ``PATH``, or a pyenv version), then ``pip install`` of its
  ``build_dependencies`` and ``dependencies``.
* ``uv``: the same, built by `uv <https://docs.astral.sh/uv/>`_, which is much faster and
  downloads a missing Python version itself. uv is found, not required: on ``PATH``, next to
  the current interpreter, or as the ``uv`` Python package (``pip install uv`` or
  ``pip install 'trackline[uv]'``).
* ``conda``: ``conda env create`` from the project's ``conda.yaml``, when conda is installed.

A built environment lives in ``<env root>/<manager>-<hash>``, where the hash covers the
manager, the Python version and every dependency line (and the contents of requirement files
named by ``-r``), so the same specification is built once and then reused. The env root is
``TRACKLINE_ENV_ROOT`` (or ``MLFLOW_ENV_ROOT``), by default ``~/.trackline/envs``. A build that
fails leaves nothing behind; two processes building the same environment take turns.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from trackline.projects.exceptions import ExecutionException
from trackline.projects.spec import ENV_CONDA, ENV_DOCKER, ENV_PYTHON, Project

logger = logging.getLogger("trackline.projects")

LOCAL = "local"
VIRTUALENV = "virtualenv"
UV = "uv"
CONDA = "conda"
ENV_MANAGERS = (LOCAL, VIRTUALENV, UV, CONDA)

_MARKER_FILE = ".trackline-env.json"
_BIN = "Scripts" if sys.platform == "win32" else "bin"


@dataclass(frozen=True)
class PythonEnvSpec:
    """The content of ``python_env.yaml``: a Python version and pip requirement lines."""

    python: str | None = None
    build_dependencies: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()

    @classmethod
    def from_yaml(cls, path: str) -> PythonEnvSpec:
        document = _read_yaml(path)
        unknown = sorted(set(document) - {"python", "build_dependencies", "dependencies"})
        if unknown:
            raise ExecutionException(
                f"{path}: unknown keys {', '.join(unknown)}; a python_env.yaml has python, "
                "build_dependencies and dependencies."
            )
        python = document.get("python")
        if python is not None and not re.fullmatch(r"\d+(\.\d+){0,2}", str(python)):
            raise ExecutionException(
                f"{path}: python must be a version such as 3.11 or 3.11.7, not {python!r}."
            )
        return cls(
            python=None if python is None else str(python),
            build_dependencies=_requirement_list(document, "build_dependencies", path),
            dependencies=_requirement_list(document, "dependencies", path),
        )

    @classmethod
    def from_conda_yaml(cls, path: str) -> PythonEnvSpec:
        """The Python version and the ``pip:`` requirements of a conda environment file.

        Conda packages other than python and pip cannot go into a virtualenv; they are
        listed in a warning so that a missing library is not a mystery later.
        """
        document = _read_yaml(path)
        python = None
        pip_lines: list[str] = []
        skipped = []
        for item in document.get("dependencies") or []:
            if isinstance(item, dict) and isinstance(item.get("pip"), list):
                pip_lines.extend(str(line) for line in item["pip"])
            elif isinstance(item, str):
                match = re.fullmatch(r"python\s*=?=?\s*([\d.]+)\*?(\.\*)?", item.strip())
                if match:
                    python = match.group(1).rstrip(".")
                elif item.strip() not in ("pip", "python") and not item.startswith("pip"):
                    skipped.append(item)
        if skipped:
            logger.warning(
                "%s: conda packages %s are not installed in a virtualenv; list them under pip: "
                "or run with --env-manager conda.",
                path,
                ", ".join(skipped),
            )
        return cls(python=python, build_dependencies=("pip",), dependencies=tuple(pip_lines))


@dataclass(frozen=True)
class Environment:
    """An environment ready to run a command in."""

    manager: str
    path: str | None = None  # the environment's folder; None for local
    variables: dict[str, str] = field(default_factory=dict)  # set for the command
    reused: bool = False  # found in the cache rather than built now

    def command_environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """This process's environment with the environment's variables, then ``extra``."""
        return {**os.environ, **self.variables, **(extra or {})}


def default_env_manager(project: Project) -> str:
    """The manager MLflow picks when none is given: from the kind of environment declared."""
    if project.env_type == ENV_CONDA:
        return CONDA
    if project.env_type == ENV_DOCKER:
        return LOCAL
    return VIRTUALENV


def check_env_manager(project: Project, env_manager: str) -> None:
    """Refuse impossible combinations before anything is created."""
    if env_manager not in ENV_MANAGERS:
        raise ExecutionException(
            f"Unknown environment manager {env_manager!r}; use one of {', '.join(ENV_MANAGERS)}."
        )
    if env_manager == CONDA:
        if project.env_type == ENV_PYTHON and project.env_config_path:
            raise ExecutionException(
                "This project declares a python_env, which conda cannot build; run it with "
                "--env-manager virtualenv, uv or local."
            )
        if find_conda() is None:
            raise ExecutionException(
                "--env-manager conda needs conda, which was not found (looked at CONDA_EXE and "
                "PATH). Install conda (for example Miniforge), or run with --env-manager "
                "virtualenv or uv (which install the pip: section of conda.yaml), or local."
            )
    if env_manager == UV and find_uv() is None:
        raise ExecutionException(
            "--env-manager uv needs the uv executable, which was not found on PATH nor as a "
            "Python package; install it with 'pip install uv' (or 'pip install trackline[uv]')."
        )


def env_root() -> str:
    from trackline.tracking.uri import env

    configured = env("ENV_ROOT")
    return os.path.abspath(os.path.expanduser(configured or "~/.trackline/envs"))


def prepare_environment(project: Project, env_manager: str, root: str | None = None) -> Environment:
    """Find or build the environment ``env_manager`` makes for ``project``."""
    check_env_manager(project, env_manager)
    if env_manager == LOCAL:
        bin_dir = os.path.dirname(sys.executable)
        path = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
        return Environment(LOCAL, variables={"PATH": path})
    root = root or env_root()
    if env_manager == CONDA:
        return _conda_environment(project, root)
    spec = _python_env_spec(project)
    if env_manager == UV:
        uv = find_uv()
        assert uv is not None  # check_env_manager made sure
        python_request = spec.python or _current_python_version()
        identity = {"manager": UV, "python": python_request}
        return _cached(
            project,
            root,
            spec,
            identity,
            lambda d: _build_with_uv(uv, python_request, spec, project, d),
        )
    interpreter, version = find_interpreter(spec.python)
    identity = {"manager": VIRTUALENV, "python": version}
    return _cached(
        project, root, spec, identity, lambda d: _build_with_venv(interpreter, spec, project, d)
    )


# -- finding tools ---------------------------------------------------------------------------


def find_uv() -> str | None:
    """The uv executable: on PATH, next to this interpreter, or from the ``uv`` package."""
    found = shutil.which("uv")
    if found:
        return found
    sibling = os.path.join(
        os.path.dirname(sys.executable), "uv" + (".exe" if sys.platform == "win32" else "")
    )
    if os.path.isfile(sibling) and os.access(sibling, os.X_OK):
        return sibling
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return str(find_uv_bin())
    except Exception:  # not installed, or a wheel without its binary
        return None


def find_conda() -> str | None:
    configured = os.environ.get("CONDA_EXE")
    if configured and os.path.isfile(configured):
        return configured
    return shutil.which("conda")


def _current_python_version() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


def _version_matches(requested: str | None, actual: str) -> bool:
    if requested is None:
        return True
    wanted = requested.split(".")
    return actual.split(".")[: len(wanted)] == wanted


def find_interpreter(requested: str | None) -> tuple[str, str]:
    """An interpreter of the ``requested`` version (``3.11`` or ``3.11.7``), and its version.

    Looks at the current interpreter, then ``pythonX.Y`` on PATH, then pyenv's versions.
    """
    current = _current_python_version()
    if _version_matches(requested, current):
        return sys.executable, current
    assert requested is not None
    candidates = []
    major_minor = ".".join(requested.split(".")[:2])
    on_path = shutil.which(f"python{major_minor}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    versions_dir = os.path.join(pyenv_root, "versions")
    if os.path.isdir(versions_dir):
        for name in sorted(os.listdir(versions_dir), reverse=True):
            if _version_matches(requested, name):
                candidates.append(os.path.join(versions_dir, name, "bin", "python"))
    for candidate in candidates:
        version = _interpreter_version(candidate)
        if version and _version_matches(requested, version):
            return candidate, version
    raise ExecutionException(
        f"The project asks for Python {requested}, which was not found (looked at the current "
        f"interpreter {current}, python{major_minor} on PATH and pyenv versions). Install it "
        "(for example 'pyenv install'), or run with --env-manager uv, which downloads it."
    )


def _interpreter_version(executable: str) -> str | None:
    try:
        result = subprocess.run(
            [executable, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


# -- specifications ----------------------------------------------------------------------------


def _read_yaml(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ExecutionException(f"Cannot read environment file {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise ExecutionException(f"Environment file {path} must be a YAML mapping.")
    return document


def _requirement_list(document: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
    value = document.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ExecutionException(f"{path}: {key} must be a list of requirement strings.")
    return tuple(str(v) for v in value)


def _python_env_spec(project: Project) -> PythonEnvSpec:
    if project.env_config_path is None:
        return PythonEnvSpec(python=_current_python_version())
    if project.env_type == ENV_CONDA:
        return PythonEnvSpec.from_conda_yaml(project.env_config_path)
    return PythonEnvSpec.from_yaml(project.env_config_path)


def _referenced_files(lines: tuple[str, ...], base_dir: str) -> dict[str, str]:
    """Contents of the requirement files named by ``-r``/``-c`` lines (part of the hash)."""
    contents = {}
    for line in lines:
        match = re.match(r"^\s*(-r|--requirement|-c|--constraint)\s*=?\s*(\S+)", line)
        if match:
            path = os.path.join(base_dir, match.group(2))
            try:
                with open(path, encoding="utf-8") as handle:
                    contents[match.group(2)] = handle.read()
            except OSError as exc:
                raise ExecutionException(f"Requirement file {path} cannot be read: {exc}") from exc
    return contents


def _local_requirements(lines: tuple[str, ...], base_dir: str) -> dict[str, list[Any]]:
    """Where local requirements (``./pkg``, ``/x.whl``, ``file:…``) are, their size and time.

    The same line in two projects can name two different folders or wheels, and a wheel
    rebuilt in place is new content: both must give another environment.
    """
    found: dict[str, list[Any]] = {}
    for line in lines:
        target = line.strip()
        if target.startswith("-e "):
            target = target[3:].strip()
        if target.startswith("file:"):
            target = "/" + target[len("file:") :].lstrip("/")
        elif target.startswith("-") or "://" in target or "@" in target:
            continue  # an option, a URL or a direct reference: its text is its identity
        if not target.startswith((".", "/", "~")) and os.sep not in target:
            continue
        path = os.path.abspath(os.path.join(base_dir, os.path.expanduser(target)))
        try:
            status = os.stat(path)
            found[line] = [path, status.st_size, status.st_mtime_ns]
        except OSError:
            found[line] = [path, None, None]
    return found


def specification_hash(identity: dict[str, Any], spec: PythonEnvSpec, base_dir: str) -> str:
    """A stable hash of everything that decides what an environment contains."""
    lines = spec.build_dependencies + spec.dependencies
    payload = {
        **identity,
        "build_dependencies": list(spec.build_dependencies),
        "dependencies": list(spec.dependencies),
        "files": _referenced_files(lines, base_dir),
        "local": _local_requirements(lines, base_dir),
        "platform": sys.platform,
    }
    encoded = json.dumps(payload, sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:20]


# -- building ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _build_lock(path: str) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no lock; concurrent builds of one env are the user's risk
        yield
        return
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _activation(env_dir: str, manager: str) -> dict[str, str]:
    bin_dir = os.path.join(env_dir, _BIN)
    variables = {"PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    if manager == CONDA:
        variables["CONDA_PREFIX"] = env_dir
        variables["CONDA_DEFAULT_ENV"] = env_dir
    else:
        variables["VIRTUAL_ENV"] = env_dir
    return variables


def _cached(
    project: Project,
    root: str,
    spec: PythonEnvSpec,
    identity: dict[str, Any],
    build: Callable[[str], None],
) -> Environment:
    manager = identity["manager"]
    digest = specification_hash(identity, spec, project.directory)
    env_dir = os.path.join(root, f"{manager}-{digest}")
    os.makedirs(root, exist_ok=True)
    with _build_lock(env_dir + ".lock"):
        marker = os.path.join(env_dir, _MARKER_FILE)
        if os.path.isfile(marker):
            logger.info("=== Reusing %s environment %s ===", manager, env_dir)
            return Environment(manager, env_dir, _activation(env_dir, manager), reused=True)
        if os.path.exists(env_dir):  # a build that was interrupted: start again
            shutil.rmtree(env_dir, ignore_errors=True)
        logger.info("=== Building %s environment %s ===", manager, env_dir)
        try:
            build(env_dir)
        except BaseException:
            shutil.rmtree(env_dir, ignore_errors=True)
            raise
        with open(marker, "w", encoding="utf-8") as handle:
            json.dump({**identity, "spec": _spec_dict(spec)}, handle)
    return Environment(manager, env_dir, _activation(env_dir, manager), reused=False)


def _spec_dict(spec: PythonEnvSpec) -> dict[str, Any]:
    return {
        "python": spec.python,
        "build_dependencies": list(spec.build_dependencies),
        "dependencies": list(spec.dependencies),
    }


def _run_build_step(args: list[str], cwd: str, what: str) -> None:
    logger.info("    %s", " ".join(args))
    try:
        result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    except OSError as exc:
        raise ExecutionException(f"Building the environment failed ({what}): {exc}") from exc
    if result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip()).splitlines()
        tail = "\n".join(output[-15:])
        raise ExecutionException(
            f"Building the environment failed ({what}, exit code {result.returncode}):\n{tail}"
        )


def _build_with_venv(interpreter: str, spec: PythonEnvSpec, project: Project, env_dir: str) -> None:
    _run_build_step([interpreter, "-m", "venv", env_dir], project.directory, "creating the venv")
    python = os.path.join(env_dir, _BIN, "python")
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if spec.build_dependencies:
        _run_build_step([*pip, *spec.build_dependencies], project.directory, "build_dependencies")
    if spec.dependencies:
        _run_build_step(
            [*pip, *_pip_arguments(spec.dependencies)], project.directory, "dependencies"
        )


def _build_with_uv(
    uv: str, python_request: str, spec: PythonEnvSpec, project: Project, env_dir: str
) -> None:
    _run_build_step(
        [uv, "venv", "-q", "--python", python_request, env_dir],
        project.directory,
        "creating the venv with uv",
    )
    python = os.path.join(env_dir, _BIN, "python")
    requirements = [*spec.build_dependencies, *spec.dependencies]
    if requirements:
        _run_build_step(
            [uv, "pip", "install", "-q", "--python", python, *_pip_arguments(tuple(requirements))],
            project.directory,
            "installing requirements with uv",
        )


def _pip_arguments(lines: tuple[str, ...]) -> list[str]:
    """Requirement lines as pip arguments: ``-r file`` splits into two arguments."""
    arguments: list[str] = []
    for line in lines:
        if line.startswith("-"):
            arguments.extend(line.split(None, 1))
        else:
            arguments.append(line)
    return arguments


def _conda_environment(project: Project, root: str) -> Environment:
    conda = find_conda()
    assert conda is not None
    if project.env_config_path is None:
        raise ExecutionException(
            "--env-manager conda needs a conda.yaml (or conda_env in MLproject); this project "
            "has none. Run it with --env-manager virtualenv, uv or local."
        )
    with open(project.env_config_path, "rb") as handle:
        content = handle.read().decode("utf-8", "replace")
    spec = PythonEnvSpec(dependencies=(content,))
    return _cached(
        project,
        root,
        spec,
        {"manager": CONDA},
        lambda env_dir: _run_build_step(
            [conda, "env", "create", "-q", "-p", env_dir, "-f", project.env_config_path],
            project.directory,
            "conda env create",
        ),
    )
