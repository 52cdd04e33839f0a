"""The asynchronous logging queue against a real SQLite store: order, batching, bounded memory,
errors surfaced to the user, the global switches, and waiting at flush / end_run / exit."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import trackline
from trackline.entities import Metric, Param, RunTag
from trackline.exceptions import TracklineException
from trackline.tracking import async_logging
from trackline.tracking.uri import get_tracking_store


@pytest.fixture
def sqlite_uri(durable_env: Path, tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    trackline.set_tracking_uri(uri)
    return uri


def history(run_id: str, key: str) -> list[tuple[int, float]]:
    client = trackline.MlflowClient()
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key)]


def test_async_calls_return_run_operations_and_flush_stores_everything(sqlite_uri: str) -> None:
    with trackline.start_run() as run:
        operations = [
            trackline.log_metric("loss", 1 / (i + 1), step=i, synchronous=False)
            for i in range(2000)
        ]
        assert all(isinstance(o, async_logging.RunOperations) for o in operations)
        trackline.log_param("lr", 0.1, synchronous=False)
        trackline.set_tag("phase", "train", synchronous=False)
        trackline.log_metrics({"a": 1.0, "b": 2.0}, step=3, synchronous=False)
        operations[-1].wait()
        trackline.flush()
        run_id = run.info.run_id
    stored = trackline.get_run(run_id)
    assert stored.info.status == "FINISHED"
    assert history(run_id, "loss") == [(i, 1 / (i + 1)) for i in range(2000)]
    assert stored.data.params == {"lr": "0.1"}
    assert stored.data.tags["phase"] == "train"
    assert stored.data.metrics["a"] == 1.0 and stored.data.metrics["b"] == 2.0


def test_synchronous_calls_return_none(sqlite_uri: str) -> None:
    with trackline.start_run():
        assert trackline.log_metric("m", 1.0) is None
        assert trackline.log_metric("m", 1.0, synchronous=True) is None


def test_tag_overwrites_keep_their_order(sqlite_uri: str) -> None:
    with trackline.start_run() as run:
        for value in range(500):
            trackline.set_tag("last", value, synchronous=False)
    assert trackline.get_run(run.info.run_id).data.tags["last"] == "499"


def test_a_synchronous_write_lands_after_the_queued_ones(sqlite_uri: str) -> None:
    with trackline.start_run() as run:
        for value in range(300):
            trackline.set_tag("t", value, synchronous=False)
        trackline.set_tag("t", "final")  # synchronous: waits for the queue first
        # A read sees every queued write, too.
        for i in range(100):
            trackline.log_metric("x", i, step=i, synchronous=False)
        assert len(history(run.info.run_id, "x")) == 100
    assert trackline.get_run(run.info.run_id).data.tags["t"] == "final"


def test_rejected_call_is_named_and_the_rest_of_its_batch_is_stored(sqlite_uri: str) -> None:
    with trackline.start_run() as run:
        trackline.log_param("p", 1)
        trackline.log_metric("before", 1.0, synchronous=False)
        trackline.log_param("p", 2, synchronous=False)  # another value: the store says no
        trackline.log_metric("after", 2.0, synchronous=False)
        with pytest.raises(TracklineException) as caught:
            trackline.flush()
        assert "log_param('p'='2')" in caught.value.message
        assert run.info.run_id in caught.value.message
        assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
        trackline.flush()  # reported once, not again
    stored = trackline.get_run(run.info.run_id)
    assert stored.data.metrics == {"before": 1.0, "after": 2.0}
    assert stored.data.params == {"p": "1"}


def test_error_is_raised_by_the_next_logging_call(sqlite_uri: str) -> None:
    with trackline.start_run():
        trackline.log_param("p", 1)
        queue = async_logging.logger_for(sqlite_uri)
        trackline.log_param("p", 2, synchronous=False)
        with queue._progress:  # wait for the worker to have tried, without flushing
            while not queue._errors:
                queue._progress.wait(1)
        with pytest.raises(TracklineException, match="log_param"):
            trackline.log_metric("m", 1.0, synchronous=False)
        trackline.log_metric("m", 1.0, synchronous=False)  # later calls work again


def test_end_run_raises_the_error_and_keeps_the_run_active(sqlite_uri: str) -> None:
    run = trackline.start_run()
    trackline.log_param("p", 1)
    trackline.log_param("p", 2, synchronous=False)
    with pytest.raises(TracklineException, match="'p'='2'"):
        trackline.end_run()
    assert trackline.active_run() is not None
    trackline.end_run()
    assert trackline.get_run(run.info.run_id).info.status == "FINISHED"


def test_validation_errors_are_raised_at_the_call(sqlite_uri: str) -> None:
    with trackline.start_run():
        with pytest.raises(TracklineException, match="metric"):
            trackline.log_metric("m", "not a number", synchronous=False)
        with pytest.raises(TracklineException, match="Invalid"):
            trackline.log_param("../x", 1, synchronous=False)


class GatedStore:
    """A real store behind a gate the test opens: lets the test hold the worker still."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.gate = threading.Event()
        self.calls = 0

    def log_batch(self, *args: Any, **kwargs: Any) -> None:
        self.gate.wait()
        self.calls += 1
        self.store.log_batch(*args, **kwargs)

    def update_run_info(self, *args: Any) -> Any:
        self.gate.wait()
        return self.store.update_run_info(*args)


