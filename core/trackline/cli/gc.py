"""``trackline gc``: erase deleted runs and experiments for good, artifacts included.

Deleting a run or an experiment only marks it ``deleted``; gc is the step that cannot be
undone. So it works only on what is already marked deleted, and refuses (before erasing
anything) when a named run or experiment is not.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from trackline.cli._common import split_ids
from trackline.exceptions import TracklineException
from trackline.store.tracking import AbstractTrackingStore

if TYPE_CHECKING:
    from trackline.entities import Experiment

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_MS = (86_400_000, 3_600_000, 60_000, 1_000)
_PAGE_SIZE = 1000
_GC_METHODS = ("get_deleted_run_ids", "hard_delete_run", "hard_delete_experiment")


class Duration(click.ParamType):
    """``1d2h3m4s`` (any of the parts, in that order) → milliseconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _DURATION.match(str(value).strip())
        if not match or not any(match.groups()):
            self.fail(
                f"{value!r} is not a duration: use days, hours, minutes and seconds in that "
                "order, e.g. 1d2h3m4s, 12h or 30m.",
                param,
                ctx,
            )
        return sum(
            int(part or 0) * unit for part, unit in zip(match.groups(), _UNIT_MS, strict=True)
        )


@dataclass
class Plan:
    """What one gc invocation erases, worked out (and checked) before anything is erased."""

    run_ids: list[str] = field(default_factory=list)
    experiment_ids: list[str] = field(default_factory=list)


@click.command()
@click.option(
    "--older-than",
    type=Duration(),
    help="Only what was deleted longer ago than this, e.g. 1d2h3m4s, 12h, 30m.",
)
@click.option(
    "--backend-store-uri",
    metavar="URI",
    help="The tracking store to clean (default: --tracking-uri, then the environment's).",
)
@click.option(
    "--tracking-uri",
    metavar="URI",
    help="The tracking URI (default: TRACKLINE_TRACKING_URI, then MLFLOW_TRACKING_URI).",
)
@click.option(
    "--artifacts-destination",
    metavar="URI",
    help="Where a proxying server stores artifacts, to resolve mlflow-artifacts:/ URIs.",
)
@click.option("--run-ids", metavar="ID,ID", help="Only these deleted runs (comma-separated).")
@click.option(
    "--experiment-ids",
    metavar="ID,ID",
    help="Only these deleted experiments (comma-separated), with all their runs.",
)
def gc(
    older_than: int | None,
    backend_store_uri: str | None,
    tracking_uri: str | None,
    artifacts_destination: str | None,
    run_ids: str | None,
    experiment_ids: str | None,
) -> None:
    """Permanently erase deleted runs and experiments, and the runs' artifacts.

    Without --run-ids or --experiment-ids, every deleted run and every deleted experiment
    (older than --older-than, if given) is erased. With --run-ids only, only those runs.
    A named run or experiment that is not deleted is an error, and nothing is erased.
    """
    from trackline.tracking.uri import get_tracking_store

    store = get_tracking_store(backend_store_uri or tracking_uri)
    _check_supports_gc(store)
    plan = _plan(store, older_than, split_ids(run_ids), split_ids(experiment_ids))
    for run_id in plan.run_ids:
        _erase_run(store, run_id, artifacts_destination)
    for experiment_id in plan.experiment_ids:
        store.hard_delete_experiment(experiment_id)
        click.echo(f"Experiment with ID {experiment_id} has been permanently deleted.")


def _check_supports_gc(store: AbstractTrackingStore) -> None:
    # Checked up front: finding out halfway would leave artifacts deleted but runs kept.
    missing = [
        name
        for name in _GC_METHODS
        if getattr(type(store), name, None) in (None, getattr(AbstractTrackingStore, name))
    ]
    if missing:
        raise click.ClickException(
            f"The tracking store {type(store).__name__} does not support gc "
            f"(it lacks {', '.join(missing)})."
        )


def _plan(
    store: AbstractTrackingStore,
    older_than: int | None,
    run_ids: list[str],
    experiment_ids: list[str],
) -> Plan:
    cutoff = None if older_than is None else _now_ms() - older_than
    plan = Plan()
    if run_ids:
        plan.run_ids = _checked_runs(store, run_ids, older_than)
    elif not experiment_ids:
        plan.run_ids = list(store.get_deleted_run_ids(older_than))
    # Naming only runs limits gc to them; otherwise deleted experiments go too.
    if experiment_ids or not run_ids:
        experiments = (
            _checked_experiments(store, experiment_ids, cutoff)
            if experiment_ids
            else _deleted_experiments(store, cutoff)
        )
        plan.experiment_ids = [e.experiment_id for e in experiments]
        # Every run of an erased experiment goes with it: erase them first, so that their
        # artifacts are deleted while the runs still say where those are.
        planned = set(plan.run_ids)
        plan.run_ids.extend(r for r in _runs_of(store, plan.experiment_ids) if r not in planned)
    return plan


