"""Statements of the hot paths, built once.

Building a SQLAlchemy statement and computing its cache key costs tens of microseconds; a
training loop calls ``log_batch`` thousands of times, so the statements it runs are module
constants with bound parameters. The two statements that move 10^3-10^5 rows per call (the
metric insert and the metric history) go further: they are compiled once per store to plain
driver SQL and run on the DBAPI cursor with tuples, because SQLAlchemy's per-row parameter
and result processing would cost more than the database does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Dialect,
    and_,
    bindparam,
    delete,
    false,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite

from trackline_sql.models import (
    experiments,
    latest_metrics,
    metrics,
    params,
    runs,
    tags,
)


def _keys() -> Any:
    # An IN list whose length varies per call, without a new statement per length.
    return bindparam("keys", expanding=True)


EXPERIMENT_BY_ID = select(experiments).where(
    experiments.c.experiment_id == bindparam("experiment_id")
)
EXPERIMENT_ID_BY_NAME = select(experiments.c.experiment_id).where(
    experiments.c.name == bindparam("name")
)
RUN_BY_ID = select(runs).where(runs.c.run_uuid == bindparam("run_id"))
RUN_STATE = select(runs.c.lifecycle_stage, runs.c.experiment_id).where(
    runs.c.run_uuid == bindparam("run_id")
)
INSERT_RUN = insert(runs)
INSERT_TAGS = insert(tags)
INSERT_PARAMS = insert(params)
INSERT_LATEST = insert(latest_metrics)
PARAMS_WITH_KEYS = select(params.c.key, params.c.value).where(
    params.c.run_uuid == bindparam("run_id"), params.c.key.in_(_keys())
)
DELETE_TAGS_WITH_KEYS = delete(tags).where(
    tags.c.run_uuid == bindparam("run_id"), tags.c.key.in_(_keys())
)
LATEST_WITH_KEYS = select(
    latest_metrics.c.key,
    latest_metrics.c.step,
    latest_metrics.c.timestamp,
    latest_metrics.c.value,
    latest_metrics.c.is_nan,
).where(latest_metrics.c.run_uuid == bindparam("run_id"), latest_metrics.c.key.in_(_keys()))

METRIC_HISTORY = (
    select(metrics.c.value, metrics.c.timestamp, metrics.c.step, metrics.c.is_nan)
    .where(metrics.c.run_uuid == bindparam("run_id"), metrics.c.key == bindparam("key"))
    # The primary key's order (run, key, step, timestamp, value): an index scan, no sort.
    .order_by(metrics.c.step, metrics.c.timestamp, metrics.c.value)
)
METRIC_HISTORY_PAGE = METRIC_HISTORY.limit(bindparam("limit")).offset(bindparam("offset"))


def _latest_update() -> Any:
    """UPDATE one latest_metrics row, only if the new point ranks higher.

    The rank is (step, timestamp, value) with NaN below every number. Repeating the test in
    SQL (and not only in Python) keeps a concurrent writer's newer point from being
    overwritten: the row lock makes the WHERE see the committed row.
    """
    lm = latest_metrics
    step, timestamp = bindparam("new_step"), bindparam("new_timestamp")
    value, is_nan = bindparam("new_value"), bindparam("new_is_nan", type_=Boolean)
    newer = or_(
        lm.c.step < step,
        and_(lm.c.step == step, lm.c.timestamp < timestamp),
        and_(
            lm.c.step == step,
            lm.c.timestamp == timestamp,
            is_nan == false(),
            or_(lm.c.is_nan == true(), lm.c.value < value),
        ),
    )
    return (
        update(lm)
        .where(lm.c.run_uuid == bindparam("new_run_uuid"), lm.c.key == bindparam("new_key"))
        .where(newer)
        .values(value=value, timestamp=timestamp, step=step, is_nan=is_nan)
    )


LATEST_UPDATE = _latest_update()

# Column order of the tuples passed to the metric insert.
METRIC_COLUMNS = ("key", "value", "timestamp", "step", "is_nan", "run_uuid")


def insert_ignoring_duplicates(table: Any, dialect_name: str) -> Any:
    """INSERT that skips rows whose primary key exists (a point logged twice)."""
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect_name in ("mysql", "mariadb"):
        return mysql.insert(table).prefix_with("IGNORE")
    return insert(table)


def positional_sql(stmt: Any, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """``stmt`` as driver SQL with positional markers, and the parameter names in order.

    Compiled by SQLAlchemy, so quoting and dialect syntax (``ON CONFLICT``, ``INSERT
    IGNORE``, ``LIMIT``) are right; drivers with named markers (psycopg, PyMySQL) are given
    their positional ``%s`` style, which they accept too.
    """
    compile_dialect = dialect if dialect.positional else type(dialect)(paramstyle="format")
    compiled = stmt.compile(dialect=compile_dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def metric_insert_sql(dialect: Dialect) -> str:
    """The metric INSERT as driver SQL, for tuples in METRIC_COLUMNS order (executemany)."""
    stmt = insert_ignoring_duplicates(metrics, dialect.name).values(
        {name: bindparam(name) for name in METRIC_COLUMNS}
    )
    sql, order = positional_sql(stmt, dialect)
    if order != METRIC_COLUMNS:
        raise AssertionError(f"unexpected metric insert parameter order {order}")
    return sql


# PostgreSQL takes a whole batch as one array per column: one statement, one round trip,
# about twice as fast as psycopg's executemany for 1000 rows.
PG_METRIC_INSERT_UNNEST = (
    f"INSERT INTO metrics ({', '.join(METRIC_COLUMNS)}) "
    "SELECT * FROM unnest(%s::varchar[], %s::float8[], %s::bigint[], %s::bigint[], "
    "%s::boolean[], %s::varchar[]) ON CONFLICT DO NOTHING"
)


def metric_inserter(dialect: Dialect) -> Callable[[Connection, list[tuple[Any, ...]]], None]:
    """A function that inserts metric rows (tuples in METRIC_COLUMNS order) in bulk."""
    if dialect.name == "postgresql" and dialect.driver == "psycopg":

        def insert_by_arrays(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
            columns = tuple(list(column) for column in zip(*rows, strict=True))
            cursor = conn.connection.cursor()
            try:
                cursor.execute(PG_METRIC_INSERT_UNNEST, columns)
            finally:
                cursor.close()

        return insert_by_arrays
    sql = metric_insert_sql(dialect)

    def insert_many(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        conn.exec_driver_sql(sql, rows)

    return insert_many


def metric_history_sql(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The paged history query as driver SQL, and the order of its parameters (run_id, key,
    limit, offset: MySQL, for one, puts the offset before the limit)."""
    return positional_sql(METRIC_HISTORY_PAGE, dialect)
