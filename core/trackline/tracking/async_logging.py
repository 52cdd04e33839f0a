"""Asynchronous logging: buffer writes in memory, send them in batches from a background thread.

Every tracking store gets it, because it sits in front of the store interface
(``log_batch`` and ``update_run_info``). One ``AsyncLogger`` serves one tracking URI:

* **Order.** One FIFO queue and one worker thread per store: writes reach the store in the
  order they were made (so per run too). A synchronous write, or a read through the client,
  first waits for the queued writes of its store.
* **Bounded memory.** At most ``TRACKLINE_ASYNC_LOGGING_MAX_QUEUE`` values (default 100000)
  wait in memory; a caller that would go past it blocks until the worker catches up
  (back-pressure) instead of growing memory without end.
* **Batches.** The worker merges consecutive writes of one run into ``log_batch`` calls within
  the store's limits (1000 values, 100 params/tags).
* **Errors are never dropped.** A write the store rejects (say a param re-logged with another
  value) is found by retrying the batch one call at a time; the error names the call and is
  raised by the next logging call, ``flush()`` or ``end_run()``.
* **Outages go to the journal.** When the store cannot be reached, or does not answer within
  ``TRACKLINE_ASYNC_LOGGING_STALL_TIMEOUT`` seconds (default 10), the worker appends what it
  holds to a journal file (``trackline.journal``), fsync'd once per batch and at most every
  ``TRACKLINE_ASYNC_LOGGING_FLUSH_INTERVAL`` seconds (default 1), and keeps journaling until
  the store answers again (tried every ``TRACKLINE_ASYNC_LOGGING_RETRY_INTERVAL`` seconds,
  default 5); then it replays the journal in order, deletes it, and goes back to the store.
* **Nothing is left behind.** ``flush()``, ``end_run()`` and interpreter exit wait until every
  queued write is in the store or in the fsync'd journal. A journal left by a process that
  died is replayed by the next process logging to the same store, or by ``trackline sync``.

Asynchronous logging is off by default, as in MLflow: ``synchronous=False`` on a call, or
``TRACKLINE_ENABLE_ASYNC_LOGGING=true`` (or ``MLFLOW_ENABLE_ASYNC_LOGGING``), or
``enable_async_logging()`` turns it on. docs/durability.md explains why.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from trackline.entities import Metric, Param, RunTag
from trackline.exceptions import TracklineException
from trackline.journal.files import (
    JournalError,
    JournalLockedError,
    JournalWriter,
    default_journal_dir,
    find_journals,
    read_journal,
)
from trackline.journal.format import OP_LOG_BATCH, OP_UPDATE_RUN, Entry
from trackline.journal.replay import (
    StoreUnavailable,
    apply_entry,
    is_store_unavailable,
    replay_entries,
    replay_file,
)
from trackline.validation import MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUE = 100_000
DEFAULT_FLUSH_INTERVAL = 1.0
DEFAULT_RETRY_INTERVAL = 5.0
DEFAULT_STALL_TIMEOUT = 10.0
_TRUE = ("1", "true", "yes", "on")

_enabled_override: bool | None = None


def _env(name: str) -> str | None:
    for prefix in ("TRACKLINE_", "MLFLOW_"):
        value = os.environ.get(prefix + name)
        if value not in (None, ""):
            return value
    return None


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get("TRACKLINE_" + name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise TracklineException.invalid_parameter_value(
            f"TRACKLINE_{name}={raw!r} is not a number."
        ) from None
    if value <= 0:
        raise TracklineException.invalid_parameter_value(
            f"TRACKLINE_{name}={raw!r} must be greater than 0."
        )
    return value


def enable_async_logging(enable: bool = True) -> None:
    """Make ``synchronous=None`` mean asynchronous (True) or synchronous (False) in this process.

    Takes precedence over ``TRACKLINE_ENABLE_ASYNC_LOGGING`` / ``MLFLOW_ENABLE_ASYNC_LOGGING``.
    """
    global _enabled_override
    _enabled_override = bool(enable)


def is_async(synchronous: bool | None) -> bool:
    """Whether a logging call with this ``synchronous=`` argument goes through the queue."""
    if synchronous is not None:
        return not synchronous
    if _enabled_override is not None:
        return _enabled_override
    value = _env("ENABLE_ASYNC_LOGGING")
    return value is not None and value.lower() in _TRUE


class RunOperations:
    """What an asynchronous logging call returns: ``wait()`` blocks until it is stored.

    "Stored" means written to the store, or to the fsync'd journal while the store is down.
    ``wait()`` raises the errors of failed asynchronous writes, as ``flush()`` does.
    """

    __slots__ = ("_logger", "_seq")

    def __init__(self, async_logger: AsyncLogger | None, seq: int) -> None:
        self._logger = async_logger
        self._seq = seq

    def wait(self) -> None:
        if self._logger is not None:
            self._logger.wait_for(self._seq)


# A queued call: (seq, run_id, metrics, params, tags, (status, end_time) or None)
_Op = tuple[int, str, Sequence[Metric], Sequence[Param], Sequence[RunTag], Any]


class AsyncLogger:
    """The queue and worker thread of one tracking store (see the module docstring)."""

    def __init__(
        self,
        store_uri: str,
        store_factory: Callable[[], Any],
        *,
        max_queue: int | None = None,
        flush_interval: float | None = None,
        retry_interval: float | None = None,
        journal_dir: str | Path | None = None,
    ) -> None:
        self.store_uri = store_uri
        self._store_factory = store_factory
        self.max_queue = int(max_queue or _env_number("ASYNC_LOGGING_MAX_QUEUE", DEFAULT_MAX_QUEUE))
        self.flush_interval = flush_interval or _env_number(
            "ASYNC_LOGGING_FLUSH_INTERVAL", DEFAULT_FLUSH_INTERVAL
        )
        self.retry_interval = retry_interval or _env_number(
            "ASYNC_LOGGING_RETRY_INTERVAL", DEFAULT_RETRY_INTERVAL
        )
        self.journal_dir = Path(journal_dir) if journal_dir else default_journal_dir()
        self.stall_timeout = _env_number("ASYNC_LOGGING_STALL_TIMEOUT", DEFAULT_STALL_TIMEOUT)
        self._abandoned: threading.Event | None = None  # a stalled store call still running
        lock = threading.Lock()
        self._has_work = threading.Condition(lock)
        self._progress = threading.Condition(lock)
        self._queue: deque[_Op] = deque()
        self._queued_values = 0  # values not yet durable (queued, being written or held)
        self._seq = 0
        self._done_seq = 0
        self._worker_waiting = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._errors: list[TracklineException] = []
        self._durability_error: TracklineException | None = None
        # While the store is unreachable:
        self._journal: JournalWriter | None = None
        self._held: list[Entry] = []  # entries the journal could not take yet (disk full)
        self._held_ops: list[list[_Op]] = []  # the calls behind each held entry
        self._next_retry = 0.0
        self._pid = os.getpid()

    # -- producer side ---------------------------------------------------------------------

    def submit(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        terminate: tuple[str, int] | None = None,
    ) -> RunOperations:
        if self._errors:
            self.raise_errors()
        size = len(metrics) + len(params) + len(tags) or 1
        with self._has_work:
            if self._closed:
                raise TracklineException(
                    f"Asynchronous logging to {self.store_uri} is shut down.", "INVALID_STATE"
                )
            while self._queued_values >= self.max_queue and self._queued_values:
                if self._durability_error is not None:
                    raise self._durability_error
                self._ensure_worker()
                self._progress.wait(1.0)
            self._seq += 1
            seq = self._seq
            self._queue.append((seq, run_id, metrics, params, tags, terminate))
            self._queued_values += size
            self._ensure_worker()
            if self._worker_waiting:
                self._has_work.notify()
        return RunOperations(self, seq)

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._work, name=f"trackline-async-logging[{self.store_uri}]", daemon=True
            )
            self._thread.start()

    @property
    def pending(self) -> bool:
        """Writes not yet durable (queued, in flight, or waiting for the journal)."""
        return self._queued_values > 0

    def wait_for(self, seq: int, timeout: float | None = None) -> None:
        """Block until write ``seq`` is stored or journaled; then raise errors, if any."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._progress:
            while self._done_seq < seq:
                if self._durability_error is not None:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TracklineException(
                        f"Timed out after {timeout} s waiting for asynchronous logging to "
                        f"{self.store_uri}.",
                        "DEADLINE_EXCEEDED",
                    )
                self._progress.wait(1.0 if remaining is None else min(remaining, 1.0))
        self.raise_errors()
        if self._durability_error is not None:
            raise self._durability_error

    def flush(self, timeout: float | None = None) -> None:
        """Wait for everything submitted so far; raise the errors of failed writes."""
        self.wait_for(self._seq, timeout)

    def raise_errors(self) -> None:
        """Raise (once) the errors of asynchronous writes that failed since the last call."""
        with self._progress:
            errors, self._errors = self._errors, []
        if not errors:
            return
        if len(errors) == 1:
            error = errors[0]
            raise TracklineException(
                f"An asynchronous logging call failed: {error.message}",
                error.error_code,
            )
        listed = "\n".join(f"  - {e.message}" for e in errors[:20])
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise TracklineException(
            f"{len(errors)} asynchronous logging calls failed:\n{listed}{more}",
            errors[0].error_code,
        )

    def close(self, timeout: float | None = None) -> None:
        """Flush, stop the worker and release the journal (used at exit)."""
        try:
            self.flush(timeout)
        finally:
            with self._has_work:
                self._closed = True
                self._has_work.notify_all()
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=5)
            if self._journal is not None and self._journal.opened:
                logger.warning(
                    "Tracking store %s is still unreachable: logged values wait in the journal "
                    "%s. They are replayed the next time trackline logs to that store, or run "
                    "'trackline sync %s --to %s'.",
                    self.store_uri,
                    self._journal.path,
                    self._journal.path,
                    self.store_uri,
                )
                self._journal.close()

    # -- worker side -----------------------------------------------------------------------

    def _work(self) -> None:
        try:
            self._replay_leftover_journals()
        except Exception:  # a leftover journal must never stop this process's logging
            logger.exception("Replaying leftover journals for %s failed", self.store_uri)
        while True:
            with self._has_work:
                if self._journal is None:
                    while not self._queue and not self._closed:
                        self._worker_waiting = True
                        self._has_work.wait()
                        self._worker_waiting = False
                elif not self._queue and not self._closed:
                    # Offline: wake up for new work, for the next retry, or to close; with
                    # entries the journal refused (disk full), to try the journal again.
                    timeout = self._next_retry - time.monotonic()
                    if self._held:
                        timeout = min(timeout, self.flush_interval)
                    if timeout > 0:
                        self._worker_waiting = True
                        self._has_work.wait(timeout)
                        self._worker_waiting = False
                if self._closed and not self._queue:
                    return
                ops = list(self._queue)
                self._queue.clear()
            try:
                if ops:
                    self._write(ops)
                if self._journal is not None:
                    self._journal_held()
                    if time.monotonic() >= self._next_retry:
                        self._try_replay()
                    elif ops:
                        # Journaling: one fsync per flush interval, not one per call.
                        with self._has_work:
                            if not self._closed:
                                self._has_work.wait(self.flush_interval)
            except Exception as exc:  # keep the worker alive whatever happens
                logger.exception("Asynchronous logging worker error")
                # Whatever of this batch is neither stored nor held is lost: say so loudly
                # (and release the callers waiting for it) rather than hang or stay silent.
                held = {id(o) for entry_ops in self._held_ops for o in entry_ops}
                lost = [o for o in ops if o[0] > self._done_seq and id(o) not in held]
                self._record_error(
                    TracklineException(
                        f"Asynchronous logging failed, {len(lost)} logging calls were not "
                        f"stored: {type(exc).__name__}: {exc}"
                    )
                )
                self._finish(lost)

    def _finish(self, ops: Sequence[_Op]) -> None:
        """Mark ops durable (stored, journaled or rejected) and wake whoever waits."""
        if not ops:
            return
        size = sum(len(op[2]) + len(op[3]) + len(op[4]) or 1 for op in ops)
        with self._progress:
            self._queued_values -= size
            self._done_seq = max(self._done_seq, ops[-1][0])
            self._progress.notify_all()

    def _record_error(self, error: TracklineException) -> None:
        with self._progress:
            self._errors.append(error)
            self._progress.notify_all()

    def _store(self) -> Any:
        return self._store_factory()

    def _apply(self, entry: Entry) -> None:
        """Send one entry, but give up waiting after ``stall_timeout`` seconds.

        A store that hangs (a frozen server, a black-holed connection) would otherwise hold
        the worker for the HTTP client's whole retry schedule (minutes) while values pile up
        in memory. The call runs in a helper thread; on a stall the entry is journaled like
        any other outage, and the abandoned call may still land later: replaying its copy
        again is harmless (identical points are stored once, equal params and tags are
        no-ops), and no replay starts before the abandoned call has ended, so it can never
        overwrite a newer value.
        """
        outcome: dict[str, BaseException] = {}
        done = threading.Event()
        store = self._store()

        def call() -> None:
            try:
                apply_entry(store, entry)
            except BaseException as exc:  # handed to the worker below
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=call, name="trackline-async-logging-call", daemon=True).start()
        if not done.wait(self.stall_timeout):
            self._abandoned = done
            raise StoreStalled(
                f"the store did not answer within {self.stall_timeout:g} s "
                "(TRACKLINE_ASYNC_LOGGING_STALL_TIMEOUT)"
            )
        if "error" in outcome:
            raise outcome["error"]

    def _write(self, ops: list[_Op]) -> None:
        groups = _group(ops)
        if self._journal is not None:
            self._to_journal(groups)
            return
        for index, (entry, entry_ops) in enumerate(groups):
            try:
                self._apply(entry)
            except Exception as exc:
                if is_store_unavailable(exc):
                    self._go_offline(exc)
                    self._to_journal(groups[index:])
                    return
                if not self._isolate(entry_ops, groups[index + 1 :]):
                    return
            self._finish(entry_ops)

    def _isolate(self, entry_ops: list[_Op], later: list[tuple[Entry, list[_Op]]]) -> bool:
        """Retry a rejected batch one call at a time, so only the bad call fails.

        Returns False when the store went away meanwhile (the rest went to the journal)."""
        for position, op in enumerate(entry_ops):
            entry = _entry_of([op])
            try:
                self._apply(entry)
            except Exception as exc:
                if is_store_unavailable(exc):
                    self._go_offline(exc)
                    rest = [(_entry_of([o]), [o]) for o in entry_ops[position:]]
                    self._to_journal(rest + later)
                    return False
                self._record_error(_rejection(op, exc))
            self._finish([op])
        return True

    def _go_offline(self, exc: BaseException) -> None:
        self._journal = JournalWriter.new(self.store_uri, self.journal_dir)
        self._next_retry = time.monotonic() + self.retry_interval
        logger.warning(
            "Tracking store %s is unreachable (%s). Logging continues into the journal %s, "
            "which is replayed when the store is back.",
            self.store_uri,
            exc,
            self._journal.path,
        )

    def _to_journal(self, groups: list[tuple[Entry, list[_Op]]]) -> None:
        assert self._journal is not None
        for entry, entry_ops in groups:
            entry.seq = self._journal.next_seq()
            self._held.append(entry)
            self._held_ops.append(entry_ops)
        self._journal_held()

    def _journal_held(self) -> None:
        if not self._held or self._journal is None:
            return
        try:
            self._journal.append(self._held)
        except OSError as exc:
            if self._durability_error is None:
                self._durability_error = TracklineException(
                    f"The tracking store {self.store_uri} is unreachable and the journal "
                    f"{self._journal.path} cannot be written ({exc.strerror or exc}): "
                    f"{sum(e.size() for e in self._held)} logged values are kept in memory "
                    "and retried. Free disk space or set TRACKLINE_JOURNAL_DIR.",
                    "INTERNAL_ERROR",
                )
                self._record_error(self._durability_error)
                logger.error("%s", self._durability_error.message)
            return
        self._durability_error = None
        held_ops, self._held_ops = self._held_ops, []
        self._held = []
        for entry_ops in held_ops:
            self._finish(entry_ops)

    def _try_replay(self) -> None:
        """Replay our journal into the store; back to direct writes when all of it is in."""
        journal = self._journal
        assert journal is not None
        self._next_retry = time.monotonic() + self.retry_interval
        if self._abandoned is not None:
            if not self._abandoned.is_set():
                return  # a stalled call is still out: it must end before anything replays
            self._abandoned = None
        if journal.opened:
            contents = read_journal(journal.path)
            try:
                report = replay_entries(
                    _Deadlined(self),
                    contents.pending(self.store_uri),
                    self.store_uri,
                    journal.append_records,
                )
            except StoreUnavailable:
                return
            for rejection in report.rejected:
                self._record_error(TracklineException(str(rejection), "INVALID_PARAMETER_VALUE"))
            logger.warning(
                "Tracking store %s is back: %d journaled writes replayed from %s.",
                self.store_uri,
                report.applied,
                journal.path,
            )
        # Entries the journal could not take (disk full) come after everything in it.
        while self._held:
            entry, entry_ops = self._held[0], self._held_ops[0]
            try:
                self._apply(entry)
            except Exception as exc:
                if is_store_unavailable(exc):
                    return
                self._record_error(_rejection(entry_ops[0], exc))
            del self._held[0], self._held_ops[0]
            self._finish(entry_ops)
        if journal.opened:
            journal.close()
            if not read_journal(journal.path).rejected:
                _remove(journal.path)
        self._journal = None
        self._durability_error = None

    def _replay_leftover_journals(self) -> None:
        """Replay journals that earlier processes left for this store (they crashed or exited
        while it was down)."""
        if os.environ.get("TRACKLINE_JOURNAL_AUTO_REPLAY", "true").lower() not in _TRUE:
            return
        if not self.journal_dir.is_dir():
            return
        for path in find_journals(self.journal_dir):
            try:
                contents = read_journal(path)
            except JournalError:
                continue
            if contents.store_uri != self.store_uri or not contents.pending(self.store_uri):
                continue
            try:
                report, _ = replay_file(path, self._store(), self.store_uri)
            except JournalLockedError:
                continue  # its process is still alive and will replay it itself
            except StoreUnavailable:
                return
            logger.warning(
                "Replayed %d writes that an earlier process left in the journal %s.",
                report.applied,
                path,
            )
            for rejection in report.rejected:
                self._record_error(TracklineException(str(rejection), "INVALID_PARAMETER_VALUE"))
            if not report.rejected:
                _remove(path)


