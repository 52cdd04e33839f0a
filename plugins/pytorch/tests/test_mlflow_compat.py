"""PyTorch models cross between trackline and the real MLflow 3.17, both ways, as 'pt2'
archives and whole-model pickles.

MLflow runs for real from benchmarks/.venv-mlflow (with the same torch installed there:
``benchmarks/.venv-mlflow/bin/pip install torch==2.13.0``), in a subprocess.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import trackline.pyfunc
from trackline.testing.mlflow_reference import requires_mlflow, run_mlflow
from trackline_pytorch import flavor as pt_flavor

pytestmark = requires_mlflow("torch", install="torch==2.13.0")


@pytest.fixture
def features(tmp_path: Path) -> np.ndarray:
    x = np.random.default_rng(4).normal(size=(5, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    return x


def test_trackline_models_load_in_mlflow(tmp_path, features):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    pt_flavor.save_model(net, tmp_path / "pt2", input_example=features)
    pt_flavor.save_model(net, tmp_path / "pickle", serialization_format="pickle")
    with torch.no_grad():
        expected = net(torch.from_numpy(features)).numpy()

    out = run_mlflow(
        """
        import json
        import mlflow.pyfunc, mlflow.pytorch
        import numpy as np
        import torch

        x = np.load("x.npy")
        result = {}
        for name in ("pt2", "pickle"):
            native = mlflow.pytorch.load_model(name)
            with torch.no_grad():
                result[name] = {
                    "native": native(torch.from_numpy(x)).numpy().tolist(),
                    "pyfunc": mlflow.pyfunc.load_model(name).predict(x).tolist(),
                }
        print(json.dumps(result))
        """,
        tmp_path,
    )
    result = json.loads(out)
    for name in ("pt2", "pickle"):
        np.testing.assert_allclose(result[name]["native"], expected, rtol=1e-6)
        np.testing.assert_allclose(result[name]["pyfunc"], expected, rtol=1e-6)


def test_mlflow_models_load_in_trackline(tmp_path, features):
    out = run_mlflow(
        """
        import json
        import mlflow.pytorch
        import numpy as np
        import torch

        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
        x = np.load("x.npy")
        mlflow.pytorch.save_model(net, "pt2", input_example=x)
        mlflow.pytorch.save_model(net, "pickle", serialization_format="pickle")
        with torch.no_grad():
            print(json.dumps(net(torch.from_numpy(x)).numpy().tolist()))
        """,
        tmp_path,
    )
    expected = np.array(json.loads(out))
    for name in ("pt2", "pickle"):
        native = pt_flavor.load_model(str(tmp_path / name))
        with torch.no_grad():
            np.testing.assert_allclose(
                native(torch.from_numpy(features)).numpy(), expected, rtol=1e-6
            )
        pyfunc_model = trackline.pyfunc.load_model(str(tmp_path / name))
        np.testing.assert_allclose(pyfunc_model.predict(features), expected, rtol=1e-6)
