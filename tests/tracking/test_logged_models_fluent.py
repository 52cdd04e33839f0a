"""Logged models through the fluent API and the client (SQLite, PostgreSQL, MariaDB)."""

from __future__ import annotations

import pytest
from trackline.entities import LoggedModelInput, LoggedModelOutput, LoggedModelStatus
from trackline.exceptions import TracklineException
from trackline.store.tracking import AbstractTrackingStore


def test_initialize_finalize_and_last_logged_model(tracking):
    tracking.set_experiment("lm-fluent")
    with tracking.start_run() as run:
        model = tracking.initialize_logged_model(
            name="clf", params={"depth": 3}, tags={"team": "a"}, model_type="sklearn"
        )
        tracking.log_metric("acc", 0.75, model_id=model.model_id)
    assert model.source_run_id == run.info.run_id
    assert model.experiment_id == run.info.experiment_id
    assert model.params == {"depth": "3"} and model.status == LoggedModelStatus.PENDING
    done = tracking.finalize_logged_model(model.model_id, "READY")
    assert done.status == LoggedModelStatus.READY
    last = tracking.last_logged_model()
    assert last.model_id == model.model_id
    assert [(m.key, m.value, m.run_id) for m in last.metrics] == [("acc", 0.75, run.info.run_id)]


def test_create_external_model(tracking):
    tracking.set_experiment("lm-external")
    with tracking.start_run() as run:
        model = tracking.create_external_model(name="agent", model_type="agent")
    assert model.status == LoggedModelStatus.READY
    assert model.tags["mlflow.model.isExternal"] == "true"
    assert model.source_run_id == run.info.run_id
    assert tracking.last_logged_model().model_id == model.model_id
    files = tracking.MlflowClient().list_logged_model_artifacts(model.model_id)
    assert [f.path for f in files] == ["MLmodel"]
    import yaml

    local = tracking.artifacts.download_artifacts(f"{model.artifact_location}/MLmodel")
    with open(local, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    # No flavor: nothing loads an external model, but it can be registered.
    assert spec["model_id"] == model.model_id and spec["flavors"] == {}
    assert spec["metadata"] == {"mlflow.model.isExternal": True}


def test_tags_params_and_outputs(tracking):
    tracking.set_experiment("lm-tags")
    with tracking.start_run() as run:
        model = tracking.initialize_logged_model(name="m")
        tracking.set_logged_model_tags(model.model_id, {"stage": "dev", "n": 1})
        tracking.delete_logged_model_tag(model.model_id, "n")
        tracking.log_model_params({"lr": 0.1})  # the last logged model
        tracking.log_outputs([LoggedModelOutput(model.model_id, 4)])
    stored = tracking.get_logged_model(model.model_id)
    user_tags = {k: v for k, v in stored.tags.items() if not k.startswith("mlflow.")}
    assert user_tags == {"stage": "dev"} and stored.params == {"lr": "0.1"}
    # Context tags, as on runs (and as MLflow's initialize_logged_model adds them).
    assert stored.tags["mlflow.source.type"] == "LOCAL"
    outputs = tracking.get_run(run.info.run_id).outputs.model_outputs
    assert outputs == (LoggedModelOutput(model.model_id, 4),)


def test_active_model_receives_metrics(tracking):
    tracking.set_experiment("lm-active")
    with tracking.start_run():
        with tracking.set_active_model(name="agent") as active:
            assert tracking.get_active_model_id() == active.model_id
            tracking.log_metrics({"latency": 1.5, "cost": 2.0})
        assert tracking.get_active_model_id() is None
        tracking.log_metric("after", 1.0)
        again = tracking.set_active_model(name="agent")  # found by name, not created again
    assert again.model_id == active.model_id
    tracking.clear_active_model()
    keys = sorted(m.key for m in tracking.get_logged_model(active.model_id).metrics)
    assert keys == ["cost", "latency"]


def test_active_model_from_environment(tracking, monkeypatch):
    tracking.set_experiment("lm-env")
    model = tracking.initialize_logged_model(name="from-env")
    monkeypatch.setenv("MLFLOW_ACTIVE_MODEL_ID", model.model_id)
    from trackline.tracking import _logged_models_fluent

    monkeypatch.setattr(_logged_models_fluent._model_state, "explicitly_cleared", False)
    assert tracking.get_active_model_id() == model.model_id


def test_search_logged_models_as_list_and_dataframe(tracking):
    tracking.set_experiment("lm-search")
    with tracking.start_run():
        for i, acc in enumerate((0.2, 0.9, 0.5)):
            model = tracking.initialize_logged_model(name=f"m{i}")
            tracking.log_metric("acc", acc, model_id=model.model_id)
    found = tracking.search_logged_models(
        filter_string="metrics.acc >= 0.5",
        order_by=[{"field_name": "metrics.acc", "ascending": False}],
        output_format="list",
    )
    assert [m.name for m in found] == ["m1", "m2"]
    frame = tracking.search_logged_models(max_results=2)
    assert len(frame) == 2 and {"model_id", "name", "status", "metrics"} <= set(frame.columns)
    with pytest.raises(TracklineException) as info:
        tracking.search_logged_models(filter_string="metrics.acc > 'x'")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_model_inputs_through_log_input(tracking):
    tracking.set_experiment("lm-inputs")
    model = tracking.initialize_logged_model(name="upstream")
    with tracking.start_run() as run:
        tracking.log_input(model=LoggedModelInput(model.model_id))
    assert tracking.get_run(run.info.run_id).inputs.model_inputs == (
        LoggedModelInput(model.model_id),
    )


def test_model_artifacts_through_the_client(tracking, tmp_path):
    tracking.set_experiment("lm-artifacts")
    client = tracking.MlflowClient()
    model = tracking.initialize_logged_model(name="files")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "dir" / "sub").mkdir()
    (tmp_path / "dir" / "sub" / "w.bin").write_bytes(b"\x00\x01")
    (tmp_path / "extra.txt").write_text("x")
    client.log_model_artifacts(model.model_id, str(tmp_path / "dir"))
    client.log_model_artifact(model.model_id, str(tmp_path / "extra.txt"))
    listed = {(f.path, f.is_dir) for f in client.list_logged_model_artifacts(model.model_id)}
    assert listed == {("MLmodel", False), ("sub", True), ("extra.txt", False)}
    assert [f.path for f in client.list_logged_model_artifacts(model.model_id, "sub")] == [
        "sub/w.bin"
    ]


