"""Built-in project backend: ``local`` runs projects on this machine.

Registered like any plugin, through ``register_project_backends``, so that the local backend
and a third-party one (Kubernetes, Slurm, Ray…) are found, listed and replaced the same way.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import ProjectBackendSpec, Register


@hookimpl
def register_project_backends(register: Register[ProjectBackendSpec]) -> None:
    register(
        ProjectBackendSpec(
            name="local",
            factory="trackline.projects.local:LocalBackend",
            description="runs the project's command on this machine (local/virtualenv/uv/conda)",
        )
    )
