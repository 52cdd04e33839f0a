"""Benchmark the trackline tracking server against `mlflow server` on the same databases.

For every backend (SQLite, PostgreSQL) and implementation, one after another and never two at
once, this starts the server as a subprocess on a fresh database, with its default worker
count (``--workers default,1`` adds a ``--workers 1`` variant), and measures:

- **time to ready**: from starting the process to the first 200 on ``/health``;
- **idle memory** of the whole process tree (RSS summed, and PSS, which counts shared pages
  once), after ready and before any request, and again after the load;
- **load** (``server_load.py``, a separate process): requests/s and p50/p99 latency of
  log-batch (10 and 500 metrics), create-run, search-runs and get-metric-history with
  ``--clients`` concurrent keep-alive clients, and the single-client sequential log-metric
  round trip.

The table shows both figures, the factor by which trackline is better (throughput:
trackline / MLflow; times and memory: MLflow / trackline) and PASS/FAIL against the targets.
The exit status is non-zero when a target is missed, a check fails or the checks of the two
servers differ. Usually started through ``benchmarks/run_server.sh``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from compare import child_env  # benchmarks/ is sys.path[0]

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
LOAD_PY = BENCH_DIR / "server_load.py"
DEFAULT_TRACKLINE_VENV = REPO / ".venv"
DEFAULT_MLFLOW_VENV = BENCH_DIR / ".venv-mlflow"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"
IMPLS = ("mlflow", "trackline")
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Row:
    """One line of the table: where its figure comes from, and its target."""

    key: str
    label: str
    kind: str  # "throughput", "latency" (sequential round trip), "ready", "memory"
    target: float | None = None  # minimum trackline/MLflow factor
    absolute_ms: float | None = None  # maximum trackline p50 (latency rows)


ROWS = [
    Row("ready", "time to ready (first 200 on /health)", "ready"),
    Row("rss_idle", "idle memory of the process tree, RSS (PSS)", "memory"),
    Row(
        "log_metric_sequential", "log-metric, 1 client, sequential round trip", "latency", None, 2.0
    ),
    Row("log_batch_10", "log-batch of 10 metrics", "throughput", 5.0),
    Row("log_batch_500", "log-batch of 500 metrics", "throughput", 5.0),
    Row("create_run", "create-run", "throughput"),
    Row("search_runs", "search-runs filter+order over {runs:,} runs", "throughput", 5.0),
    Row("metric_history", "get-metric-history of {points:,} points", "throughput"),
    Row("rss_after", "memory of the process tree after the load, RSS (PSS)", "memory"),
]


@dataclass
class Outcome:
    """Everything measured for one server: one implementation, backend and worker setting."""

    impl: str
    backend: str
    workers: str
    processes: int = 0
    ready_seconds: float | None = None
    rss_idle: tuple[int, int] | None = None
    rss_after: tuple[int, int] | None = None
    tree_idle: list[dict[str, Any]] | None = None  # per process: pid, command, RSS, PSS
    load: dict[str, Any] | None = None
    error: str | None = None
    wall_seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_memory(pid: int) -> tuple[int, int]:
    """RSS and PSS in bytes, summed over the process and all its descendants."""
    root = psutil.Process(pid)
    rss = pss = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            info = process.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
    return rss, pss


def tree_details(pid: int) -> list[dict[str, Any]]:
    root = psutil.Process(pid)
    details = []
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            info = process.memory_full_info()
            command = " ".join(process.cmdline())
            details.append(
                {
                    "pid": process.pid,
                    "command": command[:160],
                    "rss_mb": round(info.rss / 2**20, 1),
                    "pss_mb": round(getattr(info, "pss", info.rss) / 2**20, 1),
                }
            )
    return details


def tree_size(pid: int) -> int:
    with contextlib.suppress(psutil.Error):
        return 1 + len(psutil.Process(pid).children(recursive=True))
    return 0


def wait_until_stable(pid: int, seconds: float = 10.0) -> None:
    """Wait until the process tree stops growing (workers boot after the first one answers)."""
    deadline = time.monotonic() + seconds
    previous, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        current = tree_memory(pid)[0] // (1 << 20), tree_size(pid)
        if current != previous:
            previous, stable_since = current, time.monotonic()
        elif time.monotonic() - stable_since >= 1.0:
            return
        time.sleep(0.2)


def health_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def database(backend: str, tmp: Path, pg_uri: str) -> Iterator[str]:
    """A fresh database URI: a new SQLite file, or a new PostgreSQL database dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    import psycopg  # trackline-sql's driver, in the trackline venv

    name = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(f"{pg_uri}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{pg_uri}/{name}"
    finally:
        with psycopg.connect(f"{pg_uri}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_command(impl: str, venv: Path, uri: str, port: int, workers: str) -> list[str]:
    executable = venv / "bin" / ("mlflow" if impl == "mlflow" else "trackline")
    command = [str(executable), "server", "--backend-store-uri", uri]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    if workers != "default":
        command += ["--workers", workers]
    if impl == "mlflow":
        # uvicorn kills a worker that misses its supervisor's 5 s health ping; on a loaded
        # machine MLflow's workers (slow to import) were killed over and over and the server
        # never became ready. trackline's CLI passes the same 60 s by itself.
        command += ["--uvicorn-opts", "--timeout-worker-healthcheck 60"]
    return command


def stop(process: subprocess.Popen[bytes]) -> None:
    """End the server's process group (it was started in a new session, so that is all ours)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def run_server(
    impl: str,
    backend: str,
    workers: str,
    venv: Path,
    args: argparse.Namespace,
) -> Outcome:
    outcome = Outcome(impl, backend, workers)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-server-{impl}-{backend}-"))
    log_path = tmp / "server.log"
    try:
        with database(backend, tmp, args.pg_uri) as uri, log_path.open("wb") as log:
            port = free_port()
            t0 = time.perf_counter()
            process = subprocess.Popen(
                server_command(impl, venv, uri, port, workers),
                cwd=tmp,  # artifacts (mlartifacts/) land here
                env=child_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                while not health_ok(port):
                    if process.poll() is not None:
                        raise RuntimeError(f"server exited with {process.returncode}")
                    if time.perf_counter() - t0 > args.ready_timeout:
                        raise RuntimeError(f"not ready after {args.ready_timeout:.0f} s")
                    time.sleep(0.02)
                outcome.ready_seconds = time.perf_counter() - t0
                wait_until_stable(process.pid)
                outcome.processes = tree_size(process.pid)
                outcome.rss_idle = tree_memory(process.pid)
                outcome.tree_idle = tree_details(process.pid)
                outcome.load = run_load(port, args)
                outcome.rss_after = tree_memory(process.pid)
            finally:
                stop(process)
    except Exception as error:  # reported in the table as ERROR, the other servers still run
        tail = log_path.read_text(errors="replace")[-1500:] if log_path.exists() else ""
        outcome.error = f"{type(error).__name__}: {error}\n{tail}"
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    outcome.wall_seconds = time.perf_counter() - started
    return outcome


def run_load(port: int, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        str(LOAD_PY),
        "--url",
        f"http://127.0.0.1:{port}",
        "--clients",
        str(args.clients),
        "--duration",
        str(args.duration),
        "--warmup",
        str(args.warmup),
        "--search-runs",
        str(args.search_runs),
        "--history-points",
        str(args.history_points),
        "--latency-seconds",
        str(args.latency_seconds),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=args.load_timeout, env=child_env()
    )
    for line in completed.stderr.strip().splitlines():
        print(f"      {line}", file=sys.stderr, flush=True)
    if completed.returncode != 0:
        raise RuntimeError(f"load generator exited with {completed.returncode}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def describe_environment(venvs: dict[str, Path]) -> dict[str, Any]:
    probe = (
        "import json, sys, importlib.metadata as m\n"
        "versions = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try:\n"
        "        versions[n] = m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        versions[n] = None\n"
        "print(json.dumps({'python': sys.version.split()[0], 'packages': versions}))\n"
    )
    packages = {
        "trackline": ["trackline", "trackline-server", "trackline-sql", "uvicorn", "starlette"],
        "mlflow": ["mlflow", "uvicorn", "fastapi", "sqlalchemy", "psycopg"],
    }
    for name in ("httptools", "uvloop", "sqlalchemy", "psycopg"):
        packages["trackline"].append(name)
    for name in ("httptools", "uvloop"):
        packages["mlflow"].append(name)
    environment: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": os.uname().sysname + " " + os.uname().release,
        "machine": os.uname().machine,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    for impl, venv in venvs.items():
        output = subprocess.run(
            [str(venv / "bin" / "python"), "-c", probe, *packages[impl]],
            capture_output=True,
            text=True,
            check=True,
            env=child_env(),
        ).stdout
        environment[impl] = json.loads(output)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    )
    environment["trackline_commit"] = commit.stdout.strip() or None
    return environment


def render_environment(environment: dict[str, Any]) -> str:
    def packages(impl: str) -> str:
        found = environment[impl]["packages"]
        return ", ".join(f"{k} {v}" for k, v in found.items() if v)

    load = " / ".join(str(x) for x in environment["load_average_at_start"])
    return "\n".join(
        [
            f"date:       {environment['date']}",
            f"machine:    {environment['platform']} ({environment['machine']}), "
            f"{environment['cpu_count']} CPUs, load average at start {load}",
            f"trackline:  Python {environment['trackline']['python']}; {packages('trackline')}; "
            f"commit {environment['trackline_commit']}",
            f"MLflow:     Python {environment['mlflow']['python']}; {packages('mlflow')}",
        ]
    )


def megabytes(value: tuple[int, int] | None) -> str:
    if value is None:
        return "—"
    return f"{value[0] / 2**20:.0f} MB ({value[1] / 2**20:.0f})"


def figure(outcome: Outcome, row: Row) -> tuple[str, float | None]:
    """The cell text of one server's figure, and the number compared (None if missing)."""
    if row.kind == "ready":
        if outcome.ready_seconds is None:
            return "—", None
        return f"{outcome.ready_seconds:.2f} s", outcome.ready_seconds
    if row.kind == "memory":
        value = outcome.rss_idle if row.key == "rss_idle" else outcome.rss_after
        return megabytes(value), value[1] if value else None
    result = (outcome.load or {}).get("results", {}).get(row.key)
    if result is None:
        return "—", None
    latency = f"p50 {result['p50_ms']:.1f} / p99 {result['p99_ms']:.1f} ms"
    if row.kind == "latency":
        return latency, result["p50_ms"]
    rps = result["rps"]
    return f"{rps:,.0f}/s, {latency}" if rps >= 100 else f"{rps:.1f}/s, {latency}", rps


def build_table(
    outcomes: dict[tuple[str, str, str], Outcome], args: argparse.Namespace
) -> tuple[list[list[str]], bool]:
    table: list[list[str]] = []
    all_ok = True
    groups = sorted({(o.backend, o.workers) for o in outcomes.values()}, key=group_order)
    for backend, workers in groups:
        theirs = outcomes.get(("mlflow", backend, workers))
        ours = outcomes.get(("trackline", backend, workers))
        if theirs is None or ours is None:
            continue
        title = "SQLite" if backend == "sqlite" else "PostgreSQL"
        processes = f"MLflow {theirs.processes} processes, trackline {ours.processes}"
        workers_text = "default workers" if workers == "default" else f"--workers {workers}"
        table.append([f"**{title}, {workers_text}** ({processes})", "", "", "", "", ""])
        if (theirs.load or {}).get("problems") or (ours.load or {}).get("problems"):
            all_ok = False
        checks_differ = bool(
            theirs.load and ours.load and theirs.load["checks"] != ours.load["checks"]
        )
        for row in ROWS:
            label = "  " + row.label.format(runs=args.search_runs, points=args.history_points)
            m_text, m_value = figure(theirs, row)
            t_text, t_value = figure(ours, row)
            factor = None
            if m_value and t_value:  # a zero (e.g. every request timed out) has no ratio
                factor = t_value / m_value if row.kind == "throughput" else m_value / t_value
            if row.target is not None:
                target = f"≥ {row.target:g}×"
            elif row.absolute_ms is not None:
                target = f"p50 ≤ {row.absolute_ms:g} ms"
            else:
                target = "—"
            problems = [
                *(theirs.load or {}).get("problems", []),
                *(ours.load or {}).get("problems", []),
            ]
            related = [p for p in problems if p.startswith(f"{row.key}:")]
            if m_value is None or t_value is None:
                verdict = "ERROR"
            elif related or (row.key == "search_runs" and checks_differ):
                verdict = "CHECK FAILED"
            elif row.target is not None:
                verdict = "PASS" if factor is not None and factor >= row.target else "FAIL"
            elif row.absolute_ms is not None:
                verdict = "PASS" if t_value <= row.absolute_ms else "FAIL"
            else:
                verdict = "info"
            if verdict in ("ERROR", "CHECK FAILED", "FAIL"):
                all_ok = False
            table.append(
                [label, m_text, t_text, f"{factor:.1f}×" if factor else "—", target, verdict]
            )
    return table, all_ok


def group_order(group: tuple[str, str]) -> tuple[int, int]:
    return BACKENDS.index(group[0]), 0 if group[1] == "default" else 1


HEADER = ["workload", "MLflow", "trackline", "trackline better by", "target", "result"]


def render_text(table: list[list[str]]) -> str:
    rows = [HEADER, *[[row[0].replace("**", ""), *row[1:]] for row in table]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for index, row in enumerate(rows):
        cells = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render_markdown(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] + ["---:"] * 5) + "|"]
    lines += ["| " + " | ".join([row[0].strip(), *row[1:]]) + " |" for row in table]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trackline-venv", type=Path, default=DEFAULT_TRACKLINE_VENV)
    parser.add_argument("--mlflow-venv", type=Path, default=DEFAULT_MLFLOW_VENV)
    parser.add_argument("--backends", default=",".join(BACKENDS), help="sqlite,postgresql")
    parser.add_argument("--pg-uri", default=DEFAULT_PG, help="server URI, without a database")
    parser.add_argument(
        "--workers",
        default="default",
        help="comma-separated worker settings to run: 'default' (each server's own) and/or counts",
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument("--duration", type=float, default=10.0, help="recorded seconds per load")
    parser.add_argument("--warmup", type=float, default=2.0, help="unrecorded seconds before")
    parser.add_argument("--search-runs", type=int, default=2000)
    parser.add_argument("--history-points", type=int, default=10_000)
    parser.add_argument("--latency-seconds", type=float, default=5.0)
    parser.add_argument("--ready-timeout", type=float, default=120.0)
    parser.add_argument("--load-timeout", type=float, default=900.0)
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = parser.parse_args(argv)

    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := sorted(set(backends) - set(BACKENDS)):
        parser.error(f"unknown backends: {', '.join(unknown)}")
    venvs = {"trackline": args.trackline_venv, "mlflow": args.mlflow_venv}
    for impl, venv in venvs.items():
        executable = venv / "bin" / impl
        if not executable.exists():
            parser.error(f"no {executable} (benchmarks/run_server.sh sets it up)")
    environment = describe_environment(venvs)
    print(render_environment(environment), flush=True)
    print(flush=True)

    variants = [w.strip() for w in args.workers.split(",") if w.strip()]
    if bad := [w for w in variants if w != "default" and not w.isdigit()]:
        parser.error(f"--workers takes 'default' or counts, not {', '.join(bad)}")
    outcomes: dict[tuple[str, str, str], Outcome] = {}
    started = time.perf_counter()
    for workers in variants:
        for backend in backends:
            for impl in IMPLS:
                print(f"  {backend:<10} {impl:<9} workers={workers}", file=sys.stderr, flush=True)
                outcome = run_server(impl, backend, workers, venvs[impl], args)
                outcomes[(impl, backend, workers)] = outcome
                status = "ok" if outcome.error is None else "ERROR"
                ready = f"{outcome.ready_seconds:.2f} s" if outcome.ready_seconds else "—"
                setup = (outcome.load or {}).get("setup_seconds", 0.0)
                print(
                    f"    {status}: ready in {ready}, {outcome.processes} processes, untimed setup "
                    f"{setup:.1f} s, total {outcome.wall_seconds:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
                for problem in (outcome.load or {}).get("problems", []):
                    print(f"    CHECK FAILED: {problem}", file=sys.stderr, flush=True)
                if outcome.error:
                    print(f"    {outcome.error}".replace("\n", "\n    "), file=sys.stderr)

    environment["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    environment["total_seconds"] = round(time.perf_counter() - started, 1)
    table, all_ok = build_table(outcomes, args)
    print()
    print(render_text(table))
    print()
    print(
        f"{args.clients} concurrent keep-alive clients, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s recorded per load. 'trackline better by' = trackline/MLflow "
        "requests/s for loads; MLflow/trackline for times and memory (PSS). Load average at "
        f"end: {' / '.join(str(x) for x in environment['load_average_at_end'])}; total "
        f"{environment['total_seconds']:.0f} s."
    )
    if args.markdown:
        print()
        print(render_markdown(table))
    if args.json:
        payload = {
            "environment": environment,
            "settings": {
                k: v for k, v in vars(args).items() if isinstance(v, (int, float, str, bool))
            },
            "outcomes": [vars(o) for o in outcomes.values()],
            "table": [dict(zip(HEADER, row, strict=True)) for row in table],
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    print("\nALL TARGETS MET" if all_ok else "\nSOME TARGETS MISSED OR CHECKS FAILED")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
