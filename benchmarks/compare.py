"""Run every workload through trackline and through MLflow, and compare the timings.

Each workload runs in a fresh interpreter per implementation (``workloads.py``), in its own
empty temporary working directory with its own SQLite database, so neither implementation
sees the other's files, caches or imported modules. The results are printed as a table with
the MLflow / trackline ratio and PASS/FAIL against the targets; the exit status is non-zero
when a target is missed, a result check fails or the two implementations' results differ.

Usually started through ``benchmarks/run.sh``, which sets up both virtual environments.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workloads import SIZES as DEFAULT_SIZES  # benchmarks/ is sys.path[0]

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
WORKLOADS_PY = BENCH_DIR / "workloads.py"
DEFAULT_TRACKLINE_PYTHON = REPO / ".venv" / "bin" / "python"
DEFAULT_MLFLOW_PYTHON = BENCH_DIR / ".venv-mlflow" / "bin" / "python"
IMPLS = ("trackline", "mlflow")

WORKLOAD_ORDER = (
    "import",
    "log_metric",
    "log_batch",
    "create_runs",
    "search_runs",
    "metric_history",
)


@dataclass(frozen=True)
class Row:
    """One line of the results table: a measurement key and its target ratio (None: info)."""

    key: str
    label: str
    target: float | None
    show_ratio: bool = True


ROWS: dict[str, list[Row]] = {
    "import": [
        Row("import", "import time, `python -c 'import X'` (best of {n})", 10.0),
        Row(
            "interpreter",
            "  bare interpreter start-up, `python -c pass` (best of {n})",
            None,
            show_ratio=False,
        ),
    ],
    "log_metric": [Row("log_metric", "{n:,} fluent log_metric calls in one run", 2.0)],
    "log_batch": [Row("log_batch", "client.log_batch of {n:,} metrics", 5.0)],
    "create_runs": [Row("create_runs", "{n:,} start_run/end_run pairs", 2.0)],
    "search_runs": [
        Row("search_runs", "search_runs filter+order over {n:,} runs (median of {r})", 5.0),
        Row("search_runs_pandas", "  search_runs all {n:,} runs to pandas (median of {r})", None),
    ],
    "metric_history": [
        Row("metric_history", "get_metric_history of {n:,} points (median of {r})", 2.0)
    ],
}


@dataclass
class Outcome:
    """What one workload process reported, or why it failed."""

    impl: str
    workload: str
    result: dict[str, Any] | None
    error: str | None
    wall_seconds: float

    def measurement(self, key: str) -> dict[str, Any] | None:
        if self.result is None:
            return None
        for measurement in self.result["measurements"]:
            if measurement["key"] == key:
                return measurement
        return None


def child_env() -> dict[str, str]:
    """The environment of a workload process: no tracking settings leak in, no telemetry."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLFLOW_", "TRACKLINE_"))
    }
    # MLflow 3 sends usage telemetry from a background thread; there is no network here and
    # it is not part of any workload, so it is switched off (this only helps MLflow).
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    return env


def run_workload(
    python: Path,
    impl: str,
    workload: str,
    size: int,
    repeat: int,
    timeout: float,
    keep: bool,
) -> Outcome:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{impl}-{workload}-"))
    command = [
        str(python),
        str(WORKLOADS_PY),
        "--impl",
        impl,
        "--workload",
        workload,
        "--dir",
        str(tmp),
        "--size",
        str(size),
        "--repeat",
        str(repeat),
    ]
    start = datetime.datetime.now()
    try:
        completed = subprocess.run(
            command,
            cwd=tmp,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return Outcome(impl, workload, None, f"timed out after {timeout:.0f} s", timeout)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    wall = (datetime.datetime.now() - start).total_seconds()
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
        return Outcome(impl, workload, None, f"exit {completed.returncode}:\n{tail}", wall)
    lines = completed.stdout.strip().splitlines()
    try:
        return Outcome(impl, workload, json.loads(lines[-1]), None, wall)
    except (IndexError, json.JSONDecodeError):
        return Outcome(impl, workload, None, f"no JSON result:\n{completed.stdout[-2000:]}", wall)


def describe_environment(pythons: dict[str, Path]) -> dict[str, Any]:
    probe = (
        "import json, sys, importlib.metadata as m\n"
        "names = sys.argv[1:]\n"
        "versions = {}\n"
        "for n in names:\n"
        "    try:\n"
        "        versions[n] = m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        versions[n] = None\n"
        "print(json.dumps({'python': sys.version.split()[0], 'packages': versions}))\n"
    )
    packages = {
        "trackline": ["trackline", "trackline-sql", "trackline-fsspec", "sqlalchemy", "pandas"],
        "mlflow": ["mlflow", "sqlalchemy", "pandas"],
    }
    environment: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    for impl, python in pythons.items():
        output = subprocess.run(
            [str(python), "-c", probe, *packages[impl]],
            capture_output=True,
            text=True,
            check=True,
            env=child_env(),
        ).stdout
        environment[impl] = json.loads(output)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
    )
    environment["trackline_commit"] = commit.stdout.strip() or None
    return environment


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def build_table(
    outcomes: dict[tuple[str, str], Outcome],
    workloads: list[str],
    sizes: dict[str, int],
    repeat: int,
) -> tuple[list[list[str]], bool]:
    """Rows of the results table and whether every target was met and every check agreed."""
    table = []
    all_ok = True
    for workload in workloads:
        for row in ROWS[workload]:
            label = row.label.format(n=sizes[workload], r=repeat)
            ours = outcomes[("trackline", workload)]
            theirs = outcomes[("mlflow", workload)]
            t_measurement = ours.measurement(row.key)
            m_measurement = theirs.measurement(row.key)
            t_seconds = t_measurement["seconds"] if t_measurement else None
            m_seconds = m_measurement["seconds"] if m_measurement else None
            ratio = m_seconds / t_seconds if t_seconds and m_seconds is not None else None
            if not row.show_ratio:
                ratio = None
            target = f"≥ {row.target:g}×" if row.target is not None else "—"
            if ours.error or theirs.error or t_measurement is None or m_measurement is None:
                verdict = "ERROR"
            elif t_measurement["checks"] != m_measurement["checks"]:
                verdict = "MISMATCH"
            elif row.target is None:
                verdict = "info"
            elif ratio is not None and ratio >= row.target:
                verdict = "PASS"
            else:
                verdict = "FAIL"
            if verdict in ("ERROR", "MISMATCH", "FAIL"):
                all_ok = False
            table.append(
                [
                    label,
                    format_seconds(m_seconds),
                    format_seconds(t_seconds),
                    f"{ratio:.1f}×" if ratio is not None else "—",
                    target,
                    verdict,
                ]
            )
    return table, all_ok


