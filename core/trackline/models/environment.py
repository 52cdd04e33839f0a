"""The environment files of a model: ``requirements.txt``, ``python_env.yaml``, ``conda.yaml``.

A flavor names the libraries its model needs (``["scikit-learn", "skops"]``); they are
pinned to the versions installed here. ``pip_requirements`` replaces that list and
``extra_pip_requirements`` adds to it (MLflow's parameters; each may also be the path of a
requirements file). A ``-c constraints.txt`` line ships its file as ``constraints.txt``.
Neither ``mlflow`` nor ``trackline`` is written: the loader modules are plain library code,
and each side brings its own loader (see docs/models.md).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from trackline.exceptions import TracklineException

REQUIREMENTS_FILE = "requirements.txt"
CONSTRAINTS_FILE = "constraints.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def python_version() -> str:
    return platform.python_version()


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def pin(requirement: str) -> str:
    """``"scikit-learn"`` → ``"scikit-learn==1.9.1"``; specifiers and URLs are left as given."""
    requirement = requirement.strip()
    match = _NAME.match(requirement)
    if not match or match.group(1) != requirement:
        return requirement
    version = installed_version(requirement)
    if version is None:
        return requirement
    # A local build tag ("2.1.0+cpu") is not on the package index; pin the public part.
    return f"{requirement}=={version.split('+', 1)[0]}"


def _read_requirements(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if not path.is_file():
            raise TracklineException.invalid_parameter_value(
                f"Requirements file {str(value)!r} does not exist; pass a list of requirement "
                "strings or the path of a requirements file."
            )
        lines = path.read_text(encoding="utf-8").splitlines()
    else:
        lines = list(value)
    out = []
    for line in lines:
        if not isinstance(line, str):
            raise TracklineException.invalid_parameter_value(
                f"A requirement must be a string, got {line!r}."
            )
        line = line.split("#", 1)[0].strip() if not line.strip().startswith("-") else line.strip()
        if line:
            out.append(line)
    return out


def resolve_requirements(
    default: Iterable[str],
    pip_requirements: str | Iterable[str] | None = None,
    extra_pip_requirements: str | Iterable[str] | None = None,
    conda_env: str | dict[str, Any] | None = None,
) -> list[str]:
    """The model's pip requirement lines, pinned where trackline chose them."""
    given = [x is not None for x in (pip_requirements, extra_pip_requirements, conda_env)]
    if sum(given) > 1:
        raise TracklineException.invalid_parameter_value(
            "Give only one of pip_requirements, extra_pip_requirements and conda_env."
        )
    if conda_env is not None:
        env = _load_conda_env(conda_env)
        return [
            line
            for dep in env.get("dependencies", [])
            if isinstance(dep, dict)
            for line in dep.get("pip", [])
        ]
    explicit = _read_requirements(pip_requirements)
    if explicit is not None:
        return explicit
    base = [pin(r) for r in default]
    extra = _read_requirements(extra_pip_requirements) or []
    names = {_requirement_name(r) for r in extra}
    return [r for r in base if _requirement_name(r) not in names] + extra


def _requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    return match.group(1).lower().replace("_", "-") if match else requirement


def _load_conda_env(conda_env: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(conda_env, dict):
        return conda_env
    path = Path(conda_env)
    if not path.is_file():
        raise TracklineException.invalid_parameter_value(
            f"conda_env {str(conda_env)!r} is neither a dict nor an existing YAML file."
        )
    env = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(env, dict):
        raise TracklineException.invalid_parameter_value(
            f"conda_env file {str(conda_env)!r} must hold a YAML mapping."
        )
    return env


def write_environment(
    path: str | os.PathLike[str],
    requirements: list[str],
    conda_env: str | dict[str, Any] | None = None,
) -> dict[str, str]:
    """Write the three environment files into ``path``; returns the pyfunc ``env`` config."""
    folder = Path(path)
    lines = []
    for line in requirements:
        if line.startswith("-c "):
            source = Path(line[3:].strip())
            if not source.is_file():
                raise TracklineException.invalid_parameter_value(
                    f"Constraints file {str(source)!r} does not exist."
                )
            shutil.copyfile(source, folder / CONSTRAINTS_FILE)
            line = f"-c {CONSTRAINTS_FILE}"
        lines.append(line)
    (folder / REQUIREMENTS_FILE).write_text("\n".join(lines), encoding="utf-8")

    pip_version = installed_version("pip")
    build = [
        f"pip=={pip_version}" if pip_version else "pip",
        f"setuptools=={installed_version('setuptools')}"
        if installed_version("setuptools")
        else "setuptools",
        "wheel",
    ]
    python_env = {
        "python": python_version(),
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    (folder / PYTHON_ENV_FILE).write_text(
        yaml.safe_dump(python_env, sort_keys=False), encoding="utf-8"
    )

    if conda_env is not None:
        conda = _load_conda_env(conda_env)
    else:
        conda = {
            "channels": ["conda-forge"],
            "dependencies": [
                f"python={python_version()}",
                f"pip<={pip_version}" if pip_version else "pip",
                {"pip": lines},
            ],
            "name": "mlflow-env",
        }
    (folder / CONDA_ENV_FILE).write_text(yaml.safe_dump(conda), encoding="utf-8")
    return {"conda": CONDA_ENV_FILE, "virtualenv": PYTHON_ENV_FILE}


def read_requirements(path: str | os.PathLike[str]) -> list[str]:
    """The requirement lines of a saved model (empty if it has no requirements.txt)."""
    file = Path(path) / REQUIREMENTS_FILE
    if not file.is_file():
        return []
    return [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
