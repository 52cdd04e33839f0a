"""log_model: MLflow 3's logged-model flow on a real SQLite store and local artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import trackline.models.uri
import trackline.pyfunc
import yaml
from trackline.entities import LoggedModelStatus
from trackline.exceptions import TracklineException
from trackline.models import Model


class Plus(trackline.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input["a"] + 1


class Unpicklable(trackline.pyfunc.PythonModel):
    def __init__(self):
        import threading

        self.lock = threading.Lock()

    def predict(self, context, model_input, params=None):
        return model_input


FRAME = pd.DataFrame({"a": [1.0, 2.0]})


def _store():
    from trackline.tracking import fluent

    return fluent._client()._store


def test_log_model_creates_a_ready_logged_model_linked_to_the_run(sqlite_tracking, tmp_path):
    with sqlite_tracking.start_run() as run:
        info = trackline.pyfunc.log_model(
            name="model",
            python_model=Plus(),
            input_example=FRAME,
            params={"alpha": 0.5},
            tags={"team": "x"},
            model_type="regressor",
            step=3,
        )
    assert info.model_uri == f"models:/{info.model_id}"
    assert info.model_id.startswith("m-") and info.model_uuid == info.model_id
    assert info.run_id == run.info.run_id and info.name == "model"
    assert info.params == {"alpha": "0.5"} and info.tags["team"] == "x"
    logged = _store().get_logged_model(info.model_id)
    assert LoggedModelStatus.parse(logged.status) is LoggedModelStatus.READY
    assert logged.source_run_id == run.info.run_id and logged.model_type == "regressor"
    assert logged.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    # the files went to the logged model's own location, not into the run's artifacts
    location = logged.artifact_location.removeprefix("file://")
    mlmodel = yaml.safe_load(Path(location, "MLmodel").read_text())
    assert mlmodel["model_id"] == info.model_id and mlmodel["run_id"] == run.info.run_id
    assert mlmodel["artifact_path"] == logged.artifact_location
    outputs = sqlite_tracking.get_run(run.info.run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_id, 3)]


@pytest.mark.parametrize("form", ["models", "runs", "path"])
def test_logged_model_loads_from_every_uri_form(sqlite_tracking, form):
    with sqlite_tracking.start_run() as run:
        info = trackline.pyfunc.log_model(name="my_model", python_model=Plus())
    uri = {
        "models": info.model_uri,
        "runs": f"runs:/{run.info.run_id}/my_model",
        "path": _store().get_logged_model(info.model_id).artifact_location,
    }[form]
    model = trackline.pyfunc.load_model(uri)
    assert model.predict(FRAME).tolist() == [2.0, 3.0]
    assert model.model_id == info.model_id
    assert Model.load(uri).model_id == info.model_id


def test_log_model_without_a_run(sqlite_tracking):
    info = trackline.pyfunc.log_model(name="free", python_model=Plus())
    assert info.run_id is None
    assert trackline.pyfunc.load_model(info.model_uri).predict(FRAME).tolist() == [2.0, 3.0]


def test_failed_save_marks_the_logged_model_failed(sqlite_tracking):
    with sqlite_tracking.start_run(), pytest.raises(Exception, match="pickle"):
        trackline.pyfunc.log_model(name="broken", python_model=Unpicklable())
    found = _store().search_logged_models(["0"])
    statuses = {m.name: LoggedModelStatus.parse(m.status) for m in found}
    assert statuses["broken"] is LoggedModelStatus.UPLOAD_FAILED


def test_registered_model_name_registers_a_version(sqlite_tracking):
    if not hasattr(sqlite_tracking, "register_model"):
        pytest.skip("the model registry is not in this build")
    with sqlite_tracking.start_run():
        info = trackline.pyfunc.log_model(
            name="model", python_model=Plus(), registered_model_name="plus"
        )
    assert info.registered_model_version == 1
    tags = _store().get_logged_model(info.model_id).tags
    assert json.loads(tags["mlflow.modelVersions"]) == [{"name": "plus", "version": "1"}]
    model = trackline.pyfunc.load_model("models:/plus/1")
    assert model.predict(FRAME).tolist() == [2.0, 3.0]


def test_flavor_save_model_must_accept_the_prepared_model(sqlite_tracking):
    from trackline.models.flavor import log_model

    def save_model(obj, path):
        pass

    with pytest.raises(TracklineException, match="must accept trackline_model"):
        log_model(save_model, object(), name="x")


def test_model_log_with_a_flavor_written_for_mlflows_api(sqlite_tracking, tmp_path):
    """A third-party flavor whose save_model takes mlflow_model= logs through Model.log."""
    import types

    from trackline.models import flavor as helpers

    def save_model(obj, path, mlflow_model=None):
        with helpers.model_directory(path) as folder:
            model = helpers.new_model(mlflow_model)
            (folder / "value.txt").write_text(str(obj))
            model.add_flavor("textflavor", data="value.txt")
            helpers.finish(folder, model)

    flavor_module = types.SimpleNamespace(save_model=save_model)
    with sqlite_tracking.start_run():
        info = Model.log(name="text", flavor=flavor_module, obj=42, metadata=None)
    local = trackline.models.uri.download_model(info.model_uri)
    assert Path(local, "value.txt").read_text() == "42"
    assert Model.load(local).flavors["textflavor"] == {"data": "value.txt"}
    with pytest.raises(TracklineException, match="needs flavor="):
        Model.log(name="x", flavor=None)
