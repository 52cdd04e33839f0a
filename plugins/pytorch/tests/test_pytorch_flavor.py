"""trackline.pytorch on real (tiny) torch models: pt2 and pickle round trips, state dicts,
logging to a run, bad input."""

from __future__ import annotations

import io
import pathlib
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
import trackline
import trackline.pyfunc
from trackline.exceptions import TracklineException
from trackline.models import Model, infer_signature
from trackline_pytorch import flavor as pt_flavor

pytest_plugins = ["trackline.testing.pytest_plugin"]  # the tracking_uri fixture


class Scaled(torch.nn.Module):
    """A user-defined module (pickled by reference to this test module)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)
        self.register_buffer("scale", torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * self.scale


@pytest.fixture
def net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))


@pytest.fixture
def features() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)


def expected_of(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def test_trackline_pytorch_is_the_plugin_module() -> None:
    import trackline.pytorch

    assert trackline.pytorch is pt_flavor


def test_pt2_round_trip_native_and_pyfunc(tmp_path, net, features):
    path = tmp_path / "model"
    pt_flavor.save_model(net, path, input_example=features[:4])

    meta = Model.load(path)
    assert meta.flavors["pytorch"] == {
        "model_data": "data",
        "pytorch_version": torch.__version__,
        "code": None,
    }
    pyfunc_conf = meta.flavors["python_function"]
    assert pyfunc_conf["loader_module"] == "mlflow.pytorch"
    assert pyfunc_conf["data"] == "data"
    assert pyfunc_conf["model_config"] == {"device": None}
    assert sorted(p.name for p in (path / "data").iterdir()) == ["model.pt2"]
    assert meta.signature.inputs.is_tensor_spec()
    assert (path / "requirements.txt").read_text() == "torch==" + torch.__version__.split("+")[0]

    expected = expected_of(net, features)
    native = pt_flavor.load_model(str(path))
    with torch.no_grad():
        np.testing.assert_allclose(native(torch.from_numpy(features)).numpy(), expected, rtol=1e-6)
    pyfunc_model = trackline.pyfunc.load_model(str(path))
    # The batch dimension was exported as dynamic: 6 rows work after tracing with 4.
    np.testing.assert_allclose(pyfunc_model.predict(features), expected, rtol=1e-6)
    assert isinstance(pyfunc_model.get_raw_model(), torch.nn.Module)


def test_whole_model_pickle_round_trip(tmp_path, features):
    torch.manual_seed(1)
    model = Scaled()
    frame = pd.DataFrame(features, columns=["a", "b", "c"])
    path = tmp_path / "model"
    pt_flavor.save_model(model, path, serialization_format="pickle", input_example=frame[:2])

    assert (path / "data" / "pickle_module_info.txt").read_text() == "mlflow.pytorch.pickle_module"
    conf = Model.load(path).flavors["python_function"]
    assert conf["pickle_module_name"] == "mlflow.pytorch.pickle_module"
    requirements = (path / "requirements.txt").read_text().splitlines()
    assert [r.split("==")[0] for r in requirements] == ["torch", "cloudpickle"]

    expected = expected_of(model, features)
    native = pt_flavor.load_model(str(path))
    assert isinstance(native, Scaled) and not native.training
    pyfunc_model = trackline.pyfunc.load_model(str(path))
    predicted = pyfunc_model.predict(frame)
    assert isinstance(predicted, pd.DataFrame)
    np.testing.assert_allclose(predicted.to_numpy(), expected, rtol=1e-6)


def test_pyfunc_takes_dataframe_ndarray_and_tensor(tmp_path, net, features):
    path = tmp_path / "model"
    pt_flavor.save_model(net, path, serialization_format="pickle")  # no signature
    pyfunc_model = trackline.pyfunc.load_model(str(path))
    expected = expected_of(net, features)
    np.testing.assert_allclose(pyfunc_model.predict(features), expected, rtol=1e-6)
    np.testing.assert_allclose(
        pyfunc_model.predict(torch.from_numpy(features)), expected, rtol=1e-6
    )
    np.testing.assert_allclose(
        pyfunc_model.predict(pd.DataFrame(features)).to_numpy(), expected, rtol=1e-6
    )
    with pytest.raises(TracklineException, match="DataFrame, a numpy array or a torch.Tensor"):
        pyfunc_model.predict([[1.0, 2.0, 3.0]])


def test_the_device_is_not_a_predict_param(tmp_path, net, features):
    signature = infer_signature(features, expected_of(net, features), params={"device": "cpu"})
    path = tmp_path / "model"
    pt_flavor.save_model(net, path, serialization_format="pickle", signature=signature)
    with pytest.raises(TracklineException, match="chosen when loading the model"):
        trackline.pyfunc.load_model(str(path)).predict(features, params={"device": "cpu"})


def test_code_paths_ship_the_module_a_pickled_model_needs(tmp_path, features, monkeypatch):
    source = tmp_path / "src"
    source.mkdir()
    (source / "shipped_net.py").write_text(
        "import torch\n\n"
        "class ShippedNet(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.linear = torch.nn.Linear(3, 1)\n\n"
        "    def forward(self, x):\n"
        "        return self.linear(x) + 1.0\n"
    )
    monkeypatch.syspath_prepend(str(source))
    import shipped_net

    model = shipped_net.ShippedNet()
    path = tmp_path / "model"
    pt_flavor.save_model(
        model, path, serialization_format="pickle", code_paths=[str(source / "shipped_net.py")]
    )
    assert (path / "code" / "shipped_net.py").is_file()
    # Elsewhere the module is not importable: the model brings it along.
    monkeypatch.delitem(sys.modules, "shipped_net")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(source)])
    predicted = trackline.pyfunc.load_model(str(path)).predict(features)
    np.testing.assert_allclose(predicted, expected_of(model, features), rtol=1e-6)


def test_torchscript_module_round_trip(tmp_path, net, features):
    path = tmp_path / "model"
    pt_flavor.save_model(torch.jit.script(net), path, serialization_format="pickle")
    loaded = pt_flavor.load_model(str(path))
    assert isinstance(loaded, torch.jit.ScriptModule)
    np.testing.assert_allclose(
        trackline.pyfunc.load_model(str(path)).predict(features), expected_of(net, features)
    )


def test_state_dict_save_load_and_log(tmp_path, tracking_uri, net, features):
    pt_flavor.save_state_dict(net.state_dict(), tmp_path / "sd")
    restored = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    restored.load_state_dict(pt_flavor.load_state_dict(str(tmp_path / "sd")))
    np.testing.assert_allclose(expected_of(restored, features), expected_of(net, features))

    with trackline.start_run() as run:
        pt_flavor.log_state_dict(net.state_dict(), "weights")
    loaded = pt_flavor.load_state_dict(f"runs:/{run.info.run_id}/weights")
    assert sorted(loaded) == sorted(net.state_dict())
    torch.testing.assert_close(loaded["0.weight"], net.state_dict()["0.weight"])


def test_log_model_to_a_run_on_sqlite(tracking_uri, net, features):
    with trackline.start_run() as run:
        info = pt_flavor.log_model(net, name="net", serialization_format="pickle")

    assert info.model_uri.startswith("models:/m-")
    expected = expected_of(net, features)
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/net"):
        np.testing.assert_allclose(trackline.pyfunc.load_model(uri).predict(features), expected)
        assert isinstance(pt_flavor.load_model(uri), torch.nn.Sequential)


# -- bad input -------------------------------------------------------------------------------


def test_bad_arguments_are_refused_and_write_nothing(tmp_path, net, features):
    with pytest.raises(
        TracklineException,
        match="needs input_example.*none was given.*serialization_format='pickle'",
    ):
        pt_flavor.save_model(net, tmp_path / "a")
    with pytest.raises(TracklineException, match="needs input_example.*got a DataFrame"):
        pt_flavor.save_model(net, tmp_path / "b", input_example=pd.DataFrame(features))
    with pytest.raises(TracklineException, match="Unknown serialization_format 'onnx'"):
        pt_flavor.save_model(net, tmp_path / "c", serialization_format="onnx")
    with pytest.raises(TracklineException, match="torch.nn.Module, got OrderedDict"):
        pt_flavor.save_model(net.state_dict(), tmp_path / "d", serialization_format="pickle")
    with pytest.raises(TracklineException, match="TorchScript modules cannot be saved as 'pt2'"):
        pt_flavor.save_model(torch.jit.script(net), tmp_path / "e", input_example=features)
    with pytest.raises(TracklineException, match="must be a dict"):
        pt_flavor.save_state_dict(net, tmp_path / "f")
    assert not any((tmp_path / name).exists() for name in "abcdef")


@pytest.mark.parametrize("fmt", ["pt2", "pickle"])
def test_a_corrupted_model_file_gives_a_clear_error(tmp_path, net, features, fmt):
    path = tmp_path / "model"
    pt_flavor.save_model(net, path, serialization_format=fmt, input_example=features)
    file = next((path / "data").glob("model.*"))
    file.write_bytes(b"PK\x03\x04 this is not a model archive" * 3)
    message = f"'{file.name}' cannot be read; it is corrupted"
    with pytest.raises(TracklineException, match=message):
        pt_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match=message):
        trackline.pyfunc.load_model(str(path))


class _TouchOnUnpickle:
    """Unpickling this creates a file: stands for any code a crafted pickle could run."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_a_pt2_archive_with_pickled_records_is_refused_unread(tmp_path, net, features, monkeypatch):
    path = tmp_path / "model"
    pt_flavor.save_model(net, path, input_example=features)
    archive_file = path / "data" / "model.pt2"
    marker = tmp_path / "code-ran"
    payload = io.BytesIO()
    torch.save((_TouchOnUnpickle(marker),), payload)
    # Rebuild the archive with the sample inputs replaced by the crafted pickle.
    with zipfile.ZipFile(archive_file) as original:
        records = {name: original.read(name) for name in original.namelist()}
    sample = next(name for name in records if "/sample_inputs/" in name)
    records[sample] = payload.getvalue()
    with zipfile.ZipFile(archive_file, "w") as rebuilt:
        for name, content in records.items():
            rebuilt.writestr(name, content)

    monkeypatch.delenv("TRACKLINE_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    with pytest.raises(TracklineException, match="holds pickled records.*sample_inputs"):
        pt_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match="holds pickled records"):
        trackline.pyfunc.load_model(str(path))
    assert not marker.exists()


