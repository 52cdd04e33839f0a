"""Run the real MLflow next to trackline in tests: the reference a flavor is checked against.

MLflow lives in its own virtual environment (``benchmarks/.venv-mlflow`` in this repository,
or the one ``TRACKLINE_TEST_MLFLOW_VENV`` names), so tests run it as a subprocess::

    from trackline.testing.mlflow_reference import requires_mlflow, run_mlflow

    pytestmark = requires_mlflow("xgboost", install="xgboost==3.2.0")

    def test_mlflow_loads_our_model(tmp_path):
        ...  # save a model with trackline into tmp_path / "model"
        printed = run_mlflow('''
            import mlflow.pyfunc
            print(mlflow.pyfunc.load_model("model").predict([[1.0]]))
        ''', cwd=tmp_path)

Every subprocess runs without the caller's ``MLFLOW_*`` and ``TRACKLINE_*`` variables, so the
test's own settings cannot leak into it.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

_REPO = Path(__file__).resolve().parents[3]

#: The interpreter of the virtual environment that holds the reference MLflow.
MLFLOW_PYTHON = (
    Path(os.environ.get("TRACKLINE_TEST_MLFLOW_VENV", _REPO / "benchmarks" / ".venv-mlflow"))
    / "bin"
    / "python"
)

#: The script a side-by-side autolog run starts with: ``tracking`` is ``mlflow`` or
#: ``trackline`` on a SQLite store, ``X``/``y`` a tiny binary classification set,
#: ``describe()`` what the last run logged; the body adds to ``out``.
TABULAR_AUTOLOG_PRELUDE = """
import json, warnings
warnings.filterwarnings("ignore")
import {lib} as tracking
tracking.set_tracking_uri("sqlite:///{db}")
client = tracking.MlflowClient()
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
y = (X["a"] + 0.5 * X["b"] > 0).astype(int)

def describe():
    run = client.get_run(tracking.last_active_run().info.run_id)
    return {{
        "params": run.data.params,
        "metrics": run.data.metrics,
        "artifacts": sorted(f.path for f in client.list_artifacts(run.info.run_id)),
    }}

out = {{}}
"""

__all__ = [
    "MLFLOW_PYTHON",
    "TABULAR_AUTOLOG_PRELUDE",
    "autolog_side_by_side",
    "clean_environment",
    "logged_by",
    "mlflow_has",
    "requires_mlflow",
    "run_mlflow",
    "run_python",
]


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without ``MLFLOW_*``/``TRACKLINE_*`` variables, plus
    ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    env.update(extra)
    return env


@functools.cache
def mlflow_has(module: str | None = None) -> bool:
    """Whether the reference environment exists and imports ``mlflow`` (and ``module``)."""
    if not MLFLOW_PYTHON.exists():
        return False
    if module is None:
        return True
    done = subprocess.run(
        [str(MLFLOW_PYTHON), "-c", f"import mlflow, {module}"], capture_output=True, text=True
    )
    return done.returncode == 0


def requires_mlflow(module: str | None = None, *, install: str | None = None) -> Any:
    """A ``skipif`` mark: skip unless the reference MLflow (with ``module``) is there.

    ``install`` is the requirement to suggest, e.g. ``"xgboost==3.2.0"``.
    """
    needs = f"MLflow and {module}" if module else "MLflow"
    reason = f"needs {needs} in benchmarks/.venv-mlflow"
    if install:
        reason += f" (benchmarks/.venv-mlflow/bin/pip install {install})"
    return pytest.mark.skipif(not mlflow_has(module), reason=reason)


def run_python(
    python: str | os.PathLike[str],
    script: str,
    cwd: str | os.PathLike[str],
    env: dict[str, str] | None = None,
) -> str:
    """Run ``script`` with ``python`` in ``cwd``; fail the test with its stderr if it fails.

    Returns the last line it printed. ``env`` defaults to :func:`clean_environment`.
    """
    done = subprocess.run(
        [str(python), "-c", script],
        capture_output=True,
        text=True,
        env=clean_environment() if env is None else env,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def run_mlflow(script: str, cwd: str | os.PathLike[str]) -> str:
    """Run ``script`` (dedented) with the reference MLflow; the last line it printed."""
    return run_python(MLFLOW_PYTHON, textwrap.dedent(script), cwd)


def logged_by(lib: str, tmp_path: Path, template: str, body: str = "") -> dict[str, Any]:
    """Run one script with ``lib`` (``"mlflow"`` or ``"trackline"``) and read what it printed
    last as JSON.

    ``template`` is formatted with ``lib`` and ``db`` (a SQLite file in ``tmp_path / lib``,
    which also holds the artifacts); ``body`` follows it as it is (no formatting). MLflow runs
    from :data:`MLFLOW_PYTHON`, trackline from this interpreter.
    """
    folder = tmp_path / lib
    folder.mkdir()
    python = str(MLFLOW_PYTHON) if lib == "mlflow" else sys.executable
    env = clean_environment(TRACKLINE_DEFAULT_ARTIFACT_ROOT=str(folder / "artifacts"))
    script = textwrap.dedent(template.format(lib=lib, db=folder / "runs.db"))
    script += textwrap.dedent(body)
    return json.loads(run_python(python, script, folder, env))


def autolog_side_by_side(
    body: str, tmp_path: Path, prelude: str = TABULAR_AUTOLOG_PRELUDE
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What MLflow and trackline log for the same ``body`` after ``prelude``; the body fills
    ``out``, which is printed and returned: ``(mlflow's, trackline's)``."""
    body = textwrap.dedent(body) + "\nprint(json.dumps(out))\n"
    return (
        logged_by("mlflow", tmp_path, prelude, body),
        logged_by("trackline", tmp_path, prelude, body),
    )
