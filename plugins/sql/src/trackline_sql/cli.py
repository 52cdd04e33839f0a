"""``trackline db``: database maintenance commands (added by the plugin's register_commands)."""

from __future__ import annotations

import click


@click.group("db")
def db() -> None:
    """Manage the schema of a SQL tracking database."""


@db.command("upgrade")
@click.argument("url")
def upgrade(url: str) -> None:
    """Create the trackline schema in URL, or bring it up to date.

    URL is a SQLAlchemy database URL, e.g. sqlite:///mlflow.db or
    postgresql://user@host/db. Back the database up before upgrading it.
    """
    from trackline.exceptions import TracklineException

    from trackline_sql.schema import upgrade_database

    try:
        before, after = upgrade_database(url)
    except TracklineException as exc:
        raise click.ClickException(exc.message) from exc
    if before == after:
        click.echo(f"The database is up to date (schema revision {after}).")
    elif before is None:
        click.echo(f"Created the trackline schema (revision {after}).")
    else:
        click.echo(f"Upgraded the database schema from revision {before} to {after}.")
