"""``trackline models serve`` and ``trackline models predict``: MLflow's options.

``--env-manager local`` (the default) runs the model in the current environment;
``virtualenv`` and ``uv`` build an isolated environment from the model's requirements (see
``trackline_serving.environment``) and run the same command inside it. Starlette and uvicorn
are imported when ``serve`` runs, pandas when a payload is parsed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import click

ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")


def _check_env_manager(env_manager: str) -> None:
    if env_manager == "conda":
        raise click.UsageError(
            "--env-manager conda is not supported for models yet; use local, virtualenv or uv."
        )


def _run_isolated(model_uri: str, env_manager: str, command: list[str]) -> None:
    """Build the model's environment and run ``trackline models <command>`` inside it."""
    from trackline.models.uri import download_model

    from trackline_serving.environment import executable, prepare

    local = download_model(model_uri)
    environment = prepare(local, env_manager)
    args = [executable(environment, "trackline"), "models", *command, "-m", local]
    args += ["--env-manager", "local"]
    result = subprocess.run(args, env=environment.command_environment())
    sys.exit(result.returncode)


def _env_manager_option(func: Any) -> Any:
    return click.option(
        "--env-manager",
        type=click.Choice(ENV_MANAGERS),
        default="local",
        show_default=True,
        help="Where the model runs: 'local' (this Python environment), or an isolated "
        "'virtualenv' / 'uv' environment built from the model's requirements.",
    )(func)


@click.group(name="models")
def models() -> None:
    """Serve models and score data with them (MLmodel directories, runs:/ or models:/ URIs)."""


@models.command()
@click.option("-m", "--model-uri", required=True, help="The model: a path, runs:/, models:/ URI.")
@click.option("-p", "--port", default=5000, show_default=True, type=int)
@click.option("-h", "--host", default="127.0.0.1", show_default=True)
@click.option(
    "-t",
    "--timeout",
    default=60,
    show_default=True,
    type=int,
    envvar="MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT",
    help="Seconds one prediction may take before the server answers 504.",
)
@click.option("-w", "--workers", default=1, show_default=True, type=int)
@_env_manager_option
@click.option("--no-conda", is_flag=True, hidden=True, help="Same as --env-manager local.")
@click.option(
    "--install-mlflow", is_flag=True, hidden=True, help="Ignored (no environment is built)."
)
def serve(
    model_uri: str,
    port: int,
    host: str,
    timeout: int,
    workers: int,
    env_manager: str,
    no_conda: bool,
    install_mlflow: bool,
) -> None:
    """Serve the model over HTTP: /ping, /health, /version and POST /invocations."""
    env_manager = "local" if no_conda else env_manager
    _check_env_manager(env_manager)
    if env_manager != "local":
        options = ["-p", str(port), "-h", host, "-t", str(timeout), "-w", str(workers)]
        _run_isolated(model_uri, env_manager, ["serve", *options])
    from trackline.models.uri import download_model

    # Download once here, so that every worker loads the same local copy.
    local = download_model(model_uri)
    # Fail before starting uvicorn if the model cannot load (clear error, exit code 1).
    from trackline.pyfunc import load_model

    load_model(local)
    os.environ["TRACKLINE_SERVING_MODEL_URI"] = local
    os.environ["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] = str(timeout)
    import uvicorn

    uvicorn.run(
        "trackline_serving.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


@models.command()
@click.option("-m", "--model-uri", required=True, help="The model: a path, runs:/, models:/ URI.")
@click.option(
    "-i",
    "--input-path",
    default=None,
    help="The input file (a request body); standard input when left out.",
)
@click.option(
    "-o", "--output-path", default=None, help="Where to write predictions; stdout if unset."
)
@click.option(
    "-t",
    "--content-type",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="How the input is written: a JSON scoring payload or a CSV DataFrame.",
)
@_env_manager_option
@click.option("--no-conda", is_flag=True, hidden=True)
@click.option("--install-mlflow", is_flag=True, hidden=True)
@click.option("-r", "--pip-requirements-override", default=None, hidden=True)
def predict(
    model_uri: str,
    input_path: str | None,
    output_path: str | None,
    content_type: str,
    env_manager: str,
    no_conda: bool,
    install_mlflow: bool,
    pip_requirements_override: str | None,
) -> None:
    """Score the input with the model offline; writes {"predictions": ...} JSON."""
    env_manager = "local" if no_conda else env_manager
    _check_env_manager(env_manager)
    if pip_requirements_override:
        raise click.UsageError("--pip-requirements-override is not supported.")
    if env_manager != "local":
        options = ["-t", content_type]
        if input_path is not None:
            options += ["-i", os.path.abspath(input_path)]
        if output_path is not None:
            options += ["-o", os.path.abspath(output_path)]
        _run_isolated(model_uri, env_manager, ["predict", *options])
    from trackline.models.scoring import (
        CONTENT_TYPE_CSV,
        CONTENT_TYPE_JSON,
        PayloadError,
        parse_request,
        predictions_json,
    )
    from trackline.pyfunc import load_model

    if input_path is None:
        body = sys.stdin.buffer.read()
    else:
        try:
            with open(input_path, "rb") as f:
                body = f.read()
        except OSError as exc:
            raise click.BadParameter(f"cannot read {input_path!r}: {exc}", param_hint="-i") from exc
    model = load_model(model_uri)
    media_type = CONTENT_TYPE_CSV if content_type == "csv" else CONTENT_TYPE_JSON
    try:
        parsed = parse_request(body, media_type, model.metadata.get_input_schema())
    except PayloadError as exc:
        raise click.ClickException(f"Bad input: {exc.message}") from exc
    result = predictions_json(model.predict(parsed.data, params=parsed.params))
    if output_path is None:
        click.echo(result)
    else:
        with open(output_path, "w", encoding="utf-8") as f:
            f.write(result)
