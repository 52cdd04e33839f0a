"""One benchmark workload, run in a fresh interpreter against trackline or MLflow.

Usage::

    <venv>/bin/python benchmarks/workloads.py --impl trackline|mlflow --workload NAME --dir TMPDIR

The workload imports the implementation as ``mlflow`` (``import trackline as mlflow``), points
it at ``sqlite:///<TMPDIR>/bench.db`` with artifacts under ``<TMPDIR>/artifacts``, does its
setup untimed, times only the operation under test with ``time.perf_counter`` and then checks
the result through the public API (untimed). The last line printed on stdout is one JSON
object::

    {"impl": ..., "workload": ..., "setup_seconds": ..., "measurements": [
        {"key": ..., "seconds": ..., "samples": [...], "size": ..., "checks": {...}}]}

``checks`` holds implementation-independent facts about the result (counts, sums, ordering
digests); ``compare.py`` requires them to be identical for both implementations, so neither
side can skip work. A failed check raises, and the process exits non-zero.

This file only uses the standard library and the implementation under test, so it runs
unchanged in either virtual environment.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

# Full sizes, which the targets are set for; compare.py --scale changes them and says so.
SIZES: dict[str, int] = {
    "import": 5,  # fresh interpreters; the best one counts
    "log_metric": 2_000,
    "log_batch": 100_000,
    "create_runs": 1_000,
    "search_runs": 10_000,
    "metric_history": 100_000,
}
LOG_BATCH_KEYS = 100  # log_batch spreads its metrics over this many keys
SEARCH_FILTER = "metrics.m1 > 0.5 and params.p1 = 'a'"
SEARCH_ORDER_BY = ["metrics.m2 DESC"]
SEED = 20240601


@dataclass
class Measurement:
    """One timed operation: the figure compare.py reports, and the facts it cross-checks."""

    key: str
    seconds: float
    size: int
    samples: list[float] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)


class CheckFailed(AssertionError):
    """The operation under test returned something other than what was written."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def digest(values: list[Any]) -> str:
    """A short, order-sensitive fingerprint of a list, equal across implementations."""
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()[:16]


@dataclass
class Context:
    """The implementation under test, pointed at an empty SQLite database in ``tmp``."""

    impl: str
    tmp: Path
    size: int
    repeat: int
    mlflow: ModuleType
    entities: ModuleType
    client: Any
    experiment_id: str

    @classmethod
    def open(
        cls, impl: str, tmp: Path, size: int, repeat: int, fast_writes: bool = False
    ) -> Context:
        os.chdir(tmp)
        mlflow = importlib.import_module(impl)
        if fast_writes:
            skip_sqlite_fsync()
        entities = importlib.import_module(f"{impl}.entities")
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/bench.db")
        client = mlflow.MlflowClient()
        # The first store access creates the database schema (MLflow runs its migrations
        # here); it is setup, so it happens before anything is timed.
        experiment_id = client.create_experiment(
            "bench", artifact_location=(tmp / "artifacts").as_uri()
        )
        mlflow.set_experiment(experiment_id=experiment_id)
        return cls(impl, tmp, size, repeat, mlflow, entities, client, experiment_id)

    def metric(self, key: str, value: float, timestamp: int, step: int) -> Any:
        return self.entities.Metric(key=key, value=value, timestamp=timestamp, step=step)

    def param(self, key: str, value: str) -> Any:
        return self.entities.Param(key=key, value=value)

    def tag(self, key: str, value: str) -> Any:
        return self.entities.RunTag(key=key, value=value)


