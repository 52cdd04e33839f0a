"""Fixtures for the durability tests: a clean asynchronous-logging state per test, and
training scripts run as real subprocesses (so they can be killed)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

# Variables of the test process that must not leak into what a test starts or measures.
_CLEAN = (
    "MLFLOW_TRACKING_URI",
    "TRACKLINE_TRACKING_URI",
    "MLFLOW_ENABLE_ASYNC_LOGGING",
    "TRACKLINE_ENABLE_ASYNC_LOGGING",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_RUN_ID",
    "TRACKLINE_EXPERIMENT_NAME",
    "TRACKLINE_EXPERIMENT_ID",
    "TRACKLINE_RUN_ID",
)


@pytest.fixture
def durable_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Journal in tmp, short retry/flush intervals, fail fast over HTTP; all state reset."""
    import trackline
    from trackline.tracking import async_logging, fluent
    from trackline.tracking.uri import clear_store_cache

    for name in _CLEAN:
        monkeypatch.delenv(name, raising=False)
    journal_dir = tmp_path / "journal"
    monkeypatch.setenv("TRACKLINE_JOURNAL_DIR", str(journal_dir))
    monkeypatch.setenv("TRACKLINE_ASYNC_LOGGING_RETRY_INTERVAL", "0.2")
    monkeypatch.setenv("TRACKLINE_ASYNC_LOGGING_FLUSH_INTERVAL", "0.05")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.setenv("TRACKLINE_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    async_logging._enabled_override = None
    yield journal_dir
    try:
        while fluent.active_run():
            fluent.end_run()
    finally:
        async_logging.shutdown()
        async_logging._enabled_override = None
        trackline.set_tracking_uri(None)
        clear_store_cache()


def child_env(journal_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEAN}
    env.update(
        {
            "TRACKLINE_JOURNAL_DIR": str(journal_dir),
            "TRACKLINE_ASYNC_LOGGING_RETRY_INTERVAL": "0.2",
            "TRACKLINE_ASYNC_LOGGING_FLUSH_INTERVAL": "0.05",
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
        }
    )
    env.update(extra)
    return env


def python(script: str, *args: str, env: dict[str, str], cwd: Path, **popen: object) -> Any:
    """Start ``script`` in a fresh interpreter (returns the Popen)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def trackline_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    code = "import sys; from trackline.cli.main import cli; sys.exit(cli(prog_name='trackline'))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def tools() -> Any:
    """``tools.child_env``, ``tools.python`` and ``tools.cli`` for tests (importlib mode
    cannot import this conftest by name)."""

    class Tools:
        pass

    t = Tools()
    t.child_env = child_env  # type: ignore[attr-defined]
    t.python = python  # type: ignore[attr-defined]
    t.cli = trackline_cli  # type: ignore[attr-defined]
    return t
