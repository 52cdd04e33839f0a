"""The SQL store's down-sampled history is exactly the default's (full read + M4), per backend.

``AbstractTrackingStore.get_metric_history_downsampled`` (read every point, reduce in Python)
is the reference; ``SqlTrackingStore`` overrides it with ``trackline_sql.metric_series``. Each
way it can take ("buckets": per-bucket MIN/MAX in SQL between keys found by walking the primary
key; "columns": values read alone, then the kept rows fetched by that walk; "rows": bare
tuples) must give the same points, on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import math
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trackline.entities import Metric
from trackline.exceptions import TracklineException
from trackline.metric_downsample import X_AXES
from trackline.store.tracking import AbstractTrackingStore
from trackline_sql.metric_series import (
    STRATEGIES,
    _Reader,
    column_thresholds,
    reduce_regular_steps,
)

MAX_POINTS = (4, 8, 12, 40, 10_000)


def _default(store, run_id, key, *args):
    return AbstractTrackingStore.get_metric_history_downsampled(store, run_id, key, *args)


def _new_run(store) -> str:
    experiment_id = store.create_experiment(f"e-{uuid.uuid4().hex}")
    return store.create_run(experiment_id, None, 0, [], None).info.run_id


def _log(store, run_id: str, points: list[tuple[int, int, float]], key: str = "m") -> None:
    for start in range(0, len(points), 1000):
        batch = [Metric(key, v, t, s) for s, t, v in points[start : start + 1000]]
        store.log_batch(run_id, metrics=batch)


def _distinct(points: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """One point per (step, timestamp, stored value): the store keeps one of each, and a
    NaN (stored as value 0) next to a 0 at the same step and time has no defined order in
    ``get_metric_history`` (ORDER BY step, timestamp, value), so the default's order of the
    two would be the database's whim."""
    seen: dict[tuple[int, int, float], None] = {}
    out = []
    for step, timestamp, value in points:
        stored = 0.0 if math.isnan(value) else max(-1.8e308, min(1.8e308, value))
        if (step, timestamp, stored) not in seen:
            seen[(step, timestamp, stored)] = None
            out.append((step, timestamp, value))
    return out


def _same(got, want) -> None:
    assert got.first_timestamp == want.first_timestamp
    assert got.total_points == want.total_points
    assert got.steps == want.steps
    assert got.timestamps == want.timestamps
    # NaN != NaN: compare representations (and -0.0 stays -0.0).
    assert [repr(v) for v in got.values] == [repr(v) for v in want.values]


values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, -1.0, 25.0, math.nan, math.inf, -math.inf]),
)
points = st.lists(
    st.tuples(st.integers(-3, 40), st.integers(1_000, 1_060), values), max_size=160
).map(_distinct)
bound = st.one_of(st.none(), st.floats(-5, 45), st.integers(-5, 45).map(float))
time_bound = st.one_of(st.none(), st.floats(990, 1070), st.integers(990, 1070).map(float))
relative_bound = st.one_of(st.none(), st.floats(-0.01, 0.07))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=points, data=st.data())
def test_matches_the_default_reduction(store, history, data):
    run_id = _new_run(store)
    _log(store, run_id, history)
    for x_axis in X_AXES:
        bounds = {"step": bound, "wall": time_bound, "relative": relative_bound}[x_axis]
        x_min, x_max = data.draw(bounds), data.draw(bounds)
        if x_min is not None and x_max is not None and x_min > x_max:
            x_min, x_max = x_max, x_min
        for max_points in MAX_POINTS:
            args = (x_axis, max_points, x_min, x_max)
            want = _default(store, run_id, "m", *args)
            for strategy in (None, *STRATEGIES):
                got = store.get_metric_history_downsampled(run_id, "m", *args, strategy=strategy)
                _same(got, want)


@pytest.mark.parametrize("strategy", [None, *STRATEGIES])
def test_a_long_series_keeps_every_spike(store, strategy):
    run_id = _new_run(store)
    n = 20_000
    spikes = {3: 1e6, 4_567: -1e6, 12_001: 50.0, 19_998: math.inf}
    history = [(s, 1_000 + 2 * s, spikes.get(s, math.sin(s / 300))) for s in range(n)]
    history[7_000] = (7_000, 1_000 + 14_000, math.nan)
    _log(store, run_id, history)
    for x_axis in X_AXES:
        got = store.get_metric_history_downsampled(run_id, "m", x_axis, 400, strategy=strategy)
        _same(got, _default(store, run_id, "m", x_axis, 400, None, None))
        assert got.downsampled and got.total_points == n and len(got.values) <= 400
        assert {3, 4_567, 12_001, 19_998} <= set(got.steps)
        assert got.steps[0] == 0 and got.steps[-1] == n - 1
    zoom = store.get_metric_history_downsampled(run_id, "m", "step", 40, 4_000.5, 5_000)
    assert zoom.total_points == 1_002 and zoom.steps[0] == 4_000 and zoom.steps[-1] == 5_001
    assert 4_567 in zoom.steps
    _same(zoom, _default(store, run_id, "m", "step", 40, 4_000.5, 5_000))


