"""The UI's server side: the page, static files, previewers, the down-sampled history, `ui`."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import requests
from server_test_helpers import BASE, make_config, raw_request
from starlette.testclient import TestClient
from trackline.exceptions import TracklineException
from trackline.plugins import ArtifactPreviewerSpec, hookimpl
from trackline.plugins.manager import get_plugin_manager
from trackline_server import ui_api
from trackline_server.app import build_app
from trackline_server.testing import free_port, wait_healthy

HISTORY = "/ajax-api/2.0/trackline/metrics/get-history-downsampled"
PREVIEWERS = "/ajax-api/2.0/trackline/ui/previewers"
MLFLOW = "/api/2.0/mlflow"


def _wire(value: float) -> float | str:
    """Protobuf JSON spells non-finite doubles as strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _run_with_history(client: TestClient, values: list[float], key: str = "loss") -> str:
    experiment = client.post(f"{MLFLOW}/experiments/create", json={"name": "e"}).json()
    run = client.post(
        f"{MLFLOW}/runs/create", json={"experiment_id": experiment["experiment_id"]}
    ).json()["run"]["info"]["run_id"]
    metrics = [
        {"key": key, "value": _wire(v), "timestamp": 1_000_000 + 1000 * i, "step": i}
        for i, v in enumerate(values)
    ]
    for start in range(0, len(metrics), 1000):
        batch = metrics[start : start + 1000]
        logged = client.post(f"{MLFLOW}/runs/log-batch", json={"run_id": run, "metrics": batch})
        assert logged.status_code == 200, logged.text
    return run


# -- the page and static files ----------------------------------------------------------------


def test_index_page_is_the_ui(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script type="importmap">' in page.text and "/static-files/app.js" in page.text
    assert "__STATIC_PREFIX" not in page.text


def test_index_and_assets_carry_the_static_prefix(make_client):
    client = make_client(static_prefix="/tl")
    page = client.get("/tl/")
    assert page.status_code == 200
    assert 'src="/tl/static-files/app.js"' in page.text
    assert 'window.TRACKLINE_PREFIX = "/tl"' in page.text
    assert client.get("/tl/static-files/app.js").status_code == 200
    assert client.get("/static-files/app.js").status_code == 404


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("app.js", "text/javascript"),
        ("vendor/preact.module.js", "text/javascript"),
        ("style.css", "text/css"),
        ("vendor/uPlot.min.css", "text/css"),
        ("previewers/image/image.js", "text/javascript"),
    ],
)
def test_static_files_are_served_with_their_types(client, path, media_type):
    got = client.get(f"/static-files/{path}")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith(media_type)
    assert got.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "raw",
    [
        b"/static-files/../ui_api.py",
        b"/static-files/%2e%2e/ui_api.py",
        b"/static-files/vendor/..%2f..%2fui_api.py",
        b"/static-files/previewers/image/../../ui_api.py",
        b"/static-files/previewers/nope/x.js",
        b"/static-files/previewers/image",
        b"/static-files/no-such-file.js",
        b"/static-files/vendor",
    ],
)
def test_static_files_never_leave_their_folders(client, raw):
    status, _, body = raw_request(client.app, "GET", raw)
    assert status in (400, 404), body
    assert b"import" not in body  # no Python source came back


def test_ui_answers_in_artifacts_only_mode(make_client):
    client = make_client(artifacts_only=True)
    assert client.get("/").status_code == 200
    assert client.get(HISTORY, params={"run_ids": "x", "metric_key": "m"}).status_code == 503


# -- previewers ----------------------------------------------------------------------------------


def test_builtin_previewers_come_through_the_hook(client):
    listed = client.get(PREVIEWERS).json()["previewers"]
    by_name = {p["name"]: p for p in listed}
    assert {"image", "table", "json", "html", "mlmodel", "text"} <= set(by_name)
    image = by_name["image"]
    assert image["plugin"] == "server"  # trackline-server's own entry point registered it
    assert ".png" in image["extensions"]
    assert image["module_url"] == "/static-files/previewers/image/image.js"
    for previewer in listed:  # every listed module is actually served
        assert client.get(previewer["module_url"]).status_code == 200


