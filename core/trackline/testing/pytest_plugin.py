"""Fixtures for testing trackline plugins: an opt-in pytest plugin.

Enable it in a test module or in your top-level ``conftest.py``::

    pytest_plugins = ["trackline.testing.pytest_plugin"]

It is deliberately not a ``pytest11`` entry point: installing trackline must not add
fixtures to every test run on the machine.

Fixtures:

``plugin_manager``
    A fresh ``TracklinePluginManager`` (built-ins plus installed entry points) that the whole
    core uses for the duration of the test, so registering things on it cannot leak into
    other tests.
``register_plugin``
    ``register_plugin(obj, name=None)`` registers a throwaway plugin (a module, class or
    instance with ``@hookimpl`` functions) on that manager and unregisters it afterwards.
``tracking_uri``
    A fresh SQLite tracking URI in ``tmp_path``, exported as ``TRACKLINE_TRACKING_URI``
    (artifacts go to ``tmp_path / "mlruns"``); both are restored after the test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from trackline.plugins import manager as _manager


def _swap_in(pm: _manager.TracklinePluginManager, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``get_plugin_manager()`` return ``pm`` until the test ends.

    The core looks the function up on the module at every call
    (``from trackline.plugins.manager import get_plugin_manager`` inside functions), so
    replacing the module attribute reaches every caller. The replacement keeps a
    ``cache_clear`` so that ``reset_plugin_manager()`` inside a test still works (as a no-op:
    the test's manager stays in place).
    """

    def get_plugin_manager() -> _manager.TracklinePluginManager:
        return pm

    get_plugin_manager.cache_clear = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setattr(_manager, "get_plugin_manager", get_plugin_manager)


def _forget_new_stores(before: set[Any]) -> None:
    """Close stores the test's manager created, so no later test gets one from the cache."""
    try:
        from trackline.tracking import uri as _uri
    except ImportError:  # pragma: no cover - the tracking package is part of the core
        return
    stores = getattr(_uri, "_stores", None)
    if stores is None:
        return
    with _uri._lock:
        for key in [k for k in stores if k not in before]:
            close = getattr(stores.pop(key), "close", None)
            if close is not None:
                close()


def _cached_store_keys() -> set[Any]:
    try:
        from trackline.tracking import uri as _uri
    except ImportError:  # pragma: no cover
        return set()
    return set(getattr(_uri, "_stores", {}))


@pytest.fixture
def plugin_manager(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[_manager.TracklinePluginManager]:
    """A fresh plugin manager, used by the whole core while the test runs."""
    pm = _manager.TracklinePluginManager()
    pm.load_builtins()
    pm.load_entrypoints()
    stores_before = _cached_store_keys()
    _swap_in(pm, monkeypatch)
    yield pm
    _forget_new_stores(stores_before)


@pytest.fixture
def register_plugin(
    plugin_manager: _manager.TracklinePluginManager,
) -> Iterator[Callable[..., Any]]:
    """Register throwaway plugins for one test: ``register_plugin(obj, name=None) -> obj``."""
    registered: list[str] = []

    def register(plugin: Any, name: str | None = None) -> Any:
        plugin_name = plugin_manager.register(plugin, name=name)
        if plugin_name is None:  # pluggy returns None for a blocked name
            raise ValueError(f"plugin name {name!r} is blocked (TRACKLINE_DISABLE_PLUGINS?)")
        registered.append(plugin_name)
        return plugin

    yield register
    for plugin_name in reversed(registered):
        flavors = [
            key
            for key, (_, owner) in plugin_manager.registry.flavors.items()
            if owner == plugin_name
        ]
        if plugin_manager.has_plugin(plugin_name):
            plugin_manager.unregister(name=plugin_name)
        _forget_flavor_aliases(flavors)


def _forget_flavor_aliases(flavors: list[str]) -> None:
    """Drop ``trackline.<flavor>`` names a throwaway flavor plugin left behind.

    ``trackline.<name>`` caches the module on first access and ``import trackline.<name>``
    puts it in ``sys.modules``; both would outlive the plugin otherwise.
    """
    import trackline

    for flavor in flavors:
        sys.modules.pop(f"trackline.{flavor}", None)
        vars(trackline).pop(flavor, None)


@pytest.fixture
def tracking_uri(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite tracking URI, set as ``TRACKLINE_TRACKING_URI`` for the test.

    A URI set with ``set_tracking_uri()`` would win over the variable, so it is cleared for
    the test and put back afterwards, as is the fluent API's active experiment. Needs a plugin that handles ``sqlite`` (trackline-sql).
    """
    from trackline.tracking import uri as _uri

    db_uri = f"sqlite:///{tmp_path / 'trackline.db'}"
    monkeypatch.setenv("TRACKLINE_TRACKING_URI", db_uri)
    monkeypatch.setenv("TRACKLINE_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "mlruns"))
    monkeypatch.setattr(_uri, "_tracking_uri", None)
    fluent = sys.modules.get("trackline.tracking.fluent")
    if fluent is not None and hasattr(fluent, "_active_experiment_id"):
        # An experiment chosen by an earlier test does not exist in the fresh database.
        monkeypatch.setattr(fluent, "_active_experiment_id", None)
    stores_before = _cached_store_keys()
    yield db_uri
    _forget_new_stores(stores_before)


__all__ = ["plugin_manager", "register_plugin", "tracking_uri"]
