"""Dataset descriptions from pandas and numpy, logged as run inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from trackline import data


def test_from_pandas_describes_without_copying():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "a"]})
    dataset = data.from_pandas(frame, source="/data/train.csv", name="train")
    assert dataset.name == "train"
    assert len(dataset.digest) == 8
    assert dataset.source_type == "local"
    assert json.loads(dataset.source) == {"uri": "/data/train.csv"}
    assert json.loads(dataset.schema)["mlflow_colspec"] == [
        {"type": "double", "name": "x", "required": True},
        {"type": "string", "name": "label", "required": True},
    ]
    assert json.loads(dataset.profile) == {"num_rows": 3, "num_elements": 6}


def test_digest_follows_content():
    frame = pd.DataFrame({"x": [1, 2, 3]})
    same = data.from_pandas(frame.copy())
    changed = data.from_pandas(pd.DataFrame({"x": [1, 2, 4]}))
    assert data.from_pandas(frame).digest == same.digest
    assert changed.digest != same.digest


def test_from_numpy_with_targets_and_http_source():
    dataset = data.from_numpy(
        np.zeros((5, 2)), targets=np.ones(5), source="https://example.com/d.npz"
    )
    assert dataset.source_type == "http"
    assert json.loads(dataset.profile) == {"features": {"shape": [5, 2]}, "targets": {"shape": [5]}}


def test_logged_dataset_is_searchable(tracking):
    frame = pd.DataFrame({"x": [1, 2]})
    with tracking.start_run() as run:
        tracking.log_input(tracking.data.from_pandas(frame, name="eval-set"), context="eval")
    found = tracking.search_runs(
        filter_string="datasets.name = 'eval-set' and datasets.context = 'eval'",
        output_format="list",
    )
    assert [r.info.run_id for r in found] == [run.info.run_id]
    (dataset_input,) = tracking.get_run(run.info.run_id).inputs.dataset_inputs
    assert dataset_input.dataset.source_type == "code"
