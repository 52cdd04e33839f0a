"""Tracking entities, with the field names of MLflow's protocol.

Every entity converts to and from the JSON shape of the REST protocol (``to_dict`` /
``from_dict``): snake_case keys, int64 as numbers, enums as names, unset fields omitted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"

    @classmethod
    def matching(cls, view_type: int) -> tuple[str, ...]:
        """The lifecycle stages a view type selects."""
        view_type = ViewType.parse(view_type)
        if view_type == ViewType.ACTIVE_ONLY:
            return (cls.ACTIVE,)
        if view_type == ViewType.DELETED_ONLY:
            return (cls.DELETED,)
        return (cls.ACTIVE, cls.DELETED)


class ViewType:
    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    _NAMES = {"ACTIVE_ONLY": 1, "DELETED_ONLY": 2, "ALL": 3}

    @classmethod
    def parse(cls, value: int | str) -> int:
        """Accept 1/2/3, their names (any case), or the CLI spellings ``active_only``…"""
        if isinstance(value, int) and value in (1, 2, 3):
            return value
        if isinstance(value, str):
            name = value.strip().upper()
            if name in cls._NAMES:
                return cls._NAMES[name]
            if name.isdigit() and int(name) in (1, 2, 3):
                return int(name)
        from trackline.exceptions import TracklineException

        raise TracklineException.invalid_parameter_value(
            f"Invalid view type {value!r}: use ACTIVE_ONLY, DELETED_ONLY or ALL."
        )

    @classmethod
    def to_string(cls, value: int) -> str:
        return {v: k for k, v in cls._NAMES.items()}[value]

    @classmethod
    def from_string(cls, value: str) -> int:
        return cls.parse(value)


class RunStatus:
    RUNNING = 1
    SCHEDULED = 2
    FINISHED = 3
    FAILED = 4
    KILLED = 5

    _NAMES = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
    TERMINATED = ("FINISHED", "FAILED", "KILLED")

    @classmethod
    def to_string(cls, value: int | str) -> str:
        return {v: k for k, v in cls._NAMES.items()}[cls.from_string(value)]

    @classmethod
    def from_string(cls, value: int | str) -> int:
        if isinstance(value, int) and value in cls._NAMES.values():
            return value
        if isinstance(value, str) and value.upper() in cls._NAMES:
            return cls._NAMES[value.upper()]
        from trackline.exceptions import TracklineException

        raise TracklineException.invalid_parameter_value(
            f"Invalid run status {value!r}: use one of {', '.join(cls._NAMES)}."
        )

    @classmethod
    def is_terminated(cls, value: int | str) -> bool:
        return cls.to_string(value) in cls.TERMINATED

    @classmethod
    def all_status(cls) -> list[int]:
        return list(cls._NAMES.values())


class SourceType:
    NOTEBOOK = "NOTEBOOK"
    JOB = "JOB"
    PROJECT = "PROJECT"
    LOCAL = "LOCAL"
    UNKNOWN = "UNKNOWN"


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _json_double(value: float) -> float | str:
    """Doubles the way protobuf JSON writes them: NaN and infinities as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _parse_double(value: Any) -> float:
    if isinstance(value, str):
        return float(value.replace("Infinity", "inf"))
    return float(value)


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0
    dataset_name: str | None = None
    dataset_digest: str | None = None
    model_id: str | None = None
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {
                "key": self.key,
                "value": _json_double(self.value),
                "timestamp": self.timestamp,
                "step": self.step,
                "dataset_name": self.dataset_name,
                "dataset_digest": self.dataset_digest,
                "model_id": self.model_id,
                "run_id": self.run_id,
            }
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Metric:
        return cls(
            key=d["key"],
            value=_parse_double(d["value"]),
            timestamp=int(d.get("timestamp", 0)),
            step=int(d.get("step", 0)),
            dataset_name=d.get("dataset_name"),
            dataset_digest=d.get("dataset_digest"),
            model_id=d.get("model_id"),
            run_id=d.get("run_id"),
        )


@dataclass(frozen=True)
class Param:
    key: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Param:
        return cls(d["key"], d.get("value", ""))


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunTag:
        return cls(d["key"], d.get("value", ""))


@dataclass(frozen=True)
class ExperimentTag(RunTag):
    pass


@dataclass(frozen=True)
class InputTag(RunTag):
    pass


