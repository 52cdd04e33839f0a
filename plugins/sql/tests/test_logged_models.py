"""Logged models in SqlTrackingStore on SQLite, PostgreSQL and MariaDB.

The core's ``LoggedModelStoreContract`` runs on every backend (``db_uri`` of conftest.py);
the tests below cover what only the SQL store can show: rows in MLflow's table names,
garbage collection of models with their experiment.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text
from trackline.entities import LoggedModelOutput, Metric
from trackline.testing.logged_models import LoggedModelStoreContract
from trackline_sql.db import normalise_url
from trackline_sql.models import (
    inputs,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
)
from trackline_sql.store import SqlTrackingStore


class TestSqlLoggedModels(LoggedModelStoreContract):
    @pytest.fixture
    def store(self, db_uri: str, artifact_root: str) -> Iterator[SqlTrackingStore]:
        s = SqlTrackingStore(db_uri, artifact_root)
        yield s
        s.close()


def _count(uri: str, table) -> int:
    engine = create_engine(normalise_url(uri))
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        engine.dispose()


def test_rows_use_mlflow_tables_and_status_numbers(store: SqlTrackingStore, db_uri: str) -> None:
    exp_id = store.create_experiment("rows")
    run = store.create_run(exp_id, "u", 0, [], None)
    model = store.create_logged_model(exp_id, name="m", tags={"t": "1"}, params={"p": "2"})
    store.log_metric(run.info.run_id, Metric("acc", float("nan"), 5, 0, model_id=model.model_id))
    store.finalize_logged_model(model.model_id, "READY")
    engine = create_engine(normalise_url(db_uri))
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(logged_models).where(logged_models.c.model_id == model.model_id)
            ).one()
            value = conn.execute(select(logged_model_metrics.c.metric_value)).scalar_one()
            names = conn.execute(text("SELECT tag_key FROM logged_model_tags")).scalars().all()
    finally:
        engine.dispose()
    assert row.status == 2  # LOGGED_MODEL_READY
    assert row.lifecycle_stage == "active"
    assert value is None  # NaN is stored as NULL
    assert names == ["t"]


def test_hard_delete_experiment_erases_its_models(store: SqlTrackingStore, db_uri: str) -> None:
    exp_id = store.create_experiment("gc")
    run_id = store.create_run(exp_id, "u", 0, [], None).info.run_id
    model = store.create_logged_model(exp_id, tags={"t": "1"}, params={"p": "2"})
    store.log_metric(run_id, Metric("acc", 1.0, 5, 0, model_id=model.model_id))
    store.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
    keep_exp = store.create_experiment("keep")
    kept = store.create_logged_model(keep_exp, tags={"t": "1"})
    store.delete_experiment(exp_id)
    store.hard_delete_experiment(exp_id)
    for table in (logged_models, logged_model_tags):
        assert _count(db_uri, table) == 1
    for table in (logged_model_params, logged_model_metrics, inputs):
        assert _count(db_uri, table) == 0
    assert store.get_logged_model(kept.model_id).tags == {"t": "1"}


def test_hard_delete_run_drops_its_model_links(store: SqlTrackingStore, db_uri: str) -> None:
    exp_id = store.create_experiment("gc-run")
    run_id = store.create_run(exp_id, "u", 0, [], None).info.run_id
    model = store.create_logged_model(exp_id)
    store.log_metric(run_id, Metric("acc", 1.0, 5, 0, model_id=model.model_id))
    store.log_outputs(run_id, [LoggedModelOutput(model.model_id, 0)])
    store.delete_run(run_id)
    store.hard_delete_run(run_id)
    assert store.get_logged_model(model.model_id).metrics == []
    assert _count(db_uri, inputs) == 0
