"""``trackline experiments``: create, search, inspect, rename, delete, restore, export."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from trackline.cli._common import (
    client,
    echo_json,
    format_table,
    format_time,
    view_option,
    view_type,
)
from trackline.exceptions import TracklineException

if TYPE_CHECKING:
    from trackline.entities import Experiment

EXPERIMENT_ID = click.option("--experiment-id", "-x", required=True, help="The experiment's id.")

# search pages through the store with this page size; the store caps one page anyway.
_PAGE_SIZE = 1000


@click.group("experiments")
def commands() -> None:
    """Manage experiments.

    The tracking store is selected by TRACKLINE_TRACKING_URI or MLFLOW_TRACKING_URI (a
    database URI, or the URL of a tracking server).
    """


@commands.command()
@click.option("--experiment-name", "-n", required=True, help="A name no other experiment has.")
@click.option(
    "--artifact-location",
    "-l",
    help="Where runs of the experiment store artifacts (default: under the store's "
    "default artifact root). Cannot be changed later.",
)
def create(experiment_name: str, artifact_location: str | None) -> None:
    """Create an experiment and print its id."""
    experiment_id = client().create_experiment(experiment_name, artifact_location)
    click.echo(f"Created experiment '{experiment_name}' with id {experiment_id}")


@commands.command()
@view_option("Which experiments to list, by lifecycle stage.")
@click.option(
    "--max-results", type=click.IntRange(min=1), help="List at most this many (default: all)."
)
def search(view: str, max_results: int | None) -> None:
    """List experiments: id, name and artifact location."""
    experiments = _search_all(view_type(view), max_results)
    rows = [(e.experiment_id, e.name, e.artifact_location) for e in experiments]
    click.echo(format_table(("Experiment Id", "Name", "Artifact Location"), rows))


def _search_all(view: int, limit: int | None) -> list[Experiment]:
    tracking = client()
    found: list[Experiment] = []
    token = None
    while limit is None or len(found) < limit:
        size = _PAGE_SIZE if limit is None else min(_PAGE_SIZE, limit - len(found))
        page = tracking.search_experiments(view_type=view, max_results=size, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            break
    return found


@commands.command()
@click.option("--experiment-id", "-x", help="The experiment's id.")
@click.option("--experiment-name", "-n", help="The experiment's name.")
@click.option(
    "--output",
    type=click.Choice(("table", "json"), case_sensitive=False),
    default="table",
    show_default=True,
    help="A readable table, or the JSON of the REST API's experiment object.",
)
def get(experiment_id: str | None, experiment_name: str | None, output: str) -> None:
    """Show one experiment, by id (-x) or by name (-n)."""
    if (experiment_id is None) == (experiment_name is None):
        raise click.UsageError("Give exactly one of --experiment-id/-x or --experiment-name/-n.")
    experiment = _find(experiment_id, experiment_name)
    if output.lower() == "json":
        echo_json(experiment.to_dict())
        return
    tags = [f"{k}={v}" for k, v in sorted(experiment.tags.items())]
    rows = [
        ("Experiment ID", experiment.experiment_id),
        ("Name", experiment.name),
        ("Artifact Location", experiment.artifact_location),
        ("Lifecycle Stage", experiment.lifecycle_stage),
        ("Creation Time", format_time(experiment.creation_time)),
        ("Last Update Time", format_time(experiment.last_update_time)),
        ("Tags", tags),
    ]
    click.echo(format_table(("Field", "Value"), rows))


def _find(experiment_id: str | None, experiment_name: str | None) -> Experiment:
    if experiment_id is not None:
        return client().get_experiment(experiment_id)
    experiment = client().get_experiment_by_name(experiment_name or "")
    if experiment is None:
        raise TracklineException(
            f"Experiment with name '{experiment_name}' does not exist.", "RESOURCE_DOES_NOT_EXIST"
        )
    return experiment


@commands.command()
@EXPERIMENT_ID
@click.option("--new-name", required=True, help="The new name; no other experiment may have it.")
def rename(experiment_id: str, new_name: str) -> None:
    """Rename an experiment."""
    client().rename_experiment(experiment_id, new_name)
    click.echo(f"Experiment with id {experiment_id} has been renamed to '{new_name}'.")


@commands.command()
@EXPERIMENT_ID
def delete(experiment_id: str) -> None:
    """Mark an experiment and its runs as deleted.

    Nothing is erased: 'trackline experiments restore' brings it back, and
    'trackline gc' erases deleted experiments for good.
    """
    client().delete_experiment(experiment_id)
    click.echo(f"Experiment with ID {experiment_id} has been deleted.")


@commands.command()
@EXPERIMENT_ID
def restore(experiment_id: str) -> None:
    """Restore a deleted experiment (and the runs deleted with it)."""
    client().restore_experiment(experiment_id)
    click.echo(f"Experiment with ID {experiment_id} has been restored.")


@commands.command()
@EXPERIMENT_ID
@click.option(
    "--filename", "-o", type=click.Path(dir_okay=False), help="Write here instead of stdout."
)
def csv(experiment_id: str, filename: str | None) -> None:
    """Write the experiment's active runs as CSV (the columns of trackline.search_runs)."""
    try:
        import pandas  # noqa: F401  (search_runs builds its DataFrame with it)
    except ImportError as exc:
        raise click.ClickException("'experiments csv' needs pandas: pip install pandas") from exc
    from trackline.tracking.fluent import search_runs

    client().get_experiment(experiment_id)  # an unknown id is an error, not an empty file
    frame = search_runs(experiment_ids=[experiment_id], output_format="pandas")
    frame.to_csv(filename if filename else sys.stdout, index=False)
    if filename:
        click.echo(f"Wrote {len(frame)} runs to {filename}", err=True)
