"""Time-ordered input ids (``trackline_sql.ids``): the order a run's inputs were logged."""

from __future__ import annotations

import uuid

import pytest
from trackline_sql import ids


def test_ids_are_uuid7_and_strictly_increasing() -> None:
    made = [ids.time_ordered_hex() for _ in range(10_000)]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    for value in (made[0], made[-1]):
        parsed = uuid.UUID(value)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert len(value) == 32


def test_ids_stay_ordered_when_the_clock_stalls_or_steps_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stalled_ns = (ids._last_millisecond + 10) * 1_000_000
    monkeypatch.setattr(ids.time, "time_ns", lambda: stalled_ns)
    in_one_millisecond = [ids.time_ordered_hex() for _ in range(5_000)]
    monkeypatch.setattr(ids.time, "time_ns", lambda: stalled_ns - 60_000_000_000)  # a minute back
    after_step_back = [ids.time_ordered_hex() for _ in range(10)]
    made = in_one_millisecond + after_step_back
    assert made == sorted(made) and len(set(made)) == len(made)
    milliseconds = {int(value[:12], 16) for value in in_one_millisecond}
    # 4,096 ids fit in a millisecond's counter; the rest borrow the next millisecond.
    assert milliseconds == {stalled_ns // 1_000_000, stalled_ns // 1_000_000 + 1}
