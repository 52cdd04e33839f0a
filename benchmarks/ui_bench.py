"""Benchmark the web UI in a real browser: first table render of 10,000 runs, a 10^6-point chart.

This starts ``trackline ui`` (one worker) on a fresh SQLite database, logs over the REST API an
experiment of ``--runs`` runs (params, metrics, tags) and one run with a ``--points``-point
metric (a sine with rare one-point spikes), then drives Debian's Chromium (Playwright,
``/usr/bin/chromium``; no browser download) and measures, ``--repeat`` times in a fresh browser
context each (cold cache; median reported):

- **table**: from navigation to the experiment's page until the newest run's row is rendered;
- **chart**: from navigation to the big run's chart until uPlot holds the data and has drawn;
  the first view makes the server read and reduce the history, later views of the finished
  run come from the server's cache (both reported);
- the server time of the down-sampled history request alone (with a point budget the chart
  did not use, so the first one is uncached), and how many spikes it kept;
- the time to scroll through every run (pages load while scrolling) and the longest
  main-thread task meanwhile (the browser reports tasks over 50 ms; a long one is a freeze).

No ratio against MLflow: its UI could not be measured on the same data here. Logging 10,000
runs into MLflow 3.17.2 took ~1 s per run through ``mlflow server`` and ~155 ms per run with its
store in-process on this shared 2-core VM (25+ minutes), its server dropped connections under
the seeding load, and its 3.17 metric page needs UI state beyond a URL to draw a chart.

Run ``.venv/bin/python benchmarks/ui_bench.py``. Not run in CI; a few minutes, mostly logging.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START = 1_700_000_000_000
API = "/api/2.0/mlflow"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def server(workdir: Path) -> Iterator[str]:
    port = free_port()
    executable = REPO / ".venv" / "bin" / "trackline"
    # `trackline ui`: the command the issue names (one worker, so one cache of reductions).
    command = [str(executable), "ui", "--backend-store-uri", f"sqlite:///{workdir}/db.sqlite"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKLINE_"))}
    log = open(workdir / "server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not health_ok(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: see {workdir / 'server.log'}")
            time.sleep(0.05)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


# -- data ----------------------------------------------------------------------------------------


def _post(session: requests.Session, url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = session.post(url + API + path, json=body, timeout=120)
    response.raise_for_status()
    return response.json()


def seed(url: str, runs: int, points: int, threads: int = 4) -> dict[str, str]:
    sessions: dict[int, requests.Session] = {}

    def session() -> requests.Session:
        import threading

        return sessions.setdefault(threading.get_ident(), requests.Session())

    experiment = _post(session(), url, "/experiments/create", {"name": "ui-bench"})
    experiment_id = experiment["experiment_id"]

    def one_run(i: int) -> str:
        s = session()
        start = START + i * 1000
        body = {"experiment_id": experiment_id, "run_name": f"run-{i:05d}", "start_time": start}
        run_id = _post(s, url, "/runs/create", body)["run"]["info"]["run_id"]
        metrics = [
            {"key": "accuracy", "value": (i * 7919 % 1000) / 1000, "timestamp": start, "step": 0},
            {"key": "loss", "value": 1 / (1 + i % 97), "timestamp": start, "step": 0},
        ]
        params = [
            {"key": "lr", "value": str(0.001 * (1 + i % 10))},
            {"key": "seed", "value": str(i)},
        ]
        tags = [{"key": "team", "value": f"t{i % 5}"}]
        _post(
            s,
            url,
            "/runs/log-batch",
            {"run_id": run_id, "metrics": metrics, "params": params, "tags": tags},
        )
        _post(
            s,
            url,
            "/runs/update",
            {"run_id": run_id, "status": "FINISHED", "end_time": start + 5000},
        )
        return run_id

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one_run, range(runs)))

    big_body = {"experiment_id": experiment_id, "run_name": "big-metric", "start_time": START}
    big = _post(session(), url, "/runs/create", big_body)["run"]["info"]["run_id"]

    def batch(first: int) -> None:
        metrics = []
        for step in range(first, min(points, first + 1000)):
            value = math.sin(step / 5000) + (25.0 if step % 250_007 == 0 else 0.0)  # rare spikes
            metrics.append(
                {"key": "signal", "value": value, "timestamp": START + step, "step": step}
            )
        _post(session(), url, "/runs/log-batch", {"run_id": big, "metrics": metrics})

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(batch, range(0, points, 1000)))
    finished = {"run_id": big, "status": "FINISHED", "end_time": START + points}
    _post(session(), url, "/runs/update", finished)
    return {"experiment_id": experiment_id, "big_run": big, "newest": f"run-{runs - 1:05d}"}


# -- browser measurements --------------------------------------------------------------------------


# Where a first view's time goes, from the browser's own clock (ms since navigation start):
# the page's HTML, the last module or style sheet, each API request, and the chart's draw.
TIMELINE = """() => {
  const entries = performance.getEntriesByType('resource');
  const end = (test) => Math.max(0, ...entries.filter(e => test(e.name)).map(e => e.responseEnd));
  const api = entries.filter(e => e.name.includes('/ajax-api/')).map(e => ({
    name: e.name.split('/ajax-api/2.0/')[1].split('?')[0], start: e.startTime, end: e.responseEnd }));
  const drawn = document.querySelector('.chart')?.dataset.drawn;
  return { html: performance.getEntriesByType('navigation')[0].responseEnd,
           static: end(n => n.includes('/static-files/')), api,
           drawn: drawn ? Number(drawn) - performance.timeOrigin : null };
}"""


def timed(
    browser: Any, url: str, wait: Callable[[Any], None], repeat: int, timelines: list | None = None
) -> list[float]:
    times = []
    for _ in range(repeat):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        try:
            start = time.perf_counter()
            page.goto(url)
            wait(page)
            times.append(time.perf_counter() - start)
            if timelines is not None:
                timelines.append(page.evaluate(TIMELINE))
        finally:
            context.close()
    return times


def describe_timeline(timeline: dict[str, Any]) -> str:
    parts = [f"HTML {timeline['html']:.0f}", f"modules {timeline['static']:.0f}"]
    parts += [f"{a['name']} {a['start']:.0f}-{a['end']:.0f}" for a in timeline["api"]]
    if timeline.get("drawn") is not None:
        parts.append(f"drawn {timeline['drawn']:.0f}")
    return ", ".join(parts) + " (ms after navigation)"


def trackline_scroll(
    browser: Any, base: str, data: dict[str, str], runs: int
) -> tuple[float, float]:
    """Seconds to scroll until every run is loaded, and the longest main-thread task (ms)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.add_init_script(
        """window.__longest = 0; new PerformanceObserver(list => { for (const e of list.getEntries())
        window.__longest = Math.max(window.__longest, e.duration); }).observe({type: 'longtask', buffered: true});"""
    )
    page.goto(f"{base}/#/experiments/{data['experiment_id']}")
    page.wait_for_selector("tr[data-run-id]")
    page.evaluate("window.__longest = 0")
    start = time.perf_counter()
    total = runs + 1
    while True:
        loaded = page.evaluate(
            """() => { const box = document.querySelector('.table-box');
            box.scrollTop = box.scrollHeight; return document.querySelector('.table-box')
            .getAttribute('aria-rowcount'); }"""
        )
        if int(loaded) >= total:
            break
        page.wait_for_timeout(20)
    seconds = time.perf_counter() - start
    longest = page.evaluate("window.__longest")
    context.close()
    return seconds, longest


