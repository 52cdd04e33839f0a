"""Registration records that plugins hand to the ``register`` callbacks of the hooks.

Records are frozen dataclasses. A ``factory`` may be the object itself or a string
``"module.path:attribute"`` that is imported only when the factory is first used, so that
registering costs nothing (no SQLAlchemy, boto3 or torch import at start-up).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

R = TypeVar("R", contravariant=True)


class Register(Protocol[R]):
    """The callback a registration hook receives: call it once per record."""

    def __call__(self, record: R, /) -> None: ...


def load_object(target: str | Any) -> Any:
    """Import ``"module:attr"`` (or ``"module"``) lazily; pass other objects through."""
    if not isinstance(target, str):
        return target
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in filter(None, attribute.split(".")):
        obj = getattr(obj, part)
    return obj


def _normalise_schemes(schemes: tuple[str, ...] | list[str] | str) -> tuple[str, ...]:
    if isinstance(schemes, str):
        schemes = (schemes,)
    return tuple(s.lower() for s in schemes)


@dataclass(frozen=True)
class _SchemeRecord:
    schemes: tuple[str, ...]
    factory: str | Callable[..., Any]
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "schemes", _normalise_schemes(self.schemes))

    def load(self) -> Callable[..., Any]:
        return load_object(self.factory)


@dataclass(frozen=True)
class TrackingStoreSpec(_SchemeRecord):
    """A tracking store for URI schemes; ``factory(store_uri, default_artifact_root)``."""


@dataclass(frozen=True)
class RegistryStoreSpec(_SchemeRecord):
    """A model-registry store for URI schemes; ``factory(store_uri)``."""


@dataclass(frozen=True)
class ArtifactRepositorySpec(_SchemeRecord):
    """An artifact repository for URI schemes; ``factory(artifact_uri, tracking_uri=None)``."""


@dataclass(frozen=True)
class FlavorSpec:
    """A model flavor: ``module`` provides ``save_model``/``log_model``/``load_model``.

    Users reach it as ``trackline.<name>`` (e.g. ``trackline.sklearn.log_model``).
    """

    name: str
    module: str
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lower())


@dataclass(frozen=True)
class AutologgerSpec:
    """An autologger for one library, enabled by ``trackline.autolog()``.

    ``library`` is the importable module name that triggers it (``"sklearn"``),
    ``autolog`` the ``"module:function"`` that enables it, ``tested`` the library version
    range the plugin's tests cover (``("1.3.0", "1.7.2")``).
    """

    name: str
    library: str
    autolog: str | Callable[..., Any]
    tested: tuple[str, str] | None = None


@dataclass(frozen=True)
class ProjectBackendSpec:
    """A project execution backend (``trackline run --backend <name>``).

    ``factory`` (or the ``"module:attr"`` it names) is called with no arguments and returns
    the backend: an object with MLflow's ``run(project_uri, entry_point, params, version,
    backend_config, tracking_uri, experiment_id)`` method returning a
    ``trackline.projects.SubmittedRun`` (``trackline.projects.AbstractBackend`` is the base
    class to subclass). A backend class itself is a valid factory.
    """

    name: str
    factory: str | Callable[..., Any]
    description: str = ""

    def load(self) -> Callable[..., Any]:
        return load_object(self.factory)


@dataclass(frozen=True)
class ArtifactPreviewerSpec:
    """A renderer the web UI uses to preview artifact files of some types.

    ``module`` is a browser ES module: a file name inside ``static_dir`` (served by the UI
    server at ``<prefix>/static-files/previewers/<name>/<module>``) or an absolute
    ``http(s)://`` URL. Its default export is called as ``render(element, artifact)``; see
    ``docs/ui.md`` for the ``artifact`` object. ``static_dir`` is a directory path or
    ``"package:subdir"`` (a folder shipped inside an importable package).

    ``extensions`` (``".wav"``, matched case-insensitively against the end of the file name,
    so ``".tar.gz"`` works) and ``mime_types`` (``"audio/wav"``, ``"audio/*"``) say which files
    it handles; among matches the highest ``priority`` wins, then the longest extension.
    Files larger than ``max_size`` bytes are not fetched: the UI offers a download instead.
    """

    name: str
    module: str
    extensions: tuple[str, ...] = ()
    mime_types: tuple[str, ...] = ()
    static_dir: str | None = None
    priority: int = 0
    max_size: int = 10 * 1024 * 1024
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lower())
        if isinstance(self.extensions, str):
            object.__setattr__(self, "extensions", (self.extensions,))
        if isinstance(self.mime_types, str):
            object.__setattr__(self, "mime_types", (self.mime_types,))
        object.__setattr__(self, "extensions", tuple(e.lower() for e in self.extensions))
        object.__setattr__(self, "mime_types", tuple(m.lower() for m in self.mime_types))


@dataclass(frozen=True)
class RegistryEvent:
    """A change to the model registry, handed to the ``registry_change_*`` hooks.

    ``event`` is ``"<entity>.<action>"``, named like MLflow's webhook events:
    ``registered_model.created``, ``registered_model.updated``, ``registered_model.renamed``,
    ``registered_model.deleted``, ``registered_model_tag.set``, ``registered_model_tag.deleted``,
    ``model_version.created``, ``model_version.updated``, ``model_version.deleted``,
    ``model_version.stage_transitioned``, ``model_version_tag.set``,
    ``model_version_tag.deleted``, ``model_version_alias.created``,
    ``model_version_alias.deleted``.

    ``name`` is the registered model, ``version`` the version concerned (``None`` for model
    events, and for ``model_version.created`` before the version exists). ``data`` holds the
    details: ``alias``, ``stage``, ``archive_existing_versions``, ``key``/``value``,
    ``source``/``run_id``/``model_id``, ``new_name``, ``description``.
    """

    event: str
    name: str
    version: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    registry_uri: str | None = None

    @property
    def entity(self) -> str:
        return self.event.partition(".")[0]

    @property
    def action(self) -> str:
        return self.event.partition(".")[2]


@dataclass
class PluginInfo:
    """What ``trackline plugins`` shows about one registered plugin."""

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    error: str | None = None
