"""Registry events: ``EventedRegistryStore`` fires the ``registry_change_requested`` and
``registry_changed`` hooks around every write of any registry store.

The client and the tracking server wrap the store they write to, so events fire in the
process that owns the write, whatever the backend. When no plugin implements either hook
the wrapper adds nothing but one attribute lookup per call.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from trackline.exceptions import TracklineException
from trackline.plugins.types import RegistryEvent
from trackline.registry.entities import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)
from trackline.store.registry import AbstractRegistryStore

logger = logging.getLogger(__name__)
T = TypeVar("T")

PERMISSION_DENIED = "PERMISSION_DENIED"


def _hooks() -> tuple[Any, Any] | None:
    from trackline.plugins.manager import get_plugin_manager

    hook = get_plugin_manager().hook
    before, after = hook.registry_change_requested, hook.registry_changed
    if not before.get_hookimpls() and not after.get_hookimpls():
        return None
    return before, after


class EventedRegistryStore(AbstractRegistryStore):
    """Any registry store, with the registry hooks fired around its writes. Reads pass
    straight through."""

    def __init__(self, store: AbstractRegistryStore, registry_uri: str | None = None) -> None:
        self.store = store
        self.registry_uri = registry_uri

    def __getattr__(self, name: str) -> Any:  # extra methods of the backend (gc, repr…)
        return getattr(self.store, name)

    def __repr__(self) -> str:
        return f"EventedRegistryStore({self.store!r})"

    # -- firing ----------------------------------------------------------------------------

    def _fire(
        self,
        event: str,
        name: str,
        write: Callable[[], T],
        version: str | int | None = None,
        data: dict[str, Any] | None = None,
        version_of: Callable[[T], str | None] | None = None,
        details: Callable[[], dict[str, Any]] | None = None,
    ) -> T:
        hooks = _hooks()
        if hooks is None:
            return write()
        before, after = hooks
        payload = dict(data or {})
        if details is not None:
            payload.update(details())
        request = RegistryEvent(
            event, name, None if version is None else str(version), payload, self.registry_uri
        )
        try:
            before(event=request)
        except TracklineException:
            raise
        except Exception as exc:  # a plugin's gate said no in its own words
            raise TracklineException(
                f"The registry change {event} of {name!r} was refused by a plugin: {exc}",
                PERMISSION_DENIED,
            ) from exc
        result = write()
        done = request
        if version_of is not None:
            done = RegistryEvent(event, name, version_of(result), payload, self.registry_uri)
        try:
            after(event=done)
        except Exception as exc:  # the write happened; the caller must not see a failure
            logger.warning("A registry_changed hook failed for %s: %s", event, exc)
            warnings.warn(
                f"A registry_changed hook failed for {event} of {name!r}: {exc}",
                RuntimeWarning,
                stacklevel=3,
            )
        return result

    def _version_details(self, name: str, version: str | int) -> Callable[[], dict[str, Any]]:
        def read() -> dict[str, Any]:
            try:
                mv = self.store.get_model_version(name, version)
            except TracklineException:
                return {}
            return {"tags": dict(mv.tags), "current_stage": mv.current_stage, "source": mv.source}

        return read

    # -- registered models -----------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] = (),
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        return self._fire(
            "registered_model.created",
            name,
            lambda: self.store.create_registered_model(name, tags, description, deployment_job_id),
            data={"tags": {t.key: t.value for t in tags}, "description": description},
        )

    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        return self._fire(
            "registered_model.updated",
            name,
            lambda: self.store.update_registered_model(name, description, deployment_job_id),
            data={"description": description},
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._fire(
            "registered_model.renamed",
            name,
            lambda: self.store.rename_registered_model(name, new_name),
            data={"new_name": new_name},
        )

    def delete_registered_model(self, name: str) -> None:
        self._fire(
            "registered_model.deleted", name, lambda: self.store.delete_registered_model(name)
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.store.get_registered_model(name)

    def search_registered_models(self, *args: Any, **kwargs: Any) -> Any:
        return self.store.search_registered_models(*args, **kwargs)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        return self.store.get_latest_versions(name, stages)

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        self._fire(
            "registered_model_tag.set",
            name,
            lambda: self.store.set_registered_model_tag(name, tag),
            data={"key": tag.key, "value": tag.value},
        )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._fire(
            "registered_model_tag.deleted",
            name,
            lambda: self.store.delete_registered_model_tag(name, key),
            data={"key": key},
        )

    # -- model versions --------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[ModelVersionTag] = (),
        run_link: str | None = None,
        description: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        return self._fire(
            "model_version.created",
            name,
            lambda: self.store.create_model_version(
                name, source, run_id, tags, run_link, description, model_id
            ),
            data={
                "source": source,
                "run_id": run_id,
                "model_id": model_id,
                "tags": {t.key: t.value for t in tags},
                "description": description,
            },
            version_of=lambda mv: mv.version,
        )

    def update_model_version(
        self, name: str, version: str | int, description: str | None
    ) -> ModelVersion:
        return self._fire(
            "model_version.updated",
            name,
            lambda: self.store.update_model_version(name, version, description),
            version=version,
            data={"description": description},
        )

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool
    ) -> ModelVersion:
        from trackline.registry.validation import canonical_stage

        return self._fire(
            "model_version.stage_transitioned",
            name,
            lambda: self.store.transition_model_version_stage(
                name, version, stage, archive_existing_versions
            ),
            version=version,
            data={
                "stage": canonical_stage(stage),
                "archive_existing_versions": bool(archive_existing_versions),
            },
            details=self._version_details(name, version),
        )

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._fire(
            "model_version.deleted",
            name,
            lambda: self.store.delete_model_version(name, version),
            version=version,
            details=self._version_details(name, version),
        )

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return self.store.get_model_version(name, version)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return self.store.get_model_version_download_uri(name, version)

    def search_model_versions(self, *args: Any, **kwargs: Any) -> Any:
        return self.store.search_model_versions(*args, **kwargs)

    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        self._fire(
            "model_version_tag.set",
            name,
            lambda: self.store.set_model_version_tag(name, version, tag),
            version=version,
            data={"key": tag.key, "value": tag.value},
        )

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        self._fire(
            "model_version_tag.deleted",
            name,
            lambda: self.store.delete_model_version_tag(name, version, key),
            version=version,
            data={"key": key},
        )

    # -- aliases ---------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._fire(
            "model_version_alias.created",
            name,
            lambda: self.store.set_registered_model_alias(name, alias, version),
            version=version,
            data={"alias": alias},
            details=self._version_details(name, version),
        )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        def pointed_version() -> dict[str, Any]:
            try:
                return {
                    "previous_version": self.store.get_model_version_by_alias(name, alias).version
                }
            except TracklineException:
                return {}

        self._fire(
            "model_version_alias.deleted",
            name,
            lambda: self.store.delete_registered_model_alias(name, alias),
            data={"alias": alias},
            details=pointed_version,
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.store.get_model_version_by_alias(name, alias)

    def close(self) -> None:
        self.store.close()
