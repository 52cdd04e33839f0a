"""Folders written by MLflow 3's FileStore are read by trackline-file, and the reverse.

MLflow runs for real, from benchmarks/.venv-mlflow (MLflow 3.17), in a subprocess with
``MLFLOW_ALLOW_FILE_STORE=true`` (its FileStore is opt-in since 3.13).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
import trackline
from trackline.entities import Metric, Param, RunTag
from trackline_file.store import FileTrackingStore

REPO = Path(__file__).resolve().parents[3]
MLFLOW_PYTHON = (
    Path(os.environ.get("TRACKLINE_TEST_MLFLOW_VENV", REPO / "benchmarks" / ".venv-mlflow"))
    / "bin"
    / "python"
)

pytestmark = pytest.mark.skipif(
    not MLFLOW_PYTHON.exists(), reason="needs MLflow in benchmarks/.venv-mlflow"
)


def run_mlflow(script: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    env["MLFLOW_ALLOW_FILE_STORE"] = "true"
    done = subprocess.run(
        [str(MLFLOW_PYTHON), "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


WRITE_WITH_MLFLOW = """
    import sys, mlflow, pandas as pd
    mlflow.set_tracking_uri("file:" + sys.argv[1])
    mlflow.set_experiment("made-by-mlflow")
    mlflow.set_experiment_tag("owner", "ml-team")
    with mlflow.start_run(run_name="baseline") as run:
        mlflow.log_param("lr", 0.1)
        mlflow.set_tag("stage/kind", "dev")
        for i in range(5):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        mlflow.log_metric("eval/acc", float("nan"))
        mlflow.log_text("hello", "notes/readme.txt")
        ds = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0]}), name="train")
        mlflow.log_input(ds, context="training")
    with mlflow.start_run(run_name="other") as other:
        mlflow.log_param("lr", 0.5)
    mlflow.delete_run(other.info.run_id)
    print(run.info.run_id)
"""


@pytest.fixture(scope="module")
def mlflow_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("mlflow") / "mlruns"
    run_id = run_mlflow(WRITE_WITH_MLFLOW, str(root))
    return root, run_id


def test_reads_experiments_written_by_mlflow(mlflow_folder: tuple[Path, str]) -> None:
    root, _ = mlflow_folder
    store = FileTrackingStore(f"file:{root}")
    experiment = store.get_experiment_by_name("made-by-mlflow")
    assert experiment is not None
    assert experiment.tags == {"owner": "ml-team"}
    assert experiment.artifact_location == (root / experiment.experiment_id).as_uri()
    assert store.get_experiment("0").name == "Default"


def test_reads_a_run_written_by_mlflow(mlflow_folder: tuple[Path, str]) -> None:
    root, run_id = mlflow_folder
    run = FileTrackingStore(str(root)).get_run(run_id)
    assert run.info.run_name == "baseline"
    assert run.info.status == "FINISHED"
    assert run.info.end_time is not None
    assert run.data.params == {"lr": "0.1"}
    assert run.data.tags["stage/kind"] == "dev"
    assert run.data.tags["mlflow.runName"] == "baseline"
    assert run.data.metrics["loss"] == 0.2
    assert math.isnan(run.data.metrics["eval/acc"])
    (dataset_input,) = run.inputs.dataset_inputs
    assert dataset_input.dataset.name == "train"
    assert {t.key: t.value for t in dataset_input.tags} == {"mlflow.data.context": "training"}
    history = FileTrackingStore(str(root)).get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(i, 1.0 / (i + 1)) for i in range(5)]


def test_searches_runs_written_by_mlflow(mlflow_folder: tuple[Path, str]) -> None:
    root, run_id = mlflow_folder
    store = FileTrackingStore(str(root))
    experiment_id = store.get_experiment_by_name("made-by-mlflow").experiment_id
    found = store.search_runs([experiment_id], "params.lr = '0.1' and metrics.loss < 0.5")
    assert [r.info.run_id for r in found] == [run_id]
    # The run MLflow deleted is only found when deleted runs are asked for.
    assert len(store.search_runs([experiment_id], "")) == 1
    assert len(store.search_runs([experiment_id], "", run_view_type=3)) == 2


def test_fluent_api_reads_artifacts_of_an_mlflow_run(
    mlflow_folder: tuple[Path, str], tmp_path: Path
) -> None:
    root, run_id = mlflow_folder
    client = trackline.MlflowClient(tracking_uri=f"file:{root}")
    assert [f.path for f in client.list_artifacts(run_id)] == ["notes"]
    local = client.download_artifacts(run_id, "notes/readme.txt", str(tmp_path))
    assert Path(local).read_text() == "hello"


READ_WITH_MLFLOW = """
    import sys, json, mlflow
    client = mlflow.MlflowClient(tracking_uri="file:" + sys.argv[1])
    exp = client.get_experiment_by_name("made-by-trackline")
    runs = client.search_runs([exp.experiment_id], "params.batch = '32'")
    run = runs[0]
    history = client.get_metric_history(run.info.run_id, "acc")
    print(json.dumps({
        "run_id": run.info.run_id,
        "status": run.info.status,
        "name": run.info.run_name,
        "params": run.data.params,
        "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        "metrics": run.data.metrics,
        "history": [[m.step, m.value] for m in history],
        "artifacts": [f.path for f in client.list_artifacts(run.info.run_id)],
        "inputs": [d.dataset.name for d in run.inputs.dataset_inputs],
    }))
