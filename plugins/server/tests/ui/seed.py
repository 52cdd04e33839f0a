"""Real runs for the browser tests and screenshots, logged through trackline's REST client."""

from __future__ import annotations

import json
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from trackline.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
from trackline.tracking.client import TracklineClient

START = 1_767_000_000_000  # a fixed start time (ms) so that screenshots are comparable


def tiny_png(width: int = 48, height: int = 32) -> bytes:
    """A real PNG (a colour gradient), written without an imaging library."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 5 % 256, y * 8 % 256, 160)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


MLMODEL = """artifact_path: model
flavors:
  python_function:
    loader_module: trackline.sklearn
    python_version: 3.11.4
  sklearn:
    pickled_model: model.pkl
    sklearn_version: 1.5.0
model_uuid: 3b5c
run_id: {run_id}
signature:
  inputs: '[{{"type": "double", "name": "x"}}]'
  outputs: '[{{"type": "double"}}]'
utc_time_created: '2026-01-01 00:00:00.000000'
"""


@dataclass
class Seeded:
    experiment_id: str
    deleted_experiment_id: str
    runs: dict[str, str] = field(default_factory=dict)  # run name -> run id


def seed(url: str) -> Seeded:
    client = TracklineClient(tracking_uri=url)
    exp = client.create_experiment("vision", tags={"team": "perception"})
    gone = client.create_experiment("abandoned")
    client.delete_experiment(gone)
    seeded = Seeded(exp, gone)

    def run(name: str, lr: float, model: str, acc: float, status: str = "FINISHED", **extra):
        r = client.create_run(exp, run_name=name, start_time=START + len(seeded.runs) * 60_000)
        run_id = r.info.run_id
        seeded.runs[name] = run_id
        t0 = START + len(seeded.runs) * 60_000
        metrics = [
            Metric("loss", round(2.0 / (1 + step * lr * 10), 6), t0 + step * 1000, step)
            for step in range(50)
        ]
        metrics += [
            Metric("accuracy", round(acc * (1 - 0.5 / (1 + step)), 6), t0 + step * 1000, step)
            for step in range(50)
        ]
        params = [Param("lr", str(lr)), Param("model", model), Param("epochs", "50")]
        tags = [RunTag("team", "perception"), RunTag("mlflow.user", "ada")]
        tags += [RunTag(k, v) for k, v in extra.items()]
        client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
        client.set_terminated(run_id, status, end_time=t0 + 50_000 + int(lr * 1e6))
        return run_id

    run("baseline", 0.1, "cnn", 0.81)
    run("wide-lr", 0.3, "cnn", 0.77)
    run("resnet", 0.05, "resnet", 0.93)
    run("failed-run", 0.9, "mlp", 0.12, status="FAILED")
    parent = run("sweep", 0.01, "resnet", 0.9)
    run("sweep-child-1", 0.02, "resnet", 0.91, **{"mlflow.parentRunId": parent})
    run("sweep-child-2", 0.04, "resnet", 0.95, **{"mlflow.parentRunId": parent})

    rich = seeded.runs["resnet"]
    client.set_tag(rich, "mlflow.note.content", "ResNet with cosine schedule.")
    dataset = Dataset("cifar10", "a1b2c3", "http", "https://example.com/cifar10.tgz")
    client.log_inputs(rich, [DatasetInput(dataset, (InputTag("mlflow.data.context", "train"),))])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "model").mkdir()
        (root / "notes.txt").write_text("epoch 1: loss 2.0\nepoch 2: loss 1.1\n")
        (root / "config.json").write_text(json.dumps({"lr": 0.05, "layers": [64, 128]}))
        (root / "config.yaml").write_text("# training\nlr: 0.05\nlayers:\n  - 64\n  - 128\n")
        (root / "table.csv").write_text('name,score\nalpha,0.5\n"beta, quoted",0.75\n')
        (root / "plot.png").write_bytes(tiny_png())
        (root / "report.html").write_text("<h1 id='report'>Report</h1><p>All good.</p>")
        (root / "model" / "MLmodel").write_text(MLMODEL.format(run_id=rich))
        (root / "huge.log").write_bytes(b"line of a long log\n" * 160_000)  # ~3 MB > text limit
        client.log_artifacts(rich, str(root))
    return seeded
