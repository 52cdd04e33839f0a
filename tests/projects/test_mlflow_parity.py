"""The same project run by real MLflow (`mlflow run`) and by trackline records the same things.

MLflow 3.17 runs from benchmarks/.venv-mlflow in a subprocess, with its own SQLite database.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pytest
from trackline.projects import run

REPO = Path(__file__).resolve().parents[2]
MLFLOW_PYTHON = (
    Path(os.environ.get("TRACKLINE_TEST_MLFLOW_VENV", REPO / "benchmarks" / ".venv-mlflow"))
    / "bin"
    / "python"
)
pytestmark = pytest.mark.skipif(
    not MLFLOW_PYTHON.exists(), reason="needs MLflow in benchmarks/.venv-mlflow"
)

READ_RUN = """
import json, mlflow
(run,) = mlflow.search_runs(search_all_experiments=True, output_format="list")
print(json.dumps({"status": run.info.status, "params": run.data.params, "tags": run.data.tags}))
"""


@pytest.fixture
def argv_project(tmp_path, write_files):
    # The command only prints its arguments: it needs neither MLflow nor trackline.
    return write_files(
        tmp_path / "argv-project",
        {
            "MLproject": """
                name: argv
                entry_points:
                  main:
                    parameters:
                      alpha: {type: float, default: 0.1}
                      label: string
                      data: {type: path, default: data.csv}
                    command: "python -c 'import sys; print(sys.argv[1:])' {alpha} {label} {data}"
            """,
            "data.csv": "x\n",
        },
    )


def _argv_line(text: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith("['"))
    return ast.literal_eval(line)


def test_mlflow_and_trackline_record_the_same_project_run(tracking, argv_project, tmp_path):
    (Path.cwd() / "input.csv").write_text("x\n")
    arguments = ["-P", "label=a b", "-P", "data=input.csv", "-P", "extra=x y"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))},
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    mlflow_run = subprocess.run(
        [
            str(MLFLOW_PYTHON),
            "-m",
            "mlflow",
            "run",
            str(argv_project),
            *arguments,
            "--env-manager",
            "local",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert mlflow_run.returncode == 0, mlflow_run.stderr
    read = subprocess.run(
        [str(MLFLOW_PYTHON), "-c", READ_RUN], env=env, capture_output=True, text=True, check=True
    )
    theirs = json.loads(read.stdout.strip().splitlines()[-1])

    submitted = run(
        str(argv_project),
        parameters={"label": "a b", "data": "input.csv", "extra": "x y"},
        env_manager="local",
    )
    ours = tracking.get_run(submitted.run_id)

    # The command saw the same arguments.
    assert "".join(submitted.logs()).strip() == str(_argv_line(mlflow_run.stdout))
    assert theirs["status"] == ours.info.status == "FINISHED"
    # The same params, in the same shell-quoted form; a local path is logged absolute by
    # trackline (MLflow logs it as typed), so that the run can be repeated from elsewhere.
    assert theirs["params"] == {**ours.data.params, "data": "input.csv"}
    assert ours.data.params["data"] == str(Path.cwd() / "input.csv")
    # The same tags, plus trackline's list of which params are the project's.
    assert set(ours.data.tags) - set(theirs["tags"]) == {"trackline.project.parameters"}
    for key in (
        "mlflow.source.name",
        "mlflow.source.type",
        "mlflow.project.entryPoint",
        "mlflow.project.backend",
        "mlflow.user",
    ):
        assert ours.data.tags[key] == theirs["tags"][key], key
