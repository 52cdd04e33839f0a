"""``FileTrackingStore``: experiments and runs as plain files, in MLflow's ``mlruns/`` layout.

A folder written by MLflow's FileStore is read as it is, and what this store writes MLflow
reads back::

    <root>/<experiment_id>/meta.yaml            experiment (name, artifact_location, times…)
    <root>/<experiment_id>/tags/<key>           experiment tag, the file holds the value
    <root>/<experiment_id>/<run_id>/meta.yaml   run info (status as MLflow's int enum)
    <root>/<experiment_id>/<run_id>/metrics/<key>   "<timestamp> <value> <step>" per line
    <root>/<experiment_id>/<run_id>/params/<key>    the value
    <root>/<experiment_id>/<run_id>/tags/<key>      the value
    <root>/<experiment_id>/<run_id>/inputs/<id>/meta.yaml   a dataset input
    <root>/<experiment_id>/datasets/<id>/meta.yaml          the dataset itself
    <root>/<experiment_id>/<run_id>/artifacts/  run artifacts (default artifact location)
    <root>/.trash/<experiment_id>/              a deleted experiment, with its runs

Keys with ``/`` are nested folders. A run of a deleted experiment reads as deleted, and comes
back with the experiment. Search reads the runs of the experiments asked for and evaluates
filters with ``trackline.search`` in Python: right for a folder of files, but slow beyond some
ten thousand runs (use trackline-sql for that, and ``trackline sync`` to move runs there).

One lock per root makes each method atomic within a process; files are replaced atomically
(write to a temporary file, then rename), metric points are appended.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml
from trackline.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
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
TRASH = ".trash"
META = "meta.yaml"
SOURCE_TYPE_LOCAL = 4  # MLflow's SourceType.LOCAL, written to run meta.yaml
_HISTORY_PAGE_LIMIT = 10**9
_RESERVED = {TRASH, "models", "datasets", "traces", "tags"}

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _now_ms() -> int:
    return int(time.time() * 1000)


def root_from_uri(store_uri: str) -> Path:
    """``file:///abs/mlruns``, ``file:./mlruns``, ``file:mlruns`` or a plain path → a Path."""
    if store_uri.startswith("file:"):
        parsed = urlparse(store_uri)
        if parsed.netloc not in ("", "localhost"):
            raise TracklineException.invalid_parameter_value(
                f"File store URI {store_uri!r} names a host; use file:///path or a local path."
            )
        path = unquote(parsed.path) if store_uri.startswith("file://") else store_uri[5:]
        return Path(path or ".").absolute()
    return Path(store_uri).absolute()


def _not_found(message: str) -> TracklineException:
    return TracklineException(message, RESOURCE_DOES_NOT_EXIST)


