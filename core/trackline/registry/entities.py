"""Model-registry entities, with the field names of MLflow's protocol.

``to_dict``/``from_dict`` give the REST JSON shapes (snake_case keys, int64 as numbers, unset
fields omitted). In Python, as in MLflow, ``RegisteredModel.tags`` and ``ModelVersion.tags``
are dicts, ``RegisteredModel.aliases`` maps alias -> version and ``ModelVersion.aliases`` is
a list of alias names. Versions are strings everywhere (``"3"``), as on the wire.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from trackline.exceptions import TracklineException

# Stage names, in their canonical spelling. Stages are deprecated upstream but still work.
STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
# The stage of a deleted version's tombstone: never visible through any API.
STAGE_DELETED_INTERNAL = "Deleted_Internal"
ALL_STAGES: tuple[str, ...] = (STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED)
# Stages to which ``archive_existing_versions=True`` may be used.
ACTIVE_STAGES: tuple[str, ...] = (STAGE_STAGING, STAGE_PRODUCTION)


class ModelVersionStatus:
    """Registration status; SQL stores create versions directly as READY."""

    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"

    _NUMBERS = {"PENDING_REGISTRATION": 1, "FAILED_REGISTRATION": 2, "READY": 3}

    @classmethod
    def parse(cls, value: int | str) -> str:
        if isinstance(value, str) and value.upper() in cls._NUMBERS:
            return value.upper()
        for name, number in cls._NUMBERS.items():
            if value == number or (isinstance(value, str) and value == str(number)):
                return name
        raise TracklineException.invalid_parameter_value(
            f"Invalid model version status {value!r}: use one of {', '.join(cls._NUMBERS)}."
        )

    @classmethod
    def to_number(cls, value: str) -> int:
        return cls._NUMBERS[cls.parse(value)]

    @classmethod
    def all_status(cls) -> list[str]:
        return list(cls._NUMBERS)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


def _tag_dict(items: Iterable[dict[str, Any]] | None) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in items or ()}


@dataclass(frozen=True)
class RegisteredModelTag:
    key: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegisteredModelTag:
        return cls(d["key"], d.get("value", ""))


@dataclass(frozen=True)
class ModelVersionTag(RegisteredModelTag):
    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelVersionTag:
        return cls(d["key"], d.get("value", ""))


@dataclass(frozen=True)
class RegisteredModelAlias:
    alias: str
    version: str

    def to_dict(self) -> dict[str, Any]:
        return {"alias": self.alias, "version": self.version}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegisteredModelAlias:
        return cls(d["alias"], str(d["version"]))


@dataclass(frozen=True)
class ModelVersion:
    """One version of a registered model, with its lineage (source, run, logged model)."""

    name: str
    version: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    description: str | None = None
    user_id: str | None = None
    current_stage: str = STAGE_NONE
    source: str | None = None
    run_id: str | None = None
    status: str = ModelVersionStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)
    model_id: str | None = None
    deployment_job_state: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = _drop_none(
            {
                "name": self.name,
                "version": str(self.version),
                "creation_timestamp": self.creation_timestamp,
                "last_updated_timestamp": self.last_updated_timestamp,
                "user_id": self.user_id,
                "current_stage": self.current_stage,
                "description": self.description,
                "source": self.source,
                # MLflow's server writes "" for a version without a run; so do we.
                "run_id": self.run_id or "",
                "status": self.status,
                "status_message": self.status_message,
                "run_link": self.run_link,
                "model_id": self.model_id or None,
                "deployment_job_state": self.deployment_job_state,
            }
        )
        if self.tags:
            out["tags"] = _tag_list(self.tags)
        if self.aliases:
            out["aliases"] = list(self.aliases)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelVersion:
        return cls(
            name=d["name"],
            version=str(d["version"]),
            creation_timestamp=_opt_int(d.get("creation_timestamp")),
            last_updated_timestamp=_opt_int(d.get("last_updated_timestamp")),
            description=d.get("description"),
            user_id=d.get("user_id"),
            current_stage=d.get("current_stage", STAGE_NONE),
            source=d.get("source"),
            run_id=d.get("run_id") or None,
            status=ModelVersionStatus.parse(d.get("status", ModelVersionStatus.READY)),
            status_message=d.get("status_message"),
            tags=_tag_dict(d.get("tags")),
            run_link=d.get("run_link"),
            aliases=list(d.get("aliases", [])),
            model_id=d.get("model_id"),
            deployment_job_state=d.get("deployment_job_state"),
        )


@dataclass(frozen=True)
class RegisteredModel:
    """A named model: its versions' latest per stage, tags, aliases and description."""

    name: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    description: str | None = None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    user_id: str | None = None
    deployment_job_id: str | None = None
    deployment_job_state: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = _drop_none(
            {
                "name": self.name,
                "creation_timestamp": self.creation_timestamp,
                "last_updated_timestamp": self.last_updated_timestamp,
                "user_id": self.user_id,
                "description": self.description,
                "deployment_job_id": self.deployment_job_id,
                "deployment_job_state": self.deployment_job_state,
            }
        )
        if self.latest_versions:
            out["latest_versions"] = [v.to_dict() for v in self.latest_versions]
        if self.tags:
            out["tags"] = _tag_list(self.tags)
        if self.aliases:
            out["aliases"] = [{"alias": a, "version": v} for a, v in self.aliases.items()]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RegisteredModel:
        return cls(
            name=d["name"],
            creation_timestamp=_opt_int(d.get("creation_timestamp")),
            last_updated_timestamp=_opt_int(d.get("last_updated_timestamp")),
            description=d.get("description"),
            latest_versions=[ModelVersion.from_dict(v) for v in d.get("latest_versions", [])],
            tags=_tag_dict(d.get("tags")),
            aliases={a["alias"]: str(a["version"]) for a in d.get("aliases", [])},
            user_id=d.get("user_id"),
            deployment_job_id=d.get("deployment_job_id"),
            deployment_job_state=d.get("deployment_job_state"),
        )


__all__ = [
    "ACTIVE_STAGES",
    "ALL_STAGES",
    "STAGE_ARCHIVED",
    "STAGE_DELETED_INTERNAL",
    "STAGE_NONE",
    "STAGE_PRODUCTION",
    "STAGE_STAGING",
    "ModelVersion",
    "ModelVersionStatus",
    "ModelVersionTag",
    "RegisteredModel",
    "RegisteredModelAlias",
    "RegisteredModelTag",
]
