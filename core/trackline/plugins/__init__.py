"""The plugin system: hook specifications, registration records and the plugin manager.

Plugin authors need only::

    from trackline.plugins import hookimpl, TrackingStoreSpec  # and the other records
"""

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import (
    ArtifactPreviewerSpec,
    ArtifactRepositorySpec,
    AutologgerSpec,
    FlavorSpec,
    ProjectBackendSpec,
    RegistryStoreSpec,
    TrackingStoreSpec,
)

__all__ = [
    "ArtifactPreviewerSpec",
    "ArtifactRepositorySpec",
    "AutologgerSpec",
    "FlavorSpec",
    "ProjectBackendSpec",
    "RegistryStoreSpec",
    "TrackingStoreSpec",
    "hookimpl",
]
