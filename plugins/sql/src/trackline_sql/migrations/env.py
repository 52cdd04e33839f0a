"""Alembic environment of trackline-sql.

Run through ``trackline db upgrade URL`` (or the store on a brand-new database), which hands
over an open connection in ``config.attributes["connection"]``. Plain ``alembic`` with a
``sqlalchemy.url`` also works, for developers writing new revisions.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from trackline_sql.models import Base
from trackline_sql.schema import VERSION_TABLE

config = context.config


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        # SQLite can only change tables by copying them; batch mode does that for us.
        render_as_batch=True,
        compare_type=True,
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
