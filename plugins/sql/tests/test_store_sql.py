"""What the conformance kit cannot see: how SqlTrackingStore stores things, per backend."""

from __future__ import annotations

import math
import os
import re

import pytest
from sqlalchemy import event, func, select
from trackline.entities import LifecycleStage, Metric, Param, RunTag, ViewType
from trackline.exceptions import TracklineException
from trackline_sql import db
from trackline_sql.models import experiments, latest_metrics, metrics, runs
from trackline_sql.store import SqlTrackingStore

DOUBLE_MAX = 1.7976931348623157e308


def _run(store: SqlTrackingStore, experiment_id: str = "0", **kwargs) -> str:
    return store.create_run(experiment_id, "tester", 1000, [], kwargs.get("name")).info.run_id


def _rows(store: SqlTrackingStore, stmt):
    with store.engine.connect() as conn:
        return conn.execute(stmt).all()


class StatementCounter:
    """Counts the SQL statements a store sends (to prove batching and no N+1)."""

    def __init__(self, store: SqlTrackingStore) -> None:
        self.statements: list[str] = []
        self.engine = store.engine
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def matching(self, pattern: str) -> list[str]:
        return [s for s in self.statements if re.search(pattern, s, re.IGNORECASE)]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


# -- URIs and engines -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2"),
        ("mysql://u@h/db", "mysql+pymysql"),
        ("mariadb://u@h/db", "mysql+pymysql"),
        ("mysql+mysqldb://u@h/db", "mysql+mysqldb"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_default_drivers(uri: str, driver: str) -> None:
    assert db.normalise_url(uri).drivername == driver


def test_mysql_urls_get_utf8mb4() -> None:
    assert db.normalise_url("mysql://u@h/db").query["charset"] == "utf8mb4"
    assert db.normalise_url("mysql://u@h/db?charset=latin1").query["charset"] == "latin1"


def test_invalid_uri_is_a_clear_error() -> None:
    with pytest.raises(TracklineException, match="Invalid database URI"):
        db.normalise_url("not a uri")


def test_sqlite_uses_wal_busy_timeout_and_normal_sync(tmp_path) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'x.db'}", str(tmp_path))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    store.close()


def test_in_memory_sqlite_works(tmp_path) -> None:
    store = SqlTrackingStore("sqlite://", str(tmp_path))
    run_id = _run(store)
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])
    assert store.get_run(run_id).data.metrics == {"m": 1.0}
    store.close()


def test_pool_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_SQLALCHEMYSTORE_POOL_SIZE", "3")
    monkeypatch.setenv("TRACKLINE_SQLALCHEMYSTORE_MAX_OVERFLOW", "7")
    monkeypatch.setenv("MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW", "1")
    assert db._pool_options() == {"pool_size": 3, "max_overflow": 7}


# -- experiments --------------------------------------------------------------------------------


def test_default_experiment_has_id_zero_and_next_is_one(store: SqlTrackingStore) -> None:
    assert [row[0] for row in _rows(store, select(experiments.c.experiment_id))] == [0]
    assert store.create_experiment("first") == "1"


def test_default_experiment_is_recreated_if_missing(db_uri: str, artifact_root) -> None:
    store = SqlTrackingStore(db_uri, artifact_root)
    store.hard_delete_experiment("0")
    store.close()
    again = SqlTrackingStore(db_uri, artifact_root)
    assert again.get_experiment("0").name == "Default"
    again.close()


def test_artifact_locations(store: SqlTrackingStore, artifact_root: str) -> None:
    exp_id = store.create_experiment("where")
    exp = store.get_experiment(exp_id)
    assert exp.artifact_location == f"{artifact_root}/{exp_id}"
    run = store.create_run(exp_id, "u", 1, [], None)
    assert run.info.artifact_uri == f"{artifact_root}/{exp_id}/{run.info.run_id}/artifacts"
    custom = store.create_experiment("custom", artifact_location="s3://bucket/path/")
    run = store.create_run(custom, "u", 1, [], None)
    assert run.info.artifact_uri == f"s3://bucket/path/{run.info.run_id}/artifacts"