def _plugin_module(module_name: str, **spec) -> types.ModuleType:
    module = types.ModuleType(module_name)

    @hookimpl
    def register_artifact_previewers(register):
        register(ArtifactPreviewerSpec(**spec))

    module.register_artifact_previewers = register_artifact_previewers
    return module


def test_a_plugin_previewer_is_listed_and_its_files_served(tmp_path):
    static = tmp_path / "static"
    static.mkdir()
    (static / "audio.js").write_text("export default function render(el, a) {}\n")
    (tmp_path / "secret.txt").write_text("outside")
    plugin = _plugin_module(
        "audio_plugin",
        name="Audio",
        module="audio.js",
        static_dir=str(static),
        extensions=(".WAV",),
        mime_types=("audio/*",),
    )
    manager = get_plugin_manager()
    manager.register(plugin, name="audio-test")
    ui_api.previewers.cache_clear()
    try:
        client = TestClient(build_app(make_config(tmp_path, static_prefix="/p")), base_url=BASE)
        listed = {p["name"]: p for p in client.get("/p" + PREVIEWERS).json()["previewers"]}
        audio = listed["audio"]
        assert audio["extensions"] == [".wav"] and audio["plugin"] == "audio-test"
        assert audio["module_url"] == "/p/static-files/previewers/audio/audio.js"
        got = client.get(audio["module_url"])
        assert got.status_code == 200 and "render" in got.text
        assert client.get("/p/static-files/previewers/audio/../secret.txt").status_code == 404
    finally:
        manager.unregister(name="audio-test")
        ui_api.previewers.cache_clear()


def test_two_plugins_claiming_one_previewer_name_is_an_error():
    manager = get_plugin_manager()
    manager.register(_plugin_module("a", name="image", module="x.js"), name="dup-test")
    try:
        with pytest.raises(TracklineException, match="'image' is registered by two plugins"):
            ui_api.collect_previewers()
    finally:
        manager.unregister(name="dup-test")


def test_absolute_module_urls_are_kept():
    spec = ArtifactPreviewerSpec(name="cdn", module="https://cdn.example.com/p.js")
    assert ui_api.RegisteredPreviewer(spec, "x").module_url("/pre") == spec.module


# -- down-sampling -------------------------------------------------------------------------------


def test_downsampled_history_over_rest(client):
    values = [float(i % 100) for i in range(5000)]
    values[4321] = 9999.0
    run = _run_with_history(client, values)
    got = client.get(HISTORY, params={"run_ids": run, "metric_key": "loss", "max_points": 400})
    assert got.status_code == 200
    (series,) = got.json()["series"]
    assert series["run_id"] == run and series["total_points"] == 5000 and series["downsampled"]
    assert len(series["values"]) <= 400 and 9999.0 in series["values"]
    assert series["steps"] == sorted(series["steps"]) and series["steps"][0] == 0
    assert series["steps"][-1] == 4999 and series["first_timestamp"] == 1_000_000
    assert len(series["timestamps"]) == len(series["values"]) == len(series["steps"])


def test_downsampled_history_zoom_range_and_axes(client):
    run = _run_with_history(client, [float(i) for i in range(100)])
    zoom = {"run_ids": run, "metric_key": "loss", "x_min": 10, "x_max": 20}
    steps = client.get(HISTORY, params=zoom).json()["series"][0]["steps"]
    assert steps == list(range(9, 22))  # the range plus one point either side
    relative = {"run_ids": run, "metric_key": "loss", "x_axis": "relative", "x_min": 50}
    series = client.get(HISTORY, params=relative).json()["series"][0]
    assert series["steps"][0] == 49 and series["first_timestamp"] == 1_000_000
    wall = {"run_ids": run, "metric_key": "loss", "x_axis": "wall", "x_max": 1_002_000}
    assert client.get(HISTORY, params=wall).json()["series"][0]["steps"] == [0, 1, 2, 3]


