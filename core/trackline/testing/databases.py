"""Empty databases for tests: a SQLite file, or a fresh database on a PostgreSQL or
MySQL/MariaDB server, dropped afterwards.

The servers are those of trackline's CI (127.0.0.1, PostgreSQL user ``postgres`` with trust
auth, MariaDB ``root`` without a password, each with a database ``test`` to connect to).
Set ``TRACKLINE_SKIP_DB_SERVERS=1`` to skip server-backed tests where none run.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
MYSQL_SERVER = {"host": "127.0.0.1", "port": 3306, "user": "root"}


def _postgres_database(name: str) -> tuple[str, Callable[[], None]]:
    import psycopg

    with psycopg.connect(POSTGRES_DSN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(POSTGRES_DSN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql://postgres@127.0.0.1:5432/{name}", drop


def _mysql_database(name: str) -> tuple[str, Callable[[], None]]:
    import pymysql

    def execute(statement: str) -> None:
        connection = pymysql.connect(**MYSQL_SERVER, autocommit=True)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    return f"mysql://root@127.0.0.1:3306/{name}", lambda: execute(
        f"DROP DATABASE IF EXISTS `{name}`"
    )


@contextlib.contextmanager
def fresh_database(kind: str, tmp: Path) -> Iterator[str]:
    """The URI of an empty database of ``kind`` (sqlite, postgresql, mysql)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'trackline.db'}"
        return
    if os.environ.get("TRACKLINE_SKIP_DB_SERVERS") == "1":
        pytest.skip("TRACKLINE_SKIP_DB_SERVERS=1")
    name = f"trackline_test_{uuid.uuid4().hex[:10]}"
    uri, drop = _postgres_database(name) if kind == "postgresql" else _mysql_database(name)
    try:
        yield uri
    finally:
        from trackline.tracking.uri import clear_store_cache

        clear_store_cache()  # cached engines would hold the database open
        drop()
