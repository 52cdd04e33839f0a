"""Replaying journal entries into a tracking store, in order and once per store."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackline.exceptions import TracklineException
from trackline.journal.files import JournalWriter, open_for_replay, read_journal
from trackline.journal.format import OP_LOG_BATCH, OP_REJECTED, OP_REPLAYED, Entry
from trackline.validation import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
)

# Error codes that mean "the store is there but says no": the entry is wrong, not the link.
REJECTION_CODES = frozenset(
    {
        "INVALID_PARAMETER_VALUE",
        "BAD_REQUEST",
        "RESOURCE_ALREADY_EXISTS",
        "RESOURCE_DOES_NOT_EXIST",
        "NOT_FOUND",
        "INVALID_STATE",
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
        "CUSTOMER_UNAUTHORIZED",
        "ALREADY_EXISTS",
        "RESOURCE_CONFLICT",
        "NOT_IMPLEMENTED",
        "ENDPOINT_NOT_FOUND",
    }
)


def is_store_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the store could not be reached (retry later), not "rejected".

    Network and database-connection failures (OSError, a REST store's TEMPORARILY_UNAVAILABLE,
    SQLAlchemy's OperationalError/InterfaceError) are outages; a TracklineException with a
    client-error code is a rejection. Anything else is treated as an outage too: journaling an
    entry by mistake loses nothing, dropping one would.
    """
    if isinstance(exc, TracklineException):
        return exc.error_code not in REJECTION_CODES
    return isinstance(exc, Exception)


@dataclass
class Rejection:
    entry: Entry
    error: str

    def __str__(self) -> str:
        return f"{self.entry.describe()} was rejected by the store: {self.error}"


@dataclass
class ReplayReport:
    applied: int = 0
    already_replayed: int = 0
    rejected: list[Rejection] = field(default_factory=list)


class StoreUnavailable(Exception):
    """The store went away during a replay; what was replayed so far is recorded."""


def apply_entry(store: Any, entry: Entry) -> None:
    """Send one entry to a tracking store (split to the store's batch limits)."""
    if entry.op == OP_LOG_BATCH:
        for metrics, params, tags in _chunks(entry):
            store.log_batch(entry.run_id, metrics=metrics, params=params, tags=tags)
    else:
        store.update_run_info(entry.run_id, entry.status, entry.end_time, None)


def _chunks(entry: Entry) -> list[tuple[list, list, list]]:
    if (
        len(entry.metrics) <= MAX_METRICS_PER_BATCH
        and len(entry.params) <= MAX_PARAMS_TAGS_PER_BATCH
        and len(entry.tags) <= MAX_PARAMS_TAGS_PER_BATCH
        and len(entry.metrics) + len(entry.params) + len(entry.tags) <= MAX_METRICS_PER_BATCH
    ):
        return [(entry.metrics, entry.params, entry.tags)]
    chunks: list[tuple[list, list, list]] = []
    side = MAX_PARAMS_TAGS_PER_BATCH
    for start in range(0, max(len(entry.params), len(entry.tags)), side):
        chunks.append(([], entry.params[start : start + side], entry.tags[start : start + side]))
    for start in range(0, len(entry.metrics), MAX_METRICS_PER_BATCH):
        chunks.append((entry.metrics[start : start + MAX_METRICS_PER_BATCH], [], []))
    return chunks


def replay_entries(
    store: Any,
    entries: Sequence[Entry],
    target_uri: str,
    ack: Callable[[list[dict[str, Any]]], None],
    ack_every: int = 200,
) -> ReplayReport:
    """Apply entries in order. Rejected entries are recorded and skipped; an outage stops the
    replay with StoreUnavailable after recording how far it got."""
    report = ReplayReport()
    pending_records: list[dict[str, Any]] = []
    last_done: int | None = None

    def record_progress() -> None:
        nonlocal pending_records
        if last_done is not None:
            pending_records.append(
                {"op": OP_REPLAYED, "upto": last_done, "to": target_uri, "time_ms": _now()}
            )
        if pending_records:
            ack(pending_records)
            pending_records = []

    try:
        for index, entry in enumerate(entries, start=1):
            try:
                apply_entry(store, entry)
                report.applied += 1
            except Exception as exc:
                if is_store_unavailable(exc):
                    raise StoreUnavailable(
                        f"The store {target_uri} became unavailable at {entry.describe()}: {exc}"
                    ) from exc
                message = getattr(exc, "message", None) or str(exc)
                report.rejected.append(Rejection(entry, message))
                pending_records.append(
                    {"op": OP_REJECTED, "seq": entry.seq, "to": target_uri, "error": message}
                )
            last_done = entry.seq
            if index % ack_every == 0:
                record_progress()
    finally:
        record_progress()
    return report


def replay_file(path: str | Path, store: Any, target_uri: str) -> tuple[ReplayReport, Any]:
    """Replay one journal file into ``store``; returns the report and the parsed contents."""
    contents = read_journal(path)
    writer: JournalWriter = open_for_replay(Path(path))
    try:
        pending = contents.pending(target_uri)
        report = replay_entries(store, pending, target_uri, writer.append_records)
        report.already_replayed = len(contents.entries) - len(pending)
    finally:
        writer.close()
    return report, contents


def _now() -> int:
    return int(time.time() * 1000)
