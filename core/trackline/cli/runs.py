"""``trackline runs``: list, describe, create, delete and restore runs."""

from __future__ import annotations

import click

from trackline.cli._common import (
    client,
    echo_json,
    format_table,
    format_time,
    parse_key_values,
    view_option,
    view_type,
)
from trackline.exceptions import TracklineException

RUN_ID = click.option("--run-id", required=True, help="The run's id.")

# Tags with a meaning in MLflow's UI and API; the options below write them.
NOTE_TAG = "mlflow.note.content"
PARENT_RUN_ID_TAG = "mlflow.parentRunId"
DEFAULT_EXPERIMENT_ID = "0"
_PAGE_SIZE = 1000


@click.group("runs")
def commands() -> None:
    """Manage runs.

    The tracking store is selected by TRACKLINE_TRACKING_URI or MLFLOW_TRACKING_URI (a
    database URI, or the URL of a tracking server).
    """


@commands.command("list")
@click.option(
    "--experiment-id",
    envvar=["TRACKLINE_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID"],
    required=True,
    help="List the runs of this experiment (env: TRACKLINE_/MLFLOW_EXPERIMENT_ID).",
)
@view_option("Which runs to list, by lifecycle stage.")
def list_runs(experiment_id: str, view: str) -> None:
    """List the runs of an experiment: start date, name and id, newest first."""
    tracking = client()
    tracking.get_experiment(experiment_id)  # an unknown id is an error, not an empty list
    rows = []
    token = None
    while True:
        page = tracking.search_runs(
            [experiment_id], run_view_type=view_type(view), max_results=_PAGE_SIZE, page_token=token
        )
        rows.extend((format_time(r.info.start_time), r.info.run_name, r.info.run_id) for r in page)
        token = page.token
        if not token:
            break
    click.echo(format_table(("Date", "Name", "ID"), rows))


@commands.command()
@RUN_ID
def describe(run_id: str) -> None:
    """Print a run as JSON: info, data (metrics, params, tags) and inputs, as the REST API.

    For a run launched by 'trackline run', the command that runs the project again (same
    source and commit, entry point, parameters, environment and backend) follows on stderr,
    so that stdout stays valid JSON.
    """
    run = client().get_run(run_id)
    echo_json(run.to_dict())
    from trackline.projects.tracking import rerun_command

    command = rerun_command(run)
    if command:
        click.echo(f"\nThis run executed a project. To run it again:\n  {command}", err=True)


@commands.command()
@click.option(
    "--experiment-id",
    envvar=["TRACKLINE_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID"],
    help="Create the run in this experiment (env: TRACKLINE_/MLFLOW_EXPERIMENT_ID).",
)
@click.option(
    "--experiment-name",
    envvar=["TRACKLINE_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME"],
    help="Or in the experiment with this name (env: TRACKLINE_/MLFLOW_EXPERIMENT_NAME). "
    "Without either, the default experiment (id 0).",
)
@click.option("--run-name", help="The run's name (default: a generated one).")
@click.option("--description", help="A description, shown as the run's note.")
@click.option(
    "--tags", "-t", "tags", multiple=True, metavar="KEY=VALUE", help="A tag; repeat for more."
)
@click.option(
    "--status",
    type=click.Choice(("FINISHED", "FAILED", "KILLED"), case_sensitive=False),
    default="FINISHED",
    show_default=True,
    help="The status the run ends with: a run made from the shell has no process to end it.",
)
@click.option("--parent-run-id", help="Make the run a child of this run (same experiment).")
def create(
    experiment_id: str | None,
    experiment_name: str | None,
    run_name: str | None,
    description: str | None,
    tags: tuple[str, ...],
    status: str,
    parent_run_id: str | None,
) -> None:
    """Create a run, end it with --status and print its id.

    Useful to record work done outside Python, or to make a run to log artifacts into
    with 'trackline artifacts log-artifact'.
    """
    tag_values = parse_key_values(tags, "'--tags' / '-t'")
    tracking = client()
    experiment_id = _experiment_id(experiment_id, experiment_name)
    if description is not None:
        tag_values[NOTE_TAG] = description
    if parent_run_id is not None:
        tag_values[PARENT_RUN_ID_TAG] = _check_parent(parent_run_id, experiment_id)
    # The same context tags (user, source, git commit, plugins') as a run from Python.
    from trackline.tracking.fluent import resolve_context_tags

    all_tags = {**resolve_context_tags(experiment_id), **tag_values}
    run = tracking.create_run(experiment_id, tags=all_tags, run_name=run_name)
    tracking.set_terminated(run.info.run_id, status.upper())
    click.echo(run.info.run_id)


def _experiment_id(experiment_id: str | None, experiment_name: str | None) -> str:
    if experiment_id is not None and experiment_name is not None:
        raise click.UsageError("Give --experiment-id or --experiment-name, not both.")
    if experiment_name is not None:
        experiment = client().get_experiment_by_name(experiment_name)
        if experiment is None:
            raise TracklineException(
                f"Experiment with name '{experiment_name}' does not exist; create it with "
                "'trackline experiments create -n NAME'.",
                "RESOURCE_DOES_NOT_EXIST",
            )
        return experiment.experiment_id
    return experiment_id if experiment_id is not None else DEFAULT_EXPERIMENT_ID


def _check_parent(parent_run_id: str, experiment_id: str) -> str:
    # A dangling parent tag would make the UI show a child without its parent.
    parent = client().get_run(parent_run_id)
    if parent.info.experiment_id != experiment_id:
        raise TracklineException.invalid_parameter_value(
            f"Parent run {parent_run_id} belongs to experiment {parent.info.experiment_id}, "
            f"not {experiment_id}: a child run must be in its parent's experiment."
        )
    return parent_run_id


@commands.command()
@RUN_ID
def delete(run_id: str) -> None:
    """Mark a run as deleted ('trackline runs restore' undoes it, 'trackline gc' erases it)."""
    client().delete_run(run_id)
    click.echo(f"Run with ID {run_id} has been deleted.")


@commands.command()
@RUN_ID
def restore(run_id: str) -> None:
    """Restore a deleted run."""
    client().restore_run(run_id)
    click.echo(f"Run with id {run_id} has been restored.")