def measure(
    browser: Any, base: str, data: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    newest = data["newest"]
    table_url = f"{base}/#/experiments/{data['experiment_id']}"
    out["table_timelines"] = []
    out["table"] = timed(
        browser,
        table_url,
        lambda p: p.wait_for_selector(f"tr[data-run-id] a:text-is('{newest}')", timeout=120_000),
        args.repeat,
        out["table_timelines"],
    )
    chart_url = f"{base}/#/charts?runs={data['big_run']}&metric=signal"
    wait_chart = lambda p: p.wait_for_function(  # noqa: E731
        "document.querySelector('.chart')?._uplot?.data[1].length > 0", timeout=120_000
    )
    out["chart_timelines"] = []
    out["chart"] = timed(browser, chart_url, wait_chart, args.repeat, out["chart_timelines"])
    server_times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        got = requests.get(
            f"{base}/ajax-api/2.0/trackline/metrics/get-history-downsampled",
            params={"run_ids": data["big_run"], "metric_key": "signal", "max_points": 2500},
            timeout=120,
        ).json()["series"][0]
        server_times.append(time.perf_counter() - t0)
    spikes = sum(1 for v in got["values"] if isinstance(v, float) and v > 20)
    out["downsample_request"] = server_times
    out["downsample_points"] = (
        f"{got['total_points']} -> {len(got['values'])}, spikes kept {spikes}"
    )
    out["scroll_all"], out["longest_task_ms"] = trackline_scroll(browser, base, data, args.runs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="ui-bench-") as tmp:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with server(Path(tmp)) as base:
            t0 = time.perf_counter()
            data = seed(base, args.runs, args.points)
            logged = time.perf_counter() - t0
            print(f"logged {args.runs} runs + {args.points} points in {logged:.0f} s", flush=True)
            result = measure(browser, base, data, args)
        browser.close()

    def median(key: str) -> float:
        return statistics.median(result[key])

    print(f"\n| {args.runs:,} runs, {args.points:,}-point metric (medians of {args.repeat}) | |")
    print("|---|---|")
    print(f"| first table render | {median('table'):.2f} s |")
    chart, direct = result["chart"], result["downsample_request"]
    print(f"| metric chart drawn, first view (server reads and reduces) | {chart[0]:.2f} s |")
    if len(chart) > 1:
        repeat = statistics.median(chart[1:])
        print(f"| metric chart drawn, repeat views (finished run: cached) | {repeat:.2f} s |")
    points = result["downsample_points"]
    print(f"| down-sampled history request alone, uncached | {direct[0]:.2f} s ({points}) |")
    if len(direct) > 1:
        cached = statistics.median(direct[1:])
        print(f"| down-sampled history request alone, cached | {cached:.3f} s |")
    print(
        f"| scroll through all runs | {result['scroll_all']:.1f} s, longest main-thread task "
        f"{result['longest_task_ms']:.0f} ms |"
    )
    print(f"\nchart, first view: {describe_timeline(result['chart_timelines'][0])}")
    if len(result["chart_timelines"]) > 1:
        print(f"chart, repeat view: {describe_timeline(result['chart_timelines'][-1])}")
    print(f"table, first view: {describe_timeline(result['table_timelines'][0])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
