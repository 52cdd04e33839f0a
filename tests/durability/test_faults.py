"""Real failures while training: our server stopped and restarted, PostgreSQL connections cut
by a proxy, the training process killed with SIGKILL. Then count: every value flushed before
the fault is in the store exactly once."""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import trackline
from trackline.journal import read_journal
from trackline.tracking import async_logging
from trackline.tracking.uri import clear_store_cache

server_testing = pytest.importorskip("trackline_server.testing")

DEADLINE = 60.0


def wait_until(condition, what: str) -> None:
    """Wait for a condition the system reaches by itself (not a speed assertion)."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def steps_in_store(uri: str, run_id: str, key: str = "loss") -> Counter:
    history = trackline.MlflowClient(uri).get_metric_history(run_id, key)
    return Counter(m.step for m in history)


def log_steps(steps: range) -> None:
    for step in steps:
        trackline.log_metric("loss", float(step), step=step)


def test_server_stopped_and_restarted_mid_training(durable_env: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "server"
    port = server_testing.free_port()
    server = server_testing.start_server(workdir, "--port", str(port))
    try:
        trackline.set_tracking_uri(server.url)
        trackline.enable_async_logging()
        run = trackline.start_run()
        run_id = run.info.run_id
        log_steps(range(0, 300))
        trackline.log_param("lr", 0.1)
        trackline.flush()

        server.stop()  # the tracking server goes away mid-training
        log_steps(range(300, 600))
        trackline.set_tag("phase", "during outage")
        trackline.flush()  # durable now: in the journal
        (journal,) = list(durable_env.iterdir())
        pending = read_journal(journal).pending(server.url)
        assert sum(len(e.metrics) for e in pending) == 300
        trackline.end_run()  # the end of the run is journaled too; training is not stopped

        server = server_testing.start_server(workdir, "--port", str(port))
        queue = async_logging.existing_logger(server.url)
        wait_until(lambda: queue._journal is None, "the journal to be replayed")
        assert not journal.exists()  # replayed whole, then removed

        counts = steps_in_store(server.url, run_id)
        assert sorted(counts) == list(range(600))
        assert set(counts.values()) == {1}  # exactly once
        stored = trackline.MlflowClient(server.url).get_run(run_id)
        assert stored.info.status == "FINISHED"
        assert stored.data.params == {"lr": "0.1"}
        assert stored.data.tags["phase"] == "during outage"
    finally:
        server.stop()


class DroppingProxy:
    """A TCP proxy in front of PostgreSQL that the test can cut (every connection dropped,
    nothing listening) and bring back on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = server_testing.free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [])
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        raise OSError("closed")
                    (b if source is a else a).sendall(data)
        except (OSError, ValueError):  # ValueError: cut() closed a socket (fd -1) mid-select
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not, and
            # the kernel would keep accepting on the old socket.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


@pytest.mark.postgres
def test_postgresql_connections_dropped_mid_training(durable_env: Path, tmp_path: Path) -> None:
    from trackline.testing.databases import fresh_database

    with fresh_database("postgresql", tmp_path) as direct_uri:
        proxy = DroppingProxy(("127.0.0.1", 5432))
        proxy.start()
        uri = direct_uri.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        try:
            trackline.set_tracking_uri(uri)
            trackline.enable_async_logging()
            run = trackline.start_run()
            run_id = run.info.run_id
            log_steps(range(0, 200))
            trackline.flush()

            proxy.cut()  # every open connection dies, new ones are refused
            log_steps(range(200, 400))
            trackline.flush()
            queue = async_logging.existing_logger(uri)
            assert queue._journal is not None, "the outage must have been noticed"

            proxy.start()
            wait_until(lambda: queue._journal is None, "the journal to be replayed")
            log_steps(range(400, 500))
            trackline.end_run()

            counts = steps_in_store(direct_uri, run_id)
            assert sorted(counts) == list(range(500))
            assert set(counts.values()) == {1}
            assert trackline.MlflowClient(direct_uri).get_run(run_id).info.status == "FINISHED"
        finally:
            async_logging.shutdown()
            proxy.cut()
            clear_store_cache()


TRAIN_UNTIL_KILLED = """
    import sys, trackline
    trackline.set_tracking_uri(sys.argv[1])
    trackline.enable_async_logging()
    run = trackline.start_run()
    print("RUN", run.info.run_id, flush=True)
    step = 0
    while True:
        for _ in range(int(sys.argv[2])):
            trackline.log_metric("loss", float(step), step=step)
            step += 1
        trackline.flush()
        print("FLUSHED", step, flush=True)
"""


