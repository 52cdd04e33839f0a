"""Logged models over REST: the conformance kit against ``trackline server``, and
trackline's client against a real MLflow server, read back with MLflow's own client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import trackline
from trackline.entities import LoggedModelOutput, LoggedModelStatus, Metric
from trackline.exceptions import TracklineException
from trackline.testing.logged_models import LoggedModelStoreContract
from trackline.tracking import uri as uri_module
from trackline_rest.store import RestTrackingStore

from .conftest import Server, reset_sqlite


@pytest.fixture(autouse=True)
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server error must fail the test at once, not after minutes of backoff.
    monkeypatch.setenv("TRACKLINE_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


class TestRestLoggedModels(LoggedModelStoreContract):
    @pytest.fixture
    def store(self, trackline_server: Server, tmp_path) -> Iterator[RestTrackingStore]:
        reset_sqlite(trackline_server.db_path)
        store = RestTrackingStore(trackline_server.url, str(tmp_path / "artifacts"))
        yield store
        store.close()


# -- against a real MLflow server ---------------------------------------------------------------


@pytest.fixture
def mlflow_tracking(mlflow_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.delenv("TRACKLINE_TRACKING_URI", raising=False)
    monkeypatch.setattr(uri_module, "_tracking_uri", None)
    yield mlflow_server.url
    if trackline.active_run() is not None:
        trackline.end_run()
    uri_module.clear_store_cache()


@pytest.mark.mlflow_server
def test_trackline_client_logs_models_mlflow_reads_them(mlflow_tracking: str, tmp_path) -> None:
    mlflow = pytest.importorskip("mlflow")
    mlflow_client = mlflow.MlflowClient(tracking_uri=mlflow_tracking)
    client = trackline.TracklineClient()
    exp_id = client.create_experiment("rest-logged-models")
    run = client.create_run(exp_id)
    run_id = run.info.run_id
    model = client.create_logged_model(
        exp_id,
        name="clf",
        source_run_id=run_id,
        tags={"team": "a"},
        params={"depth": "3"},
        model_type="sklearn",
    )
    assert model.artifact_location == (
        f"mlflow-artifacts:/{exp_id}/models/{model.model_id}/artifacts"
    )
    client.log_metric(run_id, "acc", 0.8, timestamp=1000, model_id=model.model_id)
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, 2)])
    client.set_logged_model_tags(model.model_id, {"stage": "dev"})
    client.delete_logged_model_tag(model.model_id, "team")
    client.log_model_params(model.model_id, {"lr": "0.1"})
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    client.log_model_artifact(model.model_id, str(tmp_path / "MLmodel"))
    done = client.finalize_logged_model(model.model_id, "READY")
    assert done.status == LoggedModelStatus.READY

    seen = mlflow_client.get_logged_model(model.model_id)
    assert seen.name == "clf" and seen.model_type == "sklearn"
    assert str(seen.status) == "READY"
    assert seen.tags == {"stage": "dev"}
    assert seen.params == {"depth": "3", "lr": "0.1"}
    assert [(m.key, m.value) for m in seen.metrics] == [("acc", 0.8)]
    assert [a.path for a in mlflow_client.list_logged_model_artifacts(model.model_id)] == [
        "MLmodel"
    ]
    outputs = mlflow_client.get_run(run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(model.model_id, 2)]

    found = client.search_logged_models(
        [exp_id], filter_string="metrics.acc > 0.5", order_by=[{"field_name": "name"}]
    )
    assert [m.model_id for m in found] == [model.model_id]
    ours = client.get_logged_model(model.model_id)
    assert ours.params == seen.params and ours.tags == seen.tags
    assert [m.value for m in ours.metrics] == [0.8]


@pytest.mark.mlflow_server
def test_models_logged_by_mlflow_are_read_by_trackline(mlflow_tracking: str) -> None:
    mlflow = pytest.importorskip("mlflow")
    mlflow.set_tracking_uri(mlflow_tracking)
    mlflow.set_experiment("rest-from-mlflow")
    with mlflow.start_run() as run:
        model = mlflow.initialize_logged_model(name="theirs", params={"k": "v"})
        # (Not NaN: MLflow's SQL store keeps a model's NaN metric as 0.0.)
        mlflow.log_metric("loss", 0.25, model_id=model.model_id)
        mlflow.finalize_logged_model(model.model_id, "READY")
    got = trackline.TracklineClient().get_logged_model(model.model_id)
    assert got.name == "theirs" and got.params == {"k": "v"}
    assert got.status == LoggedModelStatus.READY
    assert got.source_run_id == run.info.run_id
    (loss,) = got.metrics
    assert (loss.key, loss.value, loss.run_id) == ("loss", 0.25, run.info.run_id)


@pytest.mark.mlflow_server
def test_mlflow_server_errors_map_to_our_codes(mlflow_tracking: str) -> None:
    client = trackline.TracklineClient()
    with pytest.raises(TracklineException) as info:
        client.get_logged_model("m-" + "0" * 32)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    exp_id = client.create_experiment("rest-bad-filter")
    with pytest.raises(TracklineException) as info:
        client.search_logged_models([exp_id], filter_string="metrics.acc > 'x'")
    # MLflow 3.17's server answers a malformed logged-model filter with INTERNAL_ERROR
    # (trackline's server says INVALID_PARAMETER_VALUE); the client relays what it got.
    assert info.value.error_code in ("INTERNAL_ERROR", "INVALID_PARAMETER_VALUE")
    run_id = client.create_run(exp_id).info.run_id
    with pytest.raises(TracklineException):
        client.log_batch(run_id, metrics=[Metric("acc", 1.0, 1, 0, model_id="m-" + "1" * 32)])
