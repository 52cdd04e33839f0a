"""Schema versions: create a new database, refuse an old or foreign one, upgrade on request.

The revision is kept in ``trackline_alembic_version``, not alembic's default
``alembic_version``, so it can never be mistaken for (or overwrite) MLflow's.

Opening a store costs one or two small queries: alembic is imported only when the database
must be created or its revision is not the one this package expects.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Connection, Engine, TextClause, column, inspect, select, table, text
from sqlalchemy.exc import DBAPIError
from trackline.exceptions import INVALID_STATE, TracklineException

from trackline_sql.db import WRITE_OPTION, create_store_engine

logger = logging.getLogger(__name__)

VERSION_TABLE = "trackline_alembic_version"
MLFLOW_VERSION_TABLE = "alembic_version"
# The newest revision in migrations/versions; tests/test_schema.py keeps them equal.
SCHEMA_HEAD = "0003_model_registry"
SCRIPT_LOCATION = "trackline_sql:migrations"

TRACKLINE_TABLES = frozenset(
    {
        "experiments",
        "experiment_tags",
        "runs",
        "metrics",
        "latest_metrics",
        "params",
        "tags",
        "datasets",
        "inputs",
        "input_tags",
        "logged_models",
        "logged_model_metrics",
        "logged_model_params",
        "logged_model_tags",
        "registered_models",
        "registered_model_tags",
        "model_versions",
        "model_version_tags",
        "registered_model_aliases",
    }
)

# Advisory lock id for first-time creation on PostgreSQL (any constant agreed by all of us).
_PG_LOCK_ID = 0x7472_6B6C  # "trkl"
_MYSQL_LOCK_NAME = "trackline_schema_init"


class SchemaError(TracklineException):
    """The database cannot be used as it is: wrong schema version or not a trackline one."""

    def __init__(self, message: str) -> None:
        super().__init__(message, INVALID_STATE)


def current_revision(conn: Connection) -> str | None:
    """The trackline schema revision of a database, or ``None`` if it has none.

    Raises ``SchemaError`` for a database that MLflow (or something else) owns.
    """
    inspector = inspect(conn)
    if inspector.has_table(VERSION_TABLE):
        versions = conn.execute(select(column("version_num")).select_from(table(VERSION_TABLE)))
        found = [row[0] for row in versions]
        return found[0] if found else None
    names = set(inspector.get_table_names())
    if MLFLOW_VERSION_TABLE in names and "experiments" in names:
        raise SchemaError(
            "This is an MLflow database (it has MLflow's 'alembic_version' table and no "
            f"'{VERSION_TABLE}'). trackline-sql keeps its own schema and does not write into "
            "MLflow's: use a new database for trackline (for example sqlite:///trackline.db), "
            "or keep serving this one with MLflow."
        )
    clashing = sorted(names & TRACKLINE_TABLES)
    if clashing:
        raise SchemaError(
            f"The database already has tables named {', '.join(clashing)} but no trackline "
            f"schema version ('{VERSION_TABLE}'). trackline-sql will not write into tables it "
            "did not create: use an empty database or schema."
        )
    return None


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database URI>"


def _outdated_error(found: str, store_uri: str) -> SchemaError:
    return SchemaError(
        f"Detected out-of-date database schema (found version {found}, but expected "
        f"{SCHEMA_HEAD}). Back up the database, then run "
        f"'trackline db upgrade {_redact(store_uri)}' to migrate it."
    )


def _unknown_error(found: str) -> SchemaError:
    return SchemaError(
        f"The database schema is at revision {found!r}, which this trackline-sql does not "
        f"know (it expects {SCHEMA_HEAD}); a newer trackline-sql probably upgraded it. "
        "Upgrade trackline-sql."
    )


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(_script_path())
    return {rev.revision for rev in script.walk_revisions()}


def _script_path() -> str:
    from alembic.util import coerce_resource_to_filename

    return coerce_resource_to_filename(SCRIPT_LOCATION)


def _alembic_config(conn: Connection):  # -> alembic.config.Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = conn
    return config


def _run_upgrade(conn: Connection, target: str = "heads") -> None:
    from alembic import command

    command.upgrade(_alembic_config(conn), target)


def ensure_schema(engine: Engine, store_uri: str) -> bool:
    """Make sure the database has the current schema; return True if it was just created.

    A brand-new database is created (once, even when several processes start together).
    A database at an older revision is an error that says how to upgrade it.
    """
    with engine.connect() as conn:
        found = current_revision(conn)
    if found == SCHEMA_HEAD:
        return False
    if found is not None:
        # MySQL commits each DDL statement, so a process creating the schema right now shows
        # its intermediate revisions; the lock waits for it to finish before we judge.
        found = _revision_once_unlocked(engine)
        if found == SCHEMA_HEAD:
            return False
        raise (
            _outdated_error(found, store_uri)
            if found in _known_revisions()
            else (_unknown_error(found))
        )
    return _create_schema(engine)


def _revision_once_unlocked(engine: Engine) -> str | None:
    """The revision read under the schema lock, after any creation or upgrade in progress."""
    write_engine = engine.execution_options(**{WRITE_OPTION: True})
    with write_engine.connect() as conn, _InitLock(conn):
        return current_revision(conn)


def _create_schema(engine: Engine) -> bool:
    """Create the schema under a lock; False if another process created it meanwhile."""
    write_engine = engine.execution_options(**{WRITE_OPTION: True})
    for attempt in range(1, 6):
        try:
            with write_engine.connect() as conn, _InitLock(conn), conn.begin():
                # Checked again under the lock: another process may have won the race.
                if current_revision(conn) is not None:
                    return False
                _run_upgrade(conn)
                return True
        except DBAPIError as exc:
            # Without a lock (or when DDL is not transactional, as on MySQL) a concurrent
            # creator makes ours fail with "already exists"; look again once it is done.
            if attempt == 5 or not _is_already_exists(exc):
                raise
            logger.info("Schema creation raced with another process; checking again")
            time.sleep(0.2 * attempt)
    return False


class _InitLock:
    """Serialise schema changes between processes, held until after the commit.

    PostgreSQL gets a session advisory lock, MySQL a named lock. SQLite needs none: the
    transaction begins with BEGIN IMMEDIATE, which takes the database file's write lock
    (other creators wait on busy_timeout), and its DDL is transactional.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        dialect = conn.dialect.name
        if dialect == "postgresql":
            self.lock = text("SELECT pg_advisory_lock(:id)").bindparams(id=_PG_LOCK_ID)
            self.unlock = text("SELECT pg_advisory_unlock(:id)").bindparams(id=_PG_LOCK_ID)
        elif dialect in ("mysql", "mariadb"):
            self.lock = text("SELECT GET_LOCK(:name, 120)").bindparams(name=_MYSQL_LOCK_NAME)
            self.unlock = text("SELECT RELEASE_LOCK(:name)").bindparams(name=_MYSQL_LOCK_NAME)
        else:
            self.lock = self.unlock = None

    def _execute_alone(self, statement: TextClause) -> None:
        # Session-level locks: run outside the migration's transaction, then end the
        # implicit one SQLAlchemy opened so that the caller can begin its own.
        self.conn.execute(statement)
        self.conn.commit()

    def __enter__(self) -> _InitLock:
        if self.lock is not None:
            self._execute_alone(self.lock)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.unlock is None:
            return
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
            self._execute_alone(self.unlock)
        except DBAPIError:  # the connection is gone, and the lock with it
            logger.debug("Could not release the schema lock", exc_info=True)


def _is_already_exists(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return any(s in message for s in ("already exists", "duplicate", "1050", "unique constraint"))


def upgrade_database(store_uri: str) -> tuple[str | None, str]:
    """Create or upgrade the schema of ``store_uri``; return (revision before, after)."""
    engine = create_store_engine(store_uri)
    try:
        with engine.connect() as conn:
            before = current_revision(conn)
        if before is not None and before not in _known_revisions():
            raise _unknown_error(before)
        if before is None:
            _create_schema(engine)
        elif before != SCHEMA_HEAD:
            write_engine = engine.execution_options(**{WRITE_OPTION: True})
            with write_engine.connect() as conn, _InitLock(conn), conn.begin():
                _run_upgrade(conn)
        with engine.connect() as conn:
            after = current_revision(conn)
        return before, after or SCHEMA_HEAD
    finally:
        engine.dispose()
