"""``trackline plugins``: the table, the JSON, and plugins that failed."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from trackline.cli.main import cli
from trackline.plugins import TrackingStoreSpec, hookimpl
from trackline.plugins.manager import get_plugin_manager


class ToyPlugin:
    @hookimpl
    def register_tracking_stores(self, register):
        register(TrackingStoreSpec(schemes=("toy",), factory="toy.module:Store"))

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command("toy-command")
        def toy_command() -> None:
            click.echo("toy")


@pytest.fixture
def toy_plugin():
    manager = get_plugin_manager()
    manager.register(ToyPlugin(), name="toy")
    manager.load_errors["broken-one"] = "ImportError: No module named 'nothing_here'"
    cli.forget_plugin_commands()
    yield
    manager.unregister(name="toy")
    manager.load_errors.pop("broken-one", None)
    cli.forget_plugin_commands()


def test_table(toy_plugin):
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "DISTRIBUTION", "VERSION", "HOOKS", "PROVIDES"]
    assert set(lines[1]) == {"-", " "}
    toy_rows = [line for line in lines if line.startswith("toy ")]
    assert len(toy_rows) == 1
    assert "register_commands" in toy_rows[0]
    assert "command: toy-command" in result.stdout
    assert "tracking store: toy" in result.stdout
    assert "trackline.plugins._builtin.context" in result.stdout
    assert "Failed to load:" in result.stdout
    failed = result.stdout.split("Failed to load:")[1]
    assert "broken-one" in failed
    assert "No module named 'nothing_here'" in failed


def test_json(toy_plugin):
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    entries = {e["name"]: e for e in json.loads(result.stdout)}
    toy = entries["toy"]
    assert toy["hooks"] == ["register_commands", "register_tracking_stores"]
    assert "tracking store: toy" in toy["provides"]
    assert "command: toy-command" in toy["provides"]
    assert toy["error"] is None
    assert entries["broken-one"]["error"].startswith("ImportError")
    builtin = entries["trackline.plugins._builtin.context"]
    assert builtin["distribution"] == "trackline (built-in)"


def test_installed_plugins_are_listed():
    """The plugins installed in this environment (trackline-sql at least) show up."""
    entries = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).stdout)
    sql = [e for e in entries if e["name"] == "sql"]
    if not sql:
        pytest.skip("trackline-sql is not installed")
    assert sql[0]["distribution"] == "trackline-sql"
    assert "tracking store: sqlite" in sql[0]["provides"]
    assert "command: db" in sql[0]["provides"]


def test_sql_plugin_adds_db_upgrade(tmp_path):
    """A real plugin command: trackline-sql's ``db upgrade``, reached through the lazy group."""
    if not any(
        e["name"] == "sql"
        for e in json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).stdout)
    ):
        pytest.skip("trackline-sql is not installed")
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(cli, ["db", "upgrade", uri])
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(cli, ["db", "upgrade", uri])
    assert again.exit_code == 0, again.output
    assert "up to date" in again.output
