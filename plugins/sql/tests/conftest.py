"""Fixtures: a SqlTrackingStore on SQLite, PostgreSQL and MariaDB/MySQL.

The servers are expected at the addresses below (this machine and CI run them). Tests on a
server that cannot be reached FAIL, so that a broken setup never passes as "all skipped";
set TRACKLINE_SKIP_DB_SERVERS=1 to skip them instead.

Each test session creates its own database on each server (``trackline_test_<random>``) and
drops it at the end; each test empties its tables first, so every ``store`` is fresh.
Tests that need a database with no tables at all use ``empty_database_uri``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

POSTGRES_URI = os.environ.get(
    "TRACKLINE_TEST_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/test"
)
MYSQL_URI = os.environ.get("TRACKLINE_TEST_MYSQL_URI", "mysql://root@127.0.0.1:3306/test")

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


def skip_servers() -> bool:
    return os.environ.get("TRACKLINE_SKIP_DB_SERVERS", "").strip() == "1"


def _admin_engine(backend: str):
    from trackline_sql.db import normalise_url

    uri = POSTGRES_URI if backend == "postgresql" else MYSQL_URI
    return create_engine(normalise_url(uri), isolation_level="AUTOCOMMIT")


def create_database(backend: str, prefix: str = "trackline_test") -> tuple[str, Callable[[], None]]:
    """A new, empty database on a server: its URI and a function that drops it."""
    from trackline_sql.db import normalise_url

    if skip_servers():
        pytest.skip("TRACKLINE_SKIP_DB_SERVERS=1")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = _admin_engine(backend)
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                conn.execute(
                    text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                )
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server
        pytest.fail(
            f"Cannot create a test database on the {backend} server "
            f"({POSTGRES_URI if backend == 'postgresql' else MYSQL_URI}): {exc}. "
            "Start the server, or set TRACKLINE_SKIP_DB_SERVERS=1 to skip these tests.",
            pytrace=False,
        )
    base = normalise_url(POSTGRES_URI if backend == "postgresql" else MYSQL_URI)
    uri = base.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()

    return uri, drop


def _session_database(backend: str) -> Iterator[str]:
    uri, drop = create_database(backend)
    try:
        yield uri
    finally:
        drop()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    yield from _session_database("postgresql")


@pytest.fixture(scope="session")
def mysql_database() -> Iterator[str]:
    yield from _session_database("mysql")


def empty_tables(uri: str) -> None:
    """Delete every row, children first; the schema stays (creating it is the slow part)."""
    from trackline_sql.db import normalise_url
    from trackline_sql.models import TABLES_CHILDREN_FIRST

    engine = create_engine(normalise_url(uri))
    try:
        with engine.begin() as conn:
            present = set(inspect(conn).get_table_names())
            names = [t.name for t in TABLES_CHILDREN_FIRST if t.name in present]
            if not names:
                return
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
            else:
                for name in names:
                    conn.execute(text(f"DELETE FROM {name}"))
                conn.execute(text("ALTER TABLE experiments AUTO_INCREMENT = 1"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema and no rows, copied for each test (migrating is slower)."""
    from trackline_sql.schema import upgrade_database

    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_uri(backend: str, request: pytest.FixtureRequest, tmp_path) -> str:
    """The URI of a database with no trackline data (schema may exist), per backend."""
    if backend == "sqlite":
        path = tmp_path / "trackline.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    if skip_servers():
        pytest.skip("TRACKLINE_SKIP_DB_SERVERS=1")
    uri = request.getfixturevalue(f"{'postgres' if backend == 'postgresql' else 'mysql'}_database")
    empty_tables(uri)
    return uri


@pytest.fixture
def empty_database_uri(backend: str, tmp_path) -> Iterator[str]:
    """A database with no tables at all (created for this test only)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    uri, drop = create_database(backend, prefix="trackline_empty")
    try:
        yield uri
    finally:
        drop()


@pytest.fixture
def artifact_root(tmp_path) -> str:
    return str(tmp_path / "artifacts")


@pytest.fixture
def store(db_uri: str, artifact_root: str):
    from trackline_sql.store import SqlTrackingStore

    s = SqlTrackingStore(db_uri, artifact_root)
    yield s
    s.close()
