"""Run code right after a module is imported, without importing it ourselves.

``trackline.autolog()`` must enable the scikit-learn autologger when the user imports
``sklearn`` later, and must not import ``sklearn`` (or torch…) itself. A finder placed first on
``sys.meta_path`` notices the import of a watched top-level module, lets the real finders
locate it, and wraps the loader so that the hooks run once the module has executed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

PostImportHook = Callable[[ModuleType], None]

_lock = threading.RLock()
_pending: dict[str, list[PostImportHook]] = {}
_finding = threading.local()


def register_post_import_hook(hook: PostImportHook, module_name: str) -> None:
    """Call ``hook(module)`` once ``module_name`` is imported: now if it already is.

    A hook runs once per registration. Exceptions from a hook are logged, never raised into
    the user's ``import`` statement.
    """
    with _lock:
        module = sys.modules.get(module_name)
        if module is None:
            _pending.setdefault(module_name, []).append(hook)
            _install_finder()
            return
    _run_hooks(module, [hook])


def remove_post_import_hooks(module_name: str | None = None) -> None:
    """Forget the hooks waiting for ``module_name`` (all modules if None)."""
    with _lock:
        if module_name is None:
            _pending.clear()
        else:
            _pending.pop(module_name, None)


def pending_modules() -> list[str]:
    """Names of the modules that have hooks waiting for their import."""
    with _lock:
        return sorted(name for name, hooks in _pending.items() if hooks)


def _run_hooks(module: ModuleType, hooks: list[PostImportHook]) -> None:
    for hook in hooks:
        try:
            hook(module)
        except Exception as exc:  # an import statement must never fail because of us
            logger.warning(
                "trackline: a post-import hook for %r failed: %s: %s",
                module.__name__,
                type(exc).__name__,
                exc,
            )


def _notify(module: ModuleType) -> None:
    with _lock:
        hooks = _pending.pop(module.__name__, [])
    if hooks:
        _run_hooks(module, hooks)


class _NotifyingLoader(importlib.abc.Loader):
    """Delegates to the real loader, then runs the hooks of the freshly executed module."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:  # is_package, get_resource_reader, get_code…
        return getattr(self._loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        # The module should see its real loader (importlib.resources, pkgutil use it).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _notify(sys.modules.get(module.__name__, module))


class PostImportFinder(importlib.abc.MetaPathFinder):
    """First on ``sys.meta_path``; only answers for modules with pending hooks."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):  # type: ignore[override]
        with _lock:
            if not _pending.get(fullname):
                return None
        if getattr(_finding, "names", None) is None:
            _finding.names = set()
        if fullname in _finding.names:  # our own lookup below came back here
            return None
        _finding.names.add(fullname)
        try:
            spec = _find_with_other_finders(self, fullname, path, target)
        finally:
            _finding.names.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _NotifyingLoader(spec.loader)
        return spec


def _find_with_other_finders(
    me: PostImportFinder, fullname: str, path: Any, target: Any
) -> importlib.machinery.ModuleSpec | None:
    for finder in list(sys.meta_path):
        if finder is me:
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _install_finder() -> None:
    if not any(isinstance(f, PostImportFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, PostImportFinder())
