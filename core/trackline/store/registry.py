"""The model-registry store interface every registry backend implements.

A plugin registers a factory for one or more URI schemes (see
``trackline.plugins.hookspecs.register_registry_stores``); the factory is called as
``factory(store_uri)`` and returns an ``AbstractRegistryStore``. The registry URI defaults to
the tracking URI, so one database usually holds both.

Contract (the conformance kit ``trackline.testing.registry`` checks it):

* Names, aliases, stages, tags and versions are validated by the store with
  ``trackline.registry.validation`` before anything is written; a refused call changes
  nothing.
* Versions are integers assigned ``max + 1`` per model and never reused: a deleted version
  leaves an invisible tombstone. Entities carry versions as strings (``"3"``).
* Unknown models and versions fail with RESOURCE_DOES_NOT_EXIST, a name in use with
  RESOURCE_ALREADY_EXISTS; an unknown alias fails with INVALID_PARAMETER_VALUE (as MLflow's
  server answers, HTTP 400).
* ``RegisteredModel.latest_versions`` holds the newest version of each stage.
* Renaming a model renames its versions; deleting it deletes its versions, tags and aliases.
* Search filters and order_by clauses are parsed with ``trackline.registry.search`` and
  evaluated by the backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from trackline.entities import PagedList
from trackline.registry.entities import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)

SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100
SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 10_000


class AbstractRegistryStore(ABC):
    """Registered models, their versions, tags, aliases and stages."""

    # -- registered models -----------------------------------------------------------------

    @abstractmethod
    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] = (),
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        """Create a model with no versions; a name in use fails with RESOURCE_ALREADY_EXISTS."""

    @abstractmethod
    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        """Set the description (``None`` leaves it as it is)."""

    @abstractmethod
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename the model and all its versions; aliases and tags follow."""

    @abstractmethod
    def delete_registered_model(self, name: str) -> None:
        """Delete the model with its versions (tombstones included), tags and aliases."""

    @abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel: ...

    @abstractmethod
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page of models (at most 1000); default order ``name ASC``."""

    @abstractmethod
    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The newest version of each of ``stages`` (every stage when empty/None)."""

    @abstractmethod
    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None: ...

    @abstractmethod
    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag; a missing key is not an error (MLflow's stores ignore it)."""

    # -- model versions --------------------------------------------------------------------

    @abstractmethod
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
        """Add version ``max + 1`` (stage ``None``, status READY for synchronous stores)."""

    @abstractmethod
    def update_model_version(
        self, name: str, version: str | int, description: str | None
    ) -> ModelVersion: ...

    @abstractmethod
    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool
    ) -> ModelVersion:
        """Move a version to ``stage``; with ``archive_existing_versions`` (only for Staging
        and Production) the other versions in that stage become Archived."""

    @abstractmethod
    def delete_model_version(self, name: str, version: str | int) -> None:
        """Delete a version (its number is never given out again) and its tags and aliases."""

    @abstractmethod
    def get_model_version(self, name: str, version: str | int) -> ModelVersion: ...

    @abstractmethod
    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        """Where the version's files are: its resolved storage location, else its source."""

    @abstractmethod
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page of versions; default order ``last_updated_timestamp DESC, name ASC,
        version_number DESC``. Deleted versions never appear."""

    @abstractmethod
    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        """Set a tag; an unknown version fails with RESOURCE_DOES_NOT_EXIST."""

    @abstractmethod
    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None: ...

    # -- aliases ---------------------------------------------------------------------------

    @abstractmethod
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""

    @abstractmethod
    def delete_registered_model_alias(self, name: str, alias: str) -> None: ...

    @abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version the alias points to; an unknown alias is INVALID_PARAMETER_VALUE."""

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
