"""Where runs go: the tracking URI, the registry URI and the default artifact root.

Precedence: ``set_tracking_uri()`` > ``TRACKLINE_TRACKING_URI`` > ``MLFLOW_TRACKING_URI`` >
the embedded default, a SQLite file ``trackline.db`` in the working directory with artifacts
under ``./mlruns``. Every ``MLFLOW_*`` variable trackline honours has a ``TRACKLINE_*``
twin that takes precedence.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

DEFAULT_TRACKING_URI = "sqlite:///trackline.db"
DEFAULT_ARTIFACT_DIR = "mlruns"

_lock = threading.Lock()
_tracking_uri: str | None = None
_registry_uri: str | None = None
_stores: dict[tuple[str, str | None], Any] = {}


def env(name: str, default: str | None = None) -> str | None:
    """``TRACKLINE_<name>`` if set, else ``MLFLOW_<name>``, else ``default``."""
    for prefix in ("TRACKLINE_", "MLFLOW_"):
        value = os.environ.get(prefix + name)
        if value not in (None, ""):
            return value
    return default


def set_tracking_uri(uri: str | Path | None) -> None:
    global _tracking_uri
    _tracking_uri = None if uri is None else str(uri)


def is_tracking_uri_set() -> bool:
    return _tracking_uri is not None or env("TRACKING_URI") is not None


def get_tracking_uri() -> str:
    if _tracking_uri is not None:
        return _tracking_uri
    return env("TRACKING_URI") or DEFAULT_TRACKING_URI


def set_registry_uri(uri: str | Path | None) -> None:
    global _registry_uri
    _registry_uri = None if uri is None else str(uri)


def get_registry_uri() -> str:
    if _registry_uri is not None:
        return _registry_uri
    return env("REGISTRY_URI") or get_tracking_uri()


def explicit_registry_uri() -> str | None:
    """The registry URI set with ``set_registry_uri()`` or the environment, if any."""
    return _registry_uri if _registry_uri is not None else env("REGISTRY_URI")


def get_registry_store(uri: str | None = None) -> Any:
    """The registry store for ``uri`` (default: the current registry URI), made once per URI.

    Stores that write locally are wrapped so that the registry event hooks fire; a store
    that talks to a server (``fires_events_remotely = True``) is left alone, as the server
    fires them.
    """
    from trackline.plugins.manager import get_plugin_manager
    from trackline.registry.events import EventedRegistryStore

    uri = uri or get_registry_uri()
    key = (uri, "<registry>")
    store = _stores.get(key)
    if store is not None:
        return store
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = get_plugin_manager().registry_store_factory(uri)(uri)
            if not getattr(store, "fires_events_remotely", False):
                store = EventedRegistryStore(store, uri)
            _stores[key] = store
    return store


def default_artifact_root() -> str:
    """Artifact root for experiments created by this client: absolute ``./mlruns``."""
    configured = env("DEFAULT_ARTIFACT_ROOT")
    if configured:
        return configured
    return os.path.abspath(DEFAULT_ARTIFACT_DIR)


def get_tracking_store(uri: str | None = None, artifact_root: str | None = None) -> Any:
    """The tracking store for ``uri`` (default: the current tracking URI), made once per URI.

    ``artifact_root`` is where experiments created through the store keep their artifacts
    (default: :func:`default_artifact_root`).
    """
    from trackline.plugins.manager import get_plugin_manager

    uri = uri or get_tracking_uri()
    artifact_root = artifact_root or default_artifact_root()
    key = (uri, artifact_root)
    store = _stores.get(key)
    if store is not None:
        return store
    with _lock:
        store = _stores.get(key)
        if store is None:
            factory = get_plugin_manager().tracking_store_factory(uri)
            store = factory(uri, artifact_root)
            _stores[key] = store
    return store


def clear_store_cache() -> None:
    """Close and forget every store (tests, or after ``trackline db upgrade``)."""
    with _lock:
        for store in _stores.values():
            close = getattr(store, "close", None)
            if close:
                close()
        _stores.clear()
