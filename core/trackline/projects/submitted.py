"""A project run that a backend has started: wait for it, ask its status, cancel it, read its log."""

from __future__ import annotations

import abc
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trackline.tracking.client import TracklineClient


class SubmittedRun(abc.ABC):
    """What ``trackline.projects.run`` returns; every backend returns a subclass.

    ``run_id`` is the tracking run the project executes in. Calls from several threads at once
    are not supported (as in MLflow).
    """

    @property
    @abc.abstractmethod
    def run_id(self) -> str:
        """The id of the tracking run."""

    @abc.abstractmethod
    def wait(self) -> bool:
        """Block until the run ends; ``True`` if it succeeded."""

    @abc.abstractmethod
    def get_status(self) -> str:
        """``RUNNING``, ``SCHEDULED``, ``FINISHED``, ``FAILED`` or ``KILLED``."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Stop the run and wait until it has stopped; the run ends ``KILLED``."""

    def logs(self, follow: bool = False) -> Iterator[str]:
        """The output of the run's command, line by line (empty if the backend keeps none).

        :param follow: keep reading until the run ends, like ``tail -f``.
        """
        return iter(())


class LocalSubmittedRun(SubmittedRun):
    """A command running on this machine under trackline's supervisor process.

    The supervisor (``python -m trackline.projects._supervisor``) runs the command, copies its
    output to the terminal and to ``log_path``, and ends the run FINISHED, FAILED or KILLED, so
    an asynchronous run is ended even if this process exits first.
    """

    #: seconds a cancelled run gets to exit after SIGTERM before it is killed
    CANCEL_GRACE_SECONDS = 10.0

    def __init__(
        self, run_id: str, process: subprocess.Popen[bytes], log_path: str, tracking_uri: str
    ) -> None:
        self._run_id = run_id
        self.process = process
        self.log_path = log_path
        self.tracking_uri = tracking_uri

    @property
    def run_id(self) -> str:
        return self._run_id

    def _client(self) -> TracklineClient:
        from trackline.tracking.client import TracklineClient

        return TracklineClient(self.tracking_uri)

    def _ended(self) -> str:
        """The run's final status, ending it FAILED if the supervisor could not (it crashed)."""
        from trackline.projects.tracking import end_project_run

        status = self._client().get_run(self._run_id).info.status
        if status == "RUNNING":
            code = self.process.returncode
            end_project_run(
                self._run_id,
                "FAILED",
                f"the supervisor process ended with code {code} before ending the run",
                self.tracking_uri,
            )
            return "FAILED"
        return status

    def wait(self) -> bool:
        self.process.wait()
        return self._ended() == "FINISHED"

    def get_status(self) -> str:
        if self.process.poll() is None:
            return "RUNNING"
        return self._ended()

    def cancel(self) -> None:
        from trackline.projects.tracking import end_project_run

        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=self.CANCEL_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))
                self.process.wait()
        end_project_run(
            self._run_id, "KILLED", "cancelled", self.tracking_uri, only_if_running=True
        )

    def _signal(self, signum: int) -> None:
        # The supervisor leads its own process group: signal the whole tree it started.
        try:
            if hasattr(os, "killpg"):
                os.killpg(self.process.pid, signum)
            else:  # Windows
                self.process.terminate()
        except (ProcessLookupError, PermissionError):
            pass  # it ended in the meantime

    def logs(self, follow: bool = False) -> Iterator[str]:
        # Wait for the supervisor to create the file, unless it is already gone.
        while not os.path.exists(self.log_path):
            if self.process.poll() is not None or not follow:
                return
            time.sleep(0.05)
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            pending = ""
            while True:
                chunk = handle.read()
                if chunk:
                    pending += chunk
                    *lines, pending = pending.split("\n")
                    yield from (line + "\n" for line in lines)
                    continue
                if not follow or self.process.poll() is not None:
                    rest = handle.read()
                    pending += rest
                    if rest:
                        continue
                    break
                time.sleep(0.05)
            if pending:
                yield pending