def test_downsampled_history_writes_non_finite_values_as_strings(client):
    run = _run_with_history(client, [1.0, math.nan, 2.0])
    got = client.get(HISTORY, params={"run_ids": run, "metric_key": "loss"})
    assert got.json()["series"][0]["values"] == [1.0, "NaN", 2.0]
    assert '"NaN"' in got.text  # quoted, so the body is strict JSON
    # SQL stores clamp infinities to the largest double; other stores may keep them.
    assert [ui_api._wire_double(v) for v in (math.inf, -math.inf)] == ["Infinity", "-Infinity"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"x_axis": "epoch"}, "x_axis must be one of step, wall, relative"),
        ({"max_points": 3}, "max_points must be between 4 and 20000"),
        ({"max_points": 20001}, "max_points must be between 4 and 20000"),
        ({"x_min": 5, "x_max": 1}, "must not be greater than x_max"),
        ({"x_min": "NaN"}, "x_min must be a finite number"),
        ({"run_ids": [f"r{i}" for i in range(101)]}, "At most 100 run_ids"),
    ],
)
def test_downsampled_history_bad_input(client, params, message):
    query = {"run_ids": "abc", "metric_key": "loss", **params}
    got = client.get(HISTORY, params=query)
    assert got.status_code == 400
    assert got.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert message in got.json()["message"]


def test_downsampled_history_of_a_missing_run_is_404(client):
    got = client.get(HISTORY, params={"run_ids": "f" * 32, "metric_key": "loss"})
    assert got.status_code == 404 and got.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_the_server_asks_the_store_to_reduce(client, monkeypatch):
    from trackline.metric_downsample import DownsampledHistory

    run = _run_with_history(client, [1.0, 2.0, 3.0])
    asked = []

    def reduce(self, run_id, key, x_axis, max_points, x_min, x_max):
        asked.append((run_id, key, x_axis, max_points, x_min, x_max))
        return DownsampledHistory(5, 3, [0, 2], [5, 7], [1.0, math.inf])

    store = client.app.state.context.store
    monkeypatch.setattr(store, "get_metric_history_downsampled", reduce.__get__(store))
    query = {"run_ids": run, "metric_key": "loss", "x_axis": "wall", "max_points": 8, "x_min": 1}
    (series,) = client.get(HISTORY, params=query).json()["series"]
    assert asked == [(run, "loss", "wall", 8, 1.0, None)]
    assert series["values"] == [1.0, "Infinity"] and series["downsampled"]
    assert series["total_points"] == 3 and series["first_timestamp"] == 5


def test_openapi_documents_the_ui_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    history = paths[HISTORY]["get"]
    names = {p["name"] for p in history["parameters"]}
    assert {"run_ids", "metric_key", "x_axis", "max_points", "x_min", "x_max"} <= names
    assert "minimum and maximum" in history["summary"]
    assert PREVIEWERS in paths and "/" in paths and "/static-files/{path}" in paths


# -- trackline ui ----------------------------------------------------------------------------


def test_ui_defaults_fill_only_what_was_not_chosen(tmp_path, monkeypatch):
    from trackline_server.cli import ui_defaults

    monkeypatch.chdir(tmp_path)
    filled = ui_defaults({"workers": None, "default_artifact_root": None})
    assert filled == {"workers": 1, "default_artifact_root": str(tmp_path / "mlruns")}
    chosen = {"workers": 3, "default_artifact_root": "s3://b/x"}
    assert ui_defaults(dict(chosen)) == chosen


def test_trackline_ui_runs_on_the_embedded_default(tmp_path):
    port = free_port()
    code = "import sys; from trackline.cli.main import cli; sys.exit(cli(prog_name='trackline'))"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLINE_", "MLFLOW_"))}
    with open(tmp_path / "log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code, "ui", "--port", str(port)],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        import time

        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process, time.monotonic(), 30)
        assert "<title>trackline</title>" in requests.get(url + "/").text
        created = requests.post(url + MLFLOW + "/experiments/create", json={"name": "x"}).json()
        got = requests.get(url + MLFLOW + "/experiments/get", params=created).json()
        location = got["experiment"]["artifact_location"]
        assert (
            Path(location.removeprefix("file://")) == tmp_path / "mlruns" / created["experiment_id"]
        )
        assert (tmp_path / "trackline.db").exists()
    finally:
        process.terminate()
        process.wait(10)
    assert "Started server process" in (tmp_path / "log").read_text()
    assert (tmp_path / "log").read_text().count("Started server process") == 1  # one worker


