"""Down-sampling a metric's history for charts, keeping every spike (an M4 reduction).

A chart cannot show more than a couple of points per pixel, so a million-point history is cut
to at most ``max_points`` points: the points are taken in x order (step, or time), cut into
``max_points // 4`` buckets of (nearly) equal count, and each bucket keeps its first, last,
lowest and highest point. A one-point spike is the highest (or lowest) of its bucket, so it is
never dropped, and the result depends only on the history: the same data draws the same chart.

This module is the one implementation of that reduction. ``AbstractTrackingStore``'s default
``get_metric_history_downsampled`` reads the whole history and applies
:func:`downsample_history`; a store that can read its points faster (columns instead of
``Metric`` objects, or the buckets' extremes computed by the database) overrides the method
and must return exactly what the default returns (see :func:`downsample_columns` for the rules,
and ``trackline-sql``'s ``metric_series`` module for an example).
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trackline.exceptions import TracklineException

if TYPE_CHECKING:
    from trackline.entities import Metric

X_AXES = ("step", "wall", "relative")
"""``step``; ``wall``: milliseconds since the epoch; ``relative``: seconds since the first
point of the run's history."""
MIN_POINTS = 4  # one bucket: first, last, lowest, highest


@dataclass(frozen=True)
class DownsampledHistory:
    """One run's metric history reduced for a chart, in x order.

    ``first_timestamp`` is the time of the history's earliest point (``None`` without points):
    relative time 0. ``total_points`` counts the points in the requested x range (with the one
    point kept beyond each edge) before the reduction.
    """

    first_timestamp: int | None = None
    total_points: int = 0
    steps: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    @property
    def downsampled(self) -> bool:
        """Whether points were dropped (the chart shows a reduction, not every point)."""
        return len(self.values) < self.total_points


def check_downsample_arguments(
    x_axis: str, max_points: int, x_min: float | None, x_max: float | None
) -> None:
    """Refuse arguments no reduction can honour (INVALID_PARAMETER_VALUE)."""
    invalid = TracklineException.invalid_parameter_value
    if x_axis not in X_AXES:
        raise invalid(f"x_axis must be one of {', '.join(X_AXES)}. Got {x_axis!r}.")
    if max_points < MIN_POINTS:
        raise invalid(f"max_points must be at least {MIN_POINTS}. Got {max_points}.")
    for name, bound in (("x_min", x_min), ("x_max", x_max)):
        if bound is not None and not math.isfinite(bound):
            raise invalid(f"{name} must be a finite number. Got {bound}.")
    if x_min is not None and x_max is not None and x_min > x_max:
        raise invalid(f"x_min ({x_min}) must not be greater than x_max ({x_max}).")


def m4_buckets(count: int, max_points: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` index ranges of the buckets of a ``count``-point series (none
    when every point fits). Stores that reduce in the database cut the same buckets."""
    if count <= max_points:
        return []
    buckets = max(1, max_points // 4)
    bounds = [b * count // buckets for b in range(buckets + 1)]
    return [(start, end) for start, end in itertools.pairwise(bounds) if start < end]


def m4_indices(values: Sequence[float], max_points: int) -> list[int]:
    """Indices of at most ``max_points`` points of an x-ordered series, extremes kept.

    The series is cut into ``max_points // 4`` buckets of (nearly) equal size; each keeps its
    first, last, minimum and maximum point, in order (the first of equal extremes). NaN and
    infinite values never win the minimum or maximum, but a bucket's first and last points are
    kept whatever they are. The result depends only on the input.
    """
    n = len(values)
    if n <= max_points:
        return list(range(n))
    values = values if isinstance(values, list) else list(values)
    finite = math.isfinite
    keep: list[int] = []
    for start, end in m4_buckets(n, max_points):
        segment = values[start:end]
        chosen = {start, end - 1}
        try:
            low, high = min(segment), max(segment)
            clean = finite(low) and finite(high)
        except TypeError:
            clean = False
        if not clean:
            finite_values = [v for v in segment if finite(v)]
            low = min(finite_values) if finite_values else None
            high = max(finite_values) if finite_values else None
        if low is not None:
            chosen.add(start + segment.index(low))
            chosen.add(start + segment.index(high))
        keep.extend(sorted(chosen))
    return keep


def x_window(xs: Sequence[float], x_min: float | None, x_max: float | None) -> tuple[int, int]:
    """The ``[lo, hi)`` index range of the x-ordered ``xs`` within [x_min, x_max], widened by
    one point on each side so that a zoomed chart's line runs on to its border."""
    if x_min is None and x_max is None:
        return 0, len(xs)
    lo = 0 if x_min is None else bisect.bisect_left(xs, x_min)
    hi = len(xs) if x_max is None else bisect.bisect_right(xs, x_max)
    return max(0, lo - 1), min(len(xs), hi + 1)


def relative_seconds(timestamp: int, first_timestamp: int | None) -> float:
    """The relative x of a point: seconds since the history's first point."""
    return (timestamp - (first_timestamp or 0)) / 1000.0


def _non_decreasing(xs: Sequence[int]) -> bool:
    return all(map(operator.le, xs, itertools.islice(xs, 1, None)))  # C speed, no Python loop


def downsample_columns(
    steps: list[int],
    timestamps: list[int],
    values: list[float],
    x_axis: str = "step",
    max_points: int = 2000,
    x_min: float | None = None,
    x_max: float | None = None,
) -> DownsampledHistory:
    """Reduce a history given as three columns in the store's order (step, then timestamp).

    The points are put in x order (for ``wall`` and ``relative``: a stable sort by timestamp,
    so equal times keep the store's order), cut to [x_min, x_max] with one point beyond each
    edge (:func:`x_window`), then reduced with :func:`m4_indices`. ``first_timestamp`` is the
    earliest timestamp of the whole history, whatever the range.
    """
    first_timestamp = min(timestamps) if timestamps else None
    key = steps if x_axis == "step" else timestamps
    if not _non_decreasing(key):
        if x_axis == "step":
            order = sorted(range(len(steps)), key=lambda i: (steps[i], timestamps[i]))
        else:  # stable: equal times keep their (step, timestamp) order from the store
            order = sorted(range(len(key)), key=key.__getitem__)
        steps = [steps[i] for i in order]
        timestamps = [timestamps[i] for i in order]
        values = [values[i] for i in order]
    if x_min is not None or x_max is not None:
        if x_axis == "step":
            xs: Sequence[float] = steps
        elif x_axis == "wall":
            xs = timestamps
        else:
            xs = [relative_seconds(t, first_timestamp) for t in timestamps]
        lo, hi = x_window(xs, x_min, x_max)
        steps, timestamps, values = steps[lo:hi], timestamps[lo:hi], values[lo:hi]
    keep = m4_indices(values, max_points)
    if len(keep) == len(values):
        return DownsampledHistory(first_timestamp, len(values), steps, timestamps, values)
    return DownsampledHistory(
        first_timestamp,
        len(values),
        [steps[i] for i in keep],
        [timestamps[i] for i in keep],
        [values[i] for i in keep],
    )


def downsample_history(
    history: Iterable[Metric],
    x_axis: str = "step",
    max_points: int = 2000,
    x_min: float | None = None,
    x_max: float | None = None,
) -> DownsampledHistory:
    """:func:`downsample_columns` of ``Metric`` objects in the store's order."""
    history = history if isinstance(history, list) else list(history)
    steps = [m.step for m in history]
    timestamps = [m.timestamp for m in history]
    values = [m.value for m in history]
    return downsample_columns(steps, timestamps, values, x_axis, max_points, x_min, x_max)
