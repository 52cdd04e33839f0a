"""``trackline server`` and its alias ``trackline ui``: MLflow's options, uvicorn underneath.

Every option also reads ``TRACKLINE_<NAME>`` then ``MLFLOW_<NAME>`` from the environment, as
MLflow's ``mlflow server`` does with the second. The resolved configuration reaches the worker
processes as ``TRACKLINE_SERVER_*`` variables (see ``trackline_server.config``).
"""

from __future__ import annotations

import importlib.util
import os
import shlex
from collections.abc import Callable
from typing import Any

import click

from trackline_server.config import (
    DEFAULT_ARTIFACTS_DESTINATION,
    DEFAULT_BACKEND_STORE_URI,
    DEFAULT_X_FRAME_OPTIONS,
    ServerConfig,
    split_list,
)

SQLITE_WORKERS = 2
DEFAULT_WORKERS = 4
WORKER_HEALTHCHECK_SECONDS = 60


def _env(name: str) -> list[str]:
    return [f"TRACKLINE_{name}", f"MLFLOW_{name}"]


def default_workers(backend_store_uri: str) -> int:
    """Two processes for a SQLite file, four (MLflow's default) for a database server.

    SQLite takes one writer at a time, but WAL readers run in parallel and JSON encoding is
    CPU-bound: measured on 2 cores, a second process doubled search and history throughput
    (benchmarks/server_compare.py) for ~70 MB more memory; more only add lock waits.
    """
    return SQLITE_WORKERS if backend_store_uri.startswith("sqlite") else DEFAULT_WORKERS