def skip_sqlite_fsync() -> None:
    """Open every SQLite connection of this process with ``PRAGMA synchronous = OFF``.

    Only for workloads whose timed part only reads: it makes their (untimed) setup faster by
    not waiting for the disk on every commit, and changes nothing that a read does. Both
    stores are on SQLAlchemy, so one pool listener, registered before either store opens its
    database, covers both. It must be called before the store exists.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def synchronous_off(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.close()

    event.listen(Engine, "connect", synchronous_off)


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def timed_repeatedly(function: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    """Median of ``repeat`` calls of a read-only operation, every sample, and the last result."""
    samples: list[float] = []
    result: Any = None
    for _ in range(repeat):
        seconds, result = timed(function)
        samples.append(seconds)
    return statistics.median(samples), samples, result


# -- workloads ------------------------------------------------------------------------------


def workload_import(impl: str, tmp: Path, size: int) -> list[Measurement]:
    """Wall clock of ``python -c "import <impl>"`` in a fresh interpreter; best of ``size``.

    A bare ``python -c pass`` is measured the same way and reported as well, so the
    interpreter's own start-up can be told apart; the target compares the full wall clocks.
    """

    def best_wall_clock(code: str) -> tuple[float, list[float]]:
        samples = []
        for _ in range(size):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=tmp, check=True)
            samples.append(time.perf_counter() - start)
        return min(samples), samples

    seconds, samples = best_wall_clock(f"import {impl}")
    bare, bare_samples = best_wall_clock("pass")
    return [
        Measurement("import", seconds, size, samples, {"imported": True}),
        Measurement("interpreter", bare, size, bare_samples, {}),
    ]


def workload_log_metric(ctx: Context) -> list[Measurement]:
    """``size`` fluent ``log_metric`` calls, one key, in one run."""
    mlflow, n = ctx.mlflow, ctx.size
    run_id = mlflow.start_run().info.run_id

    def log() -> None:
        for step in range(n):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)

    seconds, _ = timed(log)
    mlflow.end_run()
    history = ctx.client.get_metric_history(run_id, "loss")
    steps = sorted(m.step for m in history)
    check(steps == list(range(n)), f"history has {len(history)} points, expected {n}")
    return [Measurement("log_metric", seconds, n, [seconds], {"points": len(history)})]


def workload_log_batch(ctx: Context) -> list[Measurement]:
    """One ``MlflowClient().log_batch`` of ``size`` Metric objects over 100 keys."""
    n, client = ctx.size, ctx.client
    run_id = client.create_run(ctx.experiment_id).info.run_id
    timestamp = int(time.time() * 1000)
    metrics = [
        ctx.metric(f"m{i % LOG_BATCH_KEYS}", float(i), timestamp, i // LOG_BATCH_KEYS)
        for i in range(n)
    ]

    seconds, _ = timed(lambda: client.log_batch(run_id, metrics=metrics))

    keys = sorted(client.get_run(run_id).data.metrics)
    check(len(keys) == min(n, LOG_BATCH_KEYS), f"run has {len(keys)} metric keys")
    points = 0
    total = 0.0
    for key in keys:
        history = client.get_metric_history(run_id, key)
        points += len(history)
        total += sum(m.value for m in history)
    check(points == n, f"{points} metric points stored, expected {n}")
    check(total == float(n * (n - 1) // 2), f"stored values sum to {total}")
    return [Measurement("log_batch", seconds, n, [seconds], {"points": points, "sum": total})]


def workload_create_runs(ctx: Context) -> list[Measurement]:
    """``size`` fluent ``start_run()`` / ``end_run()`` pairs."""
    mlflow, n = ctx.mlflow, ctx.size

    def create() -> None:
        for _ in range(n):
            mlflow.start_run()
            mlflow.end_run()

    seconds, _ = timed(create)
    runs = mlflow.search_runs(experiment_ids=[ctx.experiment_id], output_format="list")
    finished = sum(run.info.status == "FINISHED" for run in runs)
    check(len(runs) == n and finished == n, f"{len(runs)} runs ({finished} finished)")
    return [Measurement("create_runs", seconds, n, [seconds], {"runs": len(runs)})]


def workload_search_runs(ctx: Context) -> tuple[float, list[Measurement]]:
    """Filtered, ordered ``search_runs`` over ``size`` runs, and all of them as a DataFrame.

    Setup (untimed, reported separately): per run one ``client.create_run`` carrying three
    tags and a run name, and one ``client.log_batch`` with three metrics and three params.
    Both implementations get the same seeded values.
    """
    mlflow, client, n = ctx.mlflow, ctx.client, ctx.size
    rng = random.Random(SEED)
    timestamp = int(time.time() * 1000)
    expected: list[tuple[float, str]] = []  # (m2, run name) of the runs the filter matches

    setup_start = time.perf_counter()
    for i in range(n):
        m1, m2, m3 = rng.random(), rng.random(), rng.random()
        p1 = "abcd"[i % 4]
        name = f"run-{i:05d}"
        tags = {"team": f"team-{i % 7}", "stage": "dev" if i % 2 else "prod", "idx": str(i)}
        run_id = client.create_run(ctx.experiment_id, tags=tags, run_name=name).info.run_id
        client.log_batch(
            run_id,
            metrics=[
                ctx.metric("m1", m1, timestamp, 0),
                ctx.metric("m2", m2, timestamp, 0),
                ctx.metric("m3", m3, timestamp, 0),
            ],
            params=[ctx.param("p1", p1), ctx.param("p2", str(i % 10)), ctx.param("p3", name)],
        )
        if m1 > 0.5 and p1 == "a":
            expected.append((m2, name))
    setup_seconds = time.perf_counter() - setup_start
    expected_names = [name for _, name in sorted(expected, reverse=True)]

    def search() -> list[Any]:
        return mlflow.search_runs(
            experiment_ids=[ctx.experiment_id],
            filter_string=SEARCH_FILTER,
            order_by=SEARCH_ORDER_BY,
            output_format="list",
        )

    seconds, samples, runs = timed_repeatedly(search, ctx.repeat)
    names = [run.info.run_name for run in runs]
    check(len(runs) == len(expected_names), f"search found {len(runs)}, expected {len(expected)}")
    check(names == expected_names, "search returned the right runs in the wrong order")
    filtered = Measurement(
        "search_runs",
        seconds,
        n,
        samples,
        {"matches": len(runs), "order": digest(names)},
    )

    def load_all() -> Any:
        return mlflow.search_runs(experiment_ids=[ctx.experiment_id], output_format="pandas")

    seconds, samples, frame = timed_repeatedly(load_all, ctx.repeat)
    wanted = {"run_id", "metrics.m1", "metrics.m3", "params.p1", "params.p3", "tags.team"}
    check(len(frame) == n, f"DataFrame has {len(frame)} rows, expected {n}")
    check(wanted <= set(frame.columns), f"DataFrame lacks {sorted(wanted - set(frame.columns))}")
    m1_sum = round(float(frame["metrics.m1"].sum()), 6)
    as_pandas = Measurement(
        "search_runs_pandas", seconds, n, samples, {"rows": len(frame), "m1_sum": m1_sum}
    )
    return setup_seconds, [filtered, as_pandas]


def workload_metric_history(ctx: Context) -> tuple[float, list[Measurement]]:
    """``MlflowClient().get_metric_history`` of ``size`` points of one key.

    Setup (untimed, reported separately): one ``log_batch`` of all the points.
    """
    client, n = ctx.client, ctx.size
    run_id = client.create_run(ctx.experiment_id).info.run_id
    timestamp = int(time.time() * 1000)
    metrics = [ctx.metric("loss", step * 0.5, timestamp + step, step) for step in range(n)]
    setup_seconds, _ = timed(lambda: client.log_batch(run_id, metrics=metrics))

    seconds, samples, history = timed_repeatedly(
        lambda: client.get_metric_history(run_id, "loss"), ctx.repeat
    )
    steps = sorted(m.step for m in history)
    total = sum(m.value for m in history)
    check(steps == list(range(n)), f"history has {len(history)} points, expected {n}")
    check(total == n * (n - 1) / 4, f"history values sum to {total}")
    return setup_seconds, [
        Measurement("metric_history", seconds, n, samples, {"points": len(history), "sum": total})
    ]


def run_workload(impl: str, workload: str, tmp: Path, size: int, repeat: int) -> dict[str, Any]:
    setup_seconds = 0.0
    if workload == "import":
        measurements = workload_import(impl, tmp, size)
    else:
        start = time.perf_counter()
        ctx = Context.open(impl, tmp, size, repeat, fast_writes=workload == "search_runs")
        setup_seconds = time.perf_counter() - start
        if workload == "log_metric":
            measurements = workload_log_metric(ctx)
        elif workload == "log_batch":
            measurements = workload_log_batch(ctx)
        elif workload == "create_runs":
            measurements = workload_create_runs(ctx)
        elif workload == "search_runs":
            extra_setup, measurements = workload_search_runs(ctx)
            setup_seconds += extra_setup
        elif workload == "metric_history":
            extra_setup, measurements = workload_metric_history(ctx)
            setup_seconds += extra_setup
        else:
            raise ValueError(f"unknown workload {workload!r}")
    return {
        "impl": impl,
        "workload": workload,
        "setup_seconds": setup_seconds,
        "measurements": [asdict(m) for m in measurements],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=["trackline", "mlflow"], required=True)
    parser.add_argument("--workload", choices=sorted(SIZES), required=True)
    parser.add_argument("--dir", type=Path, required=True, help="an empty working directory")
    parser.add_argument("--size", type=int, help="override the workload's size")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of read-only operations")
    args = parser.parse_args(argv)
    size = args.size or SIZES[args.workload]
    result = run_workload(args.impl, args.workload, args.dir.resolve(), size, args.repeat)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
