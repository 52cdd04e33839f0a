"""Load generator for one running MLflow-compatible tracking server (trackline's or MLflow's).

Usage::

    python benchmarks/server_load.py --url http://127.0.0.1:5000 [--clients 8 --duration 10 ...]

Started by ``server_compare.py`` in its own process, once per server, after the server
answered ``/health``. It only speaks MLflow's REST API (``/api/2.0/mlflow/...``), with the
standard library's ``http.client`` (keep-alive, ``TCP_NODELAY``, the request line, headers and
body in one ``send``), so it runs in any Python 3.10+ and costs the server under test nothing
but the requests themselves. Steps:

1. **Setup (untimed):** an experiment of ``--search-runs`` runs (a run name, a tag, 3 params
   and 3 metrics each, seeded values, filled by ``--clients`` concurrent clients) and a run
   whose metric ``loss`` has ``--history-points`` points.
2. **Sequential latency:** one client, ``log-metric`` round trips one after another, for
   ``--latency-seconds`` or ``--latency-requests``, whichever ends first.
3. **Load scenarios:** ``--clients`` threads, each with its own keep-alive connection, send
   requests back to back: ``--warmup`` seconds unrecorded, then ``--duration`` seconds
   recorded (requests that start and end inside the window count).
4. **Checks (untimed):** what the scenarios wrote is read back (runs created, metric points
   stored) and must match the number of successful requests; the search must return exactly
   the expected runs in the expected order; the history must have every point.

The last line on stdout is one JSON object with every figure; ``checks`` holds facts that must
be equal for both servers, ``problems`` lists every failed check or request error.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

API = "/api/2.0/mlflow"
SEED = 20240601
SEARCH_FILTER = "metrics.m1 > 0.5 and params.p1 = 'a'"
SEARCH_ORDER_BY = ["metrics.m2 DESC"]
BATCH_500_KEYS = 50  # log-batch of 500 metrics = 50 keys x 10 steps
HISTORY_KEY = "loss"
SCENARIOS = ("log_batch_10", "log_batch_500", "create_run", "search_runs", "metric_history")


class RequestFailed(Exception):
    """A request during setup or checks did not return 200."""


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects once if the server closed it."""

    def __init__(self, host: str, port: int, timeout: float = 120.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def call(self, method: str, endpoint: str, payload: dict[str, Any] | None = None) -> Any:
        """A JSON RPC that must succeed (setup and checks); GETs send the payload as a query."""
        if method == "GET":
            query = urllib.parse.urlencode(payload or {}, doseq=True)
            status, data = self.request("GET", f"{API}{endpoint}?{query}")
        else:
            status, data = self.request(method, f"{API}{endpoint}", json.dumps(payload).encode())
        if status != 200:
            raise RequestFailed(f"{method} {endpoint} -> {status}: {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def summarize(latencies: list[float], seconds: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "seconds": seconds,
        "rps": len(ordered) / seconds if seconds else 0.0,
        "p50_ms": percentile(ordered, 0.50) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000 if ordered else float("nan"),
        "max_ms": ordered[-1] * 1000 if ordered else float("nan"),
    }


@dataclass
class Worker:
    """One client thread of a scenario: its connection, its state and what it saw."""

    index: int
    conn: Connection
    state: dict[str, Any] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    ok: int = 0  # successful requests, warm-up included (for the checks)
    errors: list[str] = field(default_factory=list)


# A request factory returns (method, path, body) for the worker's n-th request.
RequestFactory = Callable[[Worker, int], tuple[str, str, bytes | None]]
# A response check returns an error message or None.
ResponseCheck = Callable[[bytes], str | None]


def run_scenario(
    host: str,
    port: int,
    clients: int,
    warmup: float,
    duration: float,
    prepare: Callable[[Worker], None],
    make_request: RequestFactory,
    check_response: ResponseCheck | None = None,
) -> tuple[dict[str, Any], list[Worker]]:
    workers = [Worker(i, Connection(host, port)) for i in range(clients)]
    for worker in workers:
        prepare(worker)
    barrier = threading.Barrier(clients + 1)
    window: dict[str, float] = {}

    def loop(worker: Worker) -> None:
        barrier.wait()
        start, end = window["start"], window["end"]
        n = 0
        while True:
            method, path, body = make_request(worker, n)
            t0 = time.perf_counter()
            if t0 >= end:
                break
            try:
                status, data = worker.conn.request(method, path, body)
            except OSError as error:  # includes http.client errors raised as OSError subclasses
                worker.errors.append(f"{type(error).__name__}: {error}")
                worker.conn.close()
                continue
            t1 = time.perf_counter()
            n += 1
            problem = None
            if status != 200:
                problem = f"HTTP {status}: {data[:200]!r}"
            elif check_response is not None:
                problem = check_response(data)
            if problem is None:
                worker.ok += 1
            else:
                worker.errors.append(problem)
            if t0 >= start and t1 <= end:
                worker.latencies.append(t1 - t0)

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    window["start"] = time.perf_counter() + warmup
    window["end"] = window["start"] + duration
    cpu_start = None
    barrier.wait()
    time.sleep(max(0.0, window["start"] - time.perf_counter()))
    cpu_start = time.process_time()
    time.sleep(max(0.0, window["end"] - time.perf_counter()))
    cpu_used = time.process_time() - cpu_start
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.conn.close()
    summary = summarize([x for w in workers for x in w.latencies], duration)
    summary["errors"] = sum(len(w.errors) for w in workers)
    summary["error_examples"] = sorted({e for w in workers for e in w.errors})[:3]
    summary["client_cpu_cores"] = cpu_used / duration  # how busy this load generator was
    return summary, workers


def metric_history_length(conn: Connection, run_id: str, key: str) -> int:
    count, token = 0, None
    while True:
        payload: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": 25000}
        if token:
            payload["page_token"] = token
        page = conn.call("GET", "/metrics/get-history", payload)
        count += len(page.get("metrics", []))
        token = page.get("next_page_token")
        if not token:
            return count


def count_runs(conn: Connection, experiment_id: str) -> int:
    count, token = 0, None
    while True:
        payload: dict[str, Any] = {"experiment_ids": [experiment_id], "max_results": 10000}
        if token:
            payload["page_token"] = token
        page = conn.call("POST", "/runs/search", payload)
        count += len(page.get("runs", []))
        token = page.get("next_page_token")
        if not token:
            return count


def create_experiment(conn: Connection, name: str) -> str:
    return str(conn.call("POST", "/experiments/create", {"name": name})["experiment_id"])


def create_run(conn: Connection, experiment_id: str, name: str) -> str:
    payload = {"experiment_id": experiment_id, "run_name": name, "start_time": now_ms()}
    return str(conn.call("POST", "/runs/create", payload)["run"]["info"]["run_id"])


def parallel(
    clients: int, host: str, port: int, count: int, job: Callable[[Connection, int], None]
):
    """Run job(conn, i) for i in range(count) on `clients` threads with their own connections."""
    lock = threading.Lock()
    next_index = iter(range(count))
    failures: list[BaseException] = []

    def loop() -> None:
        conn = Connection(host, port)
        try:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None or failures:
                    return
                job(conn, i)
        except BaseException as error:  # reported by the caller
            failures.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def search_run_values(i: int) -> tuple[float, float, float, str]:
    rng = random.Random(SEED + i)
    return rng.random(), rng.random(), rng.random(), rng.choice("abcd")


def setup_search(host: str, port: int, clients: int, size: int) -> tuple[str, list[str]]:
    """The experiment the search scenario searches, and the run names it must return, in order."""
    conn = Connection(host, port)
    experiment_id = create_experiment(conn, "bench-search")
    conn.close()
    base_time = now_ms()

    def fill(conn: Connection, i: int) -> None:
        m1, m2, m3, p1 = search_run_values(i)
        name = f"run-{i:05d}"
        run_id = str(
            conn.call(
                "POST",
                "/runs/create",
                {
                    "experiment_id": experiment_id,
                    "run_name": name,
                    "start_time": base_time + i,
                    "tags": [{"key": "group", "value": str(i % 10)}],
                },
            )["run"]["info"]["run_id"]
        )
        timestamp = base_time + i
        conn.call(
            "POST",
            "/runs/log-batch",
            {
                "run_id": run_id,
                "metrics": [
                    {"key": k, "value": v, "timestamp": timestamp, "step": 0}
                    for k, v in (("m1", m1), ("m2", m2), ("m3", m3))
                ],
                "params": [
                    {"key": "p1", "value": p1},
                    {"key": "p2", "value": str(i % 7)},
                    {"key": "p3", "value": f"value-{i}"},
                ],
            },
        )

    parallel(clients, host, port, size, fill)
    expected = [
        (values[1], f"run-{i:05d}")
        for i in range(size)
        if (values := search_run_values(i))[0] > 0.5 and values[3] == "a"
    ]
    expected.sort(reverse=True)
    return experiment_id, [name for _, name in expected]


def setup_history(host: str, port: int, points: int) -> tuple[str, float]:
    """A run whose metric `loss` has `points` points; returns its id and the sum of values."""
    conn = Connection(host, port)
    experiment_id = create_experiment(conn, "bench-history")
    run_id = create_run(conn, experiment_id, "history")
    rng = random.Random(SEED)
    values = [rng.random() for _ in range(points)]
    base_time = now_ms()
    for start in range(0, points, 1000):  # MLflow accepts at most 1,000 metrics per batch
        metrics = [
            {"key": HISTORY_KEY, "value": values[step], "timestamp": base_time + step, "step": step}
            for step in range(start, min(points, start + 1000))
        ]
        conn.call("POST", "/runs/log-batch", {"run_id": run_id, "metrics": metrics})
    conn.close()
    return run_id, sum(values)


def names_digest(names: list[str]) -> str:
    return hashlib.sha256(json.dumps(names).encode()).hexdigest()[:16]


def measure_sequential_latency(
    host: str, port: int, seconds: float, max_requests: int, problems: list[str]
) -> dict[str, Any]:
    """Single client, synchronous log-metric round trips, one after another."""
    conn = Connection(host, port)
    experiment_id = create_experiment(conn, "bench-latency")
    run_id = create_run(conn, experiment_id, "latency")
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    step = 0
    while step < max_requests and time.perf_counter() < end:
        body = json.dumps(
            {"run_id": run_id, "key": "m", "value": step * 0.5, "timestamp": now_ms(), "step": step}
        ).encode()
        t0 = time.perf_counter()
        status, data = conn.request("POST", f"{API}/runs/log-metric", body)
        latencies.append(time.perf_counter() - t0)
        if status != 200:
            problems.append(f"log_metric_sequential: HTTP {status}: {data[:200]!r}")
            break
        step += 1
    stored = metric_history_length(conn, run_id, "m")
    conn.close()
    if stored != step:
        problems.append(f"log_metric_sequential: {step} requests succeeded, {stored} points stored")
    result = summarize(latencies, sum(latencies))
    result["stored"] = stored
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="http://HOST:PORT of the server")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="recorded seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unrecorded seconds before")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--search-runs", type=int, default=2000)
    parser.add_argument("--history-points", type=int, default=10_000)
    parser.add_argument("--latency-seconds", type=float, default=5.0)
    parser.add_argument("--latency-requests", type=int, default=1000)
    args = parser.parse_args(argv)
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    problems: list[str] = []
    checks: dict[str, Any] = {}
    results: dict[str, Any] = {}

    t0 = time.perf_counter()
    search_experiment, expected_names = setup_search(host, port, args.clients, args.search_runs)
    history_run, history_sum = setup_history(host, port, args.history_points)
    setup_seconds = time.perf_counter() - t0
    print(f"setup {setup_seconds:.1f} s", file=sys.stderr, flush=True)

    # The search and the history must be right before they are timed.
    conn = Connection(host, port)
    search_body = json.dumps(
        {
            "experiment_ids": [search_experiment],
            "filter": SEARCH_FILTER,
            "order_by": SEARCH_ORDER_BY,
            "max_results": 1000,
        }
    ).encode()
    status, data = conn.request("POST", f"{API}/runs/search", search_body)
    found = [run["info"]["run_name"] for run in json.loads(data).get("runs", [])]
    checks["search_runs_found"] = len(found)
    checks["search_runs_order"] = names_digest(found)
    if found != expected_names:
        problems.append(f"search_runs: {len(found)} runs, expected {len(expected_names)} in order")
    search_size = len(data)
    history_query = urllib.parse.urlencode(
        {"run_id": history_run, "metric_key": HISTORY_KEY, "max_results": 25000}
    )
    status, data = conn.request("GET", f"{API}/metrics/get-history?{history_query}")
    history = json.loads(data).get("metrics", [])
    checks["history_points"] = len(history)
    checks["history_sum"] = round(sum(m["value"] for m in history), 6)
    if (
        len(history) != args.history_points
        or abs(sum(m["value"] for m in history) - history_sum) > 1e-6
    ):
        problems.append(f"metric_history: {len(history)} points, expected {args.history_points}")
    history_size = len(data)
    total_runs = count_runs(conn, search_experiment)
    checks["search_experiment_runs"] = total_runs
    conn.close()

    results["log_metric_sequential"] = measure_sequential_latency(
        host, port, args.latency_seconds, args.latency_requests, problems
    )
    print(
        f"sequential log-metric p50 {results['log_metric_sequential']['p50_ms']:.2f} ms",
        file=sys.stderr,
        flush=True,
    )

    conn = Connection(host, port)
    batch_experiment = create_experiment(conn, "bench-load-batch")
    create_experiment_id = create_experiment(conn, "bench-load-create")
    conn.close()

    def new_run(worker: Worker) -> None:
        worker.state["run_id"] = create_run(worker.conn, batch_experiment, f"load-{worker.index}")

    def log_batch_request(keys: int, steps: int) -> RequestFactory:
        def make(worker: Worker, n: int) -> tuple[str, str, bytes | None]:
            timestamp = now_ms()
            metrics = [
                {
                    "key": f"k{k}",
                    "value": n + k * 0.001,
                    "timestamp": timestamp,
                    "step": n * steps + s,
                }
                for s in range(steps)
                for k in range(keys)
            ]
            body = json.dumps({"run_id": worker.state["run_id"], "metrics": metrics}).encode()
            return "POST", f"{API}/runs/log-batch", body

        return make

    def create_run_request(worker: Worker, n: int) -> tuple[str, str, bytes | None]:
        body = {
            "experiment_id": create_experiment_id,
            "run_name": f"c{worker.index}-{n}",
            "start_time": now_ms(),
            "tags": [{"key": "mlflow.user", "value": "bench"}],
        }
        return "POST", f"{API}/runs/create", json.dumps(body).encode()

    def search_request(worker: Worker, n: int) -> tuple[str, str, bytes | None]:
        return "POST", f"{API}/runs/search", search_body

    def history_request(worker: Worker, n: int) -> tuple[str, str, bytes | None]:
        return "GET", f"{API}/metrics/get-history?{history_query}", None

    def same_size(expected: int) -> ResponseCheck:
        # Reads of unchanged data return the same bytes every time; the length is a cheap proxy.
        return lambda data: None if len(data) == expected else f"body of {len(data)} bytes"

    def no_setup(worker: Worker) -> None:
        return None

    plans: dict[str, tuple[Callable[[Worker], None], RequestFactory, ResponseCheck | None]] = {
        "log_batch_10": (new_run, log_batch_request(10, 1), None),
        "log_batch_500": (new_run, log_batch_request(BATCH_500_KEYS, 10), None),
        "create_run": (no_setup, create_run_request, None),
        "search_runs": (no_setup, search_request, same_size(search_size)),
        "metric_history": (no_setup, history_request, same_size(history_size)),
    }
    for name in scenarios:
        prepare, make_request, check_response = plans[name]
        summary, workers = run_scenario(
            host,
            port,
            args.clients,
            args.warmup,
            args.duration,
            prepare,
            make_request,
            check_response,
        )
        results[name] = summary
        if summary["errors"]:
            problems.append(
                f"{name}: {summary['errors']} failed requests, e.g. {summary['error_examples']}"
            )
        conn = Connection(host, port)
        if name.startswith("log_batch"):
            steps = 1 if name == "log_batch_10" else 10
            keys = 10 if name == "log_batch_10" else BATCH_500_KEYS
            for worker in workers:
                for key in ("k0", f"k{keys - 1}"):
                    stored = metric_history_length(conn, worker.state["run_id"], key)
                    if stored != worker.ok * steps:
                        problems.append(
                            f"{name}: client {worker.index} had {worker.ok} successful requests, "
                            f"{key} has {stored} points, expected {worker.ok * steps}"
                        )
            summary["metrics_stored"] = sum(w.ok for w in workers) * keys * steps
        elif name == "create_run":
            stored = count_runs(conn, create_experiment_id)
            summary["runs_stored"] = stored
            if stored != sum(w.ok for w in workers):
                problems.append(f"create_run: {sum(w.ok for w in workers)} created, {stored} found")
        conn.close()
        print(
            f"{name:<15} {summary['rps']:8.1f} req/s  p50 {summary['p50_ms']:7.2f} ms  "
            f"p99 {summary['p99_ms']:7.2f} ms  errors {summary['errors']}  "
            f"client CPU {summary['client_cpu_cores']:.2f}",
            file=sys.stderr,
            flush=True,
        )

    print(
        json.dumps(
            {
                "setup_seconds": setup_seconds,
                "clients": args.clients,
                "duration": args.duration,
                "warmup": args.warmup,
                "results": results,
                "checks": checks,
                "problems": problems,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
