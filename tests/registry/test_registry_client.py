"""The registry through the client, the fluent API, models:/ URIs, events and the CLI, on a
real SQLite store (trackline-sql)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import trackline
from click.testing import CliRunner
from trackline.cli.main import cli
from trackline.exceptions import TracklineException
from trackline.plugins.hookspecs import hookimpl
from trackline.registry.uri import parse_model_uri, split_model_uri

pytest_plugins = ["trackline.testing.pytest_plugin"]


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/fraud/3", {"name": "fraud", "version": "3"}),
        ("models:/fraud/Production", {"name": "fraud", "stage": "Production"}),
        ("models:/fraud/latest", {"name": "fraud", "latest": True}),
        ("models:/fraud@champion", {"name": "fraud", "alias": "champion"}),
        ("models:/m-0123abcd", {"model_id": "m-0123abcd"}),
    ],
)
def test_parse_model_uri_forms(uri, expected):
    parsed = parse_model_uri(uri)
    for key, value in expected.items():
        assert getattr(parsed, key) == value


@pytest.mark.parametrize(
    "uri",
    ["models:/", "models:/a/1/sub", "runs:/x/y", "models://host/a/1", "models:/a@", "models:/@x"],
)
def test_bad_model_uris(uri):
    with pytest.raises(TracklineException) as info:
        parse_model_uri(uri)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_split_model_uri_keeps_the_artifact_path():
    model, path = split_model_uri("models:/fraud/3/data/MLmodel")
    assert (model.name, model.version, path) == ("fraud", "3", "data/MLmodel")
    model, path = split_model_uri("models:/fraud@champion/MLmodel")
    assert (model.alias, path) == ("champion", "MLmodel")


def _run_with_model(tmp_path) -> str:
    with trackline.start_run() as run:
        trackline.log_text("flavors: {}\n", "model/MLmodel")
    return run.info.run_id


def test_register_model_and_resolve_every_uri_form(tracking_uri, tmp_path):
    run_id = _run_with_model(tmp_path)
    mv = trackline.register_model(f"runs:/{run_id}/model", "fraud", tags={"k": "v"})
    assert (mv.version, mv.run_id, mv.tags) == ("1", run_id, {"k": "v"})
    client = trackline.MlflowClient()
    client.set_registered_model_alias("fraud", "champion", "1")
    with pytest.warns(FutureWarning):
        client.transition_model_version_stage("fraud", "1", "Production")
    for uri in (
        "models:/fraud/1",
        "models:/fraud@champion",
        "models:/fraud/latest",
        "models:/fraud/production",
    ):
        assert trackline.artifacts.load_text(uri + "/MLmodel") == "flavors: {}\n", uri
    local = trackline.artifacts.download_artifacts("models:/fraud/1", dst_path=str(tmp_path / "d"))
    assert os.listdir(local) == ["MLmodel"]
    copy = client.copy_model_version("models:/fraud@champion", "fraud-copy")
    assert copy.source == "models:/fraud/1" and copy.run_id == run_id
    assert trackline.artifacts.load_text("models:/fraud-copy/1/MLmodel") == "flavors: {}\n"
    assert [m.name for m in trackline.search_registered_models()] == ["fraud", "fraud-copy"]
    with pytest.raises(TracklineException) as info:
        trackline.artifacts.load_text("models:/fraud/Staging/MLmodel")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_registry_uri_defaults_to_tracking_uri_and_can_be_set(tracking_uri, tmp_path, monkeypatch):
    assert trackline.MlflowClient().registry_uri == tracking_uri
    other = f"sqlite:///{tmp_path / 'registry.db'}"
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", other)
    client = trackline.MlflowClient()
    assert client.registry_uri == other
    client.create_registered_model("only-in-registry-db")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")
    with pytest.raises(TracklineException):
        trackline.MlflowClient().get_registered_model("only-in-registry-db")


class Gate:
    """A plugin that refuses promotions to Production without an 'approved' tag and records
    every change it is told about."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    @hookimpl
    def registry_change_requested(self, event):
        if (
            event.event == "model_version.stage_transitioned"
            and event.data["stage"] == "Production"
            and event.data.get("tags", {}).get("approved") != "yes"
        ):
            raise TracklineException(
                f"{event.name} v{event.version} is not approved", "PERMISSION_DENIED"
            )

    @hookimpl
    def registry_changed(self, event):
        self.seen.append((event.event, event.version))


def test_registry_events_fire_and_a_plugin_can_veto(tracking_uri, register_plugin):
    gate = register_plugin(Gate(), name="gate")
    client = trackline.MlflowClient()
    client.create_registered_model("gated")
    client.create_model_version("gated", "s3://bucket/m")
    client.set_registered_model_alias("gated", "candidate", "1")
    with pytest.warns(FutureWarning), pytest.raises(TracklineException) as info:
        client.transition_model_version_stage("gated", "1", "Production")
    assert info.value.error_code == "PERMISSION_DENIED"
    assert client.get_model_version("gated", "1").current_stage == "None"  # nothing changed
    client.set_model_version_tag("gated", "1", "approved", "yes")
    with pytest.warns(FutureWarning):
        client.transition_model_version_stage("gated", "1", "Production")
    assert client.get_model_version("gated", "1").current_stage == "Production"
    assert gate.seen == [
        ("registered_model.created", None),
        ("model_version.created", "1"),
        ("model_version_alias.created", "1"),
        ("model_version_tag.set", "1"),
        ("model_version.stage_transitioned", "1"),
    ]