"""


def test_mlflow_reads_what_trackline_writes(tmp_path: Path) -> None:
    root = tmp_path / "mlruns"
    trackline.set_tracking_uri(f"file:{root}")
    try:
        trackline.set_experiment("made-by-trackline")
        with trackline.start_run(run_name="tl") as run:
            trackline.log_params({"batch": 32})
            trackline.set_tag("team/name", "blue")
            for step in range(3):
                trackline.log_metric("acc", step / 10, step=step)
            trackline.log_text("weights", "model/w.txt")
            trackline.log_input(
                trackline.entities.Dataset("eval", "d1g3st", "local", '{"uri": "x"}'),
                context="eval",
            )
    finally:
        trackline.set_tracking_uri(None)
    seen = json.loads(run_mlflow(READ_WITH_MLFLOW, str(root)))
    assert seen["run_id"] == run.info.run_id
    assert seen["status"] == "FINISHED"
    assert seen["name"] == "tl"
    assert seen["params"] == {"batch": "32"}
    assert seen["tags"] == {"team/name": "blue"}
    assert seen["metrics"] == {"acc": 0.2}
    assert seen["history"] == [[0, 0.0], [1, 0.1], [2, 0.2]]
    assert seen["artifacts"] == ["model"]
    assert seen["inputs"] == ["eval"]


def test_store_round_trips_its_own_files(tmp_path: Path) -> None:
    store = FileTrackingStore(str(tmp_path / "mlruns"))
    run = store.create_run("0", "me", 1, [RunTag("a/b", "c")], "r")
    store.log_batch(run.info.run_id, [Metric("m", 1.5, 10, 2)], [Param("p", "v")], [])
    again = FileTrackingStore(f"file://{tmp_path / 'mlruns'}").get_run(run.info.run_id)
    assert again.data.metrics == {"m": 1.5}
    assert again.data.params == {"p": "v"}
    assert again.data.tags["a/b"] == "c"
    assert (tmp_path / "mlruns" / "0" / run.info.run_id / "metrics" / "m").read_text() == (
        "10 1.5 2\n"
    )


def test_metric_dataset_fields_use_mlflows_five_field_lines(tmp_path: Path) -> None:
    store = FileTrackingStore(str(tmp_path / "mlruns"))
    run_id = store.create_run("0", "me", 1, [], "r").info.run_id
    store.log_batch(run_id, [Metric("acc", 0.5, 7, 1, "train", "d1g")])
    path = tmp_path / "mlruns" / "0" / run_id / "metrics" / "acc"
    assert path.read_text() == "7 0.5 1 train d1g\n"
    (point,) = store.get_metric_history(run_id, "acc")
    assert (point.dataset_name, point.dataset_digest) == ("train", "d1g")