HEADER = ["workload", "MLflow", "trackline", "MLflow/trackline", "target", "result"]


def render_text(table: list[list[str]]) -> str:
    rows = [HEADER, *table]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def render_markdown(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] + ["---:"] * 5) + "|"]
    lines += ["| " + " | ".join([row[0].strip(), *row[1:]]) + " |" for row in table]
    return "\n".join(lines)


def render_environment(environment: dict[str, Any]) -> str:
    t, m = environment["trackline"], environment["mlflow"]
    t_packages = ", ".join(f"{k} {v}" for k, v in t["packages"].items())
    m_packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    return "\n".join(
        [
            f"date:       {environment['date']}",
            f"machine:    {environment['platform']} ({environment['machine']}), "
            f"{environment['cpu_count']} CPUs, load average at start "
            f"{' / '.join(str(x) for x in environment['load_average_at_start'])}",
            f"trackline:  Python {t['python']}; {t_packages}; "
            f"commit {environment['trackline_commit']}",
            f"MLflow:     Python {m['python']}; {m_packages}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trackline-python", type=Path, default=DEFAULT_TRACKLINE_PYTHON)
    parser.add_argument("--mlflow-python", type=Path, default=DEFAULT_MLFLOW_PYTHON)
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOAD_ORDER),
        help=f"comma-separated subset of {','.join(WORKLOAD_ORDER)}",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every size (not the import repeats) by this; the table shows the sizes",
    )
    parser.add_argument("--repeat", type=int, default=3, help="repeats of read-only operations")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per process")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = parser.parse_args(argv)

    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(workloads) - set(WORKLOAD_ORDER))
    if unknown:
        parser.error(f"unknown workloads: {', '.join(unknown)}")
    sizes = {
        name: size if name == "import" else max(1, round(size * args.scale))
        for name, size in DEFAULT_SIZES.items()
    }
    pythons = {"trackline": args.trackline_python, "mlflow": args.mlflow_python}
    for impl, python in pythons.items():
        if not python.exists():
            parser.error(f"no {impl} interpreter at {python} (benchmarks/run.sh creates it)")

    environment = describe_environment(pythons)
    print(render_environment(environment), flush=True)
    if args.scale != 1.0:
        print(f"NOTE: sizes scaled by {args.scale:g}; targets are set for the full sizes.")
    print(flush=True)

    outcomes: dict[tuple[str, str], Outcome] = {}
    for workload in workloads:
        for impl in IMPLS:
            outcome = run_workload(
                pythons[impl], impl, workload, sizes[workload], args.repeat, args.timeout, args.keep
            )
            outcomes[(impl, workload)] = outcome
            setup = outcome.result["setup_seconds"] if outcome.result else 0.0
            status = "ok" if outcome.error is None else "ERROR"
            print(
                f"  {workload:<15} {impl:<10} {status:<5} process {outcome.wall_seconds:7.1f} s"
                f" (untimed setup {setup:6.1f} s)",
                file=sys.stderr,
                flush=True,
            )
            if outcome.error:
                print(f"    {outcome.error}".replace("\n", "\n    "), file=sys.stderr, flush=True)

    environment["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    table, all_ok = build_table(outcomes, workloads, sizes, args.repeat)
    print()
    print(render_text(table))
    print()
    print(
        "Ratio = MLflow time / trackline time (higher is better for trackline). Load average "
        f"at end: {' / '.join(str(x) for x in environment['load_average_at_end'])}."
    )
    if args.markdown:
        print()
        print(render_markdown(table))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "environment": environment,
                    "sizes": sizes,
                    "repeat": args.repeat,
                    "results": [
                        {
                            "impl": o.impl,
                            "workload": o.workload,
                            "wall_seconds": o.wall_seconds,
                            "error": o.error,
                            "result": o.result,
                        }
                        for o in outcomes.values()
                    ],
                    "table": [dict(zip(HEADER, row, strict=True)) for row in table],
                },
                indent=2,
            )
        )
    print("\nALL TARGETS MET" if all_ok else "\nSOME TARGETS MISSED OR CHECKS FAILED")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
