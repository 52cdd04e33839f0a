"""Fixtures: tracking servers in subprocesses (trackline's and, if installed, MLflow's).

Servers are started the way users start them (``trackline server`` / ``mlflow server``) on a
free port, and readiness is polled on ``/health``. A server is shared by a whole test
module; tests that need an empty store get one by resetting the server's SQLite file
between tests (see ``reset_sqlite``), which is far faster than a server per test.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from trackline.testing.ports import free_port, is_address_in_use

REPO = Path(__file__).resolve().parents[3]
MLFLOW_VENV = Path(
    os.environ.get("TRACKLINE_TEST_MLFLOW_VENV", REPO / "benchmarks" / ".venv-mlflow")
)
START_TIMEOUT = 90.0

# Variables that would point the server (or a test's client) somewhere else.
_ISOLATE = (
    "MLFLOW_TRACKING_URI",
    "TRACKLINE_TRACKING_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_TRACKING_TOKEN",
)


def pytest_configure(config: pytest.Config) -> None:
    # Also registered in plugins/rest/pyproject.toml; this covers runs from the repo root.
    config.addinivalue_line(
        "markers", "mlflow_server: needs benchmarks/.venv-mlflow to start a real MLflow server"
    )


@dataclass
class Server:
    url: str
    db_path: Path
    artifacts: Path
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_server(command: list[str], tmp: Path, name: str) -> Server:
    """Run ``command + --host/--port/...`` and wait for ``/health``; retry if the port is taken."""
    db_path = tmp / f"{name}.db"
    artifacts = tmp / f"{name}-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in _ISOLATE}
    log = ""
    for _attempt in range(3):
        port = free_port()
        log_path = tmp / f"{name}-{port}.log"
        args = [
            *command,
            "--backend-store-uri",
            f"sqlite:///{db_path}",
            "--artifacts-destination",
            str(artifacts),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        with open(log_path, "wb") as out:
            process = subprocess.Popen(
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(tmp),
                env=env,
            )
        server = Server(f"http://127.0.0.1:{port}", db_path, artifacts, log_path, process)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"{server.url}/health", timeout=2).status_code == 200:
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.1)
        server.stop()
        log = server.log()
        if not is_address_in_use(log):
            break
    raise RuntimeError(f"server did not start: {' '.join(command)}\n--- log ---\n{log}")


@pytest.fixture(scope="module")
def trackline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A ``trackline server`` over SQLite, shared by the module (trackline-server's helper)."""
    # Imported by name at run time: the test extra installs trackline-server, the plugin
    # itself never depends on it.
    testing = pytest.importorskip("trackline_server.testing")
    workdir = tmp_path_factory.mktemp("server")
    env = {k: "" for k in _ISOLATE}
    running = testing.start_server(workdir, timeout=START_TIMEOUT, env=env)
    server = Server(
        running.url,
        workdir / "trackline.db",
        workdir / "mlartifacts",
        running.log_path,
        running.process,
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real ``mlflow server`` from benchmarks/.venv-mlflow, shared by the module."""
    mlflow = MLFLOW_VENV / "bin" / "mlflow"
    if not mlflow.exists():
        message = f"no MLflow server install at {MLFLOW_VENV} (scripts/test.sh creates it)"
        if os.environ.get("TRACKLINE_REQUIRE_MLFLOW_SERVER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    command = [str(mlflow), "server", "--workers", "1"]
    server = start_server(command, tmp_path_factory.mktemp("mlflow"), "mlflow")
    yield server
    server.stop()


def reset_sqlite(db_path: Path) -> None:
    """Empty a trackline/MLflow SQLite tracking database, keeping experiment 0 as new.

    Deleting rows behind the server's back is safe because neither server caches entities
    between requests; the schema (slow to create) stays.
    """
    connection = sqlite3.connect(db_path, timeout=30)
    try:
        with connection:
            tables = [
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    # Keep the schema version (alembic_version for MLflow,
                    # trackline_alembic_version for us): a worker starting later checks it.
                    "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%alembic_version'"
                )
            ]
            connection.execute("PRAGMA foreign_keys = OFF")
            for table in tables:
                if table != "experiments":
                    connection.execute(f'DELETE FROM "{table}"')
            connection.execute("DELETE FROM experiments WHERE experiment_id != 0")
            connection.execute(
                "UPDATE experiments SET name = 'Default', lifecycle_stage = 'active' "
                "WHERE experiment_id = 0"
            )
            has_sequence = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
            ).fetchone()
            if has_sequence:
                connection.execute("DELETE FROM sqlite_sequence WHERE name = 'experiments'")
    finally:
        connection.close()