class StoreStalled(Exception):
    """The store took longer than the stall timeout to answer (handled as an outage)."""


class _Deadlined:
    """The store as a replay sees it: each write bounded by the logger's stall timeout."""

    def __init__(self, owner: AsyncLogger) -> None:
        self._owner = owner

    def log_batch(self, run_id: str, metrics=(), params=(), tags=()) -> None:
        entry = Entry(seq=0, op=OP_LOG_BATCH, run_id=run_id)
        entry.metrics, entry.params, entry.tags = list(metrics), list(params), list(tags)
        self._owner._apply(entry)

    def update_run_info(self, run_id: str, status: Any, end_time: Any, run_name: Any) -> None:
        entry = Entry(seq=0, op=OP_UPDATE_RUN, run_id=run_id, status=status, end_time=end_time)
        self._owner._apply(entry)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _entry_of(ops: list[_Op]) -> Entry:
    first = ops[0]
    if first[5] is not None:
        status, end_time = first[5]
        return Entry(seq=0, op=OP_UPDATE_RUN, run_id=first[1], status=status, end_time=end_time)
    entry = Entry(seq=0, op=OP_LOG_BATCH, run_id=first[1])
    for op in ops:
        entry.metrics.extend(op[2])
        entry.params.extend(op[3])
        entry.tags.extend(op[4])
    return entry


