"""trackline hooks of trackline-rest: the URI schemes this plugin serves.

Only registration lives here; requests is imported when a store or repository is created.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import (
    ArtifactRepositorySpec,
    Register,
    RegistryStoreSpec,
    TrackingStoreSpec,
)


@hookimpl
def register_tracking_stores(register: Register[TrackingStoreSpec]) -> None:
    register(
        TrackingStoreSpec(
            schemes=("http", "https"),
            factory="trackline_rest.store:RestTrackingStore",
            description="A trackline or MLflow tracking server, over its REST API.",
        )
    )


@hookimpl
def register_registry_stores(register: Register[RegistryStoreSpec]) -> None:
    register(
        RegistryStoreSpec(
            schemes=("http", "https"),
            factory="trackline_rest.registry:RestRegistryStore",
            description="The model registry of a trackline or MLflow server, over REST.",
        )
    )


@hookimpl
def register_artifact_repositories(register: Register[ArtifactRepositorySpec]) -> None:
    register(
        ArtifactRepositorySpec(
            schemes=("mlflow-artifacts", "http", "https"),
            factory="trackline_rest.artifacts:artifact_repository",
            description="Artifacts proxied by a tracking server (the mlflow-artifacts API).",
        )
    )
