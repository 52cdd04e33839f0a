"""Asynchronous logging against MLflow: N ``log_metric`` calls, synchronous and asynchronous,
into SQLite and into a tracking server, measured until the last value is durable.

    benchmarks/run_async_logging.sh                 # 100,000 async calls, 1,000 sync calls
    benchmarks/run_async_logging.sh --async-count 20000 --sync-count 500 --sync-server-count 200

Each case runs in a fresh interpreter (trackline from .venv, MLflow from
benchmarks/.venv-mlflow) in its own empty directory. A case starts a run, calls
``log_metric("loss", value, step=i, synchronous=…)`` in a loop, then ``end_run()`` (which
waits for queued values in both implementations), and checks that the store holds every point.
"calls/s" is N divided by the time from the first call until ``end_run`` returned, i.e. until
the last value was stored; "loop calls/s" counts only the loop (what the training code feels).

Synchronous MLflow is slow (hundreds of calls a second on SQLite, tens against its server), so
the synchronous cases use fewer calls (``--sync-count``, ``--sync-server-count``), and so does
MLflow's asynchronous path (``--mlflow-async-count``: it stores only tens to hundreds of
values a second until durable); rates are per call, so the ratios stay comparable. Targets (issue 10): trackline's asynchronous path at
≥50× MLflow's synchronous and ≥5× MLflow's asynchronous logging, on the same target.
Each implementation logs to its own server (trackline server / mlflow server, SQLite behind).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PYTHONS = {
    "trackline": REPO / ".venv" / "bin" / "python",
    "mlflow": BENCH_DIR / ".venv-mlflow" / "bin" / "python",
}

WORKER = """
import json, sys, time
impl, uri, count, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if impl == "mlflow":
    import mlflow as lib
else:
    import trackline as lib
lib.set_tracking_uri(uri)
synchronous = mode == "sync"
run = lib.start_run()
log_metric = lib.log_metric
start = time.perf_counter()
for i in range(count):
    log_metric("loss", i * 0.001, step=i, synchronous=synchronous)
looped = time.perf_counter()
lib.end_run()
durable = time.perf_counter()
stored = len(lib.MlflowClient(uri).get_metric_history(run.info.run_id, "loss"))
print(json.dumps({"loop": looped - start, "durable": durable - start, "stored": stored}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    env.update(extra)
    return env


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server at {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def start_server(impl: str, workdir: Path) -> tuple[str, subprocess.Popen]:
    port = free_port()
    db = f"sqlite:///{workdir / 'server.db'}"
    if impl == "trackline":
        argv = [str(REPO / ".venv" / "bin" / "trackline"), "server"]
    else:
        argv = [str(BENCH_DIR / ".venv-mlflow" / "bin" / "mlflow"), "server"]
    argv += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        db,
        "--artifacts-destination",
        str(workdir / "artifacts"),
    ]
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(argv, cwd=workdir, env=clean_env(), stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process)
    return url, process


def run_case(impl: str, uri: str, count: int, mode: str, workdir: Path) -> dict[str, float]:
    done = subprocess.run(
        [str(PYTHONS[impl]), "-c", WORKER, impl, uri, str(count), mode],
        cwd=workdir,
        env=clean_env(MLFLOW_HTTP_REQUEST_TIMEOUT="600"),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{impl} {mode} to {uri} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["stored"] != count:
        raise RuntimeError(f"{impl} {mode} to {uri}: stored {result['stored']} of {count} points")
    result["count"] = count
    result["rate"] = count / result["durable"]
    result["loop_rate"] = count / result["loop"]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--async-count", type=int, default=100_000)
    parser.add_argument(
        "--mlflow-async-count",
        type=int,
        default=10_000,
        help="asynchronous calls for MLflow (its durable rate is low; 100,000 take long)",
    )
    parser.add_argument("--sync-count", type=int, default=1_000)
    parser.add_argument("--sync-server-count", type=int, default=300)
    parser.add_argument("--targets", default="sqlite,server")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    for impl, python in PYTHONS.items():
        if not python.exists():
            print(
                f"missing {python} ({impl}); run benchmarks/run_async_logging.sh", file=sys.stderr
            )
            return 2

    results: dict[str, dict] = {}
    for target in args.targets.split(","):
        for impl in PYTHONS:
            with tempfile.TemporaryDirectory(prefix=f"bench-async-{impl}-") as tmp:
                workdir = Path(tmp)
                server = None
                try:
                    if target == "server":
                        uri, server = start_server(impl, workdir)
                        sync_count = args.sync_server_count
                    else:
                        uri = f"sqlite:///{workdir / 'client.db'}"
                        sync_count = args.sync_count
                    async_count = (
                        args.async_count if impl == "trackline" else args.mlflow_async_count
                    )
                    for mode, count in (("sync", sync_count), ("async", async_count)):
                        key = f"{target}/{impl}/{mode}"
                        print(f"running {key}: {count:,} calls …", file=sys.stderr, flush=True)
                        results[key] = run_case(impl, uri, count, mode, workdir)
                finally:
                    if server is not None:
                        server.terminate()
                        server.wait(30)

    print()
    print("| target | implementation | mode | calls | loop calls/s | calls/s until durable |")
    print("|---|---|---|---:|---:|---:|")
    for key, r in results.items():
        target, impl, mode = key.split("/")
        print(
            f"| {target} | {impl} | {mode} | {r['count']:,} | {r['loop_rate']:,.0f} "
            f"| {r['rate']:,.0f} |"
        )
    print()
    failed = False
    for target in args.targets.split(","):
        ours = results[f"{target}/trackline/async"]["rate"]
        for mode, goal in (("sync", 50.0), ("async", 5.0)):
            theirs = results[f"{target}/mlflow/{mode}"]["rate"]
            ratio = ours / theirs
            verdict = "PASS" if ratio >= goal else "FAIL"
            failed |= ratio < goal
            print(
                f"{target}: trackline async vs MLflow {mode}: {ratio:,.1f}× "
                f"(target ≥{goal:g}×) {verdict}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
