"""trackline: track, package and serve machine-learning work; MLflow's API on a plugin core.

``import trackline`` is cheap: the fluent API and the client are imported on first use, and
plugins are discovered only when a store, repository, flavor or command is needed.
Use it as MLflow: ``import trackline as mlflow``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> module that defines it. Modules are imported on first attribute access.
_LAZY: dict[str, str] = {
    "hookimpl": "trackline.plugins.hookspecs",
    "TracklineException": "trackline.exceptions",
    "MlflowException": "trackline.exceptions",
    "TracklineClient": "trackline.tracking.client",
    "MlflowClient": "trackline.tracking.client",
    "ActiveRun": "trackline.tracking.fluent",
    "run": "trackline.projects",  # mlflow.run: run a project
}
_LAZY_MODULES = {
    "artifacts",
    "data",
    "entities",
    "exceptions",
    "models",
    "plugins",
    "projects",
    "pyfunc",
    "search",
    "store",
    "validation",
}

from trackline.tracking._names import FLUENT_NAMES  # noqa: E402  (a tiny tuple of names)

_LAZY.update({name: "trackline.tracking.fluent" for name in FLUENT_NAMES})


def _install_flavor_finder() -> None:
    from trackline.flavors import install_import_finder

    install_import_finder()


_install_flavor_finder()


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _LAZY_MODULES:
        value = importlib.import_module(f"trackline.{name}")
    elif name.startswith("_"):
        raise AttributeError(f"module 'trackline' has no attribute {name!r}")
    else:
        from trackline.flavors import flavor_module

        value = flavor_module(name)
        if value is None:
            raise AttributeError(f"module 'trackline' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _LAZY_MODULES)


__all__ = sorted(_LAZY)
