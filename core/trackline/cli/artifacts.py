"""``trackline artifacts``: list, download and upload the files of a run."""

from __future__ import annotations

import click

from trackline.cli._common import client, echo_json

RUN_ID = click.option("--run-id", "-r", required=True, help="The run's id.")


@click.group("artifacts")
def commands() -> None:
    """Upload, list and download the artifacts of runs.

    The tracking store is selected by TRACKLINE_TRACKING_URI or MLFLOW_TRACKING_URI; the
    artifact store is the one the run's artifact URI names.
    """


@commands.command("list")
@RUN_ID
@click.option(
    "--artifact-path", "-a", help="A directory of the run's artifacts (default: the root)."
)
def list_artifacts(run_id: str, artifact_path: str | None) -> None:
    """List the files and directories directly under a path, as JSON."""
    infos = client().list_artifacts(run_id, artifact_path)
    echo_json([info.to_dict() for info in infos])


@commands.command()
@click.option("--run-id", "-r", help="The run whose artifacts to download.")
@click.option(
    "--artifact-path", "-a", help="With --run-id: a file or directory of the run (default: all)."
)
@click.option(
    "--artifact-uri",
    "-u",
    help="Instead of --run-id: any artifact URI (runs:/<run_id>/path, s3://…, a local path).",
)
@click.option(
    "--dst-path",
    "-d",
    type=click.Path(file_okay=False),
    help="Download into this directory (made if missing; default: a new temporary one).",
)
def download(
    run_id: str | None, artifact_path: str | None, artifact_uri: str | None, dst_path: str | None
) -> None:
    """Download a file or directory of artifacts and print its local path."""
    if (run_id is None) == (artifact_uri is None):
        raise click.UsageError("Give exactly one of --run-id/-r or --artifact-uri/-u.")
    if artifact_uri is not None and artifact_path is not None:
        raise click.UsageError("--artifact-path/-a goes with --run-id/-r, not --artifact-uri/-u.")
    from trackline.artifacts import download_artifacts

    local = download_artifacts(
        artifact_uri=artifact_uri, run_id=run_id, artifact_path=artifact_path, dst_path=dst_path
    )
    click.echo(local)


@commands.command("log-artifact")
@click.option(
    "--local-file",
    "-l",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The file to upload.",
)
@RUN_ID
@click.option("--artifact-path", "-a", help="The directory of the run to put it in.")
def log_artifact(local_file: str, run_id: str, artifact_path: str | None) -> None:
    """Upload one local file to a run's artifacts."""
    client().log_artifact(run_id, local_file, artifact_path)
    click.echo(f"Logged artifact from local file {local_file} to artifact_path={artifact_path}")


@commands.command("log-artifacts")
@click.option(
    "--local-dir",
    "-l",
    required=True,
    type=click.Path(exists=True, file_okay=False),
    help="The directory whose contents to upload.",
)
@RUN_ID
@click.option("--artifact-path", "-a", help="The directory of the run to put them in.")
def log_artifacts(local_dir: str, run_id: str, artifact_path: str | None) -> None:
    """Upload the contents of a local directory to a run's artifacts."""
    client().log_artifacts(run_id, local_dir, artifact_path)
    click.echo(f"Logged artifact from local dir {local_dir} to artifact_path={artifact_path}")
