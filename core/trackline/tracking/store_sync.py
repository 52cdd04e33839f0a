"""Copy experiments and runs from one tracking store into another (``trackline sync``).

Used to upload an offline ``mlruns/`` folder, or to migrate any store into any other (an
MLflow FileStore folder into SQLite, a SQLite file into a server…), artifacts included.

Run ids are chosen by the target store, so a copied run gets a new id; its source id is kept
in the tag ``trackline.sync.sourceRunId``. That tag is also what makes a sync repeatable:
syncing again finds the copies and adds only what is new (metric points not yet there,
new params and tags, a changed status, artifacts), never a second copy.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trackline.entities import LifecycleStage, Metric, Param, Run, RunTag, ViewType
from trackline.exceptions import TracklineException
from trackline.validation import MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH

logger = logging.getLogger(__name__)

SOURCE_RUN_TAG = "trackline.sync.sourceRunId"
_PAGE = 1000


@dataclass
class SyncReport:
    experiments: int = 0
    runs_created: int = 0
    runs_updated: int = 0
    metric_points: int = 0
    artifact_runs: int = 0
    errors: list[str] = field(default_factory=list)


def _all_pages(fetch: Callable[[str | None], Any]) -> list[Any]:
    items: list[Any] = []
    token = None
    while True:
        page = fetch(token)
        items.extend(page)
        token = page.token
        if not token:
            return items


def sync_stores(
    source: Any,
    target: Any,
    *,
    source_uri: str,
    target_uri: str,
    artifacts: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> SyncReport:
    """Copy every active experiment and run of ``source`` into ``target`` (see module doc)."""
    report = SyncReport()
    experiments = _all_pages(
        lambda token: source.search_experiments(ViewType.ACTIVE_ONLY, _PAGE, None, None, token)
    )
    for experiment in experiments:
        try:
            target_experiment_id = _target_experiment(target, experiment)
        except TracklineException as exc:
            report.errors.append(f"experiment {experiment.name!r}: {exc.message}")
            continue
        report.experiments += 1
        runs = _all_pages(
            lambda token, e=experiment: source.search_runs(
                [e.experiment_id], None, ViewType.ACTIVE_ONLY, _PAGE, None, token
            )
        )
        for run in runs:
            try:
                created = _sync_run(
                    source,
                    target,
                    run,
                    target_experiment_id,
                    source_uri,
                    target_uri,
                    artifacts,
                    report,
                )
            except TracklineException as exc:
                report.errors.append(f"run {run.info.run_id}: {exc.message}")
                continue
            except OSError as exc:
                report.errors.append(f"run {run.info.run_id}: {exc}")
                continue
            if created:
                report.runs_created += 1
            else:
                report.runs_updated += 1
            progress(f"{'copied' if created else 'updated'} run {run.info.run_id}")
    return report


def _target_experiment(target: Any, experiment: Any) -> str:
    found = target.get_experiment_by_name(experiment.name)
    if found is None:
        tags = [RunTag(k, v) for k, v in experiment.tags.items()]
        return target.create_experiment(experiment.name, None, tags)
    if found.lifecycle_stage != LifecycleStage.ACTIVE:
        raise TracklineException.invalid_parameter_value(
            f"the target's experiment {experiment.name!r} is deleted; restore it and sync again"
        )
    for key, value in experiment.tags.items():
        if found.tags.get(key) != value:
            target.set_experiment_tag(found.experiment_id, RunTag(key, value))
    return found.experiment_id


def _sync_run(
    source: Any,
    target: Any,
    run: Run,
    experiment_id: str,
    source_uri: str,
    target_uri: str,
    artifacts: bool,
    report: SyncReport,
) -> bool:
    source_id = run.info.run_id
    existing = target.search_runs(
        [experiment_id], f"tags.`{SOURCE_RUN_TAG}` = '{source_id}'", ViewType.ALL, 1
    )
    tags = [RunTag(k, v) for k, v in run.data.tags.items()] + [RunTag(SOURCE_RUN_TAG, source_id)]
    if existing:
        copy = existing[0]
        created = False
        if copy.info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise TracklineException.invalid_parameter_value(
                f"its copy {copy.info.run_id} in the target is deleted"
            )
        if copy.info.status != "RUNNING":
            # A finished copy accepts writes too, but say it is being changed again.
            target.update_run_info(copy.info.run_id, "RUNNING", None, None)
    else:
        copy = target.create_run(
            experiment_id, run.info.user_id, run.info.start_time, [], run.info.run_name or None
        )
        created = True
    target_id = copy.info.run_id
    new_params = [Param(k, v) for k, v in run.data.params.items() if copy.data.params.get(k) != v]
    new_tags = [t for t in tags if copy.data.tags.get(t.key) != t.value]
    for start in range(0, max(len(new_params), len(new_tags)), MAX_PARAMS_TAGS_PER_BATCH):
        end = start + MAX_PARAMS_TAGS_PER_BATCH
        target.log_batch(target_id, [], new_params[start:end], new_tags[start:end])
    for key in run.data.metrics:
        points = list(source.get_metric_history(source_id, key))
        if not created:
            already = Counter(_point(m) for m in target.get_metric_history(target_id, key))
            fresh = []
            for m in points:
                if already[_point(m)] > 0:
                    already[_point(m)] -= 1
                else:
                    fresh.append(m)
            points = fresh
        for start in range(0, len(points), MAX_METRICS_PER_BATCH):
            chunk = [
                Metric(m.key, m.value, m.timestamp, m.step, m.dataset_name, m.dataset_digest)
                for m in points[start : start + MAX_METRICS_PER_BATCH]
            ]
            target.log_batch(target_id, chunk, [], [])
        report.metric_points += len(points)
    if run.inputs.dataset_inputs:
        target.log_inputs(target_id, list(run.inputs.dataset_inputs))
    if artifacts and _copy_artifacts(run, copy, source_uri, target_uri):
        report.artifact_runs += 1
    target.update_run_info(target_id, run.info.status, run.info.end_time, None)
    return created


def _point(metric: Metric) -> tuple[Any, ...]:
    value = metric.value
    return (metric.timestamp, metric.step, "nan" if value != value else value)


def _copy_artifacts(run: Run, copy: Run, source_uri: str, target_uri: str) -> bool:
    from trackline.artifacts import get_artifact_repository

    source_repo = get_artifact_repository(run.info.artifact_uri, source_uri)
    try:
        if not source_repo.list_artifacts(None):
            return False
    except (OSError, TracklineException):
        return False
    target_repo = get_artifact_repository(copy.info.artifact_uri, target_uri)
    with tempfile.TemporaryDirectory() as tmp:
        local = source_repo.download_artifacts("", tmp)
        target_repo.log_artifacts(local, None)
    return True
