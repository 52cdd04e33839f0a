"""A metric's history reduced for a chart without a ``Metric`` per point (``MetricSeriesMixin``).

``AbstractTrackingStore.get_metric_history_downsampled``'s default reads the whole history
and reduces it with ``trackline.metric_downsample`` (M4: the points in x order cut into
``max_points // 4`` buckets of equal count, each keeping its first, last, lowest and highest
point). This computes the same result, point for point, in one of three ways:

* **buckets** (step axis, SQLite): the database does the scans. When the whole history is
  asked for and its steps are regular (``s0, s0 + d, ...``, checked by each bucket's count),
  each bucket is a step range and one statement: a scan giving its count, MIN, MAX and the
  bare columns of the first row holding one of them, plus two index seeks for its first and
  last rows; the other extreme's row is the first row's or found by one partial scan
  (``reduce_regular_steps``: ~1.1 scans of the history in all). Otherwise each bucket's first
  and last rows are found by walking the primary key (``(step, timestamp, value, is_nan) >
  the last row fetched`` with an ``OFFSET`` for the gap, which SQLite skips in C without
  sending a row), then per bucket one ``MIN(value), MAX(value)`` over its key range and the
  first row holding each: ~4 small statements per bucket, nothing per point in Python.
* **columns** (step axis, PostgreSQL, where a statement costs more): the values alone, one
  column in primary-key order, reduced with ``m4_indices`` itself; then only the kept rows
  are fetched by walking the key as above.
* **rows** (time axes, and MySQL/MariaDB, whose PyMySQL driver parses rows in Python at
  ~10 µs each, so that a second query per kept run of points would not pay): the four columns
  as plain tuples on the DBAPI cursor, reduced by ``downsample_columns``, the same code as the
  default minus a million ``Metric`` objects.

On 10^6 points (step axis, a VM loaded by other jobs, same-run ratios against the default):
SQLite buckets 4.0-4.2x faster, columns 2.4-2.9x; PostgreSQL columns 1.7-2.3x, buckets 1.1x.
On regular steps, SQLite's one-statement buckets are 2.06-2.16x faster again than the key
walk (same run, 10^6 points, 2,500-point budget, load 1.4-2.0). Bare-column MIN/MAX need
SQLite: elsewhere the buckets way always walks the key. Numbering the points in SQL
(``ROW_NUMBER``) and finding the extremes with grouped or windowed aggregates was measured
too, on 10^6 points, and lost everywhere: SQLite materialises a window's rows (9.5 s),
PostgreSQL sorts all points by bucket or by rank (5.6 s, against 2.7 s for the column read),
MariaDB re-evaluates each CTE where it is used (40 s; windows
partitioned by bucket did not finish in 5 minutes).

A zoomed range ([x_min, x_max]) is located first with one aggregate (how many points lie
below and within it: the ``bisect`` of the default on the full history), so only the range is
read. The x order is the default's: step axis ``(step, timestamp, value, is_nan)`` (the
primary key, ``get_metric_history``'s order), time axes the stable sort of that by timestamp.
NaN is stored as ``is_nan`` with value 0 and never wins a minimum or maximum; infinities are
stored as ±DBL_MAX, so the default sees them as finite too.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable
from itertools import compress
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Dialect,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
    tuple_,
    union_all,
)
from trackline.metric_downsample import (
    DownsampledHistory,
    check_downsample_arguments,
    downsample_columns,
    m4_buckets,
    m4_indices,
    relative_seconds,
)

from trackline_sql.models import metrics
from trackline_sql.statements import positional_sql

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
STRATEGIES = ("buckets", "columns", "rows")

_m = metrics.c
_STEP_ORDER = (_m.step, _m.timestamp, _m.value, _m.is_nan)
_TIME_ORDER = (_m.timestamp, _m.step, _m.value, _m.is_nan)
_OF_METRIC = and_(_m.run_uuid == bindparam("run_id"), _m.key == bindparam("key"))
_POINT = (_m.step, _m.timestamp, _m.value, _m.is_nan)


def default_strategy(dialect: Dialect, x_axis: str) -> str:
    """The faster way for this database and axis (measured; see the module docstring)."""
    if x_axis == "step" and dialect.name == "sqlite":
        return "buckets"
    if x_axis == "step" and dialect.name == "postgresql":
        return "columns"
    return "rows"


# -- the range: x bounds as integer thresholds on the column ---------------------------------


def _first_at_least(x: Callable[[int], float], bound: float) -> int:
    """The smallest BIGINT t with x(t) >= bound (BIGINT_MAX + 1 if none); x non-decreasing."""
    lo, hi = BIGINT_MIN, BIGINT_MAX + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if x(mid) >= bound:
            hi = mid
        else:
            lo = mid + 1
    return lo


def column_thresholds(
    x_axis: str, x_min: float | None, x_max: float | None, first_timestamp: int | None
) -> tuple[int | None, int | None]:
    """``(low, high)`` such that, for the x column's integer value t, ``x(t) >= x_min`` is
    ``t >= low`` and ``x(t) <= x_max`` is ``t <= high``, compared as Python compares them."""
    if x_axis != "relative":
        low = None if x_min is None else math.ceil(x_min)
        high = None if x_max is None else math.floor(x_max)
        return low, high

    def x(t: int) -> float:
        return relative_seconds(t, first_timestamp)

    low = None if x_min is None else _first_at_least(x, x_min)
    # The largest t with x(t) <= x_max: one before the first t with x(t) > x_max.
    high = None if x_max is None else _first_at_least(x, math.nextafter(x_max, math.inf)) - 1
    return low, high


def _at_least(column: Any, low: int | None) -> Any:
    if low is None or low <= BIGINT_MIN:
        return true()
    if low > BIGINT_MAX:
        return false()
    return column >= literal(low, BigInteger)


def _at_most(column: Any, high: int | None) -> Any:
    if high is None or high >= BIGINT_MAX:
        return true()
    if high < BIGINT_MIN:
        return false()
    return column <= literal(high, BigInteger)


def _count_where(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# -- reading ----------------------------------------------------------------------------------


class _Reader:
    """Driver SQL on the DBAPI cursor of one transaction: no per-row SQLAlchemy processing."""

    def __init__(self, conn: Connection, dialect: Dialect, where: dict[str, Any]) -> None:
        self.conn, self.dialect, self.where = conn, dialect, where
        options = {"binary": True} if dialect.driver == "psycopg" else {}
        self.cursor = conn.connection.cursor(**options)

    def rows(self, stmt: Any, **params: Any) -> list[Any]:
        sql, order = _compiled(stmt, self.dialect)
        bound = {**self.where, **params}
        self.cursor.execute(sql, tuple(bound[name] for name in order))
        return self.cursor.fetchall()

    def close(self) -> None:
        self.cursor.close()


_COMPILED: dict[tuple[int, str, str], tuple[str, tuple[str, ...]]] = {}


def _compiled(stmt: Any, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    key = (id(stmt), dialect.name, dialect.driver)
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED[key] = positional_sql(stmt, dialect)
    return found


def _paged(stmt: Any) -> Any:
    return stmt.limit(bindparam("limit")).offset(bindparam("offset"))


_ALL_IN_STEP_ORDER = select(*_POINT).where(_OF_METRIC).order_by(*_STEP_ORDER)
_VALUES_IN_STEP_ORDER = _paged(
    select(case((_m.is_nan == false(), _m.value))).where(_OF_METRIC).order_by(*_STEP_ORDER)
)
_PAGE_IN_STEP_ORDER = _paged(_ALL_IN_STEP_ORDER)
_AFTER = tuple_(*_STEP_ORDER) > tuple_(
    bindparam("a_step"), bindparam("a_timestamp"), bindparam("a_value"), bindparam("a_is_nan")
)
_PAGE_AFTER = _paged(select(*_POINT).where(_OF_METRIC, _AFTER).order_by(*_STEP_ORDER))


def _columns(rows: list[Any]) -> tuple[list[int], list[int], list[float]]:
    """(step, timestamp, value, is_nan) tuples as three columns, NaN restored."""
    steps = list(map(operator.itemgetter(0), rows))
    timestamps = list(map(operator.itemgetter(1), rows))
    values = list(map(operator.itemgetter(2), rows))
    nans = list(map(operator.itemgetter(3), rows))
    if any(nans):
        for index in compress(range(len(rows)), nans):
            values[index] = math.nan
    return steps, timestamps, values


def _range_rows(
    reader: _Reader,
    x_axis: str,
    low: int | None,
    high: int | None,
    below: int,
    within: int,
    total: int,
) -> list[Any]:
    """The points of [low, high] in x order, with one point beyond each edge (as bisect)."""
    x = _m.step if x_axis == "step" else _m.timestamp
    order = _STEP_ORDER if x_axis == "step" else _TIME_ORDER
    out: list[Any] = []
    if below > 0:
        # Ad-hoc statements: the thresholds are literals (they decide the SQL's shape).
        before = select(*_POINT).where(_OF_METRIC, ~_at_least(x, low))
        out += reader.conn.execute(
            before.order_by(*(c.desc() for c in order)).limit(1), reader.where
        ).all()
    inside = select(*_POINT).where(_OF_METRIC, _at_least(x, low), _at_most(x, high))
    inside_rows = reader.conn.execute(inside.order_by(*order), reader.where).all()
    out += inside_rows
    if within < total:
        after = select(*_POINT).where(_OF_METRIC, ~_at_most(x, high))
        out += reader.conn.execute(after.order_by(*order).limit(1), reader.where).all()
    return [tuple(row) for row in out]


def _walk(reader: _Reader, lo: int, keep: list[int]) -> list[Any]:
    """The rows of ranks ``lo + k`` (k in ``keep``, ascending) in primary-key order: runs of
    consecutive ranks in one query each, the gaps skipped by OFFSET after the last row."""
    groups: list[list[int]] = []  # [first index, how many]
    for index in keep:
        if groups and groups[-1][0] + groups[-1][1] == index:
            groups[-1][1] += 1
        else:
            groups.append([index, 1])
    rows: list[Any] = []
    previous = -1
    for first, size in groups:
        if previous < 0:
            got = reader.rows(_PAGE_IN_STEP_ORDER, limit=size, offset=lo + first)
        else:
            step, timestamp, value, is_nan = rows[-1]
            got = reader.rows(
                _PAGE_AFTER,
                a_step=step,
                a_timestamp=timestamp,
                a_value=value,
                a_is_nan=is_nan,
                limit=size,
                offset=first - previous - 1,
            )
        if len(got) != size:
            raise _Changed
        rows.extend(got)
        previous = first + size - 1
    return rows


def _key_binds(prefix: str) -> Any:
    return tuple_(*(bindparam(f"{prefix}_{c.name}") for c in _STEP_ORDER))


_IN_BUCKET = and_(
    _OF_METRIC,
    _m.is_nan == false(),
    tuple_(*_STEP_ORDER) >= _key_binds("first"),
    tuple_(*_STEP_ORDER) <= _key_binds("last"),
)
_BUCKET_EXTREMES = select(func.min(_m.value), func.max(_m.value)).where(_IN_BUCKET)
_FIRST_HOLDING = _paged(
    select(*_POINT).where(_IN_BUCKET, _m.value == bindparam("held")).order_by(*_STEP_ORDER)
)


def _reduce_by_buckets(reader: _Reader, lo: int, count: int, max_points: int) -> list[Any]:
    """The kept rows of ranks [lo, lo + count) in primary-key (step) order, the database doing
    the scans: each bucket's first and last rows by walking the key, then per bucket its
    lowest and highest value (MIN/MAX over the key range) and the first row holding each."""
    buckets = m4_buckets(count, max_points)
    edges = sorted({i for start, end in buckets for i in (start, end - 1)})
    rows = dict(zip(edges, _walk(reader, lo, edges), strict=True))
    kept: list[Any] = []
    for start, end in buckets:
        first, last = tuple(rows[start]), tuple(rows[end - 1])
        bounds = {f"first_{c.name}": v for c, v in zip(_STEP_ORDER, first, strict=True)}
        bounds.update({f"last_{c.name}": v for c, v in zip(_STEP_ORDER, last, strict=True)})
        chosen = {first, last}
        low, high = reader.rows(_BUCKET_EXTREMES, **bounds)[0]
        if low is not None:
            for held in {low, high}:
                chosen.update(
                    tuple(r)
                    for r in reader.rows(_FIRST_HOLDING, held=held, limit=1, offset=0, **bounds)
                )
        kept.extend(sorted(chosen, key=lambda r: (r[0], r[1], r[2], bool(r[3]))))
    return kept


# -- regular steps (SQLite): buckets as step ranges, no count and no walk ----------------------

_IN_STEPS = and_(
    _OF_METRIC,
    _m.step >= bindparam("a", type_=BigInteger),
    _m.step <= bindparam("b", type_=BigInteger),
)
_FINITE_VALUE = case((_m.is_nan == false(), _m.value))


def _edge_row(part: str, condition: Any, order: Any) -> Any:
    """The first row in ``order`` meeting ``condition``, tagged ``part`` (padded for the union)."""
    found = (
        select(literal_column(part).label("part"), *_POINT)
        .where(_OF_METRIC, condition)
        .order_by(*order)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery()
    )
    return select(*found.c, *(null() for _ in range(4)))


def _bucket_scan(extremes: tuple[Any, Any]) -> Any:
    """One statement per bucket, three parts told apart by the first column: (0) one scan with
    its count, how many points are older than the first one, the two ``extremes`` and the bare
    columns of a row holding one of them; (1) the first and (2) the last row, index seeks."""
    return union_all(
        select(
            literal_column("0").label("part"),
            *_POINT,
            func.count(),
            func.count().filter(_m.timestamp < bindparam("t0", type_=BigInteger)),
            *extremes,
        ).where(_IN_STEPS),
        _edge_row("1", _m.step >= bindparam("a", type_=BigInteger), _STEP_ORDER),
        _edge_row(
            "2", _m.step <= bindparam("b", type_=BigInteger), [c.desc() for c in _STEP_ORDER]
        ),
    )


# SQLite takes the bare columns from the last MIN/MAX aggregate's row (not documented, so
# only the speed depends on it): in a falling stretch the first row holds the maximum and the
# bare columns should give the minimum, in a rising one the other way round.
_LOW, _HIGH = func.min(_FINITE_VALUE), func.max(_FINITE_VALUE)
_BUCKET_SCAN = {False: _bucket_scan((_LOW, _HIGH)), True: _bucket_scan((_HIGH, _LOW))}
_HOLDER = (
    select(*_POINT)
    .where(_IN_STEPS, _m.is_nan == false(), _m.value == bindparam("held"))
    .order_by(*_STEP_ORDER)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_FIRST_ROWS = (
    select(*_POINT)
    .where(_OF_METRIC)
    .order_by(*_STEP_ORDER)
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_LAST_ROW = (
    select(*_POINT)
    .where(_OF_METRIC)
    .order_by(*(c.desc() for c in _STEP_ORDER))
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_MIN_TIMESTAMP = select(func.min(_m.timestamp)).where(_OF_METRIC)


def reduce_regular_steps(reader: _Reader, max_points: int) -> DownsampledHistory | None:
    """The whole step-axis reduction on SQLite when the steps look regular (``s0, s0 + d,
    s0 + 2d, ...``, as a training loop logs them), or ``None`` to take the general way.

    The guess (from the first two and the last row) gives the count and each bucket as a step
    range, so the count and the key walk (two scans of the history) are skipped; each bucket's
    own count proves the guess: the history is in step order, so if every range holds exactly
    its bucket's number of points, the range's rows are that bucket's, duplicates or not. On
    the first range that does not, this gives up (the general way reads everything again).

    Each bucket is one scan. SQLite gives a query's bare columns from a row holding the
    extreme of its MIN or MAX aggregate (documented), the first such row in scan order, here
    the primary key's (SQLite's ``minmaxStep`` replaces the best only on a strict improvement:
    the default's "first of equal extremes"; the tests check it on ties). The other extreme's
    first row is the bucket's first row when that holds it, else one partial scan for it; the
    order of the aggregates follows the last bucket's trend so that this is rarely needed.
    """
    head = reader.rows(_FIRST_ROWS, limit=2, offset=0)
    if len(head) < 2:
        return None
    first_step, first_timestamp = head[0][0], head[0][1]
    last_step = reader.rows(_LAST_ROW, limit=1, offset=0)[0][0]
    stride = head[1][0] - first_step
    if stride <= 0 or (last_step - first_step) % stride:
        return None
    count = (last_step - first_step) // stride + 1
    if count <= max_points:
        return None
    kept: list[Any] = []
    older = 0  # points older than the first row: then its timestamp is not the first one
    falling = False  # whether the last bucket's first row held its maximum
    for start, end in m4_buckets(count, max_points):
        a = first_step + start * stride
        b = min(first_step + end * stride - 1, last_step)
        scan = _BUCKET_SCAN[falling]
        parts = sorted(reader.rows(scan, a=a, b=b, t0=first_timestamp, limit=1, offset=0))
        (_, *bare, size, older_here, one, other), (_, *first), (_, *last) = parts
        low, high = (other, one) if falling else (one, other)
        if size != end - start:
            return None
        older += older_here
        first_row, last_row = tuple(first[:4]), tuple(last[:4])
        chosen = {first_row, last_row}
        if low is not None:
            bare_row = tuple(bare)
            for held in {low, high}:
                if not bare_row[3] and bare_row[2] == held:
                    chosen.add(bare_row)  # its aggregate's first holder; held, or low == high
                elif not first_row[3] and first_row[2] == held:
                    chosen.add(first_row)
                else:
                    chosen.update(
                        map(tuple, reader.rows(_HOLDER, a=a, b=b, held=held, limit=1, offset=0))
                    )
        kept.extend(sorted(chosen, key=lambda r: (r[0], r[1], r[2], bool(r[3]))))
        falling = low != high and not first_row[3] and first_row[2] == high
    if older:
        first_timestamp = reader.rows(_MIN_TIMESTAMP)[0][0]
    steps, timestamps, values = _columns(kept)
    return DownsampledHistory(first_timestamp, count, steps, timestamps, values)


class _Changed(Exception):
    """Points were logged or deleted between the reads: read again, in one statement."""


def read_downsampled(
    conn: Connection,
    dialect: Dialect,
    run_id: str,
    metric_key: str,
    x_axis: str,
    max_points: int,
    x_min: float | None,
    x_max: float | None,
    strategy: str | None = None,
) -> DownsampledHistory | None:
    """The reduced history, as the default implementation computes it, or ``None`` if the
    metric has no point (the caller tells a missing run from a missing metric)."""
    strategy = strategy or default_strategy(dialect, x_axis)
    if strategy in ("buckets", "columns") and x_axis != "step":
        strategy = "rows"  # the walk follows the primary key: step order only
    reader = _Reader(conn, dialect, {"run_id": run_id, "key": metric_key})
    try:
        whole = x_min is None and x_max is None
        if strategy == "rows" and whole:
            rows = reader.rows(_ALL_IN_STEP_ORDER)
            if not rows:
                return None
            return downsample_columns(*_columns(rows), x_axis, max_points)
        if strategy == "buckets" and whole and dialect.name == "sqlite":
            regular = reduce_regular_steps(reader, max_points)
            if regular is not None:
                return regular
        stats = conn.execute(
            select(func.count(), func.min(_m.timestamp)).where(_OF_METRIC), reader.where
        ).one()
        total = int(stats[0])
        if not total:
            return None
        first_timestamp = int(stats[1])
        lo, hi, low, high, below, within = 0, total, None, None, 0, total
        if not whole:
            x = _m.step if x_axis == "step" else _m.timestamp
            low, high = column_thresholds(x_axis, x_min, x_max, first_timestamp)
            counts = select(
                _count_where(~_at_least(x, low)), _count_where(_at_most(x, high))
            ).where(_OF_METRIC)
            below, within = (int(n) for n in conn.execute(counts, reader.where).one())
            lo, hi = max(0, below - 1), min(total, within + 1)
        count = hi - lo
        if strategy == "buckets" and count > max_points:
            rows = _reduce_by_buckets(reader, lo, count, max_points)
            steps, timestamps, kept = _columns(rows)
            return DownsampledHistory(first_timestamp, count, steps, timestamps, kept)
        if strategy == "columns" and count > max_points:
            column = reader.rows(_VALUES_IN_STEP_ORDER, limit=count, offset=lo)
            values = list(map(operator.itemgetter(0), column))
            if None in values:
                values = [math.nan if v is None else v for v in values]
            rows = _walk(reader, lo, m4_indices(values, max_points))
            steps, timestamps, kept = _columns(rows)
            return DownsampledHistory(first_timestamp, count, steps, timestamps, kept)
        rows = (
            _range_rows(reader, x_axis, low, high, below, within, total)
            if not whole
            else (reader.rows(_ALL_IN_STEP_ORDER))
        )
        reduced = downsample_columns(*_columns(rows), x_axis, max_points)
        return dataclasses.replace(reduced, first_timestamp=first_timestamp)
    finally:
        reader.close()


class MetricSeriesMixin:
    """``get_metric_history_downsampled`` of ``SqlTrackingStore`` (uses its ``engine``,
    ``_read`` and ``_run_row``)."""

    engine: Any
    _read: Callable[..., Any]
    _run_row: Callable[..., Any]

    def get_metric_history_downsampled(
        self,
        run_id: str,
        metric_key: str,
        x_axis: str = "step",
        max_points: int = 2000,
        x_min: float | None = None,
        x_max: float | None = None,
        *,
        strategy: str | None = None,
    ) -> DownsampledHistory:
        check_downsample_arguments(x_axis, max_points, x_min, x_max)
        if strategy is not None and strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")

        def work(conn: Connection) -> DownsampledHistory:
            found = read_downsampled(
                conn,
                self.engine.dialect,
                run_id,
                metric_key,
                x_axis,
                max_points,
                x_min,
                x_max,
                strategy,
            )
            if found is None:
                self._run_row(conn, run_id)  # no such run: RESOURCE_DOES_NOT_EXIST
                return DownsampledHistory()
            return found

        try:
            return self._read(work)
        except _Changed:  # a live run grew between the reads
            strategy = "rows"
            return self._read(work)
