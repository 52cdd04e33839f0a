"""Engines and transactions: URL normalisation, pool settings, SQLite pragmas, retries.

One engine per store. Write transactions go through ``run_transaction``, which retries on
the errors that concurrency causes (SQLite's "database is locked", deadlocks, serialization
failures and, when the caller allows it, unique-key races) and on nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
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
# WAL pages after which a committing connection checkpoints by itself. Checkpoints normally
# run in the background (WalCheckpointer); this is the backstop if that falls behind.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 10_000

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
                cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES}")
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


# -- SQLite writers ----------------------------------------------------------------------------


def sqlite_file(url: URL) -> str | None:
    """The real path of a SQLite database file, or None for an in-memory database."""
    if url.get_backend_name() != "sqlite" or is_sqlite_memory(url):
        return None
    return os.path.realpath(url.database or "")


class SqliteWriteLock:
    """Orders the writers of one SQLite file: this process's threads, and other processes.

    SQLite lets one writer in at a time; everyone else polls through its busy handler, which
    sleeps longer and longer (up to 100 ms) between tries. A process whose threads write back
    to back then keeps the lock, and another process's writers starve (seconds, up to
    busy_timeout) although it is idle. Here threads queue on a lock, and processes on an
    ``flock`` of ``<database>-trackline-lock`` (a blocked waiter is woken as soon as the lock is
    released), before ``BEGIN IMMEDIATE``. Re-entrant. Without ``fcntl`` (Windows), or if the
    lock file cannot be created, only threads are ordered and processes fall back to SQLite's
    own waiting.
    """

    def __init__(self, database: str | None) -> None:
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._path = f"{database}-trackline-lock" if database else None
        self._fd: int | None = None
        self._fd_pid = 0

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            if self._depth == 0:
                self._lock_file()
        except BaseException:
            self._thread_lock.release()
            raise
        self._depth += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                import fcntl

                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _lock_file(self) -> None:
        if self._path is None:
            return
        try:
            import fcntl
        except ImportError:  # Windows
            self._path = None
            return
        if self._fd is not None and self._fd_pid != os.getpid():
            # A forked child shares the parent's open file (and so its flock): reopen.
            self._fd = None
        if self._fd is None:
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:  # a read-only folder, say: SQLite's own waiting only
                logger.debug("No write lock file %s: %s", self._path, exc)
                self._path = None
                return
            self._fd_pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks without the GIL

    def close(self) -> None:
        with self._thread_lock:
            if self._fd is not None and self._fd_pid == os.getpid():
                os.close(self._fd)
            self._fd = None


class WalCheckpointer:
    """Checkpoints a SQLite WAL in a background thread, shortly after writes.

    SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold, with
    two fsyncs, while every other writer waits for the lock: on a slow disk that COMMIT
    takes tens of milliseconds instead of one. Here a daemon thread runs a PASSIVE
    checkpoint (which blocks no reader and no writer) ``delay`` seconds after writes, on
    its own connection, and ends after ``idle`` seconds without writes. The WAL reaches
    the database file as often as before or more, so no durability is traded.
    """

    def __init__(self, database: str, delay: float = 0.2, idle: float = 5.0) -> None:
        self._database = database
        self._delay, self._idle = delay, idle
        self._wrote = threading.Event()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        self._closed = False

    def wrote(self) -> None:
        """Note a committed write (call outside the write lock)."""
        self._wrote.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and self._thread_pid == os.getpid():
            return
        with self._guard:
            thread = self._thread
            alive = thread is not None and thread.is_alive() and self._thread_pid == os.getpid()
            if alive or self._closed:
                return
            self._thread = threading.Thread(
                target=self._run, name="trackline-sqlite-checkpoint", daemon=True
            )
            self._thread_pid = os.getpid()
            self._thread.start()

    def _run(self) -> None:
        connection = None
        try:
            connection = sqlite3.connect(
                self._database,
                timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            while not self._closed:
                if not self._wrote.wait(self._idle):
                    with self._guard:  # idle: end, unless a write came in just now
                        if not self._wrote.is_set():
                            self._thread = None
                            return
                    continue
                time.sleep(self._delay)  # let a burst of commits pile up first
                self._wrote.clear()
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next write starts a new thread
            logger.debug("Background WAL checkpoint of %s failed: %s", self._database, exc)
        finally:
            if connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    connection.close()

    def close(self) -> None:
        self._closed = True
        self._wrote.set()