def test_memory_is_bounded_callers_wait_for_room(sqlite_uri: str) -> None:
    run_id = trackline.MlflowClient().create_run("0").info.run_id
    gated = GatedStore(get_tracking_store(sqlite_uri))
    queue = async_logging.AsyncLogger(sqlite_uri, lambda: gated, max_queue=50)
    for i in range(50):
        queue.submit(run_id, metrics=[Metric("m", float(i), 1, i)])
    blocked = threading.Thread(
        target=lambda: queue.submit(run_id, metrics=[Metric("m", 50.0, 1, 50)])
    )
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive(), "the 51st value must wait while 50 are pending"
    gated.gate.set()
    blocked.join(10)
    assert not blocked.is_alive()
    queue.close()
    assert len(history(run_id, "m")) == 51


def test_consecutive_calls_are_sent_as_batches(sqlite_uri: str) -> None:
    run_id = trackline.MlflowClient().create_run("0").info.run_id
    gated = GatedStore(get_tracking_store(sqlite_uri))
    queue = async_logging.AsyncLogger(sqlite_uri, lambda: gated)
    for i in range(3000):
        queue.submit(run_id, metrics=[Metric("m", float(i), 1, i)])
    gated.gate.set()
    queue.close()
    assert len(history(run_id, "m")) == 3000
    assert gated.calls <= 10  # 1000 values a batch, plus what the worker took first


def test_batches_split_at_run_changes_limits_and_repeated_keys() -> None:
    def op(seq: int, run: str, params=(), tags=(), metrics=()) -> Any:
        return (seq, run, list(metrics), list(params), list(tags), None)

    ops = [
        op(1, "a", metrics=[Metric("m", 1.0, 1, 0)]),
        op(2, "a", params=[Param("p", "1")]),
        op(3, "a", params=[Param("p", "1")]),  # same key again: a new batch
        op(4, "b", tags=[RunTag("t", "x")]),
        (5, "b", (), (), (), ("FINISHED", 10)),
        op(6, "b", tags=[RunTag("t", "y")]),
    ]
    groups = async_logging._group(ops)
    assert [[o[0] for o in g[1]] for g in groups] == [[1, 2], [3], [4], [5], [6]]
    assert groups[3][0].op == "update_run"
    many = [op(i, "a", metrics=[Metric("m", 1.0, 1, i)]) for i in range(2500)]
    assert [len(g[0].metrics) for g in async_logging._group(many)] == [1000, 1000, 500]


def test_switches(sqlite_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with trackline.start_run():
        assert trackline.log_metric("m", 1.0) is None
        monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "true")
        assert isinstance(trackline.log_metric("m", 1.0), async_logging.RunOperations)
        assert trackline.log_metric("m", 1.0, synchronous=True) is None
        monkeypatch.setenv("TRACKLINE_ENABLE_ASYNC_LOGGING", "false")  # ours wins
        assert trackline.log_metric("m", 1.0) is None
        trackline.enable_async_logging(True)  # the API wins over both
        assert isinstance(trackline.log_metric("m", 1.0), async_logging.RunOperations)
        trackline.enable_async_logging(False)
        assert trackline.log_metric("m", 1.0) is None
        trackline.flush_async_logging()


def test_bad_settings_are_named(sqlite_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKLINE_ASYNC_LOGGING_MAX_QUEUE", "lots")
    with pytest.raises(TracklineException, match="TRACKLINE_ASYNC_LOGGING_MAX_QUEUE='lots'"):
        async_logging.AsyncLogger(sqlite_uri, lambda: None)
    monkeypatch.setenv("TRACKLINE_ASYNC_LOGGING_MAX_QUEUE", "0")
    with pytest.raises(TracklineException, match="greater than 0"):
        async_logging.AsyncLogger(sqlite_uri, lambda: None)


EXIT_WITHOUT_FLUSH = """
    import sys, trackline
    trackline.set_tracking_uri(sys.argv[1])
    trackline.enable_async_logging()
    run = trackline.start_run()
    print(run.info.run_id, flush=True)
    for i in range(20000):
        trackline.log_metric("loss", float(i), step=i)
    trackline.log_param("done", "yes")
    # no flush, no end_run: interpreter exit must store everything and end the run
"""


def test_interpreter_exit_waits_for_the_queue(durable_env: Path, tmp_path: Path, tools) -> None:
    uri = f"sqlite:///{tmp_path / 'exit.db'}"
    process = tools.python(EXIT_WITHOUT_FLUSH, uri, env=tools.child_env(durable_env), cwd=tmp_path)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    run_id = out.split()[0]
    client = trackline.MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"done": "yes"}
    assert len(client.get_metric_history(run_id, "loss")) == 20000
