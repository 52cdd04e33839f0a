"""``--env-manager uv``: the model runs in an environment built from its requirements.

Builds a real environment with uv (the model's requirements plus trackline and
trackline-serving from their local folders); skipped where uv is not installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from trackline_serving.environment import requirement_lines

TRACKLINE = str(Path(sys.executable).parent / "trackline")


def _uv_available() -> bool:
    from trackline.projects.environments import find_uv

    return find_uv() is not None


@pytest.fixture(scope="module")
def env_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp("envs"))


def test_environment_lines_name_the_model_requirements_and_trackline(column_model):
    from importlib import metadata

    direct_url = metadata.distribution("trackline").read_text("direct_url.json") or ""
    if '"editable": true' not in direct_url:
        pytest.skip("trackline is not an editable checkout here")
    repo = Path(__file__).resolve().parents[3]
    # A custom model needs no flavor plugin: its requirements, trackline and trackline-serving
    # from the folders they are installed from.
    assert requirement_lines(column_model) == [
        "-r requirements.txt",
        f"-e {repo}",
        f"-e {repo / 'plugins' / 'serving'}",
    ]


@pytest.mark.skipif(not _uv_available(), reason="needs uv")
def test_predict_in_a_uv_environment(column_model, tmp_path, env_root):
    body = tmp_path / "in.json"
    body.write_text(json.dumps({"dataframe_records": [{"a": 1.0, "b": 2}]}))
    env = {**os.environ, "TRACKLINE_ENV_ROOT": env_root}
    result = subprocess.run(
        [
            TRACKLINE,
            "models",
            "predict",
            "-m",
            column_model,
            "-i",
            str(body),
            "--env-manager",
            "uv",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"predictions": [{"y": 3.0}]}
    (built,) = [p for p in os.listdir(env_root) if p.startswith("uv-") and not p.endswith(".lock")]
    python = Path(env_root, built, "bin", "python")
    # the environment has the model's pinned libraries, installed by the build
    check = subprocess.run(
        [str(python), "-c", "import cloudpickle, pandas; print(pandas.__version__)"],
        capture_output=True,
        text=True,
    )
    import pandas

    assert check.stdout.strip() == pandas.__version__


def test_conda_is_refused(column_model):
    result = subprocess.run(
        [TRACKLINE, "models", "predict", "-m", column_model, "--env-manager", "conda"],
        capture_output=True,
        text=True,
        input="{}",
    )
    assert result.returncode == 2
    assert "conda is not supported for models yet" in result.stderr
