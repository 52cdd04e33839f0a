"""The plugin as trackline sees it: entry point, cheap import, schemes, CLI command."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import click
from click.testing import CliRunner
from trackline.plugins.manager import TracklinePluginManager
from trackline_sql import plugin
from trackline_sql.store import SqlTrackingStore


def test_entry_point_is_registered() -> None:
    entry_points = {ep.name: ep.value for ep in metadata.entry_points(group="trackline")}
    assert entry_points.get("sql") == "trackline_sql.plugin"


def test_importing_the_plugin_module_is_cheap() -> None:
    code = (
        "import sys, trackline_sql.plugin\n"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'psycopg', 'pymysql', 'click') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_schemes_resolve_to_the_store() -> None:
    pm = TracklinePluginManager()
    pm.register(plugin, name="sql-under-test")
    for uri in (
        "sqlite:///x.db",
        "postgresql://h/db",
        "postgresql+psycopg://h/db",
        "postgres://h/db",
        "mysql+pymysql://h/db",
        "mariadb://h/db",
        "mssql+pyodbc://h/db",
    ):
        assert pm.tracking_store_factory(uri) is SqlTrackingStore


def test_register_commands_adds_db_upgrade() -> None:
    @click.group()
    def cli() -> None:
        pass

    plugin.register_commands(cli)
    result = CliRunner().invoke(cli, ["db", "upgrade", "--help"])
    assert result.exit_code == 0
    assert "URL" in result.output


def test_trackline_cli_runs_db_upgrade(tmp_path) -> None:
    from trackline.cli.main import cli

    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(cli, ["db", "upgrade", uri])
    assert result.exit_code == 0, result.output
    assert "Created the trackline schema" in result.output