def _checked_runs(
    store: AbstractTrackingStore, run_ids: list[str], older_than: int | None
) -> list[str]:
    old_enough = None if older_than is None else set(store.get_deleted_run_ids(older_than))
    for run_id in run_ids:
        run = store.get_run(run_id)
        if run.info.lifecycle_stage != "deleted":
            raise TracklineException.invalid_parameter_value(
                f"Run {run_id} is not deleted (its lifecycle stage is "
                f"'{run.info.lifecycle_stage}'). Only deleted runs can be erased: delete it "
                f"first with 'trackline runs delete --run-id {run_id}'."
            )
        if old_enough is not None and run_id not in old_enough:
            raise TracklineException.invalid_parameter_value(
                f"Run {run_id} was deleted too recently for --older-than; nothing was erased."
            )
    return list(run_ids)


def _checked_experiments(
    store: AbstractTrackingStore, experiment_ids: list[str], cutoff: int | None
) -> list[Experiment]:
    experiments = [store.get_experiment(e) for e in experiment_ids]
    for experiment in experiments:
        if experiment.lifecycle_stage != "deleted":
            raise TracklineException.invalid_parameter_value(
                f"Experiment {experiment.experiment_id} is not deleted. Only deleted "
                "experiments can be erased: delete it first with 'trackline experiments "
                f"delete -x {experiment.experiment_id}'."
            )
        if cutoff is not None and not _older(experiment, cutoff):
            raise TracklineException.invalid_parameter_value(
                f"Experiment {experiment.experiment_id} was deleted too recently for "
                "--older-than; nothing was erased."
            )
    return experiments


def _deleted_experiments(store: AbstractTrackingStore, cutoff: int | None) -> list[Experiment]:
    from trackline.entities import ViewType

    found: list[Experiment] = []
    token = None
    while True:
        page = store.search_experiments(ViewType.DELETED_ONLY, _PAGE_SIZE, page_token=token)
        found.extend(e for e in page if cutoff is None or _older(e, cutoff))
        token = page.token
        if not token:
            return found


def _older(experiment: Experiment, cutoff: int) -> bool:
    # The deletion time of an experiment is its last update; unknown means "not old enough".
    return experiment.last_update_time is not None and experiment.last_update_time < cutoff


def _runs_of(store: AbstractTrackingStore, experiment_ids: list[str]) -> list[str]:
    from trackline.entities import ViewType

    if not experiment_ids:
        return []
    run_ids: list[str] = []
    token = None
    while True:
        page = store.search_runs(
            experiment_ids, None, ViewType.ALL, _PAGE_SIZE, None, page_token=token
        )
        run_ids.extend(run.info.run_id for run in page)
        token = page.token
        if not token:
            return run_ids


def _erase_run(
    store: AbstractTrackingStore, run_id: str, artifacts_destination: str | None
) -> None:
    artifact_uri = store.get_run(run_id).info.artifact_uri
    if artifact_uri:
        _delete_artifacts(_resolve(artifact_uri, artifacts_destination), run_id)
    store.hard_delete_run(run_id)
    click.echo(f"Run with ID {run_id} has been permanently deleted.")


def _resolve(artifact_uri: str, artifacts_destination: str | None) -> str:
    # A server that proxies artifacts hands out mlflow-artifacts:/<path> URIs; the files are
    # under its --artifacts-destination.
    prefix = "mlflow-artifacts:"
    if artifacts_destination and artifact_uri.startswith(prefix):
        path = re.sub(r"^mlflow-artifacts:(//[^/]*)?/?", "", artifact_uri)
        return artifacts_destination.rstrip("/") + "/" + path
    return artifact_uri


def _delete_artifacts(artifact_uri: str, run_id: str) -> None:
    from trackline.artifacts import get_artifact_repository

    try:
        get_artifact_repository(artifact_uri).delete_artifacts()
    except (TracklineException, OSError) as exc:
        # The run's metadata is still erased: a repository that cannot delete must not keep
        # deleted runs around forever. Say where the leftover files are.
        message = exc.message if isinstance(exc, TracklineException) else str(exc)
        click.echo(
            f"Warning: the artifacts of run {run_id} at {artifact_uri} were not deleted: {message}",
            err=True,
        )


def _now_ms() -> int:
    return int(time.time() * 1000)