def _not_active(kind: str, identifier: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(
        f"The {kind} {identifier} must be in the 'active' state. Current state is deleted."
    )


# -- small file helpers --------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_yaml(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    return data if isinstance(data, dict) else {}


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    _write_atomic(path, yaml.safe_dump(data, default_flow_style=False, sort_keys=True))


def _read_key_files(directory: Path) -> dict[str, str]:
    """Files under ``directory`` (nested for keys with '/') → {key: content}."""
    out: dict[str, str] = {}
    if not directory.is_dir():
        return out
    for dirpath, _, files in os.walk(directory):
        for name in files:
            if name.startswith(".tmp-"):
                continue
            full = Path(dirpath) / name
            key = full.relative_to(directory).as_posix()
            out[key] = full.read_text(encoding="utf-8")
    return out


def _key_path(directory: Path, key: str) -> Path:
    # Keys are validated by trackline.validation: no '..', no leading '/', normalised.
    return directory.joinpath(*key.split("/"))


def _format_value(value: float) -> str:
    return repr(float(value)) if value == value and abs(value) != float("inf") else str(value)


def _parse_metric_line(key: str, line: str) -> Metric:
    parts = line.split()
    if len(parts) < 2:
        raise ValueError(line)
    timestamp = int(parts[0])
    value = float(parts[1])
    step = int(parts[2]) if len(parts) >= 3 else 0
    dataset_name = parts[3] if len(parts) >= 5 else None
    dataset_digest = parts[4] if len(parts) >= 5 else None
    return Metric(key, value, timestamp, step, dataset_name, dataset_digest)


def _experiment_id_ok(experiment_id: object) -> bool:
    return isinstance(experiment_id, str) and experiment_id.isdigit()


def _run_id_ok(run_id: object) -> bool:
    return (
        isinstance(run_id, str)
        and 0 < len(run_id) <= 64
        and all(c.isalnum() or c in "-_" for c in run_id)
    )


class FileTrackingStore(AbstractTrackingStore):
    """The tracking store for ``file:`` URIs and plain paths (see the module docstring)."""

    def __init__(self, store_uri: str = "file:./mlruns", default_artifact_root: str | None = None):
        self.store_uri = store_uri
        self.root = root_from_uri(store_uri)
        self.artifact_root = (
            default_artifact_root.rstrip("/") if default_artifact_root else self.root.as_uri()
        )
        with _LOCKS_GUARD:
            self._lock = _LOCKS.setdefault(str(self.root), threading.RLock())
        self._run_dirs: dict[str, Path] = {}
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            if (
                not (self.root / DEFAULT_EXPERIMENT_ID / META).exists()
                and not (self.root / TRASH / DEFAULT_EXPERIMENT_ID / META).exists()
            ):
                self._write_experiment(
                    self.root / DEFAULT_EXPERIMENT_ID,
                    DEFAULT_EXPERIMENT_ID,
                    DEFAULT_EXPERIMENT_NAME,
                    self._default_location(DEFAULT_EXPERIMENT_ID),
                )

    def _default_location(self, experiment_id: str) -> str:
        return f"{self.artifact_root}/{experiment_id}"

    # -- experiments: files ----------------------------------------------------------------

    def _write_experiment(
        self, directory: Path, experiment_id: str, name: str, location: str
    ) -> None:
        now = _now_ms()
        _write_yaml(
            directory / META,
            {
                "artifact_location": location,
                "creation_time": now,
                "experiment_id": experiment_id,
                "last_update_time": now,
                "lifecycle_stage": LifecycleStage.ACTIVE,
                "name": name,
            },
        )

    def _experiment_dirs(self, include_trash: bool = True) -> Iterator[tuple[Path, bool]]:
        """(directory, deleted) of every experiment."""
        bases = [(self.root, False)]
        if include_trash:
            bases.append((self.root / TRASH, True))
        for base, deleted in bases:
            if not base.is_dir():
                continue
            for child in base.iterdir():
                if _experiment_id_ok(child.name) and (child / META).is_file():
                    yield child, deleted

    def _find_experiment_dir(self, experiment_id: str) -> tuple[Path, bool]:
        experiment_id = str(experiment_id)
        if _experiment_id_ok(experiment_id):
            for base, deleted in ((self.root, False), (self.root / TRASH, True)):
                candidate = base / experiment_id
                if (candidate / META).is_file():
                    return candidate, deleted
        raise _not_found(f"No Experiment with id={experiment_id} exists")

    def _load_experiment(self, directory: Path, deleted: bool) -> Experiment:
        meta = _read_yaml(directory / META)
        stage = meta.get("lifecycle_stage") or LifecycleStage.ACTIVE
        if deleted:
            stage = LifecycleStage.DELETED
        return Experiment(
            experiment_id=str(meta.get("experiment_id", directory.name)),
            name=str(meta.get("name", "")),
            artifact_location=str(meta.get("artifact_location") or ""),
            lifecycle_stage=stage,
            tags=_read_key_files(directory / "tags"),
            creation_time=meta.get("creation_time"),
            last_update_time=meta.get("last_update_time"),
        )

    def _touch_experiment(self, directory: Path, **changes: Any) -> None:
        meta = _read_yaml(directory / META)
        meta.update(changes)
        meta["last_update_time"] = _now_ms()
        _write_yaml(directory / META, meta)

    def _active_experiment_dir(self, experiment_id: str) -> Path:
        directory, deleted = self._find_experiment_dir(experiment_id)
        if deleted:
            raise _not_active("experiment", str(experiment_id))
        return directory

    def _experiment_with_name(self, name: str) -> Experiment | None:
        for directory, deleted in self._experiment_dirs():
            meta = _read_yaml(directory / META)
            if meta.get("name") == name:
                return self._load_experiment(directory, deleted)
        return None

    def _new_experiment_id(self) -> str:
        while True:
            # MLflow 3's FileStore uses random 18-digit ids, so two folders can be merged.
            candidate = str(random.randint(10**17, 10**18 - 1))
            if (
                not (self.root / candidate).exists()
                and not (self.root / TRASH / candidate).exists()
            ):
                return candidate

    # -- experiments -----------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[RunTag] = ()
    ) -> str:
        validate_experiment_name(name)
        validate_artifact_location(artifact_location)
        clean_tags = [validate_experiment_tag(t) for t in tags]
        with self._lock:
            if self._experiment_with_name(name) is not None:
                raise TracklineException(
                    f"Experiment(name={name}) already exists. Choose another name, or restore "
                    "the deleted experiment of that name.",
                    RESOURCE_ALREADY_EXISTS,
                )
            experiment_id = self._new_experiment_id()
            directory = self.root / experiment_id
            for tag in clean_tags:
                _write_atomic(_key_path(directory / "tags", tag.key), tag.value)
            self._write_experiment(
                directory,
                experiment_id,
                name,
                artifact_location or self._default_location(experiment_id),
            )
            return experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self._lock:
            return self._load_experiment(*self._find_experiment_dir(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._lock:
            return self._experiment_with_name(name)

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
        with self._lock:
            candidates = [
                self._load_experiment(d, deleted) for d, deleted in self._experiment_dirs()
            ]
        matching = [
            e for e in candidates if e.lifecycle_stage in stages and experiment_matches(node, e)
        ]
        return _page(sort_experiments(matching, order), offset, max_results)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        validate_experiment_name(new_name)
        with self._lock:
            directory = self._active_experiment_dir(experiment_id)
            if _read_yaml(directory / META).get("name") == new_name:
                return
            if self._experiment_with_name(new_name) is not None:
                raise TracklineException(
                    f"Experiment(name={new_name}) already exists.", RESOURCE_ALREADY_EXISTS
                )
            self._touch_experiment(directory, name=new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        with self._lock:
            directory, deleted = self._find_experiment_dir(experiment_id)
            if deleted:
                raise TracklineException(
                    f"Experiment {experiment_id} is already deleted.", RESOURCE_DOES_NOT_EXIST
                )
            self._touch_experiment(directory, lifecycle_stage=LifecycleStage.DELETED)
            (self.root / TRASH).mkdir(exist_ok=True)
            os.replace(directory, self.root / TRASH / directory.name)
            self._run_dirs.clear()

    def restore_experiment(self, experiment_id: str) -> None:
        with self._lock:
            directory, deleted = self._find_experiment_dir(experiment_id)
            if not deleted:
                raise TracklineException(
                    f"Experiment {experiment_id} is not deleted: there is nothing to restore.",
                    RESOURCE_DOES_NOT_EXIST,
                )
            if (self.root / directory.name).exists():
                raise TracklineException(
                    f"Cannot restore experiment {experiment_id}: an active experiment folder "
                    "with that id exists.",
                    "INVALID_STATE",
                )
            os.replace(directory, self.root / directory.name)
            self._touch_experiment(
                self.root / directory.name, lifecycle_stage=LifecycleStage.ACTIVE
            )
            self._run_dirs.clear()

    def set_experiment_tag(self, experiment_id: str, tag: RunTag) -> None:
        tag = validate_experiment_tag(tag)
        with self._lock:
            directory = self._active_experiment_dir(experiment_id)
            _write_atomic(_key_path(directory / "tags", tag.key), tag.value)
            self._touch_experiment(directory)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with self._lock:
            directory = self._active_experiment_dir(experiment_id)
            path = _key_path(directory / "tags", key)
            if not _valid_key_path(key) or not path.is_file():
                raise _not_found(f"No tag with name: {key} in experiment {experiment_id}.")
            path.unlink()
            self._touch_experiment(directory)

    # -- runs: files -----------------------------------------------------------------------

    def _run_dir(self, run_id: str) -> tuple[Path, bool]:
        """The run's folder and whether its experiment is deleted."""
        if not _run_id_ok(run_id):
            raise _not_found(f"Run with id={run_id} not found")
        cached = self._run_dirs.get(run_id)
        if cached is not None and (cached / META).is_file():
            return cached, cached.parent.parent.name == TRASH
        for directory, deleted in self._experiment_dirs():
            candidate = directory / run_id
            if (candidate / META).is_file():
                self._run_dirs[run_id] = candidate
                return candidate, deleted
        raise _not_found(f"Run with id={run_id} not found")

    def _load_info(self, directory: Path, experiment_deleted: bool) -> tuple[RunInfo, dict]:
        meta = _read_yaml(directory / META)
        status = meta.get("status", RunStatus.RUNNING)
        stage = meta.get("lifecycle_stage") or LifecycleStage.ACTIVE
        if experiment_deleted:
            stage = LifecycleStage.DELETED
        info = RunInfo(
            run_id=str(meta.get("run_id") or meta.get("run_uuid") or directory.name),
            experiment_id=str(meta.get("experiment_id", directory.parent.name)),
            run_name=str(meta.get("run_name") or ""),
            user_id=str(meta.get("user_id") or ""),
            status=RunStatus.to_string(status),
            start_time=meta.get("start_time"),
            end_time=meta.get("end_time"),
            artifact_uri=str(meta.get("artifact_uri") or ""),
            lifecycle_stage=stage,
        )
        return info, meta

    def _load_run(self, directory: Path, experiment_deleted: bool) -> Run:
        info, _ = self._load_info(directory, experiment_deleted)
        tags = _read_key_files(directory / "tags")
        if not info.run_name and RUN_NAME_TAG in tags:
            info = RunInfo(**{**info.__dict__, "run_name": tags[RUN_NAME_TAG]})
        latest = [_latest(points) for points in self._metric_files(directory).values() if points]
        return Run(
            info=info,
            data=RunData(
                metric_list=tuple(latest),
                param_list=tuple(
                    Param(k, v) for k, v in _read_key_files(directory / "params").items()
                ),
                tag_list=tuple(RunTag(k, v) for k, v in tags.items()),
            ),
            inputs=RunInputs(tuple(self._load_inputs(directory))),
        )

    def _metric_files(self, directory: Path) -> dict[str, list[Metric]]:
        return {
            key: [_parse_metric_line(key, line) for line in text.splitlines() if line.strip()]
            for key, text in _read_key_files(directory / "metrics").items()
        }

    def _load_inputs(self, run_dir: Path) -> list[DatasetInput]:
        inputs_dir = run_dir / "inputs"
        if not inputs_dir.is_dir():
            return []
        found = []
        for child in sorted(inputs_dir.iterdir()):
            meta_path = child / META
            if not meta_path.is_file():
                continue
            meta = _read_yaml(meta_path)
            if meta.get("source_type", "DATASET") != "DATASET":
                continue
            dataset_meta = run_dir.parent / "datasets" / str(meta.get("source_id")) / META
            if not dataset_meta.is_file():
                continue
            d = _read_yaml(dataset_meta)
            dataset = Dataset(
                name=str(d.get("name", "")),
                digest=str(d.get("digest", "")),
                source_type=str(d.get("source_type", "")),
                source=str(d.get("source", "")),
                schema=d.get("schema"),
                profile=d.get("profile"),
            )
            tags = tuple(InputTag(str(k), str(v)) for k, v in (meta.get("tags") or {}).items())
            found.append((meta.get("creation_order", 0), DatasetInput(dataset, tags)))
        found.sort(key=lambda pair: pair[0])
        return [dataset_input for _, dataset_input in found]

    def _active_run_dir(self, run_id: str) -> Path:
        directory, experiment_deleted = self._run_dir(run_id)
        meta = _read_yaml(directory / META)
        if experiment_deleted or meta.get("lifecycle_stage") == LifecycleStage.DELETED:
            raise _not_active("run", run_id)
        return directory

    def _update_run_meta(self, directory: Path, **changes: Any) -> dict[str, Any]:
        meta = _read_yaml(directory / META)
        meta.update(changes)
        _write_yaml(directory / META, meta)
        return meta

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
        with self._lock:
            experiment_dir = self._active_experiment_dir(experiment_id)
            experiment = self._load_experiment(experiment_dir, False)
            run_id = uuid.uuid4().hex
            directory = experiment_dir / run_id
            for key, value in clean_tags.items():
                _write_atomic(_key_path(directory / "tags", key), value)
            for sub in ("metrics", "params"):
                (directory / sub).mkdir(parents=True, exist_ok=True)
            _write_yaml(
                directory / META,
                {
                    "artifact_uri": f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts",
                    "end_time": None,
                    "entry_point_name": "",
                    "experiment_id": experiment.experiment_id,
                    "lifecycle_stage": LifecycleStage.ACTIVE,
                    "run_id": run_id,
                    "run_name": name,
                    "run_uuid": run_id,
                    "source_name": "",
                    "source_type": SOURCE_TYPE_LOCAL,
                    "source_version": "",
                    "start_time": _now_ms() if start_time is None else start_time,
                    "status": RunStatus.RUNNING,
                    "tags": [],
                    "user_id": user_id or "",
                },
            )
            self._run_dirs[run_id] = directory
            return self._load_run(directory, False)

    def get_run(self, run_id: str) -> Run:
        with self._lock:
            return self._load_run(*self._run_dir(run_id))

    def update_run_info(
        self,
        run_id: str,
        run_status: int | str | None,
        end_time: int | None,
        run_name: str | None,
    ) -> RunInfo:
        status = None if run_status is None else RunStatus.from_string(run_status)
        with self._lock:
            directory = self._active_run_dir(run_id)
            changes: dict[str, Any] = {}
            if status is not None:
                changes["status"] = status
            if end_time is not None:
                changes["end_time"] = end_time
            if run_name:
                changes["run_name"] = run_name
                _write_atomic(_key_path(directory / "tags", RUN_NAME_TAG), run_name)
            self._update_run_meta(directory, **changes)
            return self._load_info(directory, False)[0]

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            directory, _ = self._run_dir(run_id)
            self._update_run_meta(
                directory, lifecycle_stage=LifecycleStage.DELETED, deleted_time=_now_ms()
            )

    def restore_run(self, run_id: str) -> None:
        with self._lock:
            directory, _ = self._run_dir(run_id)
            self._update_run_meta(
                directory, lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None
            )

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
        candidates: list[Run] = []
        with self._lock:
            for experiment_id in dict.fromkeys(str(e) for e in experiment_ids):
                try:
                    experiment_dir, deleted = self._find_experiment_dir(experiment_id)
                except TracklineException:
                    continue
                for child in experiment_dir.iterdir():
                    if child.name in _RESERVED or not (child / META).is_file():
                        continue
                    info, _ = self._load_info(child, deleted)
                    if info.lifecycle_stage in stages:
                        candidates.append(self._load_run(child, deleted))
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
        with self._lock:
            directory = self._active_run_dir(run_id)
            existing = {}
            for p in clean_params:
                path = _key_path(directory / "params", p.key)
                if path.is_file():
                    existing[p.key] = path.read_text(encoding="utf-8")
            conflicts = [
                (p.key, existing[p.key], p.value)
                for p in clean_params
                if p.key in existing and existing[p.key] != p.value
            ]
            if conflicts:
                raise TracklineException.invalid_parameter_value(
                    param_conflict_message(run_id, conflicts)
                )
            for p in clean_params:
                if p.key not in existing:
                    _write_atomic(_key_path(directory / "params", p.key), p.value)
            by_key: dict[str, list[str]] = {}
            for m in clean_metrics:
                line = f"{m.timestamp} {_format_value(m.value)} {m.step}"
                if m.dataset_name and m.dataset_digest and " " not in m.dataset_name:
                    line += f" {m.dataset_name} {m.dataset_digest}"  # MLflow's 5-field line
                by_key.setdefault(m.key, []).append(line + "\n")
            for key, lines in by_key.items():
                path = _key_path(directory / "metrics", key)
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as f:
                    f.write("".join(lines))
            for t in clean_tags:
                _write_atomic(_key_path(directory / "tags", t.key), t.value)
                if t.key == RUN_NAME_TAG:
                    self._update_run_meta(directory, run_name=t.value)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._lock:
            directory = self._active_run_dir(run_id)
            path = _key_path(directory / "tags", key)
            if not _valid_key_path(key) or not path.is_file():
                raise _not_found(f"No tag with name: {key} in run with id {run_id}")
            path.unlink()

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        clean = [validate_dataset_input(d) for d in datasets]
        with self._lock:
            directory = self._active_run_dir(run_id)
            datasets_dir = directory.parent / "datasets"
            known: dict[tuple[str, str], str] = {}
            if datasets_dir.is_dir():
                for child in datasets_dir.iterdir():
                    if (child / META).is_file():
                        d = _read_yaml(child / META)
                        known[(str(d.get("name")), str(d.get("digest")))] = child.name
            present = {(i.dataset.name, i.dataset.digest) for i in self._load_inputs(directory)}
            order = len(present)
            for dataset_input in clean:
                dataset = dataset_input.dataset
                key = (dataset.name, dataset.digest)
                if key in present:
                    continue  # the first logging of a dataset wins, as in MLflow's stores
                dataset_id = known.get(key)
                if dataset_id is None:
                    dataset_id = uuid.uuid4().hex
                    _write_yaml(
                        datasets_dir / dataset_id / META,
                        {
                            "digest": dataset.digest,
                            "name": dataset.name,
                            "profile": dataset.profile,
                            "schema": dataset.schema,
                            "source": dataset.source,
                            "source_type": dataset.source_type,
                        },
                    )
                    known[key] = dataset_id
                order += 1
                _write_yaml(
                    directory / "inputs" / uuid.uuid4().hex / META,
                    {
                        "creation_order": order,
                        "destination_id": run_id,
                        "destination_type": "RUN",
                        "source_id": dataset_id,
                        "source_type": "DATASET",
                        "tags": {t.key: t.value for t in dataset_input.tags},
                    },
                )
                present.add(key)

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
        with self._lock:
            directory, _ = self._run_dir(run_id)
            path = _key_path(directory / "metrics", metric_key)
            points: list[Metric] = []
            if _valid_key_path(metric_key) and path.is_file():
                text = path.read_text(encoding="utf-8")
                points = [
                    _parse_metric_line(metric_key, line) for line in text.splitlines() if line
                ]
        points.sort(key=lambda m: (m.step, m.timestamp))
        if max_results is None:
            return PagedList(points[offset:])
        return _page(points, offset, max_results)

    # -- garbage collection ----------------------------------------------------------------

    def get_deleted_run_ids(self, older_than_ms: int | None = None) -> list[str]:
        cutoff = _now_ms() - (older_than_ms or 0)
        found = []
        with self._lock:
            for experiment_dir, _ in self._experiment_dirs():
                for child in experiment_dir.iterdir():
                    if child.name in _RESERVED or not (child / META).is_file():
                        continue
                    meta = _read_yaml(child / META)
                    if (
                        meta.get("lifecycle_stage") == LifecycleStage.DELETED
                        and (meta.get("deleted_time") or 0) <= cutoff
                    ):
                        found.append(child.name)
        return found

    def hard_delete_run(self, run_id: str) -> None:
        with self._lock:
            directory, _ = self._run_dir(run_id)
            shutil.rmtree(directory)
            self._run_dirs.pop(run_id, None)

    def hard_delete_experiment(self, experiment_id: str) -> None:
        with self._lock:
            directory, _ = self._find_experiment_dir(experiment_id)
            shutil.rmtree(directory)
            self._run_dirs.clear()


def _valid_key_path(key: str) -> bool:
    return bool(key) and ".." not in key.split("/") and not key.startswith("/")


def _latest(points: list[Metric]) -> Metric:
    best = points[0]
    for point in points[1:]:
        if metric_sort_key(point) > metric_sort_key(best):
            best = point
    return best


def _page(items: list, offset: int, max_results: int) -> PagedList:
    page = items[offset : offset + max_results]
    more = offset + max_results < len(items)
    return PagedList(page, encode_page_token(offset + max_results) if more else None)


def open_store(store_uri: str, default_artifact_root: str | None = None) -> FileTrackingStore:
    """The factory trackline calls: artifacts live in the store's own folder, as with MLflow's
    FileStore, unless ``TRACKLINE_DEFAULT_ARTIFACT_ROOT``/``MLFLOW_DEFAULT_ARTIFACT_ROOT`` is
    set (the client's generic default, ``./mlruns``, would split one store over two folders)."""
    explicit = os.environ.get("TRACKLINE_DEFAULT_ARTIFACT_ROOT") or os.environ.get(
        "MLFLOW_DEFAULT_ARTIFACT_ROOT"
    )
    return FileTrackingStore(store_uri, explicit or None)
