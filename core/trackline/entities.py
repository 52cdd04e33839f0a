"""Tracking entities, with the field names of MLflow's protocol.

Every entity converts to and from the JSON shape of the REST protocol (``to_dict`` /
``from_dict``): snake_case keys, int64 as numbers, enums as names, unset fields omitted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
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
class DatasetSummary:
    """A dataset the runs of an experiment used, and in which context (the ``mlflow.data.context``
    input tag): a row of MLflow's ``SearchDatasets`` answer, which fills the UI's dataset
    filter."""

    experiment_id: str
    name: str
    digest: str
    context: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _drop_none(
            {
                "experiment_id": self.experiment_id,
                "name": self.name,
                "digest": self.digest,
                "context": self.context,
            }
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetSummary:
        return cls(str(d["experiment_id"]), d["name"], d["digest"], d.get("context"))


@dataclass(frozen=True)
class LoggedModelInput:
    """A logged model a run used as input (``RunInputs.model_inputs``)."""

    model_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoggedModelInput:
        return cls(d["model_id"])


@dataclass(frozen=True)
class LoggedModelOutput:
    """A logged model a run produced, at a step (``RunOutputs.model_outputs``, LogOutputs)."""

    model_id: str
    step: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "step": self.step}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoggedModelOutput:
        return cls(d["model_id"], int(d.get("step", 0)))


@dataclass(frozen=True)
class RunInputs:
    dataset_inputs: tuple[DatasetInput, ...] = ()
    model_inputs: tuple[LoggedModelInput, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.dataset_inputs:
            out["dataset_inputs"] = [d.to_dict() for d in self.dataset_inputs]
        if self.model_inputs:
            out["model_inputs"] = [m.to_dict() for m in self.model_inputs]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RunInputs:
        d = d or {}
        return cls(
            tuple(DatasetInput.from_dict(x) for x in d.get("dataset_inputs", [])),
            tuple(LoggedModelInput.from_dict(x) for x in d.get("model_inputs", [])),
        )


@dataclass(frozen=True)
class RunOutputs:
    """What a run produced: the logged models linked to it with ``log_outputs``."""

    model_outputs: tuple[LoggedModelOutput, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if not self.model_outputs:
            return {}
        return {"model_outputs": [m.to_dict() for m in self.model_outputs]}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> RunOutputs:
        return cls(
            tuple(LoggedModelOutput.from_dict(x) for x in (d or {}).get("model_outputs", []))
        )


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
    outputs: RunOutputs = field(default_factory=RunOutputs)

    def to_dict(self) -> dict[str, Any]:
        # As MLflow 3's GetRun and SearchRuns: inputs and outputs even when empty.
        return {
            "info": self.info.to_dict(),
            "data": self.data.to_dict(),
            "inputs": self.inputs.to_dict(),
            "outputs": self.outputs.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Run:
        return cls(
            RunInfo.from_dict(d["info"]),
            RunData.from_dict(d.get("data")),
            RunInputs.from_dict(d.get("inputs")),
            RunOutputs.from_dict(d.get("outputs")),
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
        # An empty file's size is left out, as MLflow's protobuf conversion does.
        size = self.file_size or None
        return _drop_none({"path": self.path, "is_dir": self.is_dir, "file_size": size})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileInfo:
        return cls(d["path"], bool(d.get("is_dir", False)), _opt_int(d.get("file_size")))


class LoggedModelStatus(str, Enum):
    """Where a logged model is in its life: PENDING until its files are uploaded, then READY
    (or UPLOAD_FAILED). On the wire the names carry a ``LOGGED_MODEL_`` prefix.

    ``FAILED`` (MLflow's Python name) is an alias of ``UPLOAD_FAILED``; ``parse`` also takes
    the wire names and the protocol numbers.
    """

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    UPLOAD_FAILED = "UPLOAD_FAILED"
    FAILED = "UPLOAD_FAILED"  # alias

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> LoggedModelStatus | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return _LOGGED_MODEL_STATUS_NUMBERS.get(value)
        if isinstance(value, str):
            name = value.strip().upper()
            if name.startswith("LOGGED_MODEL_"):
                name = name[len("LOGGED_MODEL_") :]
            name = {"STATUS_UNSPECIFIED": "UNSPECIFIED", "FAILED": "UPLOAD_FAILED"}.get(name, name)
            if name in cls.__members__:
                return cls.__members__[name]
            if name.isdigit():
                return _LOGGED_MODEL_STATUS_NUMBERS.get(int(name))
        return None

    @classmethod
    def parse(cls, value: object) -> LoggedModelStatus:
        """Any spelling of a status; anything else fails with INVALID_PARAMETER_VALUE."""
        try:
            return cls(value)
        except ValueError:
            from trackline.exceptions import TracklineException

            raise TracklineException.invalid_parameter_value(
                f"Invalid logged model status {value!r}: use PENDING, READY or FAILED "
                "(on the wire LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or "
                "LOGGED_MODEL_UPLOAD_FAILED)."
            ) from None

    def to_proto_name(self) -> str:
        """The enum name on the wire: ``LOGGED_MODEL_READY``…"""
        if self is LoggedModelStatus.UNSPECIFIED:
            return "LOGGED_MODEL_STATUS_UNSPECIFIED"
        return f"LOGGED_MODEL_{self.value}"

    def to_int(self) -> int:
        return _LOGGED_MODEL_STATUS_INTS[self]

    @classmethod
    def from_int(cls, number: int) -> LoggedModelStatus:
        return cls.parse(number)

    @staticmethod
    def is_finalized(status: object) -> bool:
        return LoggedModelStatus.parse(status) in (
            LoggedModelStatus.READY,
            LoggedModelStatus.UPLOAD_FAILED,
        )


_LOGGED_MODEL_STATUS_INTS = {
    LoggedModelStatus.UNSPECIFIED: 0,
    LoggedModelStatus.PENDING: 1,
    LoggedModelStatus.READY: 2,
    LoggedModelStatus.UPLOAD_FAILED: 3,
}
_LOGGED_MODEL_STATUS_NUMBERS = {v: k for k, v in _LOGGED_MODEL_STATUS_INTS.items()}


@dataclass(frozen=True)
class LoggedModelTag(RunTag):
    pass


@dataclass(frozen=True)
class LoggedModelParameter(Param):
    pass


@dataclass(frozen=True)
class LoggedModel:
    """An MLflow 3 logged model: a model with its own id, artifacts, params, tags and metrics.

    ``metrics`` holds every metric point logged against the model (with ``run_id``,
    ``dataset_name``/``dataset_digest`` where known). The REST JSON (``to_dict``) is
    ``{"info": {...}, "data": {"params": [...], "metrics": [...]}}``.
    """

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: LoggedModelStatus = LoggedModelStatus.PENDING
    status_message: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"

    def to_dict(self) -> dict[str, Any]:
        info = _drop_none(
            {
                "model_id": self.model_id,
                "experiment_id": self.experiment_id,
                "name": self.name,
                "creation_timestamp_ms": self.creation_timestamp,
                "last_updated_timestamp_ms": self.last_updated_timestamp,
                "artifact_uri": self.artifact_location,
                "status": LoggedModelStatus.parse(self.status).to_proto_name(),
                "model_type": self.model_type or None,
                "source_run_id": self.source_run_id or None,
                "status_message": self.status_message or None,
            }
        )
        if self.tags:
            info["tags"] = [{"key": k, "value": v} for k, v in self.tags.items()]
        data: dict[str, Any] = {}
        if self.params:
            data["params"] = [{"key": k, "value": v} for k, v in self.params.items()]
        if self.metrics:
            data["metrics"] = [m.to_dict() for m in self.metrics]
        return {"info": info, "data": data}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoggedModel:
        info = d.get("info", {})
        data = d.get("data") or {}
        return cls(
            model_id=info["model_id"],
            experiment_id=str(info["experiment_id"]),
            name=info.get("name", ""),
            artifact_location=info.get("artifact_uri", ""),
            creation_timestamp=int(info.get("creation_timestamp_ms", 0)),
            last_updated_timestamp=int(info.get("last_updated_timestamp_ms", 0)),
            status=LoggedModelStatus.parse(info.get("status", "UNSPECIFIED")),
            status_message=info.get("status_message") or None,
            model_type=info.get("model_type") or None,
            source_run_id=info.get("source_run_id") or None,
            tags={t["key"]: t.get("value", "") for t in info.get("tags", [])},
            params={p["key"]: p.get("value", "") for p in data.get("params", [])},
            metrics=[Metric.from_dict(m) for m in data.get("metrics", [])],
        )


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
    "DatasetSummary",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelInput",
    "LoggedModelOutput",
    "LoggedModelParameter",
    "LoggedModelStatus",
    "LoggedModelTag",
    "Metric",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "SourceType",
    "ViewType",
    "metric_sort_key",
]