@dataclass(frozen=True)
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {
                "name": self.name,
                "digest": self.digest,
                "source_type": self.source_type,
                "source": self.source,
                "schema": self.schema,
                "profile": self.profile,
            }
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Dataset:
        return cls(
            d["name"], d["digest"], d["source_type"], d["source"], d.get("schema"), d.get("profile")
        )


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: tuple[InputTag, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"tags": [t.to_dict() for t in self.tags], "dataset": self.dataset.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetInput:
        return cls(
            Dataset.from_dict(d["dataset"]),
            tuple(InputTag.from_dict(t) for t in d.get("tags", [])),
        )


@dataclass(frozen=True)
class RunInputs:
    dataset_inputs: tuple[DatasetInput, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if not self.dataset_inputs:
            return {}
        return {"dataset_inputs": [d.to_dict() for d in self.dataset_inputs]}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RunInputs:
        return cls(tuple(DatasetInput.from_dict(x) for x in (d or {}).get("dataset_inputs", [])))


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str = ""
    user_id: str = ""
    status: str = "RUNNING"
    start_time: int | None = None
    end_time: int | None = None
    artifact_uri: str = ""
    lifecycle_stage: str = LifecycleStage.ACTIVE

    @property
    def run_uuid(self) -> str:
        return self.run_id

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {
                "run_id": self.run_id,
                "run_uuid": self.run_id,
                "run_name": self.run_name,
                "experiment_id": self.experiment_id,
                "user_id": self.user_id,
                "status": self.status,
                "start_time": self.start_time,
                "end_time": self.end_time,
                "artifact_uri": self.artifact_uri,
                "lifecycle_stage": self.lifecycle_stage,
            }
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunInfo:
        return cls(
            run_id=d.get("run_id") or d["run_uuid"],
            experiment_id=str(d["experiment_id"]),
            run_name=d.get("run_name", ""),
            user_id=d.get("user_id", ""),
            status=RunStatus.to_string(d.get("status", "RUNNING")),
            start_time=_opt_int(d.get("start_time")),
            end_time=_opt_int(d.get("end_time")),
            artifact_uri=d.get("artifact_uri", ""),
            lifecycle_stage=d.get("lifecycle_stage", LifecycleStage.ACTIVE),
        )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class RunData:
    """Latest metric values, params and tags of a run.

    ``metrics``, ``params`` and ``tags`` are dicts, as MLflow users expect; the full metric
    objects (with the step and timestamp of each latest value) are in ``metric_list``.
    """

    metric_list: tuple[Metric, ...] = ()
    param_list: tuple[Param, ...] = ()
    tag_list: tuple[RunTag, ...] = ()

    @property
    def metrics(self) -> dict[str, float]:
        return {m.key: m.value for m in self.metric_list}

    @property
    def params(self) -> dict[str, str]:
        return {p.key: p.value for p in self.param_list}

    @property
    def tags(self) -> dict[str, str]:
        return {t.key: t.value for t in self.tag_list}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.metric_list:
            out["metrics"] = [m.to_dict() for m in self.metric_list]
        if self.param_list:
            out["params"] = [p.to_dict() for p in self.param_list]
        if self.tag_list:
            out["tags"] = [t.to_dict() for t in self.tag_list]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RunData:
        d = d or {}
        return cls(
            tuple(Metric.from_dict(m) for m in d.get("metrics", [])),
            tuple(Param.from_dict(p) for p in d.get("params", [])),
            tuple(RunTag.from_dict(t) for t in d.get("tags", [])),
        )


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData = field(default_factory=RunData)
    inputs: RunInputs = field(default_factory=RunInputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "info": self.info.to_dict(),
            "data": self.data.to_dict(),
            "inputs": self.inputs.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Run:
        return cls(
            RunInfo.from_dict(d["info"]),
            RunData.from_dict(d.get("data")),
            RunInputs.from_dict(d.get("inputs")),
        )


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str = ""
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out = _drop_none(
            {
                "experiment_id": self.experiment_id,
                "name": self.name,
                "artifact_location": self.artifact_location,
                "lifecycle_stage": self.lifecycle_stage,
                "last_update_time": self.last_update_time,
                "creation_time": self.creation_time,
            }
        )
        if self.tags:
            out["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Experiment:
        return cls(
            experiment_id=str(d["experiment_id"]),
            name=d["name"],
            artifact_location=d.get("artifact_location", ""),
            lifecycle_stage=d.get("lifecycle_stage", LifecycleStage.ACTIVE),
            tags={t["key"]: t.get("value", "") for t in d.get("tags", [])},
            creation_time=_opt_int(d.get("creation_time")),
            last_update_time=_opt_int(d.get("last_update_time")),
        )


@dataclass(frozen=True)
class FileInfo:
    path: str
    is_dir: bool
    file_size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none({"path": self.path, "is_dir": self.is_dir, "file_size": self.file_size})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileInfo:
        return cls(d["path"], bool(d.get("is_dir", False)), _opt_int(d.get("file_size")))


class PagedList(list, Generic[T]):
    """A page of results: a list with ``token`` for the next page (``None`` on the last)."""

    def __init__(self, items: Iterable[T] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token

    def to_list(self) -> list[T]:
        return list(self)


def metric_sort_key(m: Metric) -> tuple[int, int, float]:
    """The order that picks a metric's latest value: step, then timestamp, then value.

    NaN compares lowest, so a real value logged at the same step and time wins.
    """
    return (m.step, m.timestamp, -math.inf if math.isnan(m.value) else m.value)


__all__: Sequence[str] = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "Metric",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunStatus",
    "RunTag",
    "SourceType",
    "ViewType",
    "metric_sort_key",
]
