"""Engines and transactions: URL normalisation, pool settings, SQLite pragmas, retries.

One engine per store. Write transactions go through ``run_transaction``, which retries on
the errors that concurrency causes (SQLite's "database is locked", deadlocks, serialization
failures and, when the caller allows it, unique-key races) and on nothing else.
"""

from __future__ import annotations

import logging
import os
import random
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, pool
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from trackline.exceptions import TracklineException

T = TypeVar("T")

logger = logging.getLogger(__name__)

# Execution option marking write transactions; on SQLite they start with BEGIN IMMEDIATE.
WRITE_OPTION = "trackline_write"

SQLITE_BUSY_TIMEOUT_MS = 30_000
MAX_ATTEMPTS = 12

_DEFAULT_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    # The mysql dialect recognises a MariaDB server by itself.
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}

# Error codes that mean "try the same transaction again".
_PG_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock not available
_MYSQL_RETRY_CODES = {1205, 1213}  # lock wait timeout, deadlock
_SQLITE_RETRY_MESSAGES = ("database is locked", "database table is locked", "database is busy")


def normalise_url(store_uri: str) -> URL:
    """Parse a store URI, picking the drivers we ship extras for when none is named."""
    try:
        url = make_url(store_uri)
    except ArgumentError as exc:
        raise TracklineException.invalid_parameter_value(
            f"Invalid database URI {store_uri!r}: {exc}"
        ) from exc
    driver = _DEFAULT_DRIVERS.get(url.drivername)
    if driver is None and url.drivername.startswith("postgres+"):
        driver = "postgresql+" + url.drivername.split("+", 1)[1]
    if driver is not None:
        url = url.set(drivername=driver)
    if url.get_backend_name() in ("mysql", "mariadb") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


def is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _env(name: str) -> str | None:
    # TRACKLINE_* wins over the MLflow variable of the same meaning.
    return os.environ.get(f"TRACKLINE_SQLALCHEMYSTORE_{name}") or os.environ.get(
        f"MLFLOW_SQLALCHEMYSTORE_{name}"
    )


def _pool_options() -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, key in (
        ("POOL_SIZE", "pool_size"),
        ("MAX_OVERFLOW", "max_overflow"),
        ("POOL_RECYCLE", "pool_recycle"),
    ):
        raw = _env(name)
        if raw:
            options[key] = int(raw)
    poolclass = _env("POOLCLASS")
    if poolclass:
        options["poolclass"] = getattr(pool, poolclass)
    return options


def create_store_engine(store_uri: str) -> Engine:
    """The engine of one store, configured for its database."""
    url = normalise_url(store_uri)
    echo = (_env("ECHO") or "").lower() in ("1", "true", "yes")
    if url.get_backend_name() != "sqlite":
        options = _pool_options()
        if options.get("poolclass") is pool.NullPool:
            options.pop("pool_size", None)
            options.pop("max_overflow", None)
        engine = create_engine(url, pool_pre_ping=True, echo=echo, **options)
        _forget_pool_after_fork(engine)
        return engine
    if is_sqlite_memory(url):
        # One shared connection, or every connection would see its own empty database.
        engine = create_engine(
            url,
            echo=echo,
            poolclass=pool.StaticPool,
            connect_args={"check_same_thread": False},
        )
    else:
        # A new database file in a new folder: create the folder, as for the artifact root.
        folder = os.path.dirname(os.path.abspath(url.database or ""))
        os.makedirs(folder, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **_pool_options(),
        )
    _install_sqlite_hooks(engine, wal=not is_sqlite_memory(url))
    if not is_sqlite_memory(url):  # an in-memory database lives in its one connection
        _forget_pool_after_fork(engine)
    return engine


def _forget_pool_after_fork(engine: Engine) -> None:
    """A forked child must not use its parent's open connections: drop them in the child.

    Two processes on one SQLite handle or one server socket corrupt each other's state;
    SQLAlchemy's advice is ``dispose(close=False)`` in the child, leaving the parent's pool
    alone. Training code forks (multiprocessing, data loaders) after logging has started.
    """
    ref = weakref.ref(engine)

    def after_fork_in_child() -> None:
        alive = ref()
        if alive is not None:
            alive.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork_in_child)


def _install_sqlite_hooks(engine: Engine, wal: bool) -> None:
    """Take transaction control from the sqlite3 module and set the pragmas we rely on."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # sqlite3 would otherwise BEGIN lazily before the first write, which turns a reader
        # into a writer mid-transaction: in WAL mode that fails at once with SQLITE_BUSY
        # instead of waiting. We issue BEGIN / BEGIN IMMEDIATE ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if wal:
                # WAL lets readers and one writer work at once; NORMAL sync is safe with WAL
                # (a power cut may lose the last commits, never corrupt the file).
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front, waiting up to busy_timeout for it.
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def is_retryable(exc: DBAPIError, retry_integrity: bool = False) -> bool:
    """Whether an error is a concurrency accident worth retrying the transaction for."""
    if isinstance(exc, IntegrityError):
        return retry_integrity
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in _PG_RETRY_SQLSTATES:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRY_CODES:
        return True
    message = str(orig).lower()
    return any(m in message for m in _SQLITE_RETRY_MESSAGES)


def run_transaction(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    retry_integrity: bool = False,
    attempts: int = MAX_ATTEMPTS,
) -> T:
    """Run ``work(conn)`` in one transaction, committing on success, retrying on contention.

    ``retry_integrity``: a unique-key violation means another process inserted the same row
    between our read and our write; running the work again sees that row. Only callers that
    read before inserting may ask for this, or a real conflict would be retried in vain.
    """
    delay = 0.005
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as conn:
                return work(conn)
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc, retry_integrity):
                raise
            logger.debug("Retrying a transaction (attempt %d) after: %s", attempt, exc.orig)
        # Jitter keeps competing processes from retrying in lockstep.
        time.sleep(delay * (1 + random.random()))
        delay = min(delay * 2, 0.5)
    raise AssertionError("unreachable")
