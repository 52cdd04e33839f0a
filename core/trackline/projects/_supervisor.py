"""Runs one project command and ends its run: ``python -m trackline.projects._supervisor SPEC``.

``SPEC`` is a JSON file written by the local backend: ``run_id``, ``tracking_uri``,
``command``, ``cwd``, ``env`` (variables set for the command) and ``log_path``. The command's
output (stdout and stderr, interleaved as produced) goes to this process's stdout and to the
log file. When the command exits the run ends FINISHED (exit code 0), FAILED (any other code,
recorded in the ``trackline.project.error`` tag) or KILLED (this process got SIGTERM or
SIGINT, which is how ``SubmittedRun.cancel`` stops it). The exit code is the command's.

A separate process, rather than a thread, so that an asynchronous run still ends properly
when the Python process that launched it has exited.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from typing import Any


def _shell() -> list[str]:
    if sys.platform == "win32":
        return ["cmd", "/c"]
    return [shutil.which("bash") or "/bin/sh", "-c"]


def supervise(spec: dict[str, Any]) -> int:
    cancelled = False

    def on_signal(signum: int, frame: Any) -> None:
        # The command is in this process group and got the same signal; wait for it to exit.
        nonlocal cancelled
        cancelled = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    env = {**os.environ, **spec["env"]}
    os.makedirs(os.path.dirname(spec["log_path"]) or ".", exist_ok=True)
    with open(spec["log_path"], "ab") as log:
        try:
            child = subprocess.Popen(
                [*_shell(), spec["command"]],
                cwd=spec["cwd"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            _end(spec, "FAILED", f"the command could not be started: {exc}")
            return 127
        assert child.stdout is not None
        terminal = sys.stdout.buffer
        fd = child.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            log.write(chunk)
            log.flush()
            if terminal is not None:
                try:
                    terminal.write(chunk)
                    terminal.flush()
                except (BrokenPipeError, ValueError, OSError):
                    terminal = None  # the launching terminal is gone; the log file remains
        code = child.wait()
    if cancelled:
        _end(spec, "KILLED", "cancelled")
    elif code == 0:
        _end(spec, "FINISHED", None)
    else:
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        _end(spec, "FAILED", f"the command failed with {how}: {spec['command']}")
    return code if code >= 0 else 128 - code


def _end(spec: dict[str, Any], status: str, reason: str | None) -> None:
    from trackline.projects.tracking import end_project_run

    end_project_run(spec["run_id"], status, reason, spec["tracking_uri"])


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m trackline.projects._supervisor SPEC.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    return supervise(spec)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
