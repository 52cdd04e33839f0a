"""``trackline run``: run a project from a folder or a git repository (MLflow's ``mlflow run``)."""

from __future__ import annotations

import logging

import click

ENV_MANAGER_CHOICES = ("local", "virtualenv", "uv", "conda")


def _parameters(pairs: tuple[str, ...]) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="'-P'")
        if key in result:
            raise click.BadParameter(f"parameter {key!r} is given twice", param_hint="'-P'")
        result[key] = value
    return result


def _show_progress() -> None:
    # The "=== Building environment… ===" lines are the CLI's progress report.
    logger = logging.getLogger("trackline.projects")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


@click.command("run")
@click.argument("uri")
@click.option(
    "--entry-point",
    "-e",
    default="main",
    show_default=True,
    metavar="NAME",
    help="Entry point of the MLproject file, or a .py/.sh file of the project.",
)
@click.option(
    "--version",
    "-v",
    metavar="VERSION",
    help="Git commit, branch or tag to run (git repositories only).",
)
@click.option(
    "--param-list",
    "-P",
    "param_list",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter of the entry point; repeat for more. Undeclared ones are passed to the "
    "command as --NAME VALUE.",
)
@click.option(
    "--docker-args",
    "-A",
    multiple=True,
    metavar="NAME[=VALUE]",
    help="Docker projects only, which trackline does not run yet.",
)
@click.option(
    "--experiment-name",
    envvar=["TRACKLINE_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME"],
    help="Run in this experiment, created if missing (env: TRACKLINE_/MLFLOW_EXPERIMENT_NAME).",
)
@click.option(
    "--experiment-id",
    envvar=["TRACKLINE_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID"],
    help="Or in the experiment with this id (env: TRACKLINE_/MLFLOW_EXPERIMENT_ID).",
)
@click.option(
    "--backend",
    "-b",
    default="local",
    show_default=True,
    metavar="NAME",
    help="Execution backend, from a plugin's register_project_backends ('trackline plugins').",
)
@click.option(
    "--backend-config",
    "-c",
    metavar="JSON_OR_FILE",
    help="Configuration for the backend: a JSON object, or a path to a .json file.",
)
@click.option(
    "--env-manager",
    type=click.Choice(ENV_MANAGER_CHOICES),
    help="Environment to run in. Default: what the project declares (python_env -> "
    "virtualenv, conda.yaml -> conda); 'local' uses the current interpreter.",
)
@click.option(
    "--storage-dir",
    envvar=["TRACKLINE_TMP_DIR", "MLFLOW_TMP_DIR"],
    type=click.Path(file_okay=False),
    help="Where git clones and downloaded path parameters go (default: a temporary folder).",
)
@click.option("--run-id", help="Run in this existing run instead of creating one.")
@click.option("--run-name", help="Name of the new run.")
@click.option(
    "--build-image",
    is_flag=True,
    default=False,
    help="Docker projects only, which trackline does not run yet: an error.",
)
def run(
    uri: str,
    entry_point: str,
    version: str | None,
    param_list: tuple[str, ...],
    docker_args: tuple[str, ...],
    experiment_name: str | None,
    experiment_id: str | None,
    backend: str,
    backend_config: str | None,
    env_manager: str | None,
    storage_dir: str | None,
    run_id: str | None,
    run_name: str | None,
    build_image: bool,
) -> None:
    """Run the project at URI: a folder, a git URL (URI#subdir for a subdirectory) or a .zip.

    The entry point's command runs with its parameters checked and substituted, in the
    environment the project asks for, inside a run tagged with the project's source, commit,
    entry point and parameters, so that it can be reproduced
    ('trackline runs describe --run-id ID' prints the command to run it again).

    \b
    Examples:
      trackline run ./my-project -e train -P alpha=0.5 --env-manager uv
      trackline run https://github.com/org/repo.git#subdir --version v1.2 -P epochs=3
    """
    from trackline.projects import run as run_project

    parameters = _parameters(param_list)
    if experiment_id is not None and experiment_name is not None:
        raise click.UsageError("Give --experiment-name or --experiment-id, not both.")
    if docker_args:
        raise click.UsageError(
            "--docker-args applies to docker_env projects, which trackline does not run yet."
        )
    _show_progress()
    submitted = run_project(
        uri,
        entry_point=entry_point,
        version=version,
        parameters=parameters,
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        backend=backend,
        backend_config=backend_config,
        storage_dir=storage_dir,
        synchronous=True,
        run_id=run_id,
        run_name=run_name,
        env_manager=env_manager,
        build_image=build_image,
    )
    click.echo(f"Run {submitted.run_id} ended {submitted.get_status()}.", err=True)
