"""``MemoryTrackingStore``: a complete tracking store kept in Python dicts.

URIs look like ``memory://<name>``. Every store object opened on the same name in one process
shares the same data (the fluent API, a client and a test can all see one another's runs);
the data lives until the process ends or ``forget(uri)`` is called.

The store implements the whole ``AbstractTrackingStore`` interface and passes trackline's
conformance kit. It leans on the core for everything that is not storage:

* ``trackline.validation`` checks keys, values and limits (the same rules as every store);
* ``trackline.search`` parses filters and order_by clauses, and
  ``trackline.search.evaluate`` runs them in Python — right for a store that holds every run
  in memory anyway (a SQL store would compile the tree into a query instead);
* ``trackline.search.paging`` makes the page tokens MLflow clients expect.

One lock per named store makes each method atomic, which is also what gives ``log_batch``
its all-or-nothing behaviour: everything is validated before the first write.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from tempfile import gettempdir

from trackline.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
    metric_sort_key,
)
from trackline.exceptions import (
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    TracklineException,
)
from trackline.search import (
    decode_page_token,
    encode_page_token,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_run_filter,
    parse_run_order_by,
)
from trackline.search.evaluate import (
    experiment_matches,
    run_matches,
    sort_experiments,
    sort_runs,
)
from trackline.store.run_names import resolve_run_name
from trackline.store.tracking import (
    SEARCH_MAX_RESULTS_DEFAULT,
    SEARCH_MAX_RESULTS_THRESHOLD,
    AbstractTrackingStore,
)
from trackline.validation import (
    param_conflict_message,
    validate_artifact_location,
    validate_batch,
    validate_dataset_input,
    validate_experiment_name,
    validate_experiment_tag,
    validate_max_results,
    validate_tag,
)

RUN_NAME_TAG = "mlflow.runName"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"

# Metric history pages may be much larger than search pages (MLflow's client asks for 25000).
_HISTORY_PAGE_LIMIT = 10**9


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- errors --------------------------------------------------------------------------------


def _not_found(message: str) -> TracklineException:
    return TracklineException(message, RESOURCE_DOES_NOT_EXIST)


def _not_active(kind: str, identifier: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(
        f"The {kind} {identifier} must be in the 'active' state. Current state is deleted."
    )


# -- records -------------------------------------------------------------------------------
# Mutable records inside the store; callers only ever see the frozen entities built from them.


@dataclass
class _ExperimentRecord:
    experiment_id: str
    name: str
    artifact_location: str
    creation_time: int
    last_update_time: int
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)

    def to_entity(self) -> Experiment:
        return Experiment(
            experiment_id=self.experiment_id,
            name=self.name,
            artifact_location=self.artifact_location,
            lifecycle_stage=self.lifecycle_stage,
            tags=dict(self.tags),
            creation_time=self.creation_time,
            last_update_time=self.last_update_time,
        )


@dataclass
class _RunRecord:
    info: RunInfo
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    history: dict[str, list[Metric]] = field(default_factory=dict)
    latest: dict[str, Metric] = field(default_factory=dict)
    # Keyed by (dataset name, digest): the same dataset is recorded once per run.
    inputs: dict[tuple[str, str], DatasetInput] = field(default_factory=dict)
    deleted_time: int | None = None
    # Set when the run was deleted because its experiment was, so that restoring the
    # experiment brings back exactly those runs (not ones the user deleted on purpose).
    deleted_with_experiment: bool = False

    def to_entity(self) -> Run:
        return Run(
            info=self.info,
            data=RunData(
                metric_list=tuple(self.latest.values()),
                param_list=tuple(Param(k, v) for k, v in self.params.items()),
                tag_list=tuple(RunTag(k, v) for k, v in self.tags.items()),
            ),
            inputs=RunInputs(tuple(self.inputs.values())),
        )


@dataclass
class _Data:
    """Everything one named store holds, guarded by its own lock."""

    default_artifact_root: str
    lock: threading.RLock = field(default_factory=threading.RLock)
    experiments: dict[str, _ExperimentRecord] = field(default_factory=dict)
    experiment_ids_by_name: dict[str, str] = field(default_factory=dict)
    runs: dict[str, _RunRecord] = field(default_factory=dict)
    next_experiment_id: int = 0


# name -> data, shared by every store object opened on that name in this process.
_DATA: dict[str, _Data] = {}
_DATA_LOCK = threading.Lock()


def store_name(store_uri: str) -> str:
    """``memory://team-a`` → ``team-a``; ``memory://`` and ``memory:`` → ``default``."""
    rest = store_uri.split(":", 1)[1] if ":" in store_uri else store_uri
    return rest.lstrip("/").rstrip("/") or "default"


