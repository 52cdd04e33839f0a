"""Start a real ``trackline server`` process in tests.

``start_server(tmp_path, "--workers", "2")`` runs the CLI in a subprocess on a free port,
polls ``/health`` until it answers (no fixed sleeps) and returns a ``RunningServer``; use it
as a context manager or call ``stop()``. The ``server_factory`` pytest fixture wraps it and
stops every server at the end of the test::

    from trackline_server.testing import server_factory  # noqa: F401  (a fixture)

    def test_something(server_factory):
        server = server_factory("--no-serve-artifacts")
        requests.get(server.url + "/health")

By default the backend is ``sqlite:///<tmp>/trackline.db`` and artifacts go to
``<tmp>/mlartifacts``; pass ``--backend-store-uri`` / ``--artifacts-destination`` to override.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from trackline.testing.ports import free_port, is_address_in_use

__all__ = ["RunningServer", "free_port", "server_factory", "start_server", "wait_healthy"]

# No "python -m trackline" entry exists; call the click group as the console script does.
_CLI = "import sys; from trackline.cli.main import cli; sys.exit(cli(prog_name='trackline'))"


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    ready_seconds: float
    log_path: Path
    args: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _has_option(args: list[str], name: str) -> bool:
    return any(a == name or a.startswith(name + "=") for a in args)


def start_server(
    workdir: Path, *args: str, timeout: float = 30.0, env: dict[str, str] | None = None
) -> RunningServer:
    """Run ``trackline server`` with ``args`` in ``workdir`` and wait until /health is OK.

    Without ``--port`` in ``args`` a free port is chosen, and another one if the server
    finds it taken after all.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    argv = list(args)
    if not _has_option(argv, "--backend-store-uri") and not _has_option(argv, "--artifacts-only"):
        argv += ["--backend-store-uri", f"sqlite:///{workdir / 'trackline.db'}"]
    if not _has_option(argv, "--artifacts-destination"):
        argv += ["--artifacts-destination", str(workdir / "mlartifacts")]
    if _has_option(argv, "--port") or "-p" in argv:
        return _start_once(workdir, argv, timeout, env)
    error: RuntimeError | None = None
    for _attempt in range(3):
        try:
            return _start_once(workdir, [*argv, "--port", str(free_port())], timeout, env)
        except _PortTaken as taken:
            error = taken
    raise RuntimeError(f"no free port after three tries; {error}")


class _PortTaken(RuntimeError):
    pass


def _start_once(
    workdir: Path, argv: list[str], timeout: float, env: dict[str, str] | None
) -> RunningServer:
    port = argv[argv.index("--port") + 1] if "--port" in argv else argv[argv.index("-p") + 1]
    prefix = argv[argv.index("--static-prefix") + 1] if "--static-prefix" in argv else ""
    url = f"http://127.0.0.1:{port}{prefix}"
    log_path = workdir / f"server-{port}.log"
    process_env = {**os.environ, **(env or {})}
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _CLI, "server", *argv],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=process_env,
        )
    server = RunningServer(url, process, workdir, 0.0, log_path, argv)
    try:
        server.ready_seconds = wait_healthy(url, process, started, timeout)
    except (RuntimeError, TimeoutError) as exc:
        server.stop()
        # The server's own words are what a failed start needs; show the end of its log.
        tail = log_path.read_text(errors="replace")[-3000:]
        failure = _PortTaken if is_address_in_use(tail) else type(exc)
        raise failure(f"{exc}; its log {log_path} ends with:\n{tail}") from None
    except BaseException:
        server.stop()
        raise
    return server


def wait_healthy(
    url: str, process: subprocess.Popen[bytes], started: float, timeout: float
) -> float:
    """Poll ``url/health`` every few milliseconds; seconds from ``started`` to the first OK."""
    deadline = started + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.01)
    raise TimeoutError(f"server at {url} not healthy after {timeout} s")


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Any]:
    """A function ``(*cli_args, workdir=None, env=None) -> RunningServer``; all stopped after."""
    servers: list[RunningServer] = []

    def make(*args: str, workdir: Path | None = None, env: dict[str, str] | None = None) -> Any:
        server = start_server(workdir or tmp_path / f"server{len(servers)}", *args, env=env)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
