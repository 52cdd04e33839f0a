"""Fixtures of the CLI tests: a fresh SQLite tracking store per test, and a runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from trackline.cli.main import cli

Invoke = Callable[..., Result]


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """TRACKLINE_TRACKING_URI → a new SQLite file, artifacts under tmp_path/artifacts."""
    from trackline.tracking.uri import clear_store_cache, set_tracking_uri

    for name in ("TRACKING_URI", "EXPERIMENT_ID", "EXPERIMENT_NAME", "RUN_ID", "RUN_CONTEXT"):
        monkeypatch.delenv(f"MLFLOW_{name}", raising=False)
        monkeypatch.delenv(f"TRACKLINE_{name}", raising=False)
    env = {
        "TRACKLINE_TRACKING_URI": f"sqlite:///{tmp_path / 'tracking.db'}",
        "TRACKLINE_DEFAULT_ARTIFACT_ROOT": str(tmp_path / "artifacts"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    set_tracking_uri(None)  # a URI set in-process by another test would win over the env
    yield env
    clear_store_cache()


@pytest.fixture
def invoke(store_env: dict[str, str]) -> Invoke:
    """Run ``trackline ARGS`` in-process; check the exit code (0 unless ``code=`` says).

    ``code=None`` accepts any exit code.
    """
    runner = CliRunner()

    def run(*args: str, code: int | None = 0, input: str | None = None) -> Result:
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        assert code is None or result.exit_code == code, (
            f"trackline {' '.join(args)} exited {result.exit_code}, expected {code}:\n"
            f"{result.output}"
        )
        return result

    return run


@pytest.fixture
def experiment_id(invoke: Invoke) -> str:
    """A new experiment, made through the CLI."""
    out = invoke("experiments", "create", "-n", "cli-tests").output
    return out.strip().rsplit(" ", 1)[-1]


@pytest.fixture
def run_id(invoke: Invoke, experiment_id: str) -> str:
    """A finished run in ``experiment_id``."""
    return invoke("runs", "create", "--experiment-id", experiment_id).stdout.strip()
