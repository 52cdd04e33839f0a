"""``trackline models serve`` and ``trackline models predict``: MLflow's options.

Only ``--env-manager local`` is implemented: the model runs in the current environment.
Starlette and uvicorn are imported when ``serve`` runs, pandas when a payload is parsed.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")


def _check_env_manager(env_manager: str) -> None:
    if env_manager != "local":
        raise click.UsageError(
            f"--env-manager {env_manager} is not supported yet: trackline serves models in the "
            "current environment only (--env-manager local). Install the model's "
            "requirements.txt here first."
        )


def _env_manager_option(func: Any) -> Any:
    return click.option(
        "--env-manager",
        type=click.Choice(ENV_MANAGERS),
        default="local",
        show_default=True,
        help="Where the model runs; only 'local' (this Python environment) is implemented.",
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
    _check_env_manager("local" if no_conda else env_manager)
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
    _check_env_manager("local" if no_conda else env_manager)
    if pip_requirements_override:
        raise click.UsageError("--pip-requirements-override needs an env manager; not supported.")
    from trackline.pyfunc import load_model

    from trackline_serving.payload import (
        CONTENT_TYPE_CSV,
        CONTENT_TYPE_JSON,
        PayloadError,
        parse_request,
        predictions_json,
    )

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