def forget(store_uri: str) -> None:
    """Drop the data of a named store (tests call this to free memory)."""
    with _DATA_LOCK:
        _DATA.pop(store_name(store_uri), None)


def _default_root(name: str) -> str:
    return str(Path(gettempdir()) / "trackline-memory" / name)


# -- the store -----------------------------------------------------------------------------


class MemoryTrackingStore(AbstractTrackingStore):
    """The tracking store for ``memory://<name>`` URIs."""

    def __init__(self, store_uri: str = "memory://", default_artifact_root: str | None = None):
        self.store_uri = store_uri
        name = store_name(store_uri)
        with _DATA_LOCK:
            data = _DATA.get(name)
            if data is None:
                data = _Data(default_artifact_root or _default_root(name))
                _DATA[name] = data
                self._create_default_experiment(data)
        self._data = data

    @staticmethod
    def _create_default_experiment(data: _Data) -> None:
        now = _now_ms()
        data.experiments[DEFAULT_EXPERIMENT_ID] = _ExperimentRecord(
            experiment_id=DEFAULT_EXPERIMENT_ID,
            name=DEFAULT_EXPERIMENT_NAME,
            artifact_location=_join(data.default_artifact_root, DEFAULT_EXPERIMENT_ID),
            creation_time=now,
            last_update_time=now,
        )
        data.experiment_ids_by_name[DEFAULT_EXPERIMENT_NAME] = DEFAULT_EXPERIMENT_ID
        data.next_experiment_id = 1

    # -- lookups (callers hold the lock) ---------------------------------------------------

    def _experiment(self, experiment_id: str) -> _ExperimentRecord:
        record = self._data.experiments.get(str(experiment_id))
        if record is None:
            raise _not_found(f"No Experiment with id={experiment_id} exists")
        return record

    def _active_experiment(self, experiment_id: str) -> _ExperimentRecord:
        record = self._experiment(experiment_id)
        if record.lifecycle_stage != LifecycleStage.ACTIVE:
            raise _not_active("experiment", record.experiment_id)
        return record

    def _run(self, run_id: str) -> _RunRecord:
        record = self._data.runs.get(run_id)
        if record is None:
            raise _not_found(f"Run with id={run_id} not found")
        return record

    def _active_run(self, run_id: str) -> _RunRecord:
        record = self._run(run_id)
        if record.info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise _not_active("run", run_id)
        return record

    # -- experiments -----------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[RunTag] = ()
    ) -> str:
        validate_experiment_name(name)
        validate_artifact_location(artifact_location)
        clean_tags = [validate_experiment_tag(t) for t in tags]
        with self._data.lock:
            if name in self._data.experiment_ids_by_name:
                raise TracklineException(
                    f"Experiment(name={name}) already exists. Choose another name, or restore "
                    "the deleted experiment of that name.",
                    RESOURCE_ALREADY_EXISTS,
                )
            experiment_id = str(self._data.next_experiment_id)
            self._data.next_experiment_id += 1
            now = _now_ms()
            self._data.experiments[experiment_id] = _ExperimentRecord(
                experiment_id=experiment_id,
                name=name,
                artifact_location=artifact_location
                or _join(self._data.default_artifact_root, experiment_id),
                creation_time=now,
                last_update_time=now,
                tags={t.key: t.value for t in clean_tags},
            )
            self._data.experiment_ids_by_name[name] = experiment_id
            return experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self._data.lock:
            return self._experiment(experiment_id).to_entity()

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._data.lock:
            experiment_id = self._data.experiment_ids_by_name.get(name)
            return None if experiment_id is None else self._experiment(experiment_id).to_entity()

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        stages = LifecycleStage.matching(view_type)
        validate_max_results(max_results, SEARCH_MAX_RESULTS_THRESHOLD)
        node = parse_experiment_filter(filter_string)
        order = parse_experiment_order_by(order_by)
        offset = decode_page_token(page_token)
        with self._data.lock:
            candidates = [
                r.to_entity()
                for r in self._data.experiments.values()
                if r.lifecycle_stage in stages
            ]
        matching = [e for e in candidates if experiment_matches(node, e)]
        return _page(sort_experiments(matching, order), offset, max_results)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        validate_experiment_name(new_name)
        with self._data.lock:
            record = self._active_experiment(experiment_id)
            if new_name == record.name:
                return
            if new_name in self._data.experiment_ids_by_name:
                raise TracklineException(
                    f"Experiment(name={new_name}) already exists.", RESOURCE_ALREADY_EXISTS
                )
            del self._data.experiment_ids_by_name[record.name]
            self._data.experiment_ids_by_name[new_name] = record.experiment_id
            record.name = new_name
            record.last_update_time = _now_ms()

    def delete_experiment(self, experiment_id: str) -> None:
        with self._data.lock:
            record = self._experiment(experiment_id)
            if record.lifecycle_stage == LifecycleStage.DELETED:
                raise _not_found(f"Experiment {experiment_id} is already deleted.")
            now = _now_ms()
            record.lifecycle_stage = LifecycleStage.DELETED
            record.last_update_time = now
            for run in self._runs_of(record.experiment_id):
                if run.info.lifecycle_stage == LifecycleStage.ACTIVE:
                    _set_run_stage(run, LifecycleStage.DELETED, now)
                    run.deleted_with_experiment = True

    def restore_experiment(self, experiment_id: str) -> None:
        with self._data.lock:
            record = self._experiment(experiment_id)
            if record.lifecycle_stage == LifecycleStage.ACTIVE:
                raise _not_found(f"Experiment {experiment_id} is not deleted: nothing to restore.")
            record.lifecycle_stage = LifecycleStage.ACTIVE
            record.last_update_time = _now_ms()
            for run in self._runs_of(record.experiment_id):
                if run.deleted_with_experiment:
                    _set_run_stage(run, LifecycleStage.ACTIVE, None)

    def set_experiment_tag(self, experiment_id: str, tag: RunTag) -> None:
        tag = validate_experiment_tag(tag)
        with self._data.lock:
            record = self._active_experiment(experiment_id)
            record.tags[tag.key] = tag.value
            record.last_update_time = _now_ms()

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with self._data.lock:
            record = self._active_experiment(experiment_id)
            if key not in record.tags:
                raise _not_found(f"No tag with name: {key} in experiment {experiment_id}.")
            del record.tags[key]
            record.last_update_time = _now_ms()

    def _runs_of(self, experiment_id: str) -> list[_RunRecord]:
        return [r for r in self._data.runs.values() if r.info.experiment_id == experiment_id]

    # -- runs ------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        clean_tags = {t.key: t.value for t in (validate_tag(t) for t in tags)}
        name = resolve_run_name(run_name, clean_tags.get(RUN_NAME_TAG))
        clean_tags[RUN_NAME_TAG] = name
        with self._data.lock:
            experiment = self._active_experiment(experiment_id)
            run_id = uuid.uuid4().hex
            info = RunInfo(
                run_id=run_id,
                experiment_id=experiment.experiment_id,
                run_name=name,
                user_id=user_id or "",
                status=RunStatus.to_string(RunStatus.RUNNING),
                start_time=_now_ms() if start_time is None else start_time,
                end_time=None,
                artifact_uri=_join(experiment.artifact_location, f"{run_id}/artifacts"),
                lifecycle_stage=LifecycleStage.ACTIVE,
            )
            record = _RunRecord(info=info, tags=clean_tags)
            self._data.runs[run_id] = record
            return record.to_entity()

    def get_run(self, run_id: str) -> Run:
        with self._data.lock:
            return self._run(run_id).to_entity()

    def update_run_info(
        self,
        run_id: str,
        run_status: int | str | None,
        end_time: int | None,
        run_name: str | None,
    ) -> RunInfo:
        # Parse before taking the lock: a bad status must change nothing.
        status = None if run_status is None else RunStatus.to_string(run_status)
        with self._data.lock:
            record = self._active_run(run_id)
            changes: dict[str, object] = {}
            if status is not None:
                changes["status"] = status
            if end_time is not None:
                changes["end_time"] = end_time
            if run_name:
                changes["run_name"] = run_name
                record.tags[RUN_NAME_TAG] = run_name
            record.info = replace(record.info, **changes)
            return record.info

    def delete_run(self, run_id: str) -> None:
        with self._data.lock:
            record = self._run(run_id)
            _set_run_stage(record, LifecycleStage.DELETED, _now_ms())

    def restore_run(self, run_id: str) -> None:
        with self._data.lock:
            record = self._run(run_id)
            _set_run_stage(record, LifecycleStage.ACTIVE, None)
            record.deleted_with_experiment = False

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        stages = LifecycleStage.matching(run_view_type)
        validate_max_results(max_results, SEARCH_MAX_RESULTS_THRESHOLD)
        node = parse_run_filter(filter_string)
        order = parse_run_order_by(order_by)
        offset = decode_page_token(page_token)
        wanted = {str(e) for e in experiment_ids}
        with self._data.lock:
            candidates = [
                r.to_entity()
                for r in self._data.runs.values()
                if r.info.experiment_id in wanted and r.info.lifecycle_stage in stages
            ]
        # Entities are immutable snapshots, so matching and sorting need no lock.
        matching = [run for run in candidates if run_matches(node, run)]
        return _page(sort_runs(matching, order), offset, max_results)

    # -- logging ---------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        clean_metrics, clean_params, clean_tags = validate_batch(metrics, params, tags)
        with self._data.lock:
            record = self._active_run(run_id)
            conflicts = [
                (p.key, record.params[p.key], p.value)
                for p in clean_params
                if p.key in record.params and record.params[p.key] != p.value
            ]
            if conflicts:
                raise TracklineException.invalid_parameter_value(
                    param_conflict_message(run_id, conflicts)
                )
            # Nothing below can fail: the batch is written whole.
            for m in clean_metrics:
                _add_metric(record, replace(m, value=float(m.value)))
            for p in clean_params:
                record.params[p.key] = p.value
            for t in clean_tags:
                record.tags[t.key] = t.value
                if t.key == RUN_NAME_TAG:
                    record.info = replace(record.info, run_name=t.value)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._data.lock:
            record = self._active_run(run_id)
            if key not in record.tags:
                raise _not_found(f"No tag with name: {key} in run with id {run_id}")
            del record.tags[key]

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        clean = [validate_dataset_input(d) for d in datasets]
        with self._data.lock:
            record = self._active_run(run_id)
            for dataset_input in clean:
                key = (dataset_input.dataset.name, dataset_input.dataset.digest)
                # The first logging of a dataset wins, as in MLflow's stores.
                record.inputs.setdefault(key, dataset_input)

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Metric]:
        if max_results is not None:
            validate_max_results(max_results, _HISTORY_PAGE_LIMIT)
        offset = decode_page_token(page_token)
        with self._data.lock:
            points = list(self._run(run_id).history.get(metric_key, ()))
        points.sort(key=lambda m: (m.step, m.timestamp))  # stable: equal points keep log order
        if max_results is None:
            return PagedList(points[offset:])
        return _page(points, offset, max_results)

    # -- garbage collection ----------------------------------------------------------------

    def get_deleted_run_ids(self, older_than_ms: int | None = None) -> list[str]:
        cutoff = _now_ms() - (older_than_ms or 0)
        with self._data.lock:
            return [
                run_id
                for run_id, r in self._data.runs.items()
                if r.info.lifecycle_stage == LifecycleStage.DELETED
                and (r.deleted_time or 0) <= cutoff
            ]

    def hard_delete_run(self, run_id: str) -> None:
        with self._data.lock:
            self._run(run_id)
            del self._data.runs[run_id]

    def hard_delete_experiment(self, experiment_id: str) -> None:
        with self._data.lock:
            record = self._experiment(experiment_id)
            for run in self._runs_of(record.experiment_id):
                del self._data.runs[run.info.run_id]
            del self._data.experiment_ids_by_name[record.name]
            del self._data.experiments[record.experiment_id]

    def close(self) -> None:
        """Nothing to release; the data stays for other stores on the same name."""


# -- helpers -------------------------------------------------------------------------------


def _join(base: str, child: str) -> str:
    return f"{base.rstrip('/')}/{child}"


def _page(items: list, offset: int, max_results: int) -> PagedList:
    page = items[offset : offset + max_results]
    more = offset + max_results < len(items)
    return PagedList(page, encode_page_token(offset + max_results) if more else None)


def _set_run_stage(record: _RunRecord, stage: str, deleted_time: int | None) -> None:
    record.info = replace(record.info, lifecycle_stage=stage)
    record.deleted_time = deleted_time


def _add_metric(record: _RunRecord, metric: Metric) -> None:
    record.history.setdefault(metric.key, []).append(metric)
    current = record.latest.get(metric.key)
    if current is None or metric_sort_key(metric) > metric_sort_key(current):
        record.latest[metric.key] = metric