def test_pickle_is_refused_when_pickle_deserialization_is_off(tmp_path, net, monkeypatch):
    path = tmp_path / "model"
    pt_flavor.save_model(net, path, serialization_format="pickle")
    monkeypatch.setenv("TRACKLINE_ALLOW_PICKLE_DESERIALIZATION", "false")
    with pytest.raises(TracklineException, match="runs code"):
        pt_flavor.load_model(str(path))


def test_an_unknown_pickle_module_is_not_imported(tmp_path, net):
    path = tmp_path / "model"
    pt_flavor.save_model(net, path, serialization_format="pickle")
    (path / "data" / "pickle_module_info.txt").write_text("os")
    with pytest.raises(TracklineException, match="pickled with the module 'os'"):
        pt_flavor.load_model(str(path))
    import pickle

    assert isinstance(pt_flavor.load_model(str(path), pickle_module=pickle), torch.nn.Module)


def test_a_state_dict_with_objects_is_refused_by_default(tmp_path):
    marker = tmp_path / "code-ran"
    pt_flavor.save_state_dict({"w": torch.ones(2), "hook": _TouchOnUnpickle(marker)}, tmp_path)
    with pytest.raises(TracklineException, match="beyond tensors and plain containers"):
        pt_flavor.load_state_dict(str(tmp_path))
    assert not marker.exists()


def test_missing_torch_names_the_package_to_install(tmp_path, net, features, monkeypatch):
    path = tmp_path / "model"
    pt_flavor.save_model(net, path, serialization_format="pickle")
    monkeypatch.setitem(sys.modules, "torch", None)  # as if it were not installed
    wanted = "pip install 'torch==" + torch.__version__.split("+")[0] + "'"
    with pytest.raises(TracklineException, match=wanted):
        pt_flavor.load_model(str(path))
    with pytest.raises(TracklineException, match=wanted):
        trackline.pyfunc.load_model(str(path))
