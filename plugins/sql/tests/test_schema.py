"""Schema management: migrations, version table, MLflow databases, ``trackline db upgrade``."""

from __future__ import annotations

import shutil
import textwrap
import threading
from pathlib import Path

import click
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text
from trackline_sql import schema
from trackline_sql.db import normalise_url
from trackline_sql.models import Base
from trackline_sql.plugin import register_commands
from trackline_sql.schema import SchemaError, upgrade_database
from trackline_sql.store import SqlTrackingStore


def _engine(uri: str):
    return create_engine(normalise_url(uri))


def _tables(uri: str) -> set[str]:
    engine = _engine(uri)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _cli() -> click.Group:
    @click.group()
    def cli() -> None:
        pass

    register_commands(cli)
    return cli


def test_schema_head_constant_matches_the_migrations() -> None:
    script = ScriptDirectory(schema._script_path())
    assert script.get_heads() == [schema.SCHEMA_HEAD]


def test_migrations_create_exactly_the_models(empty_database_uri: str) -> None:
    upgrade_database(empty_database_uri)
    engine = _engine(empty_database_uri)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "version_table": schema.VERSION_TABLE}
            )
            diffs = [d for d in compare_metadata(context, Base.metadata) if d[0] != "remove_table"]
    finally:
        engine.dispose()
    assert diffs == []


def test_new_database_is_created_on_first_use(empty_database_uri: str, artifact_root) -> None:
    store = SqlTrackingStore(empty_database_uri, artifact_root)
    store.close()
    tables = _tables(empty_database_uri)
    assert schema.VERSION_TABLE in tables
    assert "alembic_version" not in tables  # never MLflow's version table
    assert tables >= schema.TRACKLINE_TABLES
    engine = _engine(empty_database_uri)
    with engine.connect() as conn:
        assert schema.current_revision(conn) == schema.SCHEMA_HEAD
    engine.dispose()


def test_opening_again_keeps_the_data(db_uri: str, artifact_root) -> None:
    first = SqlTrackingStore(db_uri, artifact_root)
    exp_id = first.create_experiment("kept")
    first.close()
    second = SqlTrackingStore(db_uri, artifact_root)
    assert second.get_experiment(exp_id).name == "kept"
    assert [e.name for e in second.search_experiments(filter_string="name = 'Default'")] == [
        "Default"
    ]
    second.close()


def _make_mlflow_like(uri: str) -> None:
    engine = _engine(uri)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('f4a9b2c7d1e6')"))
        conn.execute(text("CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY)"))
    engine.dispose()


def test_mlflow_database_is_refused_with_a_clear_error(
    empty_database_uri: str, artifact_root
) -> None:
    _make_mlflow_like(empty_database_uri)
    with pytest.raises(SchemaError, match="MLflow database"):
        SqlTrackingStore(empty_database_uri, artifact_root)
    assert schema.VERSION_TABLE not in _tables(empty_database_uri)  # nothing written


def test_foreign_tables_with_our_names_are_refused(empty_database_uri: str) -> None:
    engine = _engine(empty_database_uri)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE runs (x INTEGER)"))
    engine.dispose()
    with pytest.raises(SchemaError, match="runs"):
        SqlTrackingStore(empty_database_uri, None)


def test_unrelated_tables_are_left_alone(empty_database_uri: str, artifact_root) -> None:
    engine = _engine(empty_database_uri)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE someone_elses (x INTEGER)"))
    engine.dispose()
    SqlTrackingStore(empty_database_uri, artifact_root).close()
    assert "someone_elses" in _tables(empty_database_uri)


def test_unknown_newer_revision_is_refused(db_uri: str, artifact_root) -> None:
    SqlTrackingStore(db_uri, artifact_root).close()
    engine = _engine(db_uri)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999_future'"))
    engine.dispose()
    try:
        with pytest.raises(SchemaError, match="Upgrade trackline-sql"):
            SqlTrackingStore(db_uri, artifact_root)
    finally:
        engine = _engine(db_uri)
        with engine.begin() as conn:
            conn.execute(
                text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '{schema.SCHEMA_HEAD}'")
            )
        engine.dispose()


# -- an older schema and `trackline db upgrade` --------------------------------------------------

CURRENT_HEAD = schema.SCHEMA_HEAD

NEXT_REVISION = textwrap.dedent(
    '''
    """Test-only revision: a later schema version.

    Revision ID: 9999_test_only
    Revises: {head}
    """
    import sqlalchemy as sa
    from alembic import op

    revision = "9999_test_only"
    down_revision = "{head}"
    branch_labels = None
    depends_on = None


    def upgrade():
        op.create_table("trackline_test_extra", sa.Column("id", sa.Integer, primary_key=True))


    def downgrade():
        op.drop_table("trackline_test_extra")
    '''
)