def _group(ops: list[_Op]) -> list[tuple[Entry, list[_Op]]]:
    """Merge consecutive calls of one run into entries within the store's batch limits."""
    groups: list[tuple[Entry, list[_Op]]] = []
    current: list[_Op] = []
    run_id = None
    values = side = 0
    param_keys: set[str] = set()
    tag_keys: set[str] = set()

    def close() -> None:
        nonlocal current, values, side
        if current:
            groups.append((_entry_of(current), current))
        current = []
        values = side = 0
        param_keys.clear()
        tag_keys.clear()

    for op in ops:
        _, op_run, metrics, params, tags, terminate = op
        if terminate is not None:
            close()
            groups.append((_entry_of([op]), [op]))
            continue
        size = len(metrics) + len(params) + len(tags)
        op_side = len(params) + len(tags)
        if current and (
            op_run != run_id
            or values + size > MAX_METRICS_PER_BATCH
            or side + op_side > MAX_PARAMS_TAGS_PER_BATCH
            or any(p.key in param_keys for p in params)
            or any(t.key in tag_keys for t in tags)
        ):
            close()
        current.append(op)
        run_id = op_run
        values += size
        side += op_side
        param_keys.update(p.key for p in params)
        tag_keys.update(t.key for t in tags)
    close()
    return groups


