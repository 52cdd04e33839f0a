"""Several processes on one database at once: nothing lost, nothing broken.

Workers are separate Python processes (not threads, not forks of pytest) started together
through a file barrier, as several training scripts or server workers would be.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import func, select
from trackline_sql.models import experiments, latest_metrics, metrics, params, tags
from trackline_sql.store import SqlTrackingStore

WORKERS = 4
BATCHES = 200

_PRELUDE = textwrap.dedent(
    """
    import os, sys, time
    from trackline.entities import Metric, Param, RunTag
    from trackline_sql.store import SqlTrackingStore

    uri, artifacts, go, worker = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    while not os.path.exists(go):  # start together
        time.sleep(0.005)
    """
)

LOG_WORKER = _PRELUDE + textwrap.dedent(
    """
    run_id, batches = sys.argv[5], int(sys.argv[6])
    store = SqlTrackingStore(uri, artifacts)
    for i in range(batches):
        store.log_batch(
            run_id,
            metrics=[
                Metric(f"own-{worker}", float(i), 1000 + i, i),
                Metric("shared", float(worker * 10_000 + i), 1000 + i, i),
                Metric("shared", float(-i), 1000 + i, i),
                Metric(f"flat-{worker}", 1.0, 5, 0),
                Metric(f"flat-{worker}", 2.0, 6, 0),
            ],
            params=[Param(f"p-{worker}-{i}", str(i))],
            tags=[RunTag("writer", str(worker)), RunTag(f"t-{worker}", str(i))],
        )
    store.close()
    print("ok")
    """
)

# Metric-only batches take the shortest write path (on PostgreSQL one self-committing
# statement): the latest values must still be right when workers race on the same keys.
METRICS_WORKER = _PRELUDE + textwrap.dedent(
    """
    run_id, batches = sys.argv[5], int(sys.argv[6])
    store = SqlTrackingStore(uri, artifacts)
    for i in range(batches):
        store.log_batch(
            run_id,
            metrics=[
                Metric("shared", float(worker * 10_000 + i), 1000 + i, i),
                Metric(f"own-{worker}", float(i), 1000 + i, i),
                Metric("tie", float(worker), 7, 3),
                Metric("nan-tie", float("nan") if worker else 5.0, 7, 3),
            ],
        )
    store.close()
    print("ok")
    """
)

INIT_WORKER = _PRELUDE + textwrap.dedent(
    """
    store = SqlTrackingStore(uri, artifacts)
    store.create_experiment(f"from-worker-{worker}")
    store.close()
    print("ok")
    """
)


def _run_workers(script: str, tmp_path: Path, args: list[str], timeout: float = 240) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, args[0], args[1], str(go), str(worker), *args[2:]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(WORKERS)
    ]
    time.sleep(0.5)  # let them import and reach the barrier
    go.touch()
    failures = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0 or out.strip() != "ok":
            failures.append(err[-3000:])
    assert not failures, "\n\n".join(failures)


def _count(store: SqlTrackingStore, table, *where) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_parallel_log_batch_loses_nothing(store: SqlTrackingStore, db_uri, artifact_root, tmp_path):
    run_id = store.create_run("0", "u", 1, [], "shared-run").info.run_id
    _run_workers(LOG_WORKER, tmp_path, [db_uri, artifact_root, run_id, str(BATCHES)])

    # A point logged twice (same key, step, timestamp, value) is stored once: "flat-<w>"
    # repeats two points per worker, the "shared" -i points are the same in every worker,
    # and worker 0's first "shared" point is 0.0 both times.
    own, flat = WORKERS * BATCHES, 2 * WORKERS
    shared = WORKERS * BATCHES + BATCHES - 1
    assert _count(store, metrics) == own + flat + shared
    assert _count(store, params) == WORKERS * BATCHES
    assert _count(store, tags) == 1 + 1 + WORKERS  # runName, writer, t-<worker>
    assert _count(store, latest_metrics) == 1 + 2 * WORKERS

    run = store.get_run(run_id)
    last = BATCHES - 1
    # The latest "shared" point: highest step, then timestamp, then value, across workers.
    assert run.data.metrics["shared"] == float((WORKERS - 1) * 10_000 + last)
    for worker in range(WORKERS):
        assert run.data.metrics[f"own-{worker}"] == float(last)
        assert run.data.metrics[f"flat-{worker}"] == 2.0
        assert run.data.tags[f"t-{worker}"] == str(last)
    assert len(store.get_metric_history(run_id, "shared")) == shared


def test_first_use_by_several_processes_at_once(empty_database_uri, artifact_root, tmp_path):
    _run_workers(INIT_WORKER, tmp_path, [empty_database_uri, artifact_root])
    store = SqlTrackingStore(empty_database_uri, artifact_root)
    try:
        assert _count(store, experiments, experiments.c.name == "Default") == 1
        assert _count(store, experiments) == 1 + WORKERS
    finally:
        store.close()


def test_parallel_metric_batches_keep_the_latest(
    store: SqlTrackingStore, db_uri, artifact_root, tmp_path
):
    run_id = store.create_run("0", "u", 1, [], "metrics-run").info.run_id
    _run_workers(METRICS_WORKER, tmp_path, [db_uri, artifact_root, run_id, str(BATCHES)])

    assert _count(store, metrics) == 2 * WORKERS * BATCHES + WORKERS + 2
    assert _count(store, latest_metrics) == 3 + WORKERS
    latest = {m.key: m for m in store.get_run(run_id).data.metric_list}
    last = BATCHES - 1
    assert latest["shared"].value == float((WORKERS - 1) * 10_000 + last)
    assert (latest["shared"].step, latest["shared"].timestamp) == (last, 1000 + last)
    assert latest["tie"].value == float(WORKERS - 1)  # same step and time: the highest value
    assert latest["nan-tie"].value == 5.0  # NaN ranks below every number
    for worker in range(WORKERS):
        assert latest[f"own-{worker}"].value == float(last)


def test_sqlite_write_lock_orders_processes(tmp_path):
    from trackline_sql.db import SqliteWriteLock

    database = str(tmp_path / "locked.db")
    probe = textwrap.dedent(
        """
        import fcntl, os, sys
        fd = os.open(sys.argv[1], os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("held")
        else:
            print("free")
        """
    )

    def other_process_sees() -> str:
        lock_file = database + "-trackline-lock"
        done = subprocess.run(
            [sys.executable, "-c", probe, lock_file], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    lock = SqliteWriteLock(database)
    with lock:
        with lock:  # re-entrant: a write inside a write
            assert other_process_sees() == "held"
        assert other_process_sees() == "held"
    assert other_process_sees() == "free"
    lock.close()