def read_until_flushes(process, flushes: int) -> tuple[str, int]:
    run_id, flushed = "", 0
    seen = 0
    while seen < flushes:
        line = process.stdout.readline()
        assert line, process.stderr.read()
        kind, value = line.split()
        if kind == "RUN":
            run_id = value
        else:
            flushed, seen = int(value), seen + 1
    return run_id, flushed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_point_loses_nothing_flushed(
    durable_env: Path, tmp_path: Path, tools, seed: int
) -> None:
    rng = random.Random(seed)
    uri = f"sqlite:///{tmp_path / 'killed.db'}"
    process = tools.python(
        TRAIN_UNTIL_KILLED,
        uri,
        str(rng.randint(1, 300)),
        env=tools.child_env(durable_env),
        cwd=tmp_path,
    )
    try:
        run_id, flushed = read_until_flushes(process, rng.randint(1, 30))
        time.sleep(rng.random() * 0.2)  # kill anywhere: mid-batch, mid-write, mid-flush
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    counts = steps_in_store(uri, run_id)
    assert set(range(flushed)) <= set(counts), f"seed {seed}: flushed values are missing"
    assert set(counts.values()) == {1}, f"seed {seed}: a value was stored twice"
    assert sorted(counts) == list(range(len(counts)))  # stored in order, no gaps


def test_sigkill_during_an_outage_then_sync(durable_env: Path, tmp_path: Path, tools) -> None:
    workdir = tmp_path / "server"
    port = server_testing.free_port()
    server = server_testing.start_server(workdir, "--port", str(port))
    process = tools.python(
        TRAIN_UNTIL_KILLED, server.url, "100", env=tools.child_env(durable_env), cwd=tmp_path
    )
    try:
        run_id, _ = read_until_flushes(process, 3)
        server.stop()
        _, flushed = read_until_flushes(process, 5)  # these flushes went to the journal
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    try:
        server = server_testing.start_server(workdir, "--port", str(port))
        done = tools.cli(
            "sync",
            str(durable_env),
            "--to",
            server.url,
            env=tools.child_env(durable_env),
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        counts = steps_in_store(server.url, run_id)
        assert set(range(flushed)) <= set(counts)
        assert set(counts.values()) == {1}
        # Syncing again adds nothing.
        again = tools.cli(
            "sync",
            str(durable_env),
            "--to",
            server.url,
            env=tools.child_env(durable_env),
            cwd=tmp_path,
        )
        assert again.returncode == 0 and " 0 entries replayed" in again.stdout
        assert steps_in_store(server.url, run_id) == counts
    finally:
        server.stop()


LEFTOVER_REPLAYER = """
    import sys, trackline
    trackline.set_tracking_uri(sys.argv[1])
    trackline.enable_async_logging()
    with trackline.start_run():
        trackline.log_metric("other", 1.0)
"""


def test_next_process_replays_a_journal_left_by_a_killed_one(
    durable_env: Path, tmp_path: Path, tools
) -> None:
    workdir = tmp_path / "server"
    port = server_testing.free_port()
    server = server_testing.start_server(workdir, "--port", str(port))
    env = tools.child_env(durable_env)
    process = tools.python(TRAIN_UNTIL_KILLED, server.url, "50", env=env, cwd=tmp_path)
    try:
        run_id, _ = read_until_flushes(process, 2)
        server.stop()
        _, flushed = read_until_flushes(process, 4)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    try:
        server = server_testing.start_server(workdir, "--port", str(port))
        follower = tools.python(LEFTOVER_REPLAYER, server.url, env=env, cwd=tmp_path)
        _, err = follower.communicate(timeout=120)
        assert follower.returncode == 0, err
        assert "left in the journal" in err
        counts = steps_in_store(server.url, run_id)
        assert set(range(flushed)) <= set(counts)
        assert set(counts.values()) == {1}
        assert list(durable_env.iterdir()) == []
    finally:
        server.stop()


def test_frozen_server_does_not_hold_training(
    durable_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that hangs (SIGSTOP: connections accepted, never answered) instead of refusing:
    after the stall timeout values go to the journal; once it thaws, all of it lands once."""
    monkeypatch.setenv("TRACKLINE_ASYNC_LOGGING_STALL_TIMEOUT", "0.5")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")  # longer than the test's freeze
    # One worker: the server is this one process, which SIGSTOP freezes whole.
    server = server_testing.start_server(tmp_path / "server", "--workers", "1")
    try:
        trackline.set_tracking_uri(server.url)
        trackline.enable_async_logging()
        run = trackline.start_run()
        run_id = run.info.run_id
        log_steps(range(0, 200))
        trackline.flush()

        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            log_steps(range(200, 400))
            trackline.set_tag("t", "during freeze")
            trackline.flush()  # returns: the stalled batch and the rest are in the journal
            queue = async_logging.existing_logger(server.url)
            assert queue._journal is not None
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        wait_until(lambda: queue._journal is None, "the journal to be replayed")
        trackline.set_tag("t", "after")
        trackline.end_run()
        counts = steps_in_store(server.url, run_id)
        assert sorted(counts) == list(range(400))
        assert set(counts.values()) == {1}
        assert trackline.MlflowClient(server.url).get_run(run_id).data.tags["t"] == "after"
    finally:
        server.stop()
