"""Between entities and rows: metric values, latest-point ranking, fast entity building."""

from __future__ import annotations

import contextlib
import gc
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import Row
from trackline.entities import Metric, RunInfo
from trackline.validation import validate_metric

# No SQL backend stores infinities portably; MLflow writes ±DBL_MAX, and so do we.
DOUBLE_MAX = 1.7976931348623157e308

Rank = tuple[int, int, float]


def rank(step: int, timestamp: int, value: float, is_nan: bool) -> Rank:
    """The order that picks a key's latest point: step, timestamp, value; NaN lowest."""
    return (step, timestamp, -math.inf if is_nan else value)


def metric_rows(
    run_id: str, batch: Sequence[Metric]
) -> tuple[list[tuple[Any, ...]], dict[str, dict[str, Any]]]:
    """Tuples for the metric insert (``statements.METRIC_COLUMNS`` order) and, per key, the
    batch's newest point as a ``latest_metrics`` row.

    NaN is stored as (0, is_nan=True), ±inf as ±DBL_MAX. Runs once per logged point, so the
    conversion is written out inline rather than in helper calls.
    """
    rows: list[tuple[Any, ...]] = []
    newest: dict[str, tuple[Rank, tuple[Any, ...]]] = {}
    append, infinities = rows.append, (math.inf, -math.inf)
    for metric in batch:
        key = metric.key
        value = float(metric.value)
        if value != value:  # NaN
            value, is_nan, value_rank = 0.0, True, -math.inf
        else:
            if value in infinities:
                value = DOUBLE_MAX if value > 0 else -DOUBLE_MAX
            is_nan, value_rank = False, value
        step, timestamp = int(metric.step), int(metric.timestamp)
        row = (key, value, timestamp, step, is_nan, run_id)
        append(row)
        point_rank = (step, timestamp, value_rank)
        best = newest.get(key)
        if best is None or point_rank > best[0]:
            newest[key] = (point_rank, row)
    latest = {
        key: {
            "key": key,
            "value": row[1],
            "timestamp": row[2],
            "step": row[3],
            "is_nan": row[4],
            "run_uuid": run_id,
        }
        for key, (_, row) in newest.items()
    }
    return rows, latest


# Keys already accepted by validate_metric; key rules are pure functions of the key.
_valid_metric_keys: set[str] = set()
_VALID_KEY_CACHE_LIMIT = 100_000


def check_metrics(batch: Sequence[Metric]) -> None:
    """``trackline.validation.validate_metric`` on every metric, minus repeated work.

    A training loop logs the same few keys thousands of times. A metric whose key already
    passed, whose value is a plain ``float``/``int`` and whose timestamp and step are plain
    non-negative / any ``int`` is exactly what validate_metric accepts, so it is let through
    here; anything else gets the full check (and its error message).
    """
    valid_keys = _valid_metric_keys
    for metric in batch:
        timestamp = metric.timestamp
        if (
            metric.key in valid_keys
            and type(metric.value) in (float, int)
            and type(timestamp) is int
            and timestamp >= 0
            and type(metric.step) is int
        ):
            continue
        validate_metric(metric)
        if len(valid_keys) >= _VALID_KEY_CACHE_LIMIT:
            valid_keys.clear()
        valid_keys.add(metric.key)


def _metric_factory() -> Callable[[str, float, int, int], Metric]:
    """Metric objects for 10^5-point histories without the dataclass ``__init__`` cost.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``; filling
    ``__dict__`` in one step is about 2.5x faster. Falls back to the constructor if Metric
    ever stops being a plain dataclass with exactly these fields.
    """
    expected = (
        "key",
        "value",
        "timestamp",
        "step",
        "dataset_name",
        "dataset_digest",
        "model_id",
        "run_id",
    )
    if hasattr(Metric, "__slots__") or tuple(f.name for f in fields(Metric)) != expected:
        return lambda key, value, timestamp, step: Metric(key, value, timestamp, step)
    new, set_attr = object.__new__, object.__setattr__

    def build(key: str, value: float, timestamp: int, step: int) -> Metric:
        metric = new(Metric)
        set_attr(
            metric,
            "__dict__",
            {
                "key": key,
                "value": value,
                "timestamp": timestamp,
                "step": step,
                "dataset_name": None,
                "dataset_digest": None,
                "model_id": None,
                "run_id": None,
            },
        )
        return metric

    return build


make_metric = _metric_factory()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while building many acyclic objects.

    10^5 Metric objects trigger collection after collection of a growing young generation,
    each one walking every object built so far: half the cost of a 10^5-point history.
    Nothing built here can form a cycle, so there is nothing for the collector to find.
    (If the application disabled the collector itself, it stays disabled.)
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_info(row: Row[Any]) -> RunInfo:
    return RunInfo(
        run_id=row.run_uuid,
        experiment_id=str(row.experiment_id),
        run_name=row.name or "",
        user_id=row.user_id or "",
        status=row.status,
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=row.artifact_uri or "",
        lifecycle_stage=row.lifecycle_stage,
    )