def _rejection(op: _Op, exc: BaseException) -> TracklineException:
    _, run_id, metrics, params, tags, terminate = op
    if terminate is not None:
        what = f"set_terminated(status={terminate[0]!r})"
    elif params and not metrics and not tags:
        what = "log_param(" + ", ".join(f"{p.key!r}={p.value!r}" for p in params[:3]) + ")"
    elif tags and not metrics and not params:
        what = "set_tag(" + ", ".join(f"{t.key!r}={t.value!r}" for t in tags[:3]) + ")"
    elif metrics and not params and not tags:
        what = "log_metric(" + ", ".join(f"{m.key!r}={m.value!r}" for m in metrics[:3]) + ")"
    else:
        what = f"log_batch({len(metrics)} metrics, {len(params)} params, {len(tags)} tags)"
    message = getattr(exc, "message", None) or str(exc)
    code = getattr(exc, "error_code", "INTERNAL_ERROR")
    return TracklineException(f"{what} for run {run_id} was rejected: {message}", code)


# -- one logger per tracking URI ------------------------------------------------------------

_loggers: dict[str, AsyncLogger] = {}
_loggers_lock = threading.Lock()
_atexit_registered = False


def logger_for(store_uri: str) -> AsyncLogger:
    """The logger of ``store_uri``, created (with its worker) on first use."""
    found = _loggers.get(store_uri)
    if found is not None:
        return found
    global _atexit_registered
    with _loggers_lock:
        found = _loggers.get(store_uri)
        if found is None:
            from trackline.tracking import uri as uri_module

            found = AsyncLogger(store_uri, lambda: uri_module.get_tracking_store(store_uri))
            _loggers[store_uri] = found
            if not _atexit_registered:
                atexit.register(shutdown)
                _atexit_registered = True
    return found


def existing_logger(store_uri: str) -> AsyncLogger | None:
    return _loggers.get(store_uri)


def wait_for_pending(store_uri: str) -> None:
    """Before a synchronous write or a read: let queued writes of this store land first."""
    found = _loggers.get(store_uri)
    if found is not None and (found.pending or found._errors):
        found.flush()


def flush(timeout: float | None = None) -> None:
    """Wait until every asynchronous write of this process is stored (or journaled)."""
    for found in list(_loggers.values()):
        found.flush(timeout)


def shutdown() -> None:
    """At interpreter exit: end active runs, flush every logger, report what is left."""
    fluent = sys.modules.get("trackline.tracking.fluent")
    if fluent is not None:
        fluent._end_all_runs_at_exit()
    with _loggers_lock:
        loggers = list(_loggers.values())
        _loggers.clear()
    for found in loggers:
        try:
            found.close()
        except Exception as exc:  # report, never hang or crash the exit
            logger.error("Asynchronous logging to %s did not complete: %s", found.store_uri, exc)


def _forget_after_fork() -> None:
    # The child has the parent's queues but not its worker threads: start afresh.
    _loggers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
