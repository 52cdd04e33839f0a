"""Hook implementations of trackline-sql.

Imported every time trackline collects its plugins, so it stays free: the store class is
registered as a string and SQLAlchemy, alembic and click are imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import Register, RegistryStoreSpec, TrackingStoreSpec

if TYPE_CHECKING:
    import click

SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql")


@hookimpl
def register_tracking_stores(register: Register[TrackingStoreSpec]) -> None:
    register(
        TrackingStoreSpec(
            schemes=SCHEMES,
            factory="trackline_sql.store:SqlTrackingStore",
            description="SQL database through SQLAlchemy (schema managed with alembic)",
        )
    )


@hookimpl
def register_registry_stores(register: Register[RegistryStoreSpec]) -> None:
    register(
        RegistryStoreSpec(
            schemes=SCHEMES,
            factory="trackline_sql.registry:SqlRegistryStore",
            description="Model registry in the same SQL database as the tracking store",
        )
    )


@hookimpl
def register_commands(cli: click.Group) -> None:
    from trackline_sql.cli import db

    cli.add_command(db)
