"""trackline.metric_downsample: the M4 reduction every store's down-sampled history follows."""

from __future__ import annotations

import math

import pytest
from trackline.entities import Metric
from trackline.exceptions import TracklineException
from trackline.metric_downsample import (
    DownsampledHistory,
    check_downsample_arguments,
    downsample_columns,
    downsample_history,
    m4_buckets,
    m4_indices,
)


def test_m4_keeps_every_bucket_extreme_and_is_deterministic():
    values = [math.sin(i / 50) for i in range(100_000)]
    values[12_345] = 1e6  # a one-point spike
    values[77_777] = -1e6
    keep = m4_indices(values, 1000)
    assert len(keep) <= 1000
    assert keep == sorted(set(keep))
    assert {12_345, 77_777, 0, 99_999} <= set(keep)
    assert keep == m4_indices(list(values), 1000)
    for start, end in m4_buckets(len(values), 1000):  # each bucket's min and max survive
        segment = values[start:end]
        kept = [values[i] for i in keep if start <= i < end]
        assert min(segment) in kept and max(segment) in kept


def test_buckets_cover_the_series_in_equal_counts():
    buckets = m4_buckets(1003, 40)
    assert len(buckets) == 10 and buckets[0][0] == 0 and buckets[-1][1] == 1003
    assert all(a[1] == b[0] for a, b in zip(buckets, buckets[1:], strict=False))
    assert {end - start for start, end in buckets} <= {100, 101}
    assert m4_buckets(40, 40) == []  # everything fits: no reduction


def test_m4_ignores_nan_and_infinities_for_extremes_but_keeps_edges():
    values = [1.0, math.nan, 5.0, -3.0, math.nan, 2.0, math.inf, 0.0] * 10
    keep = m4_indices(values, 8)
    chosen = [values[i] for i in keep]
    assert 5.0 in chosen and -3.0 in chosen and math.inf not in chosen
    assert m4_indices(values[:5], 8) == [0, 1, 2, 3, 4]  # small series: everything
    only_nan = m4_indices([math.nan] * 20, 4)
    assert only_nan == [0, 19]  # no extreme to keep, the edges stay


def test_m4_takes_the_first_of_equal_extremes():
    assert m4_indices([3.0, 1.0, 7.0, 1.0, 7.0, 3.0, 2.0, 2.0, 2.0], 4) == [0, 1, 2, 8]


def test_time_axes_reduce_in_time_order():
    history = [Metric("m", float(v), 1000 * (10 - v), v) for v in range(10)]  # time runs back
    reduced = downsample_history(history, "wall", 100)
    assert reduced.steps == list(range(9, -1, -1))
    assert reduced.timestamps == sorted(reduced.timestamps)
    assert reduced.first_timestamp == 1000 and not reduced.downsampled


def test_ranges_keep_one_point_beyond_each_edge():
    steps = list(range(100))
    timestamps = [1_000_000 + 1000 * s for s in steps]
    values = [float(s) for s in steps]
    zoom = downsample_columns(steps, timestamps, values, "step", 2000, 10, 20)
    assert zoom.steps == list(range(9, 22)) and zoom.total_points == 13
    relative = downsample_columns(steps, timestamps, values, "relative", 2000, 50, None)
    assert relative.steps[0] == 49 and relative.first_timestamp == 1_000_000
    wall = downsample_columns(steps, timestamps, values, "wall", 2000, None, 1_002_000)
    assert wall.steps == [0, 1, 2, 3]
    empty = downsample_columns(steps, timestamps, values, "step", 2000, 10.2, 10.8)
    assert empty.steps == [10, 11]  # nothing inside: the neighbours either side


def test_equal_steps_keep_the_store_order():
    reduced = downsample_columns([1, 0, 1], [5, 9, 3], [1.0, 2.0, 3.0], "step", 10)
    assert (reduced.steps, reduced.timestamps) == ([0, 1, 1], [9, 3, 5])


def test_no_history():
    assert downsample_history([], "relative", 10, 0, 1) == DownsampledHistory()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("epoch", 10, None, None), "x_axis must be one of step, wall, relative"),
        (("step", 3, None, None), "max_points must be at least 4"),
        (("step", 10, math.nan, None), "x_min must be a finite number"),
        (("step", 10, None, math.inf), "x_max must be a finite number"),
        (("step", 10, 5, 1), "must not be greater than x_max"),
    ],
)
def test_bad_arguments(args, message):
    with pytest.raises(TracklineException, match=message) as info:
        check_downsample_arguments(*args)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_the_default_store_method_reads_the_history_and_reduces_it(tmp_path):
    from trackline.store.tracking import AbstractTrackingStore

    class Store:
        def get_metric_history(self, run_id, key):
            assert (run_id, key) == ("r", "m")
            return [Metric("m", float(i % 7), 100 + i, i) for i in range(1000)]

    reduced = AbstractTrackingStore.get_metric_history_downsampled(Store(), "r", "m", "step", 40)
    assert reduced.total_points == 1000 and len(reduced.values) <= 40 and reduced.downsampled
    with pytest.raises(TracklineException):
        AbstractTrackingStore.get_metric_history_downsampled(Store(), "r", "m", "nope")
