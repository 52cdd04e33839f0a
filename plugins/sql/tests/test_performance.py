"""Guards against performance regressions on SQLite (the embedded default).

The bounds are several times looser than what the store does on a quiet machine (see the
README's numbers), so that a busy CI runner does not fail them; a regression to per-row
statements or N+1 loading would still blow through them.
"""

from __future__ import annotations

import random
import time
import uuid

import pytest
from trackline.entities import Metric, RunTag
from trackline_sql.models import latest_metrics, params, runs, tags
from trackline_sql.store import SqlTrackingStore


@pytest.fixture
def sqlite_store(tmp_path):
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'perf.db'}", str(tmp_path / "artifacts"))
    yield store
    store.close()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_log_batch_throughput_and_history(sqlite_store: SqlTrackingStore) -> None:
    run_id = sqlite_store.create_run("0", "u", 1, [], None).info.run_id
    batches = [
        [Metric("loss", random.random(), 1_000 + c, c * 1000 + i) for i in range(1000)]
        for c in range(100)
    ]
    elapsed = _timed(lambda: [sqlite_store.log_batch(run_id, metrics=b) for b in batches])
    points_per_second = 100_000 / elapsed
    assert points_per_second > 40_000, f"{points_per_second:,.0f} points/s"

    history_time = _timed(lambda: sqlite_store.get_metric_history(run_id, "loss"))
    assert len(sqlite_store.get_metric_history(run_id, "loss")) == 100_000
    assert history_time < 1.5, f"{history_time:.2f}s for 100k points"


def test_create_run_rate(sqlite_store: SqlTrackingStore) -> None:
    exp_id = sqlite_store.create_experiment("runs")
    elapsed = _timed(
        lambda: [
            sqlite_store.create_run(exp_id, "u", None, [RunTag("k", "v")], None)
            for _ in range(1000)
        ]
    )
    assert elapsed < 5, f"{elapsed:.2f}s for 1000 runs"


def _bulk_population(store: SqlTrackingStore, exp_id: str, count: int) -> None:
    """10^4 runs written straight to the tables: the test measures search, not logging."""
    run_rows, param_rows, tag_rows, metric_rows = [], [], [], []
    for i in range(count):
        run_id = uuid.uuid4().hex
        run_rows.append(
            {
                "run_uuid": run_id,
                "experiment_id": int(exp_id),
                "name": f"run-{i}",
                "user_id": "u",
                "status": "FINISHED",
                "start_time": i,
                "lifecycle_stage": "active",
                "artifact_uri": f"/a/{run_id}",
            }
        )
        param_rows.append({"run_uuid": run_id, "key": "model", "value": random.choice("abc")})
        tag_rows.append({"run_uuid": run_id, "key": "team", "value": random.choice("xyz")})
        for key in ("acc", "loss"):
            metric_rows.append(
                {
                    "run_uuid": run_id,
                    "key": key,
                    "value": random.random(),
                    "timestamp": 1,
                    "step": 0,
                    "is_nan": False,
                }
            )
    with store.engine.begin() as conn:
        conn.execute(runs.insert(), run_rows)
        conn.execute(params.insert(), param_rows)
        conn.execute(tags.insert(), tag_rows)
        conn.execute(latest_metrics.insert(), metric_rows)


def test_search_over_ten_thousand_runs(sqlite_store: SqlTrackingStore) -> None:
    exp_id = sqlite_store.create_experiment("search")
    _bulk_population(sqlite_store, exp_id, 10_000)

    def search(max_results: int):
        return sqlite_store.search_runs(
            [exp_id],
            "metrics.acc > 0.5 and params.model = 'a'",
            max_results=max_results,
            order_by=["metrics.loss DESC"],
        )

    search(10)  # compile once
    elapsed = _timed(lambda: search(100))
    assert elapsed < 0.3, f"{elapsed:.3f}s"
    page = search(100)
    assert len(page) == 100
    losses = [r.data.metrics["loss"] for r in page]
    assert losses == sorted(losses, reverse=True)
    assert all(r.data.params["model"] == "a" and r.data.metrics["acc"] > 0.5 for r in page)
    elapsed = _timed(lambda: search(1000))
    assert elapsed < 1.0, f"{elapsed:.3f}s for a page of 1000"