def test_duplicate_steps_and_time_running_backwards(store):
    run_id = _new_run(store)
    history = [(s // 3, 10_000 - 7 * s, float((s * 37) % 11)) for s in range(300)]
    _log(store, run_id, history)
    for x_axis in X_AXES:
        for strategy in STRATEGIES:
            for window in ((None, None), (20, 60), (9_000, 9_500), (-0.5, -0.2)):
                if x_axis == "wall":
                    window = (None, None) if window[0] == 20 else window
                args = (x_axis, 16, *window)
                got = store.get_metric_history_downsampled(run_id, "m", *args, strategy=strategy)
                _same(got, _default(store, run_id, "m", *args))


def test_no_points_and_missing_runs(store):
    run_id = _new_run(store)
    empty = store.get_metric_history_downsampled(run_id, "absent")
    assert empty.first_timestamp is None and empty.total_points == 0 and empty.values == []
    with pytest.raises(TracklineException) as info:
        store.get_metric_history_downsampled("f" * 32, "m")
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(TracklineException, match="x_axis must be one of"):
        store.get_metric_history_downsampled(run_id, "m", "epoch")


def test_bounds_beyond_any_bigint(store):
    run_id = _new_run(store)
    _log(store, run_id, [(s, 1_000 + s, float(s)) for s in range(50)])
    for x_axis in X_AXES:
        for window in ((-1e300, 1e300), (1e300, 1e301), (-1e301, -1e300), (None, 1e19)):
            args = (x_axis, 8, *window)
            for strategy in STRATEGIES:
                got = store.get_metric_history_downsampled(run_id, "m", *args, strategy=strategy)
                _same(got, _default(store, run_id, "m", *args))


def test_relative_thresholds_follow_python_float_comparisons():
    low, high = column_thresholds("relative", 0.0015, 0.0025, 1_000)
    assert (low, high) == (1_002, 1_002)  # 1.5 ms .. 2.5 ms after the first point
    assert column_thresholds("step", 1.5, 3.0, None) == (2, 3)
    assert column_thresholds("wall", -2.5, -0.5, None) == (-2, -1)


# -- SQLite's regular-step way: buckets as step ranges, extremes from bare columns ------------


def _regular_way(store, run_id: str, max_points: int):
    """``reduce_regular_steps`` alone: the reduction, or None where it gives up."""
    with store.engine.connect() as conn:
        reader = _Reader(conn, store.engine.dialect, {"run_id": run_id, "key": "m"})
        try:
            return reduce_regular_steps(reader, max_points)
        finally:
            reader.close()


# Few distinct values, so that buckets hold ties of their extremes at many positions.
tie_values = st.sampled_from([0.0, -0.0, 1.0, 1.0, 2.0, -1.0, math.nan, math.inf, -math.inf])
regular_history = st.tuples(
    st.integers(-5, 5),  # first step
    st.integers(1, 3),  # stride
    st.lists(st.tuples(st.integers(1_000, 1_030), st.one_of(tie_values, values)), min_size=2),
    st.sampled_from(["regular", "duplicate", "gap", "duplicate and gap", "beyond"]),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=regular_history)
def test_regular_steps_match_the_default(store, case):
    """Steps s0, s0 + d, ... (optionally broken: a step twice, a step missing, both, one far
    beyond): every way matches the default; on SQLite the regular-step way is taken exactly
    when the steps are regular, and gives up otherwise (a broken count must not pass)."""
    first, stride, points, shape = case
    history = [(first + i * stride, t, v) for i, (t, v) in enumerate(points[:150])]
    if shape in ("duplicate", "duplicate and gap") and len(history) > 3:
        step, t, v = history[len(history) // 3]
        history.append((step, t + 40, v))  # the same step again, later
    if shape in ("gap", "duplicate and gap") and len(history) > 3:
        del history[2 * len(history) // 3]
    if shape == "beyond":
        history.append((history[-1][0] + 10 * stride + 1, 1_001, 5.0))
    history = _distinct(history)
    run_id = _new_run(store)
    _log(store, run_id, history)
    for max_points in (4, 8, 12, 40):
        want = _default(store, run_id, "m", "step", max_points, None, None)
        for strategy in (None, *STRATEGIES):
            got = store.get_metric_history_downsampled(
                run_id, "m", "step", max_points, strategy=strategy
            )
            _same(got, want)
        if store.engine.dialect.name == "sqlite":
            fast = _regular_way(store, run_id, max_points)
            if fast is not None:
                _same(fast, want)
            if shape == "regular" and len(history) > max_points:
                assert fast is not None
            if shape == "beyond" or (shape == "gap" and len(history) > 3):
                assert fast is None  # the guessed count is wrong: some bucket's count shows it


def test_regular_steps_with_ties_nan_and_an_older_point(store):
    """Ties of a bucket's lowest and highest value at many places (the first one is kept, as
    by the default), constant stretches, all-NaN buckets, and a point older than the first."""
    run_id = _new_run(store)
    n = 6_000
    history = []
    for s in range(n):
        if 1_000 <= s < 1_500:
            value = math.nan
        elif 2_000 <= s < 3_000:
            value = 7.0
        else:
            value = float((s * 7) % 5) - 2.0
        history.append((2 * s, 50_000 + s, value))
    history[4_321] = (2 * 4_321, 10, 1.5)  # the oldest point, far from the first one
    _log(store, run_id, history)
    for max_points in (40, 400, 2_000):
        want = _default(store, run_id, "m", "step", max_points, None, None)
        assert want.first_timestamp == 10
        _same(store.get_metric_history_downsampled(run_id, "m", "step", max_points), want)
        if store.engine.dialect.name == "sqlite":
            fast = _regular_way(store, run_id, max_points)
            assert fast is not None
            _same(fast, want)
