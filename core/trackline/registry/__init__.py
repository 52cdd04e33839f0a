"""The model registry: entities, ``models:/`` URIs, validation, search and events.

The store interface is ``trackline.store.registry.AbstractRegistryStore``; the client API is
on ``trackline.MlflowClient`` (``create_registered_model``, ``create_model_version``,
``set_registered_model_alias``…) and ``trackline.register_model``.
"""

from trackline.registry.entities import (
    ALL_STAGES,
    ModelVersion,
    ModelVersionStatus,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelAlias,
    RegisteredModelTag,
)
from trackline.registry.uri import ModelUri, parse_model_uri, split_model_uri

__all__ = [
    "ALL_STAGES",
    "ModelUri",
    "ModelVersion",
    "ModelVersionStatus",
    "ModelVersionTag",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
    "parse_model_uri",
    "split_model_uri",
]
