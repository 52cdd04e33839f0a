"""Fixtures shared by the core and end-to-end tests."""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_ADMIN_URI = os.environ.get(
    "TRACKLINE_TEST_POSTGRES_URI", "postgresql://postgres@127.0.0.1:5432/test"
)
MYSQL_ADMIN_URI = os.environ.get("TRACKLINE_TEST_MYSQL_URI", "mysql://root@127.0.0.1:3306/test")


def _skip_servers() -> bool:
    return os.environ.get("TRACKLINE_SKIP_DB_SERVERS") == "1"


def _fresh_postgres_database() -> tuple[str, callable]:
    import psycopg

    name = f"trackline_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
    ) as c:
        c.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql://postgres@127.0.0.1:5432/{name}", drop


def _fresh_mysql_database() -> tuple[str, callable]:
    import pymysql

    name = f"trackline_e2e_{uuid.uuid4().hex[:10]}"
    connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    connection.close()

    def drop() -> None:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()

    return f"mysql://root@127.0.0.1:3306/{name}", drop


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def database_uri(request, tmp_path):
    """A tracking URI of an empty database on each backend the SQL store supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'trackline.db'}"
        return
    if _skip_servers():
        pytest.skip("TRACKLINE_SKIP_DB_SERVERS=1")
    uri, drop = (
        _fresh_postgres_database() if request.param == "postgresql" else _fresh_mysql_database()
    )
    try:
        yield uri
    finally:
        from trackline.tracking.uri import clear_store_cache

        clear_store_cache()
        drop()


@pytest.fixture
def tracking(database_uri, tmp_path, monkeypatch):
    """The fluent API pointed at a fresh database, artifacts in tmp, no state leaking out."""
    import trackline
    from trackline.tracking import fluent
    from trackline.tracking.uri import clear_store_cache

    for var in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.replace("MLFLOW_", "TRACKLINE_"), raising=False)
    monkeypatch.setenv("TRACKLINE_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    trackline.set_tracking_uri(database_uri)
    yield trackline
    while fluent.active_run():
        fluent.end_run()
    trackline.set_tracking_uri(None)
    clear_store_cache()