def test_default_artifact_root_is_mlruns_in_cwd(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'x.db'}", None)
    assert store.get_experiment("0").artifact_location == os.path.join(str(tmp_path), "mlruns", "0")
    store.close()


def test_experiment_names_are_case_sensitive(store: SqlTrackingStore) -> None:
    # MySQL's default collation would call these equal; our tables use utf8mb4_bin.
    upper = store.create_experiment("Case")
    lower = store.create_experiment("case")
    assert upper != lower
    assert store.get_experiment_by_name("case").experiment_id == lower
    assert store.get_experiment_by_name("CASE") is None


@pytest.mark.parametrize("bad", ["abc", "1.5", ""])
def test_an_experiment_id_that_is_no_integer_is_invalid(store: SqlTrackingStore, bad) -> None:
    # As MLflow's SQL store: 400, not "not found" (checked against mlflow server 3.17.2).
    for call in (
        lambda: store.get_experiment(bad),
        lambda: store.delete_experiment(bad),
        lambda: store.set_experiment_tag(bad, RunTag("k", "v")),
        lambda: store.create_run(bad, "u", 0, [], "r"),
        lambda: store.search_runs([bad], "", ViewType.ALL),
    ):
        with pytest.raises(TracklineException) as info:
            call()
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
        assert info.value.message == (
            f"Invalid experiment ID '{bad}'. Experiment ID must be a valid integer."
        )


@pytest.mark.parametrize("unused", ["-1", "99999999999999", "123456"])
def test_an_integer_no_experiment_has_is_not_found(store: SqlTrackingStore, unused) -> None:
    with pytest.raises(TracklineException) as info:
        store.get_experiment(unused)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert f"No Experiment with id={unused} exists" in info.value.message
    assert list(store.search_runs([unused], "", ViewType.ALL)) == []


def test_restore_experiment_brings_back_only_runs_deleted_with_it(store: SqlTrackingStore) -> None:
    exp_id = store.create_experiment("cascade")
    alone = _run(store, exp_id)
    together = _run(store, exp_id)
    store.delete_run(alone)
    with store.engine.begin() as conn:  # make sure the two deletions get different times
        conn.execute(runs.update().where(runs.c.run_uuid == alone).values(deleted_time=1))
    store.delete_experiment(exp_id)
    assert store.get_run(together).info.lifecycle_stage == LifecycleStage.DELETED
    (deleted_time,) = _rows(store, select(runs.c.deleted_time).where(runs.c.run_uuid == together))[
        0
    ]
    assert deleted_time is not None
    store.restore_experiment(exp_id)
    assert store.get_run(together).info.lifecycle_stage == LifecycleStage.ACTIVE
    assert store.get_run(alone).info.lifecycle_stage == LifecycleStage.DELETED


# -- runs ---------------------------------------------------------------------------------------


def test_run_name_mirrors_into_the_runs_table(store: SqlTrackingStore) -> None:
    run_id = _run(store, name="first")
    store.set_tag(run_id, RunTag("mlflow.runName", "second"))
    assert _rows(store, select(runs.c.name).where(runs.c.run_uuid == run_id)) == [("second",)]
    store.update_run_info(run_id, None, None, "third")
    assert store.get_run(run_id).data.tags["mlflow.runName"] == "third"
    assert _rows(store, select(runs.c.name).where(runs.c.run_uuid == run_id)) == [("third",)]


def test_source_tags_fill_run_columns(store: SqlTrackingStore) -> None:
    run = store.create_run(
        "0",
        "u",
        1,
        [RunTag("mlflow.source.name", "train.py"), RunTag("mlflow.source.type", "LOCAL")],
        None,
    )
    row = _rows(
        store,
        select(runs.c.source_name, runs.c.source_type).where(runs.c.run_uuid == run.info.run_id),
    )
    assert row == [("train.py", "LOCAL")]


def test_deleted_time_is_set_and_cleared(store: SqlTrackingStore) -> None:
    run_id = _run(store)
    store.delete_run(run_id)
    stmt = select(runs.c.deleted_time).where(runs.c.run_uuid == run_id)
    assert _rows(store, stmt)[0][0] is not None
    store.restore_run(run_id)
    assert _rows(store, stmt)[0][0] is None


