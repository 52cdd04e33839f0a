"""How trackline finds and uses the plugin, with the fixtures of trackline's pytest plugin."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator

import pytest
from trackline.entities import Metric, Param, RunTag
from trackline.exceptions import MissingPluginError
from trackline.plugins import TrackingStoreSpec, hookimpl
from trackline_memory.store import MemoryTrackingStore, forget, store_name

pytest_plugins = ["trackline.testing.pytest_plugin"]


@pytest.fixture
def uri() -> Iterator[str]:
    name = f"memory://test-{uuid.uuid4().hex}"
    yield name
    forget(name)


def test_entry_point_registers_the_memory_scheme(plugin_manager) -> None:
    assert plugin_manager.tracking_store_factory("memory://anything") is MemoryTrackingStore


def test_plugin_is_listed_with_its_distribution(plugin_manager) -> None:
    (info,) = [i for i in plugin_manager.plugin_infos() if i.name == "memory"]
    assert info.distribution == "trackline-memory"
    assert "tracking store: memory" in info.provides


def test_core_resolves_a_memory_uri(plugin_manager, uri: str) -> None:
    from trackline.tracking.uri import get_tracking_store

    store = get_tracking_store(uri)
    assert isinstance(store, MemoryTrackingStore)
    assert store.get_experiment("0").name == "Default"


def test_fluent_api_logs_to_a_memory_store(
    plugin_manager, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trackline
    from trackline.tracking import uri as uri_module

    monkeypatch.setattr(uri_module, "_tracking_uri", None)
    monkeypatch.setenv("TRACKLINE_TRACKING_URI", uri)
    with trackline.start_run(run_name="fluent") as run:
        trackline.log_param("lr", 0.1)
        trackline.log_metric("loss", 0.5, step=1)
    trackline.flush()
    stored = MemoryTrackingStore(uri).get_run(run.info.run_id)
    assert stored.info.run_name == "fluent"
    assert stored.info.status == "FINISHED"
    assert stored.data.params == {"lr": "0.1"}
    assert stored.data.metrics == {"loss": 0.5}


def test_register_plugin_adds_a_throwaway_store(register_plugin, plugin_manager) -> None:
    class ScratchPlugin:
        @hookimpl
        def register_tracking_stores(self, register):
            register(TrackingStoreSpec(schemes=("scratch",), factory=MemoryTrackingStore))

    register_plugin(ScratchPlugin(), name="scratch")
    assert plugin_manager.tracking_store_factory("scratch://x") is MemoryTrackingStore


def test_throwaway_store_is_gone_in_the_next_test(plugin_manager) -> None:
    with pytest.raises(MissingPluginError):
        plugin_manager.tracking_store_factory("scratch://x")


def test_tracking_uri_fixture_points_at_a_fresh_sqlite_file(tracking_uri: str, tmp_path) -> None:
    from trackline.tracking.uri import get_tracking_uri

    assert tracking_uri.startswith("sqlite:///")
    assert str(tmp_path) in tracking_uri
    assert get_tracking_uri() == tracking_uri


def test_plugin_module_does_not_import_the_store() -> None:
    # Discovery imports trackline_memory.plugin; the store waits for the first memory:// URI.
    code = "import sys, trackline_memory.plugin; print('trackline_memory.store' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "store_uri, name",
    [
        ("memory://team-a", "team-a"),
        ("memory://team-a/", "team-a"),
        ("memory://", "default"),
        ("memory:", "default"),
    ],
)
def test_store_name(store_uri: str, name: str) -> None:
    assert store_name(store_uri) == name


def test_stores_on_one_name_share_data(uri: str) -> None:
    first, second = MemoryTrackingStore(uri), MemoryTrackingStore(uri)
    exp_id = first.create_experiment("shared")
    assert second.get_experiment(exp_id).name == "shared"


def test_stores_on_different_names_are_separate(uri: str) -> None:
    other = uri + "-other"
    try:
        MemoryTrackingStore(uri).create_experiment("only-here")
        assert MemoryTrackingStore(other).get_experiment_by_name("only-here") is None
    finally:
        forget(other)


def test_forget_drops_the_data(uri: str) -> None:
    MemoryTrackingStore(uri).create_experiment("gone")
    forget(uri)
    assert MemoryTrackingStore(uri).get_experiment_by_name("gone") is None


def test_concurrent_logging_loses_nothing(uri: str) -> None:
    store = MemoryTrackingStore(uri)
    run_id = store.create_run("0", "u", 0, [], "threads").info.run_id

    def log(thread: int) -> None:
        for step in range(200):
            store.log_batch(
                run_id,
                metrics=[Metric("m", float(step), step, step)],
                tags=[RunTag(f"t{thread}", str(step))],
            )

    threads = [threading.Thread(target=log, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.get_metric_history(run_id, "m")) == 8 * 200
    assert {store.get_run(run_id).data.tags[f"t{i}"] for i in range(8)} == {"199"}


def test_garbage_collection(uri: str) -> None:
    store = MemoryTrackingStore(uri)
    exp_id = store.create_experiment("gc")
    keep = store.create_run(exp_id, "u", 0, [], "keep").info.run_id
    gone = store.create_run(exp_id, "u", 0, [], "gone").info.run_id
    store.log_param(gone, Param("p", "1"))
    store.delete_run(gone)
    assert store.get_deleted_run_ids() == [gone]
    assert store.get_deleted_run_ids(older_than_ms=10**9) == []
    store.hard_delete_run(gone)
    assert store.get_deleted_run_ids() == []
    store.hard_delete_experiment(exp_id)
    assert store.get_experiment_by_name("gc") is None
    with pytest.raises(Exception, match="not found"):
        store.get_run(keep)