@pytest.fixture
def newer_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a newer trackline-sql with one more migration is installed."""
    source = Path(schema._script_path())
    target = tmp_path / "migrations"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    # Chained onto whatever the real newest revision is, so new migrations need no edit here.
    (target / "versions" / "9999_test_only.py").write_text(NEXT_REVISION.format(head=CURRENT_HEAD))
    monkeypatch.setattr(schema, "SCRIPT_LOCATION", str(target))
    monkeypatch.setattr(schema, "SCHEMA_HEAD", "9999_test_only")


def test_older_schema_asks_for_db_upgrade_then_upgrade_works(
    empty_database_uri: str, artifact_root, request: pytest.FixtureRequest
) -> None:
    SqlTrackingStore(empty_database_uri, artifact_root).close()  # created at CURRENT_HEAD
    request.getfixturevalue("newer_release")

    with pytest.raises(SchemaError) as info:
        SqlTrackingStore(empty_database_uri, artifact_root)
    message = info.value.message
    assert "out-of-date database schema" in message
    assert f"found version {CURRENT_HEAD}, but expected 9999_test_only" in message
    assert "trackline db upgrade" in message

    result = CliRunner().invoke(_cli(), ["db", "upgrade", empty_database_uri])
    assert result.exit_code == 0, result.output
    assert f"from revision {CURRENT_HEAD} to 9999_test_only" in result.output
    assert "trackline_test_extra" in _tables(empty_database_uri)

    store = SqlTrackingStore(empty_database_uri, artifact_root)
    assert store.get_experiment("0").name == "Default"
    store.close()


def _someone_waits_for_the_schema_lock(conn) -> bool:
    if conn.dialect.name == "postgresql":
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    else:
        waiting = "SELECT count(*) FROM information_schema.processlist WHERE state = 'User lock'"
    return conn.execute(text(waiting)).scalar() > 0


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_store_opened_during_an_upgrade_waits_for_it(
    backend: str, empty_database_uri: str, artifact_root, request: pytest.FixtureRequest
) -> None:
    # MySQL commits each DDL statement, so a migration in progress shows an older revision
    # to everyone; a store opened meanwhile must wait for the lock, not call the schema old.
    SqlTrackingStore(empty_database_uri, artifact_root).close()  # created at CURRENT_HEAD
    request.getfixturevalue("newer_release")
    engine = _engine(empty_database_uri)
    observer = _engine(empty_database_uri)
    opened: list[SqlTrackingStore | BaseException] = []

    def open_store() -> None:
        try:
            opened.append(SqlTrackingStore(empty_database_uri, artifact_root))
        except BaseException as exc:
            opened.append(exc)

    try:
        with engine.connect() as conn, schema._InitLock(conn):
            opener = threading.Thread(target=open_store)
            opener.start()
            with observer.connect() as watch:
                while not _someone_waits_for_the_schema_lock(watch) and opener.is_alive():
                    watch.rollback()  # a fresh snapshot each time round
            with conn.begin():
                schema._run_upgrade(conn)
        opener.join(timeout=60)
        assert len(opened) == 1
        store = opened[0]
        assert isinstance(store, SqlTrackingStore), store
        assert store.get_experiment("0").name == "Default"
        store.close()
    finally:
        engine.dispose()
        observer.dispose()


def test_db_upgrade_creates_a_new_database(empty_database_uri: str) -> None:
    result = CliRunner().invoke(_cli(), ["db", "upgrade", empty_database_uri])
    assert result.exit_code == 0, result.output
    assert "Created the trackline schema" in result.output
    assert _tables(empty_database_uri) >= schema.TRACKLINE_TABLES

    again = CliRunner().invoke(_cli(), ["db", "upgrade", empty_database_uri])
    assert again.exit_code == 0, again.output
    assert "up to date" in again.output


def test_db_upgrade_refuses_an_mlflow_database(empty_database_uri: str) -> None:
    _make_mlflow_like(empty_database_uri)
    result = CliRunner().invoke(_cli(), ["db", "upgrade", empty_database_uri])
    assert result.exit_code != 0
    assert "MLflow database" in result.output


def test_redacts_password_in_upgrade_hint() -> None:
    error = schema._outdated_error("0000_old", "postgresql://me:secret@db.example/prod")
    assert "secret" not in error.message
    assert "trackline db upgrade postgresql://me:***@db.example/prod" in error.message
