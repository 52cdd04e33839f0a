"""The model-registry methods of ``TracklineClient`` (= ``MlflowClient``), MLflow's names.

The registry store comes from the registry URI (``registry_uri=``, else
``set_registry_uri()`` / ``TRACKLINE_REGISTRY_URI`` / ``MLFLOW_REGISTRY_URI``, else the
tracking URI) through the ``register_registry_stores`` hook. Writes fire the registry event
hooks (``trackline.registry.events``) unless the store forwards them to a server, which
fires them itself.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

from trackline.entities import PagedList
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.registry.entities import (
    ALL_STAGES,
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)
from trackline.registry.uri import parse_model_uri
from trackline.registry.validation import canonical_stage, validate_model_name
from trackline.store.registry import AbstractRegistryStore

AWAIT_CREATION_SECONDS = 300
_POLL_SECONDS = 1.0


def _stage_warning(method: str) -> None:
    warnings.warn(
        f"{method} is deprecated since MLflow 2.9, as are model stages; use aliases "
        "(set_registered_model_alias) instead.",
        FutureWarning,
        stacklevel=3,
    )


class RegistryClientMixin:
    """Registry methods; mixed into ``TracklineClient``, which sets ``_registry_uri``."""

    _registry_uri: str
    _tracking_uri: str

    @property
    def registry_uri(self) -> str:
        return self._registry_uri

    @property
    def _registry_store(self) -> AbstractRegistryStore:
        from trackline.tracking import uri as uri_module

        return uri_module.get_registry_store(self._registry_uri)

    # -- registered models -----------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        tag_list = [RegisteredModelTag(k, str(v)) for k, v in (tags or {}).items()]
        return self._registry_store.create_registered_model(
            name, tag_list, description, deployment_job_id
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._registry_store.rename_registered_model(name, new_name)

    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        return self._registry_store.update_registered_model(name, description, deployment_job_id)

    def delete_registered_model(self, name: str) -> None:
        self._registry_store.delete_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._registry_store.get_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        return self._registry_store.search_registered_models(
            filter_string, max_results, order_by, page_token
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        _stage_warning("get_latest_versions")
        return self._registry_store.get_latest_versions(name, stages)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._registry_store.set_registered_model_tag(name, RegisteredModelTag(key, str(value)))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._registry_store.delete_registered_model_tag(name, key)

    # -- model versions --------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = AWAIT_CREATION_SECONDS,
        model_id: str | None = None,
    ) -> ModelVersion:
        """Register ``source`` as the next version of ``name`` and wait until it is READY."""
        tag_list = [ModelVersionTag(k, str(v)) for k, v in (tags or {}).items()]
        mv = self._registry_store.create_model_version(
            name, str(source), run_id, tag_list, run_link, description, model_id
        )
        return self._await_ready(mv, await_creation_for)

    def _await_ready(self, mv: ModelVersion, seconds: float | None) -> ModelVersion:
        if not seconds or mv.status != ModelVersionStatus.PENDING_REGISTRATION:
            return mv
        deadline = time.monotonic() + seconds
        while mv.status == ModelVersionStatus.PENDING_REGISTRATION:
            if time.monotonic() >= deadline:
                raise TracklineException(
                    f"Model version {mv.name} v{mv.version} was still pending registration "
                    f"after {seconds} seconds.",
                    "INVALID_STATE",
                )
            time.sleep(_POLL_SECONDS)
            mv = self.get_model_version(mv.name, mv.version)
        if mv.status == ModelVersionStatus.FAILED_REGISTRATION:
            raise TracklineException(
                f"Model version {mv.name} v{mv.version} failed to register: "
                f"{mv.status_message or 'no reason given'}",
                "INVALID_STATE",
            )
        return mv

    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> ModelVersion:
        return self._registry_store.update_model_version(name, version, description)

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        _stage_warning("transition_model_version_stage")
        return self._registry_store.transition_model_version_stage(
            name, version, stage, archive_existing_versions
        )

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._registry_store.delete_model_version(name, version)

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return self._registry_store.get_model_version(name, version)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return self._registry_store.get_model_version_download_uri(name, version)

    def get_model_version_stages(self, name: str, version: str | int) -> list[str]:
        """Every stage a version can be moved to (the same list for all versions)."""
        return list(ALL_STAGES)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        return self._registry_store.search_model_versions(
            filter_string, max_results, order_by, page_token
        )

    def _version_in_stage(self, name: str, stage: str) -> str:
        latest = self._registry_store.get_latest_versions(name, [canonical_stage(stage)])
        if not latest:
            raise TracklineException(
                f"No version of model {name!r} is in stage {canonical_stage(stage)!r}.",
                RESOURCE_DOES_NOT_EXIST,
            )
        return latest[0].version

    def _version_argument(self, name: str, version: Any, stage: str | None) -> str:
        if (version is None) == (stage is None):
            raise TracklineException.invalid_parameter_value(
                "Give exactly one of version and stage."
            )
        if stage is not None:
            _stage_warning("Addressing a version by stage")
            return self._version_in_stage(name, stage)
        return str(version)

    def set_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        if key is None:
            raise TracklineException.invalid_parameter_value("A tag key is required.")
        target = self._version_argument(name, version, stage)
        self._registry_store.set_model_version_tag(name, target, ModelVersionTag(key, str(value)))

    def delete_model_version_tag(
        self,
        name: str,
        version: str | int | None = None,
        key: str | None = None,
        stage: str | None = None,
    ) -> None:
        if key is None:
            raise TracklineException.invalid_parameter_value("A tag key is required.")
        target = self._version_argument(name, version, stage)
        self._registry_store.delete_model_version_tag(name, target, key)

    # -- aliases ---------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._registry_store.set_registered_model_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry_store.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._registry_store.get_model_version_by_alias(name, alias)

    # -- copying ---------------------------------------------------------------------------

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Register the version ``src_model_uri`` names (``models:/name/3``, ``@alias``…) as
        a new version of ``dst_name`` (created if missing), keeping its lineage."""
        validate_model_name(dst_name)
        src = self.resolve_model_version(src_model_uri)
        try:
            self.create_registered_model(dst_name)
        except TracklineException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        return self.create_model_version(
            dst_name,
            f"models:/{src.name}/{src.version}",
            run_id=src.run_id,
            tags=src.tags,
            run_link=src.run_link,
            description=src.description,
            model_id=src.model_id,
        )

    def resolve_model_version(self, model_uri: str) -> ModelVersion:
        """The registered version a ``models:/<name>/…`` URI names (not a logged model)."""
        parsed = parse_model_uri(model_uri)
        if parsed.name is None:
            raise TracklineException.invalid_parameter_value(
                f"{model_uri!r} names a logged model, not a registered model version."
            )
        store = self._registry_store
        if parsed.version is not None:
            return store.get_model_version(parsed.name, parsed.version)
        if parsed.alias is not None:
            return store.get_model_version_by_alias(parsed.name, parsed.alias)
        stages = None if parsed.latest else [canonical_stage(parsed.stage)]
        candidates = store.get_latest_versions(parsed.name, stages)
        if not candidates:
            what = "any stage" if parsed.latest else f"stage {canonical_stage(parsed.stage)!r}"
            raise TracklineException(
                f"No versions of model with name {parsed.name!r} and {what} found.",
                RESOURCE_DOES_NOT_EXIST,
            )
        return max(candidates, key=lambda mv: int(mv.version))
