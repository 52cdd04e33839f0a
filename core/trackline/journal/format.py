"""The journal file format, version 1: JSON Lines, append-only.

A journal holds tracking writes that could not be sent to their store yet. Line 1 is a
header; every later line is one record. Records are only ever appended, never rewritten,
so a crash can at worst leave a torn last line (which readers ignore).

Header::

    {"trackline_journal": 1, "created_ms": 1732611200000, "store_uri": "http://…",
     "pid": 4242, "host": "node-7"}

Records (``seq`` counts up from 1 in each file; ``id`` is a random 32-hex id)::

    {"seq": 1, "id": "…", "op": "log_batch", "run_id": "…",
     "metrics": [[key, value, timestamp_ms, step], …], "params": [[key, value], …],
     "tags": [[key, value], …]}
    {"seq": 2, "id": "…", "op": "update_run", "run_id": "…", "status": "FINISHED",
     "end_time": 1732611300000}
    {"op": "replayed", "upto": 2, "to": "sqlite:///x.db", "time_ms": …}
    {"op": "rejected", "seq": 1, "to": "sqlite:///x.db", "error": "…"}

A metric may carry three more fields, ``[key, value, ts, step, dataset_name,
dataset_digest, model_id]``. Non-finite metric values are written as ``NaN``, ``Infinity`` and
``-Infinity`` (Python's ``json`` extension).

``replayed`` and ``rejected`` are bookkeeping appended by a replay into store ``to``: a later
replay into the same store starts after ``upto``, so each entry is stored once. The store's
own semantics cover the gap a crash can leave between a write and its ``replayed`` record:
identical metric points are stored once, a param re-logged with the same value is a no-op
and a tag write is an overwrite.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from trackline.entities import Metric, Param, RunTag

FORMAT_VERSION = 1
HEADER_KEY = "trackline_journal"

OP_LOG_BATCH = "log_batch"
OP_UPDATE_RUN = "update_run"
OP_REPLAYED = "replayed"
OP_REJECTED = "rejected"
DATA_OPS = (OP_LOG_BATCH, OP_UPDATE_RUN)


class JournalError(Exception):
    """A journal that cannot be read at all (missing header, newer format)."""


@dataclass
class Entry:
    """One write waiting for its store: a batch of values or a run status change."""

    seq: int
    op: str
    run_id: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    metrics: list[Metric] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    tags: list[RunTag] = field(default_factory=list)
    status: str | None = None
    end_time: int | None = None
    line: int | None = None  # where a reader found it

    def describe(self) -> str:
        """A short human name for error messages: which entry, which run, what it holds."""
        where = f"line {self.line}, " if self.line is not None else ""
        if self.op == OP_UPDATE_RUN:
            what = f"status {self.status}"
        else:
            parts = []
            if self.metrics:
                parts.append(f"{len(self.metrics)} metric(s) {_key_list(self.metrics)}")
            if self.params:
                parts.append(f"param(s) {_key_list(self.params)}")
            if self.tags:
                parts.append(f"tag(s) {_key_list(self.tags)}")
            what = ", ".join(parts) or "nothing"
        return f"journal entry seq {self.seq} ({where}{self.op} of run {self.run_id}: {what})"

    def size(self) -> int:
        return max(1, len(self.metrics) + len(self.params) + len(self.tags))


def _key_list(items: list[Any]) -> str:
    keys = sorted({item.key for item in items})
    shown = ", ".join(repr(k) for k in keys[:5])
    return f"[{shown}{', …' if len(keys) > 5 else ''}]"


def header(store_uri: str, created_ms: int, pid: int, host: str) -> dict[str, Any]:
    return {
        HEADER_KEY: FORMAT_VERSION,
        "created_ms": created_ms,
        "store_uri": store_uri,
        "pid": pid,
        "host": host,
    }


def encode_entry(entry: Entry) -> str:
    record: dict[str, Any] = {"seq": entry.seq, "id": entry.id, "op": entry.op}
    record["run_id"] = entry.run_id
    if entry.op == OP_LOG_BATCH:
        record["metrics"] = [_encode_metric(m) for m in entry.metrics]
        record["params"] = [[p.key, p.value] for p in entry.params]
        record["tags"] = [[t.key, t.value] for t in entry.tags]
    else:
        record["status"] = entry.status
        record["end_time"] = entry.end_time
    return json.dumps(record, separators=(",", ":"))


def _encode_metric(metric: Metric) -> list[Any]:
    row: list[Any] = [metric.key, metric.value, metric.timestamp, metric.step]
    if metric.dataset_name or metric.dataset_digest or metric.model_id:
        row += [metric.dataset_name, metric.dataset_digest, metric.model_id]
    return row


def decode_entry(record: dict[str, Any], line: int) -> Entry:
    """Build an Entry from a parsed data record; ValueError/KeyError/TypeError if malformed."""
    op = record["op"]
    if op not in DATA_OPS:
        raise ValueError(f"unknown op {op!r}")
    seq = record["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError(f"seq must be an integer, not {seq!r}")
    run_id = record["run_id"]
    if not isinstance(run_id, str):
        raise ValueError(f"run_id must be a string, not {run_id!r}")
    entry = Entry(seq=seq, op=op, run_id=run_id, id=str(record.get("id", "")), line=line)
    if op == OP_LOG_BATCH:
        entry.metrics = [_decode_metric(row) for row in record.get("metrics", [])]
        entry.params = [Param(str(k), str(v)) for k, v in record.get("params", [])]
        entry.tags = [RunTag(str(k), str(v)) for k, v in record.get("tags", [])]
    else:
        entry.status = record.get("status")
        end_time = record.get("end_time")
        entry.end_time = None if end_time is None else int(end_time)
    return entry


def _decode_metric(row: list[Any]) -> Metric:
    if not isinstance(row, list) or len(row) not in (4, 7):
        raise ValueError(f"a metric is [key, value, timestamp, step(, dataset…)], not {row!r}")
    key, value, timestamp, step = row[:4]
    extra = row[4:] if len(row) == 7 else [None, None, None]
    return Metric(str(key), float(value), int(timestamp), int(step), *extra)