def test_gc_helpers(store: SqlTrackingStore) -> None:
    keep, gone = _run(store), _run(store)
    store.log_batch(gone, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", "v")])
    store.delete_run(gone)
    assert store.get_deleted_run_ids() == [gone]
    assert store.get_deleted_run_ids(older_than_ms=10**9) == []
    store.hard_delete_run(gone)
    assert _rows(store, select(func.count()).select_from(metrics)) == [(0,)]
    with pytest.raises(TracklineException):
        store.get_run(gone)
    assert store.get_run(keep).info.run_id == keep


def test_hard_delete_experiment_erases_its_runs(store: SqlTrackingStore) -> None:
    exp_id = store.create_experiment("erase")
    run_id = _run(store, exp_id)
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])
    store.hard_delete_experiment(exp_id)
    assert _rows(store, select(func.count()).select_from(runs)) == [(0,)]
    assert _rows(store, select(func.count()).select_from(latest_metrics)) == [(0,)]
    assert store.get_experiment_by_name("erase") is None


# -- metrics ------------------------------------------------------------------------------------


def test_nan_and_infinities_are_stored_as_mlflow_does(store: SqlTrackingStore) -> None:
    run_id = _run(store)
    store.log_batch(
        run_id,
        metrics=[
            Metric("nan", math.nan, 1, 0),
            Metric("pinf", math.inf, 1, 0),
            Metric("ninf", -math.inf, 1, 0),
        ],
    )
    stored = {
        key: (value, bool(is_nan))
        for key, value, is_nan in _rows(
            store, select(metrics.c.key, metrics.c.value, metrics.c.is_nan)
        )
    }
    assert stored == {"nan": (0.0, True), "pinf": (DOUBLE_MAX, False), "ninf": (-DOUBLE_MAX, False)}
    data = store.get_run(run_id).data.metrics
    assert math.isnan(data["nan"])
    assert data["pinf"] == DOUBLE_MAX and data["ninf"] == -DOUBLE_MAX
    assert math.isnan(store.get_metric_history(run_id, "nan")[0].value)


def test_latest_metric_rules(store: SqlTrackingStore) -> None:
    run_id = _run(store)
    log = lambda *ms: store.log_batch(run_id, metrics=list(ms))  # noqa: E731
    log(Metric("m", 5.0, 100, 2))
    log(Metric("m", 9.0, 999, 1))  # older step: not latest
    assert store.get_run(run_id).data.metrics["m"] == 5.0
    log(Metric("m", 4.0, 101, 2))  # same step, later timestamp
    assert store.get_run(run_id).data.metrics["m"] == 4.0
    log(Metric("m", 3.0, 101, 2))  # same step and time, smaller value: not latest
    log(Metric("m", math.nan, 101, 2))  # NaN ranks below every number
    assert store.get_run(run_id).data.metrics["m"] == 4.0
    log(Metric("m", math.nan, 102, 2))
    assert math.isnan(store.get_run(run_id).data.metrics["m"])
    log(Metric("m", -1.0, 102, 2))  # any number beats NaN at the same step and time
    assert store.get_run(run_id).data.metrics["m"] == -1.0
    # Within one batch the same rules pick the winner, whatever the order.
    log(Metric("m", 7.0, 500, 9), Metric("m", 8.0, 400, 9), Metric("m", 1.0, 1, 3))
    latest = store.get_run(run_id).data.metric_list[0]
    assert (latest.value, latest.timestamp, latest.step) == (7.0, 500, 9)


def test_log_batch_is_a_handful_of_statements(store: SqlTrackingStore) -> None:
    run_id = _run(store)
    batch = [Metric(f"k{i % 10}", float(i), 1000 + i, i) for i in range(1000)]
    counter = StatementCounter(store)
    try:
        store.log_batch(run_id, metrics=batch)
        store.log_batch(run_id, metrics=batch)  # all duplicates: ignored, not an error
    finally:
        counter.close()
    per_call = len(counter.statements) / 2
    assert per_call <= 6, counter.statements
    assert len(counter.matching(r"latest_metrics")) <= 2 * 2
    assert _rows(store, select(func.count()).select_from(metrics)) == [(1000,)]
    assert _rows(store, select(func.count()).select_from(latest_metrics)) == [(10,)]


