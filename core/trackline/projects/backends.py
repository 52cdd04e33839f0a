"""Execution backends: the interface, the ``backend_config`` keys, and finding a backend by name.

Backends come from the ``register_project_backends`` hook; the ``local`` backend is itself a
built-in plugin (``trackline.plugins._builtin.projects``), registered the same way as a
third-party Kubernetes, Slurm or Ray backend would be. ``docs/projects.md`` has a worked example.
"""

from __future__ import annotations

import abc
import inspect
import json
import os
from typing import Any

from trackline.projects.exceptions import ExecutionException
from trackline.projects.submitted import SubmittedRun

# Keys the runner adds to ``backend_config`` (MLflow's names, so that MLflow backends port).
ENV_MANAGER = "ENV_MANAGER"  # None: the backend picks from the project's environment file
SYNCHRONOUS = "SYNCHRONOUS"  # bool: the runner waits; the backend may still return at once
DOCKER_ARGS = "DOCKER_ARGS"
STORAGE_DIR = "STORAGE_DIR"  # where to put clones and downloaded path parameters, or None
BUILD_IMAGE = "build_image"
DOCKER_AUTH = "docker_auth"
RUN_ID = "_mlflow_local_backend_run_id"  # run in this existing run instead of a new one
RUN_NAME = "RUN_NAME"  # trackline's addition: the name of the new run


class AbstractBackend(abc.ABC):
    """Runs a project somewhere and hands back a ``SubmittedRun``.

    The signature is MLflow's ``AbstractBackend.run``, so a backend written for MLflow needs
    only its imports changed. The backend fetches the project, creates the tracking run
    (``trackline.projects.tracking.start_project_run`` writes the standard tags and params) and
    starts the command; the runner then tags the run with the backend's name and, for a
    synchronous run, waits and ends the run if the backend did not.
    """

    @abc.abstractmethod
    def run(
        self,
        project_uri: str,
        entry_point: str,
        params: dict[str, Any],
        version: str | None,
        backend_config: dict[str, Any],
        tracking_uri: str,
        experiment_id: str,
    ) -> SubmittedRun:
        """Start ``entry_point`` of the project at ``project_uri``; return without waiting."""


def backend_names() -> list[str]:
    from trackline.plugins.manager import get_plugin_manager

    return sorted(get_plugin_manager().registry.project_backends)


def load_backend(name: str) -> Any:
    """The backend registered as ``name``: its factory called with no arguments."""
    from trackline.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    table = manager.registry.project_backends
    if name not in table:
        known = ", ".join(sorted(table)) or "none"
        raise ExecutionException(
            f"No project backend named {name!r}. Installed backends: {known}. A backend is "
            "added by a plugin implementing register_project_backends; run 'trackline plugins' "
            "to see what is installed."
        )
    spec, plugin = table[name]
    try:
        factory = spec.load()
        backend = factory() if callable(factory) else factory
    except Exception as exc:
        raise ExecutionException(
            f"Project backend {name!r} (plugin {manager.describe(plugin)}) failed to load: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not callable(getattr(backend, "run", None)):
        raise ExecutionException(
            f"Project backend {name!r} (plugin {manager.describe(plugin)}) has no run() method."
        )
    return backend


def parse_backend_config(value: dict[str, Any] | str | None) -> dict[str, Any]:
    """A dict, a path to a ``.json`` file, or a JSON string (as the CLI's ``--backend-config``)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    text = str(value)
    if text.endswith(".json") or os.path.isfile(text):
        try:
            with open(text, encoding="utf-8") as handle:
                parsed = json.load(handle)
        except (OSError, ValueError) as exc:
            raise ExecutionException(f"Cannot read backend config file {text}: {exc}") from exc
    else:
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise ExecutionException(
                f"Backend config must be a JSON object or a path to a .json file: {exc}"
            ) from exc
    if not isinstance(parsed, dict):
        raise ExecutionException("Backend config must be a JSON object.")
    return parsed


def call_backend(backend: Any, **arguments: Any) -> SubmittedRun:
    """Call ``backend.run`` with the arguments it accepts (older backends take fewer)."""
    accepted = inspect.signature(backend.run).parameters
    takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    given = arguments if takes_all else {k: v for k, v in arguments.items() if k in accepted}
    return backend.run(**given)
