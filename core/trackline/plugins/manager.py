"""Finding plugins, running their registration hooks, and resolving URIs to factories.

Nothing happens at ``import trackline``: the manager is built the first time something needs
a store, a repository, a flavor or a command (``get_plugin_manager()``), and the registration
hooks run once per manager.

Environment variables:

* ``TRACKLINE_DISABLE_PLUGINS=sql,fsspec`` — entry-point names never imported.
* ``TRACKLINE_LOAD_PLUGINS=sql`` — only these entry points are loaded (``""``: none).
* ``TRACKLINE_PLUGINS_STRICT=1`` — a plugin that fails to import raises instead of warning.
* ``TRACKLINE_TRACE_PLUGINS=1`` — print every hook call (pluggy tracing).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any
from urllib.parse import urlparse

import pluggy

from trackline.exceptions import MissingPluginError, TracklineException
from trackline.plugins import hookspecs
from trackline.plugins.types import (
    ArtifactRepositorySpec,
    AutologgerSpec,
    FlavorSpec,
    PluginInfo,
    ProjectBackendSpec,
    RegistryStoreSpec,
    TrackingStoreSpec,
)

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "trackline"

# Built-in plugins: core modules registered like any plugin (pytest's and conda's pattern).
BUILTIN_PLUGINS = ("trackline.plugins._builtin.context", "trackline.plugins._builtin.projects")

# Which distribution to install for a scheme nobody registered. This table is data, never
# an import; tests/meta keeps it equal to what plugins/* register.
INSTALL_HINTS: dict[str, str] = {
    "sqlite": "trackline-sql",
    "postgresql": "trackline-sql",
    "postgres": "trackline-sql",
    "mysql": "trackline-sql",
    "mariadb": "trackline-sql",
    "mssql": "trackline-sql",
    "file": "trackline-fsspec",
    "http": "trackline-rest",
    "https": "trackline-rest",
    "mlflow-artifacts": "trackline-rest",
    "s3": "trackline-fsspec[s3]",
    "gs": "trackline-fsspec[gcs]",
    "wasbs": "trackline-fsspec[azure]",
    "abfss": "trackline-fsspec[azure]",
    "ftp": "trackline-fsspec",
    "sftp": "trackline-fsspec[sftp]",
    "hdfs": "trackline-fsspec[hdfs]",
}

# Where a kind of plugin differs from INSTALL_HINTS for the same scheme: ``file`` is a tracking
# store in trackline-file but an artifact repository in trackline-fsspec.
INSTALL_HINTS_BY_KIND: dict[str, dict[str, str]] = {
    "tracking store": {"file": "trackline-file"},
    "model registry store": {"file": "trackline-file"},
}

_WINDOWS_PATH = re.compile(r"^[a-zA-Z]:[\\/]")


def uri_scheme(uri: str) -> str:
    """The scheme that selects a plugin: ``postgresql+psycopg://…`` → ``postgresql``.

    Plain paths (and Windows drive paths) are ``file``.
    """
    if _WINDOWS_PATH.match(uri):
        return "file"
    scheme = urlparse(uri).scheme
    return scheme.split("+", 1)[0].lower() if scheme else "file"


@dataclass
class Registry:
    """What the plugins registered, keyed by scheme or name, with the providing plugin."""

    tracking_stores: dict[str, tuple[TrackingStoreSpec, str]] = field(default_factory=dict)
    registry_stores: dict[str, tuple[RegistryStoreSpec, str]] = field(default_factory=dict)
    artifact_repositories: dict[str, tuple[ArtifactRepositorySpec, str]] = field(
        default_factory=dict
    )
    flavors: dict[str, tuple[FlavorSpec, str]] = field(default_factory=dict)
    autologgers: dict[str, tuple[AutologgerSpec, str]] = field(default_factory=dict)
    project_backends: dict[str, tuple[ProjectBackendSpec, str]] = field(default_factory=dict)


class TracklinePluginManager(pluggy.PluginManager):
    """pluggy's manager plus lazy entry-point loading and the scheme/name registry."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.load_errors: dict[str, str] = {}
        self._distributions: dict[str, metadata.Distribution] = {}
        self._registry: Registry | None = None

    # -- discovery ---------------------------------------------------------------------------

    def load_builtins(self) -> None:
        for module_name in BUILTIN_PLUGINS:
            if not self.has_plugin(module_name):
                self.register(__import__(module_name, fromlist=["_"]), name=module_name)

    def load_entrypoints(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import and register every entry point of ``group``, honouring the env switches."""
        disabled = _name_list(os.environ.get("TRACKLINE_DISABLE_PLUGINS"))
        allowed_raw = os.environ.get("TRACKLINE_LOAD_PLUGINS")
        allowed = None if allowed_raw is None else _name_list(allowed_raw)
        strict = os.environ.get("TRACKLINE_PLUGINS_STRICT", "").lower() in ("1", "true", "yes")
        for ep in _entry_points(group):
            if ep.name in disabled or (allowed is not None and ep.name not in allowed):
                continue
            if self.has_plugin(ep.name) or self.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name)
            except Exception as exc:  # one broken plugin must not take the host down
                if strict:
                    raise
                message = f"{type(exc).__name__}: {exc}"
                self.load_errors[ep.name] = message
                warnings.warn(
                    f"trackline plugin {ep.name!r} ({_dist_label(ep.dist)}) failed to load: "
                    f"{message}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                continue
            if ep.dist is not None:
                self._distributions[ep.name] = ep.dist
        self.check_pending()

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        result = super().register(plugin, name)
        self._registry = None  # rebuilt on next use
        return result

    def unregister(self, plugin: Any = None, name: str | None = None) -> Any:
        result = super().unregister(plugin, name)
        self._registry = None
        return result

    # -- registration hooks ------------------------------------------------------------------

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> Registry:
        reg = Registry()
        self._collect(
            "register_tracking_stores", reg.tracking_stores, _by_schemes, "tracking store"
        )
        self._collect(
            "register_registry_stores", reg.registry_stores, _by_schemes, "registry store"
        )
        self._collect(
            "register_artifact_repositories",
            reg.artifact_repositories,
            _by_schemes,
            "artifact repository",
        )
        self._collect("register_flavors", reg.flavors, _by_name, "flavor")
        self._collect("register_autologgers", reg.autologgers, _by_name, "autologger")
        self._collect(
            "register_project_backends", reg.project_backends, _by_name, "project backend"
        )
        return reg

    def _collect(
        self,
        hook_name: str,
        target: dict[str, tuple[Any, str]],
        keys_of: Callable[[Any], Iterable[str]],
        kind: str,
    ) -> None:
        # Implementations are called one by one so that each record knows its plugin.
        for impl in getattr(self.hook, hook_name).get_hookimpls():
            plugin_name = impl.plugin_name

            def register(record: Any, _plugin: str = plugin_name) -> None:
                for key in keys_of(record):
                    if key in target and target[key][1] != _plugin:
                        raise TracklineException(
                            f"The {kind} {key!r} is registered by two plugins: "
                            f"{self.describe(target[key][1])} and {self.describe(_plugin)}. "
                            "Uninstall one, or disable it with TRACKLINE_DISABLE_PLUGINS."
                        )
                    target[key] = (record, _plugin)

            impl.function(*[{"register": register}[arg] for arg in impl.argnames])

    # -- introspection -----------------------------------------------------------------------

    def describe(self, plugin_name: str) -> str:
        dist = self._distributions.get(plugin_name)
        return f"{plugin_name} ({_dist_label(dist)})" if dist else plugin_name

    def plugin_infos(self) -> list[PluginInfo]:
        """One entry per registered plugin (and per plugin that failed to load)."""
        provides: dict[str, list[str]] = {}
        reg = self.registry
        for label, table in (
            ("tracking store", reg.tracking_stores),
            ("registry store", reg.registry_stores),
            ("artifact repository", reg.artifact_repositories),
            ("flavor", reg.flavors),
            ("autologger", reg.autologgers),
            ("project backend", reg.project_backends),
        ):
            for key, (_, plugin_name) in sorted(table.items()):
                provides.setdefault(plugin_name, []).append(f"{label}: {key}")
        infos = []
        for name, plugin in self.list_name_plugin():
            if plugin is None:
                continue
            dist = self._distributions.get(name)
            hooks = sorted(caller.name for caller in self.get_hookcallers(plugin) or [])
            infos.append(
                PluginInfo(
                    name=name,
                    distribution=dist.metadata["Name"] if dist else "trackline (built-in)",
                    version=dist.version if dist else _own_version(),
                    hooks=hooks,
                    provides=provides.get(name, []),
                )
            )
        for name, error in self.load_errors.items():
            infos.append(PluginInfo(name=name, error=error))
        return sorted(infos, key=lambda i: i.name)

    # -- resolution --------------------------------------------------------------------------

    def tracking_store_factory(self, uri: str) -> Callable[..., Any]:
        return self._resolve(self.registry.tracking_stores, uri, "tracking store").load()

    def registry_store_factory(self, uri: str) -> Callable[..., Any]:
        return self._resolve(self.registry.registry_stores, uri, "model registry store").load()

    def artifact_repository_factory(self, uri: str) -> Callable[..., Any]:
        return self._resolve(self.registry.artifact_repositories, uri, "artifact repository").load()

    def _resolve(self, table: dict[str, tuple[Any, str]], uri: str, kind: str) -> Any:
        scheme = uri_scheme(uri)
        if scheme in table:
            return table[scheme][0]
        hint = INSTALL_HINTS_BY_KIND.get(kind, {}).get(scheme) or INSTALL_HINTS.get(scheme)
        advice = f"; pip install {hint}" if hint else ""
        known = ", ".join(sorted(table)) or "none"
        raise MissingPluginError(
            f"no {kind} for {scheme!r} (from URI {_redact(uri)!r}){advice}. "
            f"Installed {kind} schemes: {known}. Run 'trackline plugins' to see what is installed."
        )


def _by_schemes(record: Any) -> Iterable[str]:
    return record.schemes


def _by_name(record: Any) -> Iterable[str]:
    return (record.name,)


def _name_list(raw: str | None) -> set[str]:
    return {n.strip() for n in (raw or "").split(",") if n.strip()}


def _entry_points(group: str) -> list[metadata.EntryPoint]:
    return sorted(metadata.entry_points(group=group), key=lambda ep: ep.name)


def _dist_label(dist: metadata.Distribution | None) -> str:
    if dist is None:
        return "unknown distribution"
    return f"{dist.metadata['Name']} {dist.version}"


def _own_version() -> str:
    from trackline import __version__

    return __version__


def _redact(uri: str) -> str:
    """Hide a password in a URI before it goes into an error message."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", uri)


@functools.cache
def get_plugin_manager() -> TracklinePluginManager:
    """The process-wide manager, built (and entry points imported) on first call."""
    pm = TracklinePluginManager()
    pm.load_builtins()
    pm.load_entrypoints()
    if os.environ.get("TRACKLINE_TRACE_PLUGINS", "").lower() in ("1", "true", "yes"):
        pm.trace.root.setwriter(print)
        pm.enable_tracing()
    return pm


def reset_plugin_manager() -> None:
    """Forget the manager (tests, or after installing a plugin at run time)."""
    get_plugin_manager.cache_clear()
