"""``SqlTrackingStore``: the tracking store on SQLAlchemy 2 (SQLite, PostgreSQL, MySQL…).

Queries are SQLAlchemy Core statements on the tables of ``trackline_sql.models``: rows are
turned into trackline entities directly, with no ORM identity map in between, which keeps
the hot paths (``log_batch``, metric history, search) cheap.

Every write is one transaction (``trackline_sql.db.run_transaction``): the run's state is
checked inside it with a primary-key lookup rather than cached, because another process may
delete the run at any time; validation happens before the transaction starts.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    Row,
    and_,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from trackline.entities import (
    Dataset,
    DatasetInput,
    DatasetSummary,
    Experiment,
    InputTag,
    LifecycleStage,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
)
from trackline.exceptions import (
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    TracklineException,
)
from trackline.search import (
    decode_page_token,
    encode_page_token,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_run_filter,
    parse_run_order_by,
)
from trackline.search.evaluate import DATASET_CONTEXT_TAG
from trackline.store.run_names import resolve_run_name
from trackline.store.tracking import (
    SEARCH_DATASETS_MAX_RESULTS,
    SEARCH_MAX_RESULTS_DEFAULT,
    AbstractTrackingStore,
)
from trackline.validation import (
    param_conflict_message,
    validate_artifact_location,
    validate_batch,
    validate_batch_limits,
    validate_dataset_input,
    validate_experiment_name,
    validate_experiment_tag,
    validate_max_results,
    validate_tag,
)

from trackline_sql import convert, db, statements
from trackline_sql.ids import time_ordered_hex
from trackline_sql.logged_models import LoggedModelsMixin, erase_run_model_links
from trackline_sql.metric_series import MetricSeriesMixin
from trackline_sql.models import datasets as dataset_table
from trackline_sql.models import (
    experiment_tags,
    experiments,
    input_tags,
    inputs,
    latest_metrics,
    runs,
)
from trackline_sql.models import metrics as metric_table
from trackline_sql.models import params as param_table
from trackline_sql.models import tags as tag_table
from trackline_sql.schema import ensure_schema
from trackline_sql.search import SearchCompiler

T = TypeVar("T")

RUN_NAME_TAG = "mlflow.runName"

DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"
# Rows per IN (...) list: below every backend's bound-parameter limit.
IN_CHUNK = 500
# LIMIT is a 32-bit integer on some backends; "no limit" is its largest value.
HISTORY_NO_LIMIT = 2**31 - 1
MAX_HISTORY_PAGE = HISTORY_NO_LIMIT - 1
# Tags that also fill a column of the runs table (MLflow keeps both).
_TAG_COLUMNS = {
    RUN_NAME_TAG: ("name", 250),
    "mlflow.source.name": ("source_name", 500),
    "mlflow.source.type": ("source_type", 20),
    "mlflow.source.git.commit": ("source_version", 50),
    "mlflow.project.entryPoint": ("entry_point_name", 50),
}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _not_found_run(run_id: str) -> TracklineException:
    return TracklineException(f"Run with id={run_id} not found", RESOURCE_DOES_NOT_EXIST)


def _not_found_experiment(experiment_id: object) -> TracklineException:
    return TracklineException(
        f"No Experiment with id={experiment_id} exists", RESOURCE_DOES_NOT_EXIST
    )


def _must_be_active(kind: str, ident: object, stage: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(
        f"The {kind} {ident} must be in the 'active' state. Current state is {stage}."
    )


def _searched_experiment_ids(experiment_ids: Sequence[str] | str) -> list[int]:
    """The integer ids of the experiments a search names; one no row can hold is skipped."""
    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    return [i for i in (_experiment_int_id(e) for e in experiment_ids) if i is not None]


def _experiment_int_id(experiment_id: object) -> int | None:
    """SQL experiment ids are integers. Text that is not one is INVALID_PARAMETER_VALUE, with
    the message of MLflow's SQL store; an integer no row can hold (negative, over 32 bits)
    names no experiment (None)."""
    if isinstance(experiment_id, bool):
        raise _invalid_experiment_id(experiment_id)
    try:
        value = int(experiment_id)  # type: ignore[call-overload]  # " 7" is 7, as in MLflow
    except (TypeError, ValueError):
        raise _invalid_experiment_id(experiment_id) from None
    return value if 0 <= value < 2**31 else None


def _invalid_experiment_id(experiment_id: object) -> TracklineException:
    return TracklineException.invalid_parameter_value(
        f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
    )


def _resolve_artifact_root(default_artifact_root: str | None) -> str:
    root = default_artifact_root or "mlruns"
    if "://" not in root and not root.startswith("file:"):
        root = os.path.abspath(root)
    return root.rstrip("/") or "/"


def _not_active(experiment_id: str, state: str) -> TracklineException:
    # The reference answers both with "no such (active / deleted) experiment".
    return TracklineException(f"Experiment {experiment_id} {state}.", RESOURCE_DOES_NOT_EXIST)


class SqlTrackingStore(MetricSeriesMixin, LoggedModelsMixin, AbstractTrackingStore):
    """Tracking store on a SQL database; see the package README for URIs and settings."""

    def __init__(self, store_uri: str, default_artifact_root: str | None = None) -> None:
        self.store_uri = store_uri
        self.artifact_root_uri = _resolve_artifact_root(default_artifact_root)
        self.engine = db.create_store_engine(store_uri)
        self._write_engine = self.engine.execution_options(**{db.WRITE_OPTION: True})
        self.dialect = self.engine.dialect.name
        # SQLite has one writer at a time: writers queue on a lock (threads) and a lock file
        # (processes) instead of polling SQLite's busy handler; checkpoints run after writes,
        # in the background, not inside a writer's COMMIT. See trackline_sql.db.
        database_file = db.sqlite_file(self.engine.url)
        self._write_lock: Any = contextlib.nullcontext()
        self._checkpointer: db.WalCheckpointer | None = None
        if self.dialect == "sqlite":
            self._write_lock = db.SqliteWriteLock(database_file)
            if database_file is not None:
                self._checkpointer = db.WalCheckpointer(database_file)
        self._search = SearchCompiler(self.dialect)
        self._insert_metrics = statements.metric_inserter(self.engine.dialect)
        self._latest_upsert = statements.latest_upsert(self.dialect)
        self._tag_upsert = statements.tag_upsert(self.dialect)
        # Metric-only batches on PostgreSQL (psycopg): one self-committing statement.
        self._pg_metrics_engine = None
        if self.dialect == "postgresql" and self.engine.dialect.driver == "psycopg":
            self._pg_metrics_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # psycopg parses binary results about twice as fast as text (10^5-point histories).
        psycopg3 = self.engine.dialect.driver == "psycopg"
        self._cursor_options = {"binary": True} if psycopg3 else {}
        # psycopg prepares a statement after five calls; PostgreSQL's generic plan for
        # `= ANY($1)` (statements.run_data_sql) was 8-10x slower than a fresh plan.
        self._run_page_options = {"prepare": False} if psycopg3 else {}
        self._history_sql, self._history_params = statements.metric_history_sql(self.engine.dialect)
        try:
            ensure_schema(self.engine, store_uri)
            self._ensure_default_experiment()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        if isinstance(self._write_lock, db.SqliteWriteLock):
            self._write_lock.close()
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"SqlTrackingStore({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- plumbing ----------------------------------------------------------------------------

    def _write(self, work: Callable[[Connection], T], *, retry_integrity: bool = False) -> T:
        with self._write_lock:
            result = db.run_transaction(self._write_engine, work, retry_integrity=retry_integrity)
        if self._checkpointer is not None:
            self._checkpointer.wrote()
        return result

    def _read(self, work: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return work(conn)

    def _ensure_default_experiment(self) -> None:
        def work(conn: Connection) -> None:
            found = conn.execute(
                select(experiments.c.experiment_id).where(
                    experiments.c.experiment_id == DEFAULT_EXPERIMENT_ID
                )
            ).first()
            if found is not None:
                return
            mysql = self.dialect in ("mysql", "mariadb")
            if mysql:
                # Otherwise MySQL reads an explicit 0 as "next auto-increment value".
                conn.exec_driver_sql(
                    "SET @trackline_sql_mode = @@SESSION.sql_mode, SESSION sql_mode = "
                    "CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')"
                )
            now = _now_ms()
            conn.execute(
                insert(experiments).values(
                    experiment_id=DEFAULT_EXPERIMENT_ID,
                    name=DEFAULT_EXPERIMENT_NAME,
                    artifact_location=self._experiment_location(DEFAULT_EXPERIMENT_ID),
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    creation_time=now,
                    last_update_time=now,
                )
            )
            if mysql:  # pooled connections outlive us: put the session back as it was
                conn.exec_driver_sql("SET SESSION sql_mode = @trackline_sql_mode")

        def exists(conn: Connection) -> bool:
            query = select(experiments.c.experiment_id).where(
                experiments.c.experiment_id == DEFAULT_EXPERIMENT_ID
            )
            return conn.execute(query).first() is not None

        # Read first: opening a store must not queue for the write lock behind busy writers.
        if self._read(exists):
            return
        with contextlib.suppress(IntegrityError):  # another process created it first
            self._write(work)

    def _experiment_location(self, experiment_id: int) -> str:
        return f"{self.artifact_root_uri}/{experiment_id}"

    # -- experiments -------------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[RunTag] = ()
    ) -> str:
        name = validate_experiment_name(name)
        validate_artifact_location(artifact_location)
        clean_tags = _last_per_key(validate_experiment_tag(t) for t in tags)

        def work(conn: Connection) -> int:
            self._check_name_free(conn, name)
            now = _now_ms()
            experiment_id = conn.execute(
                insert(experiments).values(
                    name=name,
                    artifact_location=artifact_location or None,
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    creation_time=now,
                    last_update_time=now,
                )
            ).inserted_primary_key[0]
            if not artifact_location:
                conn.execute(
                    update(experiments)
                    .where(experiments.c.experiment_id == experiment_id)
                    .values(artifact_location=self._experiment_location(experiment_id))
                )
            if clean_tags:
                conn.execute(
                    insert(experiment_tags),
                    [
                        {"experiment_id": experiment_id, "key": t.key, "value": t.value}
                        for t in clean_tags
                    ],
                )
            return experiment_id

        try:
            return str(self._write(work))
        except IntegrityError as exc:  # a concurrent create won the unique name
            raise _name_taken(name) from exc

    def _check_name_free(self, conn: Connection, name: str) -> None:
        taken = conn.execute(statements.EXPERIMENT_ID_BY_NAME, {"name": name}).first()
        if taken is not None:
            raise _name_taken(name)

    def _experiment_row(self, conn: Connection, experiment_id: object) -> Row[Any]:
        int_id = _experiment_int_id(experiment_id)
        row = None
        if int_id is not None:
            row = conn.execute(statements.EXPERIMENT_BY_ID, {"experiment_id": int_id}).first()
        if row is None:
            raise _not_found_experiment(experiment_id)
        return row

    def _experiments(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[Experiment]:
        ids = [row.experiment_id for row in rows]
        tag_map: dict[int, dict[str, str]] = {i: {} for i in ids}
        for chunk in _chunks(ids):
            for exp_id, key, value in conn.execute(
                select(
                    experiment_tags.c.experiment_id, experiment_tags.c.key, experiment_tags.c.value
                ).where(experiment_tags.c.experiment_id.in_(chunk))
            ):
                tag_map[exp_id][key] = value if value is not None else ""
        return [
            Experiment(
                experiment_id=str(row.experiment_id),
                name=row.name,
                artifact_location=row.artifact_location or "",
                lifecycle_stage=row.lifecycle_stage,
                tags=dict(sorted(tag_map[row.experiment_id].items())),
                creation_time=row.creation_time,
                last_update_time=row.last_update_time,
            )
            for row in rows
        ]

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._read(
            lambda conn: self._experiments(conn, [self._experiment_row(conn, experiment_id)])[0]
        )

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        def work(conn: Connection) -> Experiment | None:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).first()
            return None if row is None else self._experiments(conn, [row])[0]

        return self._read(work)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        stages = LifecycleStage.matching(view_type)
        max_results = validate_max_results(max_results)
        offset = decode_page_token(page_token)
        node = parse_experiment_filter(filter_string)
        ordering = self._search.experiment_order_by(parse_experiment_order_by(order_by))
        stmt = select(experiments).where(experiments.c.lifecycle_stage.in_(stages))
        if node is not None:
            stmt = stmt.where(self._search.experiment_filter(node))
        stmt = stmt.order_by(*ordering).limit(max_results + 1).offset(offset)

        def work(conn: Connection) -> PagedList[Experiment]:
            rows = conn.execute(stmt).all()
            page = self._experiments(conn, rows[:max_results])
            more = len(rows) > max_results
            return PagedList(page, encode_page_token(offset + max_results) if more else None)

        return self._read(work)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        new_name = validate_experiment_name(new_name)

        def work(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage != LifecycleStage.ACTIVE:
                raise TracklineException.invalid_parameter_value(
                    f"Cannot rename the non-active experiment {experiment_id}: restore it first."
                )
            if row.name == new_name:
                return
            self._check_name_free(conn, new_name)
            conn.execute(
                update(experiments)
                .where(experiments.c.experiment_id == row.experiment_id)
                .values(name=new_name, last_update_time=_now_ms())
            )

        try:
            self._write(work)
        except IntegrityError as exc:
            raise _name_taken(new_name) from exc

    def delete_experiment(self, experiment_id: str) -> None:
        def work(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage == LifecycleStage.DELETED:
                raise _not_active(experiment_id, "is already deleted")
            now = _now_ms()
            conn.execute(
                update(experiments)
                .where(experiments.c.experiment_id == row.experiment_id)
                .values(lifecycle_stage=LifecycleStage.DELETED, last_update_time=now)
            )
            # The runs get the experiment's deletion time as deleted_time: that is how
            # restore_experiment tells them from runs deleted on their own before.
            conn.execute(
                update(runs)
                .where(
                    runs.c.experiment_id == row.experiment_id,
                    runs.c.lifecycle_stage == LifecycleStage.ACTIVE,
                )
                .values(lifecycle_stage=LifecycleStage.DELETED, deleted_time=now)
            )

        self._write(work)

    def restore_experiment(self, experiment_id: str) -> None:
        def work(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id)
            if row.lifecycle_stage == LifecycleStage.ACTIVE:
                raise _not_active(experiment_id, "is not deleted: there is nothing to restore")
            conn.execute(
                update(experiments)
                .where(experiments.c.experiment_id == row.experiment_id)
                .values(lifecycle_stage=LifecycleStage.ACTIVE, last_update_time=_now_ms())
            )
            conn.execute(
                update(runs)
                .where(
                    runs.c.experiment_id == row.experiment_id,
                    runs.c.lifecycle_stage == LifecycleStage.DELETED,
                    runs.c.deleted_time == row.last_update_time,
                )
                .values(lifecycle_stage=LifecycleStage.ACTIVE, deleted_time=None)
            )

        self._write(work)

    def _active_experiment(self, conn: Connection, experiment_id: str) -> Row[Any]:
        row = self._experiment_row(conn, experiment_id)
        if row.lifecycle_stage != LifecycleStage.ACTIVE:
            raise _must_be_active("experiment", experiment_id, row.lifecycle_stage)
        return row

    def set_experiment_tag(self, experiment_id: str, tag: RunTag) -> None:
        tag = validate_experiment_tag(tag)

        def work(conn: Connection) -> None:
            row = self._active_experiment(conn, experiment_id)
            conn.execute(
                delete(experiment_tags).where(
                    experiment_tags.c.experiment_id == row.experiment_id,
                    experiment_tags.c.key == tag.key,
                )
            )
            conn.execute(
                insert(experiment_tags).values(
                    experiment_id=row.experiment_id, key=tag.key, value=tag.value
                )
            )

        self._write(work, retry_integrity=True)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        def work(conn: Connection) -> None:
            row = self._active_experiment(conn, experiment_id)
            deleted = conn.execute(
                delete(experiment_tags).where(
                    experiment_tags.c.experiment_id == row.experiment_id,
                    experiment_tags.c.key == key,
                )
            )
            if deleted.rowcount == 0:
                raise TracklineException(
                    f"No tag with name: {key} in experiment with id {experiment_id}",
                    RESOURCE_DOES_NOT_EXIST,
                )

        self._write(work)

    # -- runs --------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        run_tags = _last_per_key(validate_tag(t) for t in tags)
        tag_name = next((t.value for t in run_tags if t.key == RUN_NAME_TAG), None)
        run_name = resolve_run_name(run_name, tag_name)
        if not any(t.key == RUN_NAME_TAG for t in run_tags):
            run_tags.append(validate_tag(RunTag(RUN_NAME_TAG, run_name)))
        run_id = uuid.uuid4().hex
        start_time = _now_ms() if start_time is None else int(start_time)
        user_id = user_id or ""

        def work(conn: Connection) -> Run:
            exp = self._active_experiment(conn, experiment_id)
            location = exp.artifact_location or self._experiment_location(exp.experiment_id)
            row = {
                "run_uuid": run_id,
                "experiment_id": exp.experiment_id,
                "name": run_name[:250],
                "user_id": user_id[:256],
                "status": RunStatus.to_string(RunStatus.RUNNING),
                "start_time": start_time,
                "end_time": None,
                "deleted_time": None,
                "lifecycle_stage": LifecycleStage.ACTIVE,
                "artifact_uri": f"{location.rstrip('/')}/{run_id}/artifacts",
                "source_type": "UNKNOWN",
                "source_name": "",
                "entry_point_name": "",
                "source_version": "",
            }
            row.update(_tag_column_values(run_tags))
            conn.execute(statements.INSERT_RUN, row)
            conn.execute(
                statements.INSERT_TAGS,
                [{"run_uuid": run_id, "key": t.key, "value": t.value} for t in run_tags],
            )
            info = RunInfo(
                run_id=run_id,
                experiment_id=str(exp.experiment_id),
                run_name=row["name"],
                user_id=user_id,
                status=row["status"],
                start_time=start_time,
                end_time=None,
                artifact_uri=row["artifact_uri"],
                lifecycle_stage=LifecycleStage.ACTIVE,
            )
            data = RunData(tag_list=tuple(sorted(run_tags, key=lambda t: t.key)))
            return Run(info, data)

        return self._write(work)

    def _run_row(self, conn: Connection, run_id: str) -> Row[Any]:
        row = conn.execute(statements.RUN_BY_ID, {"run_id": run_id}).first()
        if row is None:
            raise _not_found_run(run_id)
        return row

    def _check_run_active(self, conn: Connection, run_id: str) -> int:
        """Raise unless the run exists and is active; return its experiment id."""
        row = conn.execute(statements.RUN_STATE, {"run_id": run_id}).first()
        if row is None:
            raise _not_found_run(run_id)
        if row.lifecycle_stage != LifecycleStage.ACTIVE:
            raise _must_be_active("run", run_id, row.lifecycle_stage)
        return row.experiment_id

    def get_run(self, run_id: str) -> Run:
        return self._read(lambda conn: self._runs(conn, [self._run_row(conn, run_id)])[0])

    def update_run_info(
        self,
        run_id: str,
        run_status: int | str | None,
        end_time: int | None,
        run_name: str | None,
    ) -> RunInfo:
        values: dict[str, Any] = {}
        if run_status is not None:
            values["status"] = RunStatus.to_string(run_status)
        if end_time is not None:
            values["end_time"] = int(end_time)
        name_tag = None
        if run_name:
            name_tag = validate_tag(RunTag(RUN_NAME_TAG, run_name))
            values["name"] = name_tag.value[:250]

        def work(conn: Connection) -> RunInfo:
            self._check_run_active(conn, run_id)
            if values:
                conn.execute(update(runs).where(runs.c.run_uuid == run_id).values(**values))
            if name_tag is not None:
                self._replace_tags(conn, run_id, [name_tag])
            return convert.run_info(self._run_row(conn, run_id))

        return self._write(work, retry_integrity=True)

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED, _now_ms())

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE, None)

    def _set_run_stage(self, run_id: str, stage: str, deleted_time: int | None) -> None:
        def work(conn: Connection) -> None:
            row = self._run_row(conn, run_id)
            if row.lifecycle_stage == stage:
                return
            conn.execute(
                update(runs)
                .where(runs.c.run_uuid == run_id)
                .values(lifecycle_stage=stage, deleted_time=deleted_time)
            )

        self._write(work)

    # -- loading runs ------------------------------------------------------------------------

    def _runs(self, conn: Connection, rows: Sequence[Row[Any]]) -> list[Run]:
        """Full Run entities for run rows: a few IN queries per 500 runs, never one per run."""
        ids = [row.run_uuid for row in rows]
        run_params: dict[str, list[Param]] = {i: [] for i in ids}
        run_tags: dict[str, list[RunTag]] = {i: [] for i in ids}
        run_metrics: dict[str, list[Metric]] = {i: [] for i in ids}
        run_inputs: dict[str, list[DatasetInput]] = {i: [] for i in ids}
        model_outputs: dict[str, list[LoggedModelOutput]] = {i: [] for i in ids}
        model_inputs: dict[str, list[LoggedModelInput]] = {i: [] for i in ids}
        make_metric, nan = convert.make_metric, math.nan
        dialect = self.engine.dialect
        for chunk in _chunks(ids):
            params_sql, tags_sql, latest_sql, datasets_sql, links_sql = statements.run_data_sql(
                dialect, len(chunk)
            )
            page = statements.run_page_parameters(dialect, chunk)
            options = self._run_page_options
            # Straight on the DBAPI cursor, inside this transaction: plain tuples.
            cursor = conn.connection.cursor(**self._cursor_options)
            try:
                cursor.execute(params_sql, page, **options)
                for run_id, key, value in cursor.fetchall():
                    run_params[run_id].append(Param(key, value))
                cursor.execute(tags_sql, page, **options)
                for run_id, key, value in cursor.fetchall():
                    run_tags[run_id].append(RunTag(key, value if value is not None else ""))
                cursor.execute(latest_sql, page, **options)
                for run_id, key, value, timestamp, step, is_nan in cursor.fetchall():
                    run_metrics[run_id].append(
                        make_metric(key, nan if is_nan else value, timestamp, step)
                    )
                cursor.execute(datasets_sql, page, **options)
                dataset_rows = cursor.fetchall()
                cursor.execute(links_sql, page * 2, **options)
                for source_type, source_id, destination_id, step in cursor.fetchall():
                    if source_type == statements.RUN_LINK:
                        model_outputs[source_id].append(LoggedModelOutput(destination_id, step))
                    else:
                        model_inputs[destination_id].append(LoggedModelInput(source_id))
            finally:
                cursor.close()
            if dataset_rows:
                self._load_inputs(conn, dataset_rows, run_inputs)
        return [
            Run(
                convert.run_info(row),
                RunData(
                    tuple(run_metrics[row.run_uuid]),
                    tuple(run_params[row.run_uuid]),
                    tuple(run_tags[row.run_uuid]),
                ),
                RunInputs(tuple(run_inputs[row.run_uuid]), tuple(model_inputs[row.run_uuid])),
                RunOutputs(tuple(model_outputs[row.run_uuid])),
            )
            for row in rows
        ]

    def _load_inputs(
        self, conn: Connection, found: Sequence[Any], out: dict[str, list[DatasetInput]]
    ) -> None:
        """Dataset inputs from rows of ``statements.DATASET_INPUTS_OF_RUNS``, with their tags."""
        tag_map: dict[str, list[InputTag]] = {row[1]: [] for row in found}
        for input_chunk in _chunks(list(tag_map)):
            for input_uuid, name, value in conn.execute(
                select(input_tags.c.input_uuid, input_tags.c.name, input_tags.c.value)
                .where(input_tags.c.input_uuid.in_(input_chunk))
                .order_by(input_tags.c.input_uuid, input_tags.c.name)
            ):
                tag_map[input_uuid].append(InputTag(name, value))
        for run_id, input_uuid, name, digest, source_type, source, schema, profile in found:
            dataset = Dataset(
                name=name,
                digest=digest,
                source_type=source_type,
                source=source,
                schema=schema,
                profile=profile,
            )
            out[run_id].append(DatasetInput(dataset, tuple(tag_map[input_uuid])))

    # -- search ------------------------------------------------------------------------------

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        stages = LifecycleStage.matching(run_view_type)
        max_results = validate_max_results(max_results)
        offset = decode_page_token(page_token)
        node = parse_run_filter(filter_string)
        joins, ordering = self._search.run_order_by(parse_run_order_by(order_by))
        int_ids = _searched_experiment_ids(experiment_ids)
        if not int_ids:
            return PagedList([], None)

        source = runs
        for alias, onclause in joins:
            source = source.outerjoin(alias, onclause)
        stmt = (
            select(runs)
            .select_from(source)
            .where(runs.c.experiment_id.in_(int_ids), runs.c.lifecycle_stage.in_(stages))
        )
        if node is not None:
            stmt = stmt.where(self._search.run_filter(node))
        stmt = stmt.order_by(*ordering).limit(max_results + 1).offset(offset)

        def work(conn: Connection) -> PagedList[Run]:
            rows = conn.execute(stmt).all()
            with convert.gc_paused():  # up to 50,000 runs with their data
                page = self._runs(conn, rows[:max_results])
            more = len(rows) > max_results
            return PagedList(page, encode_page_token(offset + max_results) if more else None)

        return self._read(work)

    def search_dataset_summaries(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        int_ids = _searched_experiment_ids(experiment_ids)
        if not int_ids:
            return []
        context = input_tags.alias("context")
        stmt = (
            select(
                dataset_table.c.experiment_id,
                dataset_table.c.name,
                dataset_table.c.digest,
                context.c.value,
            )
            .distinct()
            .select_from(
                dataset_table.join(inputs, inputs.c.source_id == dataset_table.c.dataset_uuid)
                # An input without a context tag is still listed, with no context.
                .outerjoin(
                    context,
                    and_(
                        context.c.input_uuid == inputs.c.input_uuid,
                        context.c.name == DATASET_CONTEXT_TAG,
                    ),
                )
            )
            .where(
                dataset_table.c.experiment_id.in_(int_ids),
                inputs.c.source_type == "DATASET",
                inputs.c.destination_type == "RUN",
            )
            .limit(SEARCH_DATASETS_MAX_RESULTS)
        )
        rows = self._read(lambda conn: conn.execute(stmt).all())
        return [DatasetSummary(str(e), name, digest, ctx) for e, name, digest, ctx in rows]

    # -- logging -----------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        # Everything is checked before the transaction starts: a bad element stores nothing.
        validate_batch_limits(metrics, params, tags)
        convert.check_metrics(metrics)
        _, clean_params, clean_tags = validate_batch((), params, tags)
        if not (metrics or clean_params or clean_tags):
            self._read(lambda conn: self._check_run_active(conn, run_id))
            return
        metric_rows, latest = convert.metric_rows(run_id, metrics)
        clean_tags = _last_per_key(clean_tags)

        for_models = [m for m in metrics if m.model_id]
        if self._pg_metrics_engine is not None and not (clean_params or clean_tags or for_models):
            self._log_metrics_pg(run_id, metric_rows, latest)
            return

        def work(conn: Connection) -> None:
            experiment_id = self._check_run_active(conn, run_id)
            if clean_params:
                self._insert_params(conn, run_id, clean_params)
            if clean_tags:
                self._replace_tags(conn, run_id, clean_tags)
            if metric_rows:
                self._insert_metrics(conn, metric_rows)  # bulk, see trackline_sql.statements
                self._update_latest(conn, run_id, latest)
            if for_models:  # points logged against a logged model belong to it too
                self._log_model_metrics(conn, run_id, experiment_id, for_models)

        # A unique-key violation here is a race with another writer of the same run
        # (params or latest_metrics); running again reads what it wrote.
        self._write(work, retry_integrity=True)

    def _log_metrics_pg(
        self,
        run_id: str,
        rows: list[tuple[Any, ...]],
        latest: dict[str, dict[str, Any]],
    ) -> None:
        """Metric points on PostgreSQL: one statement, one round trip (statements.PG_LOG_METRICS)."""
        keys, values, timestamps, steps, nans, _ = (list(c) for c in zip(*rows, strict=True))
        # Rows in key order: concurrent batches lock latest_metrics rows in the same order.
        newest = [latest[key] for key in sorted(latest)]
        bound = {
            "run_id": run_id,
            "active": LifecycleStage.ACTIVE,
            "keys": keys,
            "values": values,
            "timestamps": timestamps,
            "steps": steps,
            "nans": nans,
            "latest_keys": [r["key"] for r in newest],
            "latest_values": [r["value"] for r in newest],
            "latest_timestamps": [r["timestamp"] for r in newest],
            "latest_steps": [r["step"] for r in newest],
            "latest_nans": [r["is_nan"] for r in newest],
        }

        def work(conn: Connection) -> Any:
            cursor = conn.connection.cursor()
            try:
                cursor.execute(statements.PG_LOG_METRICS, bound)
                return cursor.fetchone()
            finally:
                cursor.close()

        assert self._pg_metrics_engine is not None
        state = db.run_transaction(self._pg_metrics_engine, work, retry_integrity=True)
        if state is None:
            raise _not_found_run(run_id)
        if state[0] != LifecycleStage.ACTIVE:
            raise _must_be_active("run", run_id, state[0])

    def _insert_params(self, conn: Connection, run_id: str, new: Sequence[Param]) -> None:
        """Insert params; same value again is a no-op, a different value fails the batch."""
        existing: dict[str, str] = {}
        for chunk in _chunks([p.key for p in new]):
            found = conn.execute(statements.PARAMS_WITH_KEYS, {"run_id": run_id, "keys": chunk})
            existing.update((key, value) for key, value in found)
        conflicts = [
            (p.key, existing[p.key], p.value)
            for p in new
            if p.key in existing and existing[p.key] != p.value
        ]
        if conflicts:
            raise TracklineException.invalid_parameter_value(
                param_conflict_message(run_id, conflicts)
            )
        fresh = [
            {"run_uuid": run_id, "key": p.key, "value": p.value}
            for p in new
            if p.key not in existing
        ]
        if fresh:
            conn.execute(statements.INSERT_PARAMS, fresh)

    def _replace_tags(self, conn: Connection, run_id: str, new: Sequence[RunTag]) -> None:
        rows = [{"run_uuid": run_id, "key": t.key, "value": t.value} for t in new]
        if self._tag_upsert is not None:
            # One statement: concurrent writers of the same tag cannot both insert it.
            conn.execute(self._tag_upsert, sorted(rows, key=lambda row: row["key"]))
        else:
            for chunk in _chunks([t.key for t in new]):
                conn.execute(statements.DELETE_TAGS_WITH_KEYS, {"run_id": run_id, "keys": chunk})
            conn.execute(statements.INSERT_TAGS, rows)
        columns = _tag_column_values(new)
        if columns:
            conn.execute(update(runs).where(runs.c.run_uuid == run_id).values(**columns))

    def _update_latest(
        self, conn: Connection, run_id: str, latest: dict[str, dict[str, Any]]
    ) -> None:
        """Fold a batch's newest point per key into latest_metrics.

        One upsert where the database has one (``statements.latest_upsert``); elsewhere one
        read and two writes, the UPDATE repeating the comparison in SQL so that a concurrent
        writer that got there first with a newer point is not overwritten (row locks make
        the check current).
        """
        if self._latest_upsert is not None:
            conn.execute(self._latest_upsert, [latest[key] for key in sorted(latest)])
            return
        current: dict[str, convert.Rank] = {}
        for chunk in _chunks(list(latest)):
            found = conn.execute(statements.LATEST_WITH_KEYS, {"run_id": run_id, "keys": chunk})
            for key, step, timestamp, value, is_nan in found:
                current[key] = convert.rank(step, timestamp, value, is_nan)
        inserts, updates = [], []
        for key, row in latest.items():
            if key not in current:
                inserts.append(row)
            elif (
                convert.rank(row["step"], row["timestamp"], row["value"], row["is_nan"])
                > (current[key])
            ):
                updates.append({f"new_{name}": value for name, value in row.items()})
        if inserts:
            conn.execute(statements.INSERT_LATEST, inserts)
        if updates:
            conn.execute(statements.LATEST_UPDATE, updates)

    def delete_tag(self, run_id: str, key: str) -> None:
        def work(conn: Connection) -> None:
            self._check_run_active(conn, run_id)
            deleted = conn.execute(
                delete(tag_table).where(tag_table.c.run_uuid == run_id, tag_table.c.key == key)
            )
            if deleted.rowcount == 0:
                raise TracklineException(
                    f"No tag with name: {key} in run with id {run_id}", RESOURCE_DOES_NOT_EXIST
                )

        self._write(work)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        clean = [validate_dataset_input(d) for d in datasets]

        def work(conn: Connection) -> None:
            experiment_id = self._check_run_active(conn, run_id)
            for dataset_input in clean:
                dataset_uuid = self._dataset_uuid(conn, experiment_id, dataset_input.dataset)
                self._link_input(conn, run_id, dataset_uuid, dataset_input.tags)

        self._write(work, retry_integrity=True)

    def _dataset_uuid(self, conn: Connection, experiment_id: int, dataset: Dataset) -> str:
        found = conn.execute(
            select(dataset_table.c.dataset_uuid).where(
                dataset_table.c.experiment_id == experiment_id,
                dataset_table.c.name == dataset.name,
                dataset_table.c.digest == dataset.digest,
            )
        ).scalar()
        if found is not None:
            return found
        dataset_uuid = uuid.uuid4().hex
        conn.execute(
            insert(dataset_table).values(
                dataset_uuid=dataset_uuid,
                experiment_id=experiment_id,
                name=dataset.name,
                digest=dataset.digest,
                dataset_source_type=dataset.source_type,
                dataset_source=dataset.source,
                dataset_schema=dataset.schema,
                dataset_profile=dataset.profile,
            )
        )
        return dataset_uuid

    def _link_input(
        self, conn: Connection, run_id: str, dataset_uuid: str, input_tag_list: Iterable[InputTag]
    ) -> None:
        linked = conn.execute(
            select(inputs.c.input_uuid).where(
                inputs.c.source_type == "DATASET",
                inputs.c.source_id == dataset_uuid,
                inputs.c.destination_type == "RUN",
                inputs.c.destination_id == run_id,
            )
        ).first()
        if linked is not None:
            return  # logged before: the first tags stay, as in MLflow
        input_uuid = time_ordered_hex()  # a run lists its inputs in this order
        conn.execute(
            insert(inputs).values(
                input_uuid=input_uuid,
                source_type="DATASET",
                source_id=dataset_uuid,
                destination_type="RUN",
                destination_id=run_id,
                step=0,
            )
        )
        rows = [
            {"input_uuid": input_uuid, "name": t.key, "value": t.value}
            for t in _last_per_key(input_tag_list)
        ]
        if rows:
            conn.execute(insert(input_tags), rows)

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Metric]:
        if max_results is not None:
            max_results = validate_max_results(max_results, limit=MAX_HISTORY_PAGE)
        offset = decode_page_token(page_token)
        # An unknown run has no points, as in MLflow's SQL store: no lookup of the run.
        limit = HISTORY_NO_LIMIT if max_results is None else max_results + 1
        bound = {"run_id": run_id, "key": metric_key, "limit": limit, "offset": offset}
        history_params = tuple(bound[name] for name in self._history_params)

        def work(conn: Connection) -> PagedList[Metric]:
            # Straight on the DBAPI cursor (inside this transaction): no per-row processing.
            cursor = conn.connection.cursor(**self._cursor_options)
            try:
                cursor.execute(self._history_sql, history_params)
                rows = cursor.fetchall()
            finally:
                cursor.close()
            token = None
            if max_results is not None and len(rows) > max_results:
                rows = rows[:max_results]
                token = encode_page_token(offset + max_results)
            make, nan = convert.make_metric, math.nan
            with convert.gc_paused():
                history = [make(metric_key, nan if n else v, t, s) for v, t, s, n in rows]
            return PagedList(history, token)

        return self._read(work)

    # -- garbage collection ------------------------------------------------------------------

    def get_deleted_run_ids(self, older_than_ms: int | None = None) -> list[str]:
        stmt = select(runs.c.run_uuid).where(runs.c.lifecycle_stage == LifecycleStage.DELETED)
        if older_than_ms is not None:
            stmt = stmt.where(runs.c.deleted_time < _now_ms() - older_than_ms)
        return self._read(lambda conn: list(conn.execute(stmt.order_by(runs.c.run_uuid)).scalars()))

    def hard_delete_run(self, run_id: str) -> None:
        def work(conn: Connection) -> None:
            self._run_row(conn, run_id)
            _erase_runs(conn, [run_id])

        self._write(work)

    def hard_delete_experiment(self, experiment_id: str) -> None:
        def work(conn: Connection) -> None:
            row = self._experiment_row(conn, experiment_id)
            run_ids = list(
                conn.execute(
                    select(runs.c.run_uuid).where(runs.c.experiment_id == row.experiment_id)
                ).scalars()
            )
            for chunk in _chunks(run_ids):
                _erase_runs(conn, chunk)
            self._erase_models_of_experiment(conn, row.experiment_id)
            dataset_ids = select(dataset_table.c.dataset_uuid).where(
                dataset_table.c.experiment_id == row.experiment_id
            )
            dataset_inputs = select(inputs.c.input_uuid).where(
                inputs.c.source_type == "DATASET", inputs.c.source_id.in_(dataset_ids)
            )
            conn.execute(delete(input_tags).where(input_tags.c.input_uuid.in_(dataset_inputs)))
            conn.execute(
                delete(inputs).where(
                    inputs.c.source_type == "DATASET", inputs.c.source_id.in_(dataset_ids)
                )
            )
            conn.execute(
                delete(dataset_table).where(dataset_table.c.experiment_id == row.experiment_id)
            )
            conn.execute(
                delete(experiment_tags).where(experiment_tags.c.experiment_id == row.experiment_id)
            )
            conn.execute(
                delete(experiments).where(experiments.c.experiment_id == row.experiment_id)
            )

        self._write(work)


# -- helpers ----------------------------------------------------------------------------------


def _name_taken(name: str) -> TracklineException:
    return TracklineException(
        f"Experiment(name={name}) already exists. Choose another name, or restore and reuse "
        "the existing experiment (deleted experiments keep their names).",
        RESOURCE_ALREADY_EXISTS,
    )


TagT = TypeVar("TagT", bound=RunTag)


def _last_per_key(items: Iterable[TagT]) -> list[TagT]:
    """One tag per key, the last one given winning (as repeated set_tag calls would)."""
    by_key: dict[str, TagT] = {}
    for item in items:
        by_key.pop(item.key, None)
        by_key[item.key] = item
    return list(by_key.values())


def _tag_column_values(run_tags: Iterable[RunTag]) -> dict[str, str]:
    """Values for the runs columns that mirror tags (name, source, git commit...)."""
    values = {}
    for tag in run_tags:
        column = _TAG_COLUMNS.get(tag.key)
        if column is not None:
            name, length = column
            values[name] = tag.value[:length]
    return values


def _erase_runs(conn: Connection, run_ids: Sequence[str]) -> None:
    """Delete runs and everything that hangs off them, children first."""
    erase_run_model_links(conn, run_ids)
    run_inputs = select(inputs.c.input_uuid).where(
        inputs.c.destination_type == "RUN", inputs.c.destination_id.in_(run_ids)
    )
    conn.execute(delete(input_tags).where(input_tags.c.input_uuid.in_(run_inputs)))
    conn.execute(
        delete(inputs).where(
            inputs.c.destination_type == "RUN", inputs.c.destination_id.in_(run_ids)
        )
    )
    for table in (metric_table, latest_metrics, param_table, tag_table):
        conn.execute(delete(table).where(table.c.run_uuid.in_(run_ids)))
    conn.execute(delete(runs).where(runs.c.run_uuid.in_(run_ids)))