def server_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--backend-store-uri",
            envvar=_env("BACKEND_STORE_URI"),
            default=DEFAULT_BACKEND_STORE_URI,
            show_default=True,
            help="Tracking store URI (any scheme a trackline plugin registers).",
        ),
        click.option(
            "--registry-store-uri",
            envvar=_env("REGISTRY_STORE_URI"),
            help="Model registry store URI (default: the backend store URI).",
        ),
        click.option(
            "--default-artifact-root",
            envvar=_env("DEFAULT_ARTIFACT_ROOT"),
            help="Artifact root of new experiments. Default: mlflow-artifacts:/ when serving "
            "artifacts, else ./mlruns.",
        ),
        click.option(
            "--serve-artifacts/--no-serve-artifacts",
            envvar=_env("SERVE_ARTIFACTS"),
            default=True,
            show_default=True,
            help="Proxy artifact uploads and downloads through /api/2.0/mlflow-artifacts.",
        ),
        click.option(
            "--artifacts-destination",
            envvar=_env("ARTIFACTS_DESTINATION"),
            default=f"./{DEFAULT_ARTIFACTS_DESTINATION}",
            show_default=True,
            help="Where proxied artifacts are stored (a path or an artifact URI).",
        ),
        click.option(
            "--artifacts-only",
            envvar=_env("ARTIFACTS_ONLY"),
            is_flag=True,
            help="Serve only the proxied artifact API; tracking routes answer 503.",
        ),
        click.option("--host", "-h", envvar=_env("HOST"), default="127.0.0.1", show_default=True),
        click.option("--port", "-p", envvar=_env("PORT"), default=5000, show_default=True),
        click.option(
            "--workers",
            "-w",
            envvar=_env("WORKERS"),
            type=int,
            help=f"Worker processes. Default: {SQLITE_WORKERS} for SQLite, "
            f"{DEFAULT_WORKERS} for other backends.",
        ),
        click.option(
            "--static-prefix",
            envvar=_env("STATIC_PREFIX"),
            default="",
            help="A prefix such as /mlflow put before every route.",
        ),
        click.option(
            "--allowed-hosts",
            envvar=_env("SERVER_ALLOWED_HOSTS"),
            help="Comma-separated Host header patterns (fnmatch; '*' for any). Default: "
            "localhost names and private addresses.",
        ),
        click.option(
            "--cors-allowed-origins",
            envvar=_env("SERVER_CORS_ALLOWED_ORIGINS"),
            help="Comma-separated origin patterns allowed cross-origin. Default: localhost.",
        ),
        click.option(
            "--disable-security-middleware",
            envvar=_env("SERVER_DISABLE_SECURITY_MIDDLEWARE"),
            is_flag=True,
            help="Turn off the Host check, CORS handling and X-Frame-Options.",
        ),
        click.option(
            "--x-frame-options",
            envvar=_env("SERVER_X_FRAME_OPTIONS"),
            default=DEFAULT_X_FRAME_OPTIONS,
            show_default=True,
            help="X-Frame-Options header value; NONE to send none.",
        ),
        click.option(
            "--uvicorn-opts",
            envvar=_env("UVICORN_OPTS"),
            help='Extra uvicorn command-line options, e.g. "--timeout-keep-alive 30".',
        ),
        click.option("--dev", is_flag=True, help="Reload on code changes, debug logging."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command(name="server")
@server_options
def server(**options: Any) -> None:
    """Run the tracking server (MLflow's REST API and proxied artifacts)."""
    run_server(**options)


@click.command(name="ui")
@server_options
def ui(**options: Any) -> None:
    """Run the web UI (and the whole server) on the embedded default store.

    The same as ``trackline server``, with the defaults of a local client: the
    ``sqlite:///trackline.db`` store, new experiments' artifacts under ``./mlruns`` and one
    worker. Open the printed address in a browser; nothing is opened for you.
    """
    ui_defaults(options)
    run_server(**options)


def ui_defaults(options: dict[str, Any]) -> dict[str, Any]:
    """``trackline ui``'s defaults where neither an option nor the environment chose."""
    if options.get("workers") is None:
        options["workers"] = 1
    if not options.get("default_artifact_root"):
        from trackline.tracking.uri import DEFAULT_ARTIFACT_DIR

        options["default_artifact_root"] = os.path.abspath(DEFAULT_ARTIFACT_DIR)
    return options


def run_server(
    *,
    host: str,
    port: int,
    workers: int | None,
    uvicorn_opts: str | None,
    dev: bool,
    **settings: Any,
) -> None:
    config = build_config(**settings)
    workers = workers or default_workers(config.backend_store_uri)
    if dev:
        workers = 1  # uvicorn cannot reload several workers
    if workers > 1 and not config.artifacts_only:
        _prepare_store(config)
    os.environ.update(config.to_env())
    import uvicorn.main

    argv = uvicorn_argv(host, port, workers, dev, uvicorn_opts)
    uvicorn.main.main(args=argv, prog_name="uvicorn")


def build_config(
    *,
    backend_store_uri: str,
    registry_store_uri: str | None,
    default_artifact_root: str | None,
    serve_artifacts: bool,
    artifacts_destination: str,
    artifacts_only: bool,
    static_prefix: str,
    allowed_hosts: str | None,
    cors_allowed_origins: str | None,
    disable_security_middleware: bool,
    x_frame_options: str,
) -> ServerConfig:
    from trackline.exceptions import TracklineException

    if artifacts_only and not serve_artifacts:
        raise click.UsageError("--artifacts-only needs --serve-artifacts.")
    try:
        return ServerConfig(
            backend_store_uri=backend_store_uri,
            registry_store_uri=registry_store_uri,
            default_artifact_root=default_artifact_root,
            serve_artifacts=serve_artifacts,
            artifacts_destination=artifacts_destination,
            artifacts_only=artifacts_only,
            static_prefix=static_prefix or "",
            allowed_hosts=split_list(allowed_hosts),
            cors_allowed_origins=split_list(cors_allowed_origins),
            disable_security_middleware=disable_security_middleware,
            x_frame_options=x_frame_options,
        )
    except TracklineException as exc:
        raise click.UsageError(exc.message) from exc


def _prepare_store(config: ServerConfig) -> None:
    """Create or check the schema once, before several workers would race to do it.

    Done in a forked child where the platform can fork: the database libraries it imports
    (SQLAlchemy, the driver: ~35 MB) would otherwise stay in this supervisor process for the
    server's whole life. An error in the child is raised here, unchanged.
    """
    if not hasattr(os, "fork"):
        _open_and_close_store(config)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        pool.submit(_open_and_close_store, config).result()


def _open_and_close_store(config: ServerConfig) -> None:
    from trackline_server.app import _default_store_factory

    _default_store_factory(config)().close()


def _has_worker_healthcheck() -> bool:
    """Whether this uvicorn pings its workers (0.30+ does; the option came with it)."""
    import inspect

    import uvicorn

    return "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters


def uvicorn_argv(
    host: str, port: int, workers: int, dev: bool, uvicorn_opts: str | None
) -> list[str]:
    protocol = (
        "NoDelayHttpToolsProtocol"
        if importlib.util.find_spec("httptools")
        else "NoDelayH11Protocol"
    )
    argv = [
        "trackline_server.app:create_app",
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--http",
        f"trackline_server.protocols:{protocol}",
        # MLflow clients send no WebSocket traffic; skipping the probe saves an import.
        "--ws",
        "none",
    ]
    if dev:
        argv += ["--reload", "--log-level", "debug"]
    else:
        argv += ["--workers", str(workers)]
        if workers > 1 and _has_worker_healthcheck():
            # uvicorn kills a worker that does not answer its supervisor's ping within 5 s
            # (in-flight requests are lost) and stops the whole server if the replacement
            # fails to start. A worker busy on a loaded machine is not a hung one.
            argv += ["--timeout-worker-healthcheck", str(WORKER_HEALTHCHECK_SECONDS)]
    if uvicorn_opts:
        argv += shlex.split(uvicorn_opts)
    return argv
