"""Fixtures of the end-to-end suite: real ``trackline server`` subprocesses on real databases.

Every server here is a separate process started through the ``trackline`` CLI, exactly as a
user starts one, and every client is a real one (``mlflow`` from PyPI, ``requests``, raw
sockets). Readiness is polled on ``/health``; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trackline_server.testing as server_testing
from trackline.testing.databases import fresh_database  # noqa: F401  (tests import it here)

START_TIMEOUT = 60.0

# The real MLflow client retries 5xx answers up to 7 times with exponential backoff; an
# end-to-end test must see the first failure, fast, not a retried success minutes later.
CLIENT_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}


@dataclass
class ServerProcess:
    """One running ``trackline server``: the helper's process plus what the tests set up."""

    url: str
    backend_uri: str
    artifacts: Path
    running: server_testing.RunningServer

    def log(self) -> str:
        try:
            return self.running.log()
        except OSError:
            return ""

    def stop(self) -> None:
        self.running.stop(timeout=15)


def start_server(
    backend_uri: str,
    artifacts: Path,
    log_dir: Path,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> ServerProcess:
    """Start ``trackline server`` (through ``trackline_server.testing``) on a free port over
    ``backend_uri`` and ``artifacts``; ``/health`` has answered 200 when this returns."""
    artifacts.mkdir(parents=True, exist_ok=True)
    try:
        # The helper picks the port, and another one if the first is taken after all.
        running = server_testing.start_server(
            log_dir,
            "--backend-store-uri",
            backend_uri,
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            *extra_args,
            timeout=START_TIMEOUT,
            env=env,
        )
    except (RuntimeError, TimeoutError) as error:
        raise RuntimeError(
            f"trackline server over {backend_uri} did not become healthy: {error}"
        ) from error
    return ServerProcess(
        url=running.url,
        backend_uri=backend_uri,
        artifacts=artifacts,
        running=running,
    )


# -- databases -----------------------------------------------------------------------------


BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.fixture(scope="session")
def _client_env() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in CLIENT_ENV}
    os.environ.update(CLIENT_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory, _client_env) -> Iterator[ServerProcess]:
    """A ``trackline server`` over a fresh database of each backend, shared by a module."""
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    with fresh_database(request.param, tmp) as backend_uri:
        process = start_server(backend_uri, tmp / "artifacts", tmp / "logs")
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory, _client_env) -> Iterator[ServerProcess]:
    """A ``trackline server`` over SQLite, for tests whose subject is not the database."""
    tmp = tmp_path_factory.mktemp("server-sqlite")
    process = start_server(f"sqlite:///{tmp / 'trackline.db'}", tmp / "artifacts", tmp / "logs")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def mlflow_at(monkeypatch):
    """Point the real ``mlflow`` client at a URL; undo every global it touches afterwards."""
    import mlflow

    for var in (
        "MLFLOW_EXPERIMENT_NAME",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_RUN_ID",
        "MLFLOW_TRACKING_URI",
        "MLFLOW_REGISTRY_URI",
    ):
        monkeypatch.delenv(var, raising=False)

    def point(url: str):
        mlflow.set_tracking_uri(url)
        return mlflow

    yield point
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)
    with contextlib.suppress(Exception):
        from mlflow.tracking import fluent

        fluent._active_experiment_id = None


@pytest.fixture
def unique():
    """A name no other test uses: ``unique("exp")`` -> ``exp-1a2b3c4d``."""

    def make(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    return make


@dataclass
class ExternalServer:
    url: str


@pytest.fixture(scope="module")
def docs_server(request, _client_env) -> Iterator[ServerProcess | ExternalServer]:
    """The server of the ``test_mlflow_docs_*`` modules: a ``trackline server`` over SQLite, or,
    when ``TRACKLINE_DOCS_E2E_URL`` is set, the server at that URL (point it at a real ``mlflow
    server`` to re-check that every expectation is MLflow's; the strict xfails then XPASS)."""
    external = os.environ.get("TRACKLINE_DOCS_E2E_URL")
    if external:
        yield ExternalServer(external.rstrip("/"))
    else:
        yield request.getfixturevalue("sqlite_server")