# -- the no-build promise --------------------------------------------------------------------


def test_every_module_import_resolves_without_a_build_step():
    """Bare specifiers come from index.html's import map; relative ones are files we ship."""
    import json
    import re

    ui_dir = Path(ui_api.UI_DIR)
    index = (ui_dir / "index.html").read_text()
    import_map = json.loads(re.search(r'<script type="importmap">(.*?)</script>', index, re.S)[1])
    mapped = {
        name: ui_dir / target.replace("__STATIC_PREFIX__/static-files/", "")
        for name, target in import_map["imports"].items()
    }
    assert all(path.is_file() for path in mapped.values())
    for preload in re.findall(
        r'rel="modulepreload" href="__STATIC_PREFIX__/static-files/([^"]+)"', index
    ):
        assert (ui_dir / preload).is_file(), preload
    checked = 0
    for module in ui_dir.rglob("*.js"):
        source = module.read_text()
        for spec in re.findall(r'(?:import|export)\s[^;]*?from\s*"([^"]+)"', source):
            if spec.startswith("."):
                assert (module.parent / spec).resolve().is_file(), f"{module}: {spec}"
            else:
                assert spec in mapped, f"{module}: {spec} is not in the import map"
            checked += 1
    assert checked > 20


def test_vendored_libraries_are_recorded_with_their_licenses():
    vendor = Path(ui_api.UI_DIR) / "vendor"
    readme = (vendor / "README.md").read_text()
    for name in ("preact.module.js", "preact-hooks.module.js", "htm.module.js", "uPlot.esm.js"):
        assert f"`{name}`" in readme
        assert "sourceMappingURL" not in (vendor / name).read_text()
    for version in ("10.29.8", "3.1.1", "1.6.32"):
        assert version in readme
    assert {p.name for p in vendor.glob("LICENSE.*")} == {
        "LICENSE.preact",
        "LICENSE.htm",
        "LICENSE.uplot",
    }


# -- the cache of finished runs' reductions ---------------------------------------------------


def _history(client: TestClient, run: str) -> dict:
    got = client.get(HISTORY, params={"run_ids": run, "metric_key": "loss", "max_points": 8})
    assert got.status_code == 200, got.text
    return got.json()["series"][0]


def test_finished_runs_are_cached_until_they_change(client):
    run = _run_with_history(client, [float(i) for i in range(100)])
    ended = {"run_id": run, "status": "FINISHED", "end_time": 2_000_000}
    assert client.post(f"{MLFLOW}/runs/update", json=ended).status_code == 200
    first = _history(client, run)
    cached = [k for k in ui_api.SERIES_CACHE._entries if run in k]
    assert len(cached) == 1 and _history(client, run) == first
    # A point logged after the end changes the latest value: the entry no longer holds.
    point = {"run_id": run, "key": "loss", "value": 500.0, "timestamp": 3_000_000, "step": 100}
    assert client.post(f"{MLFLOW}/runs/log-metric", json=point).status_code == 200
    again = _history(client, run)
    assert again["total_points"] == 101 and 500.0 in again["values"]


def test_running_runs_are_never_cached(client):
    run = _run_with_history(client, [1.0, 2.0])
    assert _history(client, run)["total_points"] == 2
    assert not [k for k in ui_api.SERIES_CACHE._entries if run in k]


def test_the_cache_forgets_the_oldest_entries():
    cache = ui_api.SeriesCache(size=2)
    for i in range(3):
        cache.put((i,), "t", {"i": i})
    assert cache.get((0,), "t") is None and cache.get((2,), "t") == {"i": 2}
    assert cache.get((1,), "other token") is None
