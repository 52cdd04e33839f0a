"""Isolated environments for ``--env-manager virtualenv|uv``.

The environment gets the model's ``requirements.txt`` (and ``constraints.txt``), plus the
trackline distributions that load and serve it: trackline, trackline-serving and the plugin
that provides the model's flavor, each from where it is installed here (a local or editable
checkout is installed from its folder; otherwise the same version from the package index).
Building and caching are the projects' environment machinery (``trackline.projects``): one
environment per distinct specification, under ``TRACKLINE_ENV_ROOT`` (``~/.trackline/envs``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml
from trackline.exceptions import TracklineException
from trackline.models.model import Model

ISOLATED_MANAGERS = ("virtualenv", "uv")


def _install_line(distribution: str) -> str:
    """How to install ``distribution`` as it is installed here."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise TracklineException.invalid_parameter_value(
            f"{distribution} is not installed here, so it cannot be installed into the model's "
            "environment either."
        ) from None
    raw = dist.read_text("direct_url.json")
    if raw:
        info = json.loads(raw)
        url = urlparse(info.get("url", ""))
        if url.scheme == "file" and os.path.isdir(unquote(url.path)):
            path = unquote(url.path)
            return f"-e {path}" if info.get("dir_info", {}).get("editable") else path
    return f"{dist.metadata['Name']}=={dist.version}"


def flavor_distribution(model: Model) -> str | None:
    """The distribution of the plugin that loads this model's pyfunc flavor (None: the core)."""
    from trackline.plugins.manager import get_plugin_manager

    loader = model.flavors.get("python_function", {}).get("loader_module", "")
    prefix, _, rest = loader.partition(".")
    if prefix not in ("mlflow", "trackline") or not rest or rest.startswith("pyfunc"):
        return None
    manager = get_plugin_manager()
    entry = manager.registry.flavors.get(rest.split(".")[0])
    if entry is None:
        return None
    dist = manager._distributions.get(entry[1])
    return dist.metadata["Name"] if dist is not None else None


def requirement_lines(model_dir: str) -> list[str]:
    """The dependency lines of the model's environment (relative to a copy of its files)."""
    model = Model.load(model_dir)
    lines = []
    if os.path.isfile(os.path.join(model_dir, "requirements.txt")):
        lines.append("-r requirements.txt")
    distributions = ["trackline", "trackline-serving"]
    flavor = flavor_distribution(model)
    if flavor:
        distributions.append(flavor)
    lines.extend(_install_line(d) for d in distributions)
    return lines


def _python_version(model_dir: str) -> str | None:
    path = Path(model_dir) / "python_env.yaml"
    if not path.is_file():
        return None
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    version = document.get("python") if isinstance(document, dict) else None
    return str(version) if version else None


def prepare(model_dir: str, env_manager: str) -> Any:
    """Build (or reuse) the environment; returns a ``trackline.projects`` Environment."""
    from trackline.projects.environments import prepare_environment
    from trackline.projects.spec import ENV_PYTHON, Project

    if env_manager not in ISOLATED_MANAGERS:
        raise TracklineException.invalid_parameter_value(
            f"--env-manager {env_manager} is not supported for models; use local, virtualenv or uv."
        )
    lines = requirement_lines(model_dir)
    with tempfile.TemporaryDirectory(prefix="trackline-model-env-") as spec_dir:
        for name in ("requirements.txt", "constraints.txt"):
            source = Path(model_dir) / name
            if source.is_file():
                shutil.copyfile(source, Path(spec_dir) / name)
        spec = {
            "python": _python_version(model_dir),
            "build_dependencies": ["pip"],
            "dependencies": lines,
        }
        spec_path = Path(spec_dir) / "python_env.yaml"
        spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        project = Project(directory=spec_dir, env_type=ENV_PYTHON, env_config_path=str(spec_path))
        return prepare_environment(project, env_manager)


def executable(environment: Any, name: str) -> str:
    folder = "Scripts" if os.name == "nt" else "bin"
    return os.path.join(environment.path, folder, name)