def test_cli_registry_commands(tracking_uri, tmp_path):
    runner = CliRunner()
    dst = tmp_path / "dst"

    def run(*args: str):
        result = runner.invoke(cli, ["registry", *args])
        return result.exit_code, result.output

    assert run("create", "-n", "clim", "-t", "team=a")[0] == 0
    assert run("create-version", "-n", "clim", "-s", "s3://bucket/m")[0] == 0
    assert run("set-alias", "-n", "clim", "-a", "champion", "-v", "1")[0] == 0
    code, out = run("versions", "-n", "clim")
    assert code == 0 and "champion" in out and "s3://bucket/m" in out
    code, out = run("list")
    assert code == 0 and "clim" in out and "champion=v1" in out
    code, out = run("set-alias", "-n", "clim", "-a", "v1", "-v", "1")
    assert code == 1 and "reserved" in out
    with trackline.start_run() as model_run:
        trackline.log_text("w", "model/weights.txt")
    assert run("create-version", "-n", "clim", "-s", f"runs:/{model_run.info.run_id}/model")[0] == 0
    assert run("set-alias", "-n", "clim", "-a", "local", "-v", "2")[0] == 0
    code, out = run("download", "-m", "models:/clim@local", "-d", str(dst))
    assert code == 0, out
    assert (Path(out.strip()) / "weights.txt").read_text() == "w"
    assert run("delete-alias", "-n", "clim", "-a", "champion")[0] == 0
    assert run("delete-version", "-n", "clim", "-v", "1")[0] == 0
    code, out = run("versions", "-n", "clim")
    assert code == 0 and "local" in out and "\n1 " not in out
    assert run("delete", "-n", "clim")[0] == 0
    code, out = run("versions", "-n", "clim")
    assert code == 1 and "not found" in out


def test_logged_model_uri_registers_and_resolves(tracking_uri, tmp_path):
    """models:/m-<id> (MLflow 3's logged models): registered with its model_id and run, and
    every registry form downloads the logged model's files."""
    from trackline.tracking.uri import get_tracking_store

    store = get_tracking_store(tracking_uri)
    with trackline.start_run() as run:
        pass
    logged = store.create_logged_model("0", name="model", source_run_id=run.info.run_id)
    os.makedirs(logged.artifact_location, exist_ok=True)
    with open(os.path.join(logged.artifact_location, "MLmodel"), "w") as f:
        f.write("model_id: " + logged.model_id)
    expected = "model_id: " + logged.model_id
    assert trackline.artifacts.load_text(f"models:/{logged.model_id}/MLmodel") == expected
    mv = trackline.register_model(f"models:/{logged.model_id}", "from-logged")
    assert (mv.source, mv.model_id, mv.run_id) == (
        f"models:/{logged.model_id}",
        logged.model_id,
        run.info.run_id,
    )
    client = trackline.MlflowClient()
    assert client.get_model_version_download_uri("from-logged", "1") == logged.artifact_location
    assert trackline.artifacts.load_text("models:/from-logged/1/MLmodel") == expected
    found = client.search_model_versions(f"model_id = '{logged.model_id}'")
    assert [(v.name, v.version) for v in found] == [("from-logged", "1")]
    # The logged model lists the versions registered from it (MLflow 3's mlflow.modelVersions).
    trackline.register_model(f"models:/{logged.model_id}", "from-logged")
    tag = client.get_logged_model(logged.model_id).tags["mlflow.modelVersions"]
    assert json.loads(tag) == [
        {"name": "from-logged", "version": "1"},
        {"name": "from-logged", "version": "2"},
    ]
    # Without a run_id the version takes the logged model's source run (MLflow's rule).
    bare = client.create_model_version("from-logged", f"models:/{logged.model_id}")
    assert bare.version == "3"
    assert bare.run_id == run.info.run_id and bare.model_id is None
    with pytest.raises(TracklineException) as info:
        client.create_model_version("from-logged", "models:/m-0123456789abcdef0123456789abcdef")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_runs_uri_of_a_logged_model_registers_the_logged_model(tracking_uri):
    """MLflow 3's lookup: runs:/<run>/<name> with no plain files there but a logged model of
    that name from the run registers models:/m-<id>."""
    from trackline.tracking.uri import get_tracking_store

    store = get_tracking_store(tracking_uri)
    with trackline.start_run() as run:
        pass
    logged = store.create_logged_model("0", name="clf", source_run_id=run.info.run_id)
    mv = trackline.register_model(f"runs:/{run.info.run_id}/clf", "via-run")
    assert (mv.source, mv.model_id, mv.run_id) == (
        f"models:/{logged.model_id}",
        logged.model_id,
        run.info.run_id,
    )


class Broken:
    @hookimpl
    def registry_changed(self, event):
        raise ValueError("notifier down")


def test_a_failing_notification_does_not_fail_the_change(tracking_uri, register_plugin):
    register_plugin(Broken(), name="broken")
    client = trackline.MlflowClient()
    with pytest.warns(RuntimeWarning, match="notifier down"):
        client.create_registered_model("still-created")
    assert client.get_registered_model("still-created").name == "still-created"


def test_the_issue_example_log_register_alias_load(tracking_uri):
    """log_model(registered_model_name=...) registers models:/m-<id>; the alias loads it."""
    pyfunc = pytest.importorskip("trackline.pyfunc")

    class AddOne(pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [x + 1 for x in model_input]

    with trackline.start_run() as run:
        info = pyfunc.log_model(name="model", python_model=AddOne(), registered_model_name="adder")
    client = trackline.MlflowClient()
    mv = client.get_model_version("adder", str(info.registered_model_version))
    assert mv.source == info.model_uri and mv.model_id == info.model_uri.split("/")[-1]
    assert mv.run_id == run.info.run_id
    client.set_registered_model_alias("adder", "champion", mv.version)
    assert pyfunc.load_model("models:/adder@champion").predict([1, 2]) == [2, 3]
