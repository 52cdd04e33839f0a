"""Statements of the hot paths, built once.

Building a SQLAlchemy statement and computing its cache key costs tens of microseconds; a
training loop calls ``log_batch`` thousands of times, so the statements it runs are module
constants with bound parameters. The two statements that move 10^3-10^5 rows per call (the
metric insert and the metric history) go further: they are compiled once per store to plain
driver SQL and run on the DBAPI cursor with tuples, because SQLAlchemy's per-row parameter
and result processing would cost more than the database does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Dialect,
    String,
    and_,
    any_,
    bindparam,
    delete,
    false,
    insert,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite

from trackline_sql.models import (
    datasets,
    experiments,
    inputs,
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


# The params, tags and latest metrics of a page of runs, in this order of columns.
RUN_DATA_COLUMNS = {
    "params": (params.c.run_uuid, params.c.key, params.c.value),
    "tags": (tags.c.run_uuid, tags.c.key, tags.c.value),
    "latest_metrics": (
        latest_metrics.c.run_uuid,
        latest_metrics.c.key,
        latest_metrics.c.value,
        latest_metrics.c.timestamp,
        latest_metrics.c.step,
        latest_metrics.c.is_nan,
    ),
}


DATASET_INPUTS_OF_RUNS = (
    select(
        inputs.c.destination_id,
        inputs.c.input_uuid,
        datasets.c.name,
        datasets.c.digest,
        datasets.c.dataset_source_type,
        datasets.c.dataset_source,
        datasets.c.dataset_schema,
        datasets.c.dataset_profile,
    )
    .select_from(inputs.join(datasets, datasets.c.dataset_uuid == inputs.c.source_id))
    # Constants written into the SQL: the page's run ids are its only parameters.
    .where(
        inputs.c.destination_type == literal_column("'RUN'"),
        inputs.c.source_type == literal_column("'DATASET'"),
    )
    # Input ids are time-ordered (``trackline_sql.ids``): the order the inputs were logged.
    .order_by(inputs.c.destination_id, inputs.c.input_uuid)
)


def _run_ids_filter(column: Any, dialect: Dialect, count: int) -> Any:
    """``column`` among a page's run ids, in the form that suits the database.

    PostgreSQL takes the page as one array (``= ANY(%s)``): the SQL stays short and the same
    for every page, so psycopg keeps its parsed form, where an IN list of hundreds of markers
    is parsed again on every call (psycopg caches only short queries). Elsewhere, one marker
    per run.
    """
    if dialect.name == "postgresql":
        return column == any_(bindparam("run_ids", type_=postgresql.ARRAY(String)))
    return column.in_([bindparam(f"run_{i}") for i in range(count)])


def run_page_parameters(dialect: Dialect, run_ids: Sequence[str]) -> tuple[Any, ...]:
    """The driver parameters of the statements of ``run_data_sql`` for these run ids (twice
    for the model links, which look for the runs on both sides of a link)."""
    return (list(run_ids),) if dialect.name == "postgresql" else tuple(run_ids)


def run_data_sql(dialect: Dialect, count: int) -> tuple[str, str, str, str, str]:
    """Driver SQL loading the params, tags, latest metrics, dataset inputs (columns of
    ``DATASET_INPUTS_OF_RUNS``) and logged-model links (columns of ``_model_links_of_runs``)
    of ``count`` runs, each taking ``run_page_parameters``.

    A search page loads thousands of these rows: plain tuples from the DBAPI cursor cost a
    fraction of SQLAlchemy's result rows, and a fixed statement per page size is compiled
    once (and stays in the driver's statement cache) instead of re-expanded per call.
    """
    if dialect.name == "postgresql":
        count = 0  # one statement for every page size
    return _run_data_sql(dialect, count)


@functools.lru_cache(maxsize=32)
def _run_data_sql(dialect: Dialect, count: int) -> tuple[str, str, str, str, str]:
    out = []
    for columns in RUN_DATA_COLUMNS.values():
        run_uuid, key = columns[0], columns[1]
        stmt = (
            select(*columns)
            .where(_run_ids_filter(run_uuid, dialect, count))
            .order_by(run_uuid, key)
        )
        out.append(_run_page_sql(stmt, dialect, count))
    datasets_stmt = DATASET_INPUTS_OF_RUNS.where(
        _run_ids_filter(inputs.c.destination_id, dialect, count)
    )
    out.append(_run_page_sql(datasets_stmt, dialect, count))
    out.append(_run_page_sql(_model_links_of_runs(dialect, count), dialect, count, repeats=2))
    return out[0], out[1], out[2], out[3], out[4]


# Source and destination types of the links between runs and logged models in ``inputs``.
RUN_LINK, MODEL_LINK = "RUN", "MODEL"


def _model_links_of_runs(dialect: Dialect, count: int) -> Any:
    """The model outputs (source RUN) and model inputs (destination RUN) of a page of runs:
    rows of (source_type, source_id, destination_id, step), in the order they are listed."""
    c = inputs.c
    outputs = and_(
        c.source_type == literal_column(f"'{RUN_LINK}'"),
        c.destination_type == literal_column(f"'{MODEL_LINK}'"),
        _run_ids_filter(c.source_id, dialect, count),
    )
    inputs_ = and_(
        c.source_type == literal_column(f"'{MODEL_LINK}'"),
        c.destination_type == literal_column(f"'{RUN_LINK}'"),
        _run_ids_filter(c.destination_id, dialect, count),
    )
    return (
        select(c.source_type, c.source_id, c.destination_id, c.step)
        .where(or_(outputs, inputs_))
        .order_by(c.step, c.source_id, c.destination_id)
    )


def _run_page_sql(stmt: Any, dialect: Dialect, count: int, repeats: int = 1) -> str:
    """Driver SQL whose parameters are ``run_page_parameters`` given ``repeats`` times."""
    sql, order = positional_sql(stmt, dialect)
    one_page = (
        ("run_ids",) if dialect.name == "postgresql" else tuple(f"run_{i}" for i in range(count))
    )
    if order != one_page * repeats:
        raise AssertionError(f"unexpected parameters {order[:3]}... in {sql}")
    return sql


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


def tag_upsert(dialect_name: str) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE of run tags (SQLite, PostgreSQL); None elsewhere."""
    if dialect_name == "sqlite":
        stmt = sqlite.insert(tags)
    elif dialect_name == "postgresql":
        stmt = postgresql.insert(tags)
    else:
        return None
    return stmt.on_conflict_do_update(
        index_elements=[tags.c.run_uuid, tags.c.key], set_={"value": stmt.excluded.value}
    )


def latest_upsert(dialect_name: str) -> Any:
    """One INSERT ... ON CONFLICT DO UPDATE folding new latest points into latest_metrics,
    for the backends that have it (SQLite, PostgreSQL); None elsewhere.

    Replaces reading the current rows, comparing in Python, then inserting and updating:
    the database keeps whichever point ranks higher, (step, timestamp, value) with NaN
    below every number, the same test as ``LATEST_UPDATE``. On PostgreSQL the conflict
    locks the row, so a concurrent writer's newer point is seen and kept.
    """
    if dialect_name == "sqlite":
        stmt = sqlite.insert(latest_metrics)
    elif dialect_name == "postgresql":
        stmt = postgresql.insert(latest_metrics)
    else:
        return None
    lm, new = latest_metrics.c, stmt.excluded
    newer = or_(
        lm.step < new.step,
        and_(lm.step == new.step, lm.timestamp < new.timestamp),
        and_(
            lm.step == new.step,
            lm.timestamp == new.timestamp,
            new.is_nan == false(),
            or_(lm.is_nan == true(), lm.value < new.value),
        ),
    )
    return stmt.on_conflict_do_update(
        index_elements=[lm.run_uuid, lm.key],
        set_={
            "value": new.value,
            "timestamp": new.timestamp,
            "step": new.step,
            "is_nan": new.is_nan,
        },
        where=newer,
    )


# PostgreSQL: a batch of metric points in one statement, run outside a transaction block
# (a single statement commits by itself, as durably as any commit): the run's state, the
# points and the latest values, in one round trip instead of BEGIN, four statements and
# COMMIT. Nothing is written unless the run is active; the caller reads the state back
# and raises the usual errors. Same rules as metric_inserter and latest_upsert.
PG_LOG_METRICS = """
WITH run AS (
    SELECT lifecycle_stage, experiment_id FROM runs WHERE run_uuid = %(run_id)s
), active AS (
    SELECT 1 FROM run WHERE lifecycle_stage = %(active)s
), points AS (
    INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid)
    SELECT p.key, p.value, p.timestamp, p.step, p.is_nan, %(run_id)s
    FROM unnest(%(keys)s::varchar[], %(values)s::float8[], %(timestamps)s::bigint[],
                %(steps)s::bigint[], %(nans)s::boolean[])
         AS p(key, value, timestamp, step, is_nan)
    WHERE EXISTS (SELECT 1 FROM active)
    ON CONFLICT DO NOTHING
), latest AS (
    INSERT INTO latest_metrics AS lm (key, value, timestamp, step, is_nan, run_uuid)
    SELECT l.key, l.value, l.timestamp, l.step, l.is_nan, %(run_id)s
    FROM unnest(%(latest_keys)s::varchar[], %(latest_values)s::float8[],
                %(latest_timestamps)s::bigint[], %(latest_steps)s::bigint[],
                %(latest_nans)s::boolean[])
         AS l(key, value, timestamp, step, is_nan)
    WHERE EXISTS (SELECT 1 FROM active)
    ON CONFLICT (run_uuid, key) DO UPDATE
    SET value = EXCLUDED.value, timestamp = EXCLUDED.timestamp, step = EXCLUDED.step,
        is_nan = EXCLUDED.is_nan
    WHERE lm.step < EXCLUDED.step
       OR (lm.step = EXCLUDED.step AND lm.timestamp < EXCLUDED.timestamp)
       OR (lm.step = EXCLUDED.step AND lm.timestamp = EXCLUDED.timestamp
           AND NOT EXCLUDED.is_nan AND (lm.is_nan OR lm.value < EXCLUDED.value))
)
SELECT lifecycle_stage, experiment_id FROM run
"""

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
