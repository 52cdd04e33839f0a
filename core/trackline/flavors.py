"""``trackline.<flavor>`` names, resolved through the flavors plugins registered.

Flavor plugins are flat packages (``trackline_sklearn``), yet users write
``trackline.sklearn.log_model`` and ``import trackline.sklearn`` as they would with MLflow.
Both go through the plugin registry, never through a hard-coded list: ``flavor_module`` for
attribute access, and a meta-path finder for ``import trackline.<name>``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from types import ModuleType

_PREFIX = "trackline."


def _registered_module(name: str) -> str | None:
    from trackline.plugins.manager import get_plugin_manager

    entry = get_plugin_manager().registry.flavors.get(name.lower())
    return entry[0].module if entry else None


def flavor_module(name: str) -> ModuleType | None:
    """The module a plugin registered for flavor ``name``, imported; ``None`` if none."""
    module_name = _registered_module(name)
    return importlib.import_module(module_name) if module_name else None


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        # The plugin module is already executed; only the alias is new.
        pass


class FlavorFinder(importlib.abc.MetaPathFinder):
    """Makes ``import trackline.sklearn`` import the module the sklearn plugin registered."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):  # type: ignore[override]
        if not fullname.startswith(_PREFIX) or fullname.count(".") != 1:
            return None
        name = fullname[len(_PREFIX) :]
        # Appended to sys.meta_path: real core modules were already found by PathFinder.
        target_module = _registered_module(name)
        if target_module is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(target_module))


def install_import_finder() -> None:
    if not any(isinstance(f, FlavorFinder) for f in sys.meta_path):
        sys.meta_path.append(FlavorFinder())
