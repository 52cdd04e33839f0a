"""Fixtures for project runs: a fresh SQLite tracking store, an env cache and project folders."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """The fluent API on a fresh SQLite database in tmp; environments cached in tmp too.

    Projects run in subprocesses that reach the store through its file, so SQLite is the
    store here; the stores themselves are tested against every database elsewhere.
    """
    import trackline
    from trackline.tracking import fluent
    from trackline.tracking.uri import clear_store_cache

    for name in ("EXPERIMENT_NAME", "EXPERIMENT_ID", "RUN_ID", "TRACKING_URI", "TMP_DIR"):
        monkeypatch.delenv(f"MLFLOW_{name}", raising=False)
        monkeypatch.delenv(f"TRACKLINE_{name}", raising=False)
    monkeypatch.setenv("TRACKLINE_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TRACKLINE_ENV_ROOT", str(tmp_path / "envs"))
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    trackline.set_tracking_uri(f"sqlite:///{tmp_path / 'tracking.db'}")
    yield trackline
    while fluent.active_run():
        fluent.end_run()
    trackline.set_tracking_uri(None)
    clear_store_cache()


def _write_files(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root`` (dedented) and return ``root``."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


# A script that records how it was called, then logs into the project's run through the
# fluent API: it proves the command got its arguments and continued the right run.
RECORDING_SCRIPT = """
import json, os, sys
import trackline

with trackline.start_run() as run:
    trackline.log_metric("called", 1.0)
    trackline.set_tag("argv", json.dumps(sys.argv[1:]))
    trackline.set_tag("cwd", os.getcwd())
print("project output line", flush=True)
"""


@pytest.fixture
def typed_project(tmp_path) -> Path:
    """A project with an MLproject file and parameters of every type."""
    root = tmp_path / "typed-project"
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "data.csv").write_text("a,b\n1,2\n")
    return _write_files(
        root,
        {
            "MLproject": """
                name: typed
                entry_points:
                  main:
                    parameters:
                      alpha: {type: float, default: 0.1}
                      data: {type: path, default: data/default.csv}
                      label: string
                      source: {type: uri, default: "s3://bucket/key"}
                    command: "python record.py --alpha {alpha} --data {data} --label {label} --source {source}"
                  fail:
                    parameters:
                      code: {type: float, default: 3}
                    command: "python -c 'import sys; sys.exit(int(float(sys.argv[1])))' {code}"
                  sleep:
                    command: "python -c 'import time; print(\\"sleeping\\", flush=True); time.sleep(60)'"
            """,
            "record.py": RECORDING_SCRIPT,
            "data/default.csv": "x\n1\n",
        },
    )


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "HOME": str(cwd),
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
    )
    return result.stdout.strip()


@pytest.fixture
def write_files():
    """``write_files(root, {relative path: text})``: a project folder written for a test."""
    return _write_files


@pytest.fixture
def git():
    """``git(cwd, *args)``: run git with a fixed identity and no user configuration."""
    return _git


@pytest.fixture
def recording_script() -> str:
    return RECORDING_SCRIPT
