"""trackline's fluent API end to end against a ``trackline server``, through the plugin registry."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trackline
from trackline.tracking import uri as uri_module

from .conftest import Server


@pytest.fixture
def tracking(trackline_server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TRACKLINE_TRACKING_URI", trackline_server.url)
    monkeypatch.setenv("TRACKLINE_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setattr(uri_module, "_tracking_uri", None)
    yield trackline_server.url
    if trackline.active_run() is not None:
        trackline.end_run()
    uri_module.clear_store_cache()


def test_fluent_run_with_artifacts(tracking: str, tmp_path: Path) -> None:
    from trackline_rest.store import RestTrackingStore

    assert isinstance(uri_module.get_tracking_store(), RestTrackingStore)
    trackline.set_experiment("fluent-over-rest")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a b.txt").write_text("A")
    with trackline.start_run() as run:
        trackline.log_params({"x": 1})
        trackline.log_metrics({"m": 0.5}, step=3)
        trackline.log_artifacts(str(tmp_path / "d"), artifact_path="dir")
        trackline.log_dict({"k": 1}, "cfg.json")
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    client = trackline.TracklineClient()
    got = client.get_run(run.info.run_id)
    assert got.data.params == {"x": "1"} and got.data.metrics == {"m": 0.5}
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["cfg.json", "dir"]
    out = client.download_artifacts(run.info.run_id, "dir", str(tmp_path / "out"))
    assert (Path(out) / "a b.txt").read_text() == "A"
    df = trackline.search_runs(filter_string="metrics.m > 0.1 OR params.x = '2'")
    assert list(df["run_id"]) == [run.info.run_id]


def test_plugin_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, trackline_rest.plugin; "
        "print(sorted(m for m in ('requests', 'urllib3', 'trackline_rest.http') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_client_artifacts_follow_its_own_tracking_uri(
    trackline_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mlflow-artifacts:/ URIs resolve against the client's server, not the global default."""
    monkeypatch.setattr(uri_module, "_tracking_uri", None)
    monkeypatch.setenv("TRACKLINE_TRACKING_URI", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    client = trackline.TracklineClient(tracking_uri=trackline_server.url)
    run = client.create_run("0")
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    client.log_text(run.info.run_id, "hello", "notes/a.txt")
    assert [f.path for f in client.list_artifacts(run.info.run_id, "notes")] == ["notes/a.txt"]
    local = client.download_artifacts(run.info.run_id, "notes/a.txt", str(tmp_path / "out"))
    assert Path(local).read_text() == "hello"
    uri_module.clear_store_cache()