def test_bad_input_is_refused(tracking):
    tracking.set_experiment("lm-bad")
    client = tracking.MlflowClient()
    model = tracking.initialize_logged_model(name="b")
    cases = {
        "status": lambda: client.finalize_logged_model(model.model_id, "DONE"),
        "model id type": lambda: client.get_logged_model(123),
        "max_results": lambda: client.search_logged_models(["0"], max_results=0),
        "params without a model": lambda: _log_params_without_model(tracking),
    }
    for label, call in cases.items():
        with pytest.raises(TracklineException) as info:
            call()
        assert info.value.error_code == "INVALID_PARAMETER_VALUE", label
    with pytest.raises(TracklineException) as info:
        client.get_logged_model("m-" + "f" * 32)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_logged_model(model.model_id).status == LoggedModelStatus.PENDING


def _log_params_without_model(tracking):
    from trackline.tracking import _logged_models_fluent

    state = _logged_models_fluent._model_state
    saved = state.last_logged_model_id
    state.last_logged_model_id = None
    try:
        tracking.clear_active_model()
        tracking.log_model_params({"a": 1})
    finally:
        state.last_logged_model_id = saved


def test_store_without_logged_models_says_not_implemented():
    stubs = {name: (lambda *a, **k: None) for name in AbstractTrackingStore.__abstractmethods__}
    OldStore = type("OldStore", (AbstractTrackingStore,), stubs)
    store = OldStore()
    for call in (
        lambda: store.create_logged_model("0"),
        lambda: store.get_logged_model("m-1"),
        lambda: store.search_logged_models(["0"]),
        lambda: store.log_outputs("r", []),
        lambda: store.log_model_params("m-1", {"a": "b"}),
    ):
        with pytest.raises(TracklineException) as info:
            call()
        assert info.value.error_code == "NOT_IMPLEMENTED"
        assert "OldStore does not store logged models" in info.value.message