def test_param_conflicts_list_every_key_and_write_nothing(store: SqlTrackingStore) -> None:
    run_id = _run(store)
    store.log_batch(run_id, params=[Param("a", "1"), Param("b", "2")])
    with pytest.raises(TracklineException) as info:
        store.log_batch(
            run_id,
            metrics=[Metric("m", 1.0, 1, 0)],
            params=[Param("a", "x"), Param("b", "y"), Param("c", "3")],
            tags=[RunTag("t", "v")],
        )
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "key='a'" in info.value.message and "key='b'" in info.value.message
    run = store.get_run(run_id)
    assert run.data.params == {"a": "1", "b": "2"}
    assert "t" not in run.data.tags and not run.data.metrics


def test_metric_history_pages(store: SqlTrackingStore) -> None:
    run_id = _run(store)
    store.log_batch(run_id, metrics=[Metric("m", float(i), 10 - i, i % 3) for i in range(10)])
    pages, token = [], None
    while True:
        page = store.get_metric_history(run_id, "m", max_results=4, page_token=token)
        pages.append([(m.step, m.timestamp) for m in page])
        token = page.token
        if not token:
            break
    flat = [p for page in pages for p in page]
    assert [len(p) for p in pages] == [4, 4, 2]
    assert flat == sorted(flat)
    assert flat == [(m.step, m.timestamp) for m in store.get_metric_history(run_id, "m")]


def test_search_loads_a_page_without_n_plus_one(store: SqlTrackingStore) -> None:
    exp_id = store.create_experiment("many")
    for i in range(60):
        run_id = _run(store, exp_id)
        store.log_batch(
            run_id,
            metrics=[Metric("acc", i / 60, 1, 0)],
            params=[Param("p", str(i))],
            tags=[RunTag("t", "x")],
        )
    counter = StatementCounter(store)
    try:
        found = store.search_runs([exp_id], "metrics.acc >= 0", max_results=50)
    finally:
        counter.close()
    assert len(found) == 50 and found.token
    assert all(r.data.params and r.data.tags and r.data.metrics for r in found)
    # BEGIN, the runs, params, tags, latest metrics, dataset inputs, logged-model links:
    # a constant number of statements per page, whatever its size.
    assert len(counter.statements) <= 7, counter.statements


# -- retries ------------------------------------------------------------------------------------


class _Locked(Exception):
    pass


def _failing(times: int, error: Exception):
    calls = {"n": 0}

    def work(conn):
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return "done"

    return work, calls


def _dbapi_error(message: str, cls=None):
    from sqlalchemy.exc import OperationalError

    return (cls or OperationalError)("SELECT 1", {}, _Locked(message))


def test_locked_database_is_retried(tmp_path) -> None:
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'x.db'}", str(tmp_path))
    work, calls = _failing(3, _dbapi_error("database is locked"))
    assert db.run_transaction(store.engine, work) == "done"
    assert calls["n"] == 4
    store.close()


def test_other_errors_are_not_retried(tmp_path) -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError

    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'x.db'}", str(tmp_path))
    work, calls = _failing(1, _dbapi_error("no such table: x"))
    with pytest.raises(OperationalError):
        db.run_transaction(store.engine, work)
    assert calls["n"] == 1
    work, calls = _failing(1, _dbapi_error("UNIQUE constraint failed", IntegrityError))
    with pytest.raises(IntegrityError):
        db.run_transaction(store.engine, work)
    work, calls = _failing(1, _dbapi_error("UNIQUE constraint failed", IntegrityError))
    assert db.run_transaction(store.engine, work, retry_integrity=True) == "done"
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_its_own_connections(store: SqlTrackingStore) -> None:
    run_id = _run(store)
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])  # the pool now holds a connection
    pid = os.fork()
    if pid == 0:  # child: log through the inherited store, then leave without cleanup
        code = 0
        try:
            store.log_batch(run_id, metrics=[Metric("m", 2.0, 2, 1)])
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.log_batch(run_id, metrics=[Metric("m", 3.0, 3, 2)])  # the parent's pool still works
    assert [m.value for m in store.get_metric_history(run_id, "m")] == [1.0, 2.0, 3.0]
