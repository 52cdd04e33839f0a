"""The root group: --version, --env-file, error handling, laziness, plugin commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from trackline import __version__
from trackline.cli.dotenv import DotenvError, parse_dotenv
from trackline.cli.main import CORE_COMMANDS, cli
from trackline.plugins import hookimpl
from trackline.plugins.manager import get_plugin_manager

CONSOLE_SCRIPT = Path(sys.executable).parent / "trackline"


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"trackline, version {__version__}\n"


def test_help_lists_core_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in CORE_COMMANDS:
        assert f"  {name} " in result.output


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output


def test_tracking_error_is_one_line_not_a_traceback(invoke):
    result = invoke("runs", "describe", "--run-id", "0" * 32, code=1)
    assert result.output.startswith("Error: ")
    assert "0" * 32 in result.output
    assert "Traceback" not in result.output


# -- the installed console script -------------------------------------------------------


def test_console_script_end_to_end(store_env, tmp_path):
    env = {**os.environ, **store_env}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CONSOLE_SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120
        )

    assert run("--version").stdout.strip() == f"trackline, version {__version__}"
    created = run("experiments", "create", "-n", "from-a-shell")
    assert created.returncode == 0, created.stderr
    experiment_id = created.stdout.strip().rsplit(" ", 1)[-1]
    listed = run("experiments", "search")
    assert "from-a-shell" in listed.stdout
    missing = run("runs", "describe", "--run-id", "f" * 32)
    assert missing.returncode == 1
    assert missing.stderr.startswith("Error: ")
    assert "Traceback" not in missing.stderr
    assert experiment_id


def test_version_and_core_help_do_not_load_plugins():
    """--version and a core group's --help stay fast: no plugin manager, no plugin import."""
    code = (
        "import sys\n"
        "from trackline.cli.main import cli\n"
        "for args in (['--version'], ['runs', '--help'], ['experiments', 'get', '--help']):\n"
        "    try:\n"
        "        cli(args)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, (args, exc.code)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('trackline_', 'sqlalchemy')))\n"
        "print('manager' if 'trackline.plugins.manager' in sys.modules else 'no manager')\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["no manager", "[]"]


# -- --env-file -------------------------------------------------------------------------


def _show_env_command():
    @click.command("show-env")
    @click.argument("names", nargs=-1)
    def show_env(names: tuple[str, ...]) -> None:
        for name in names:
            click.echo(f"{name}={os.environ.get(name, '<unset>')}")

    return show_env


@pytest.fixture
def show_env(monkeypatch):
    """A throwaway ``show-env NAME...`` command on the root group."""
    monkeypatch.setitem(cli.commands, "show-env", _show_env_command())
    yield


def test_env_file_sets_variables_without_overriding(tmp_path, monkeypatch, show_env):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# settings\n"
        "export TL_TEST_A=from-file\n"
        "TL_TEST_B = 'kept  literally ${TL_TEST_A}'\n"
        'TL_TEST_C="line\\nbreak ${TL_TEST_A}"  # comment\n'
        "TL_TEST_D=plain value # comment\n"
        "TL_TEST_E=already-set-in-file\n"
    )
    for name in "ABCD":
        # setenv first so that monkeypatch removes what the env file sets, after the test
        monkeypatch.setenv(f"TL_TEST_{name}", "")
        monkeypatch.delenv(f"TL_TEST_{name}")
    monkeypatch.setenv("TL_TEST_E", "from-shell")
    result = CliRunner().invoke(
        cli,
        ["--env-file", str(env_file), "show-env", *(f"TL_TEST_{n}" for n in "ABCDE")],
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "TL_TEST_A=from-file",
        "TL_TEST_B=kept  literally ${TL_TEST_A}",
        "TL_TEST_C=line",
        "break from-file",
        "TL_TEST_D=plain value",
        "TL_TEST_E=from-shell",
    ]


def test_env_file_selects_the_tracking_store(store_env, tmp_path, monkeypatch):
    other_db = tmp_path / "other.db"
    env_file = tmp_path / "tracking.env"
    env_file.write_text(f"TRACKLINE_TRACKING_URI=sqlite:///{other_db}\n")
    monkeypatch.delenv("TRACKLINE_TRACKING_URI")
    result = CliRunner().invoke(
        cli, ["--env-file", str(env_file), "experiments", "create", "-n", "via-env-file"]
    )
    assert result.exit_code == 0, result.output
    assert other_db.exists()


def test_env_file_errors(tmp_path):
    missing = CliRunner().invoke(cli, ["--env-file", str(tmp_path / "nope.env"), "plugins"])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\nthis line has no equals sign\n")
    result = CliRunner().invoke(cli, ["--env-file", str(bad), "plugins"])
    assert result.exit_code == 2
    assert "line 2: expected KEY=VALUE" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1\n\n# c\nB=2", {"A": "1", "B": "2"}),
        ("A=", {"A": ""}),
        ("A=x#not-a-comment", {"A": "x#not-a-comment"}),
        ("A='# not a comment'", {"A": "# not a comment"}),
        ('A="say \\"hi\\""', {"A": 'say "hi"'}),
        ("A=1\nB=${A}-${UNSET_TL_VAR}", {"A": "1", "B": "1-"}),
        ("A=a=b=c", {"A": "a=b=c"}),
    ],
)
def test_parse_dotenv(text, expected):
    assert parse_dotenv(text, environ={}) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A='open", "line 1: missing closing '"),
        ('A="x" trailing', "unexpected text after the closing quote"),
        ("1A=x", "expected KEY=VALUE"),
    ],
)
def test_parse_dotenv_errors(text, message):
    with pytest.raises(DotenvError, match=message):
        parse_dotenv(text, environ={})


# -- plugin commands --------------------------------------------------------------------


class HelloPlugin:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command()
        @click.option("--name", default="world")
        def hello(name: str) -> None:
            """Say hello (added by a test plugin)."""
            click.echo(f"hello, {name}")


class BrokenPlugin:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        raise RuntimeError("boom")


class HijackPlugin:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command("runs")
        def runs() -> None:
            click.echo("hijacked")


@pytest.fixture
def register_plugin():
    """Register plugin objects on the process's plugin manager for one test."""
    manager = get_plugin_manager()
    names: list[str] = []

    def register(plugin: object, name: str) -> None:
        manager.register(plugin, name=name)
        names.append(name)
        cli.forget_plugin_commands()  # so the CLI asks the plugins again

    yield register
    for name in names:
        manager.unregister(name=name)
    cli.forget_plugin_commands()


def test_plugin_adds_a_command(register_plugin):
    register_plugin(HelloPlugin(), "test-hello")
    result = CliRunner().invoke(cli, ["hello", "--name", "trackline"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello, trackline\n"
    help_text = CliRunner().invoke(cli, ["--help"]).output
    assert "hello" in help_text
    assert "Say hello" in help_text


def test_plugin_command_is_gone_after_unregistering(register_plugin):
    register_plugin(HelloPlugin(), "test-hello")
    assert CliRunner().invoke(cli, ["hello"]).exit_code == 0
    get_plugin_manager().unregister(name="test-hello")
    cli.forget_plugin_commands()
    assert CliRunner().invoke(cli, ["hello"]).exit_code == 2
    get_plugin_manager().register(HelloPlugin(), name="test-hello")  # for the teardown


def test_a_broken_plugin_does_not_break_the_others(register_plugin):
    register_plugin(BrokenPlugin(), "test-broken")
    register_plugin(HelloPlugin(), "test-hello")
    result = CliRunner().invoke(cli, ["hello"])
    assert result.exit_code == 0
    assert "hello, world" in result.stdout
    assert "plugin 'test-broken' could not add its commands: RuntimeError: boom" in (result.stderr)


def test_a_plugin_cannot_replace_a_core_command(register_plugin, invoke):
    register_plugin(HijackPlugin(), "test-hijack")
    result = invoke("runs", "--help")
    assert "Manage runs" in result.stdout
    listing = invoke("--help")
    assert "cannot replace the core command 'runs'" in listing.stderr
    assert "Manage runs" in invoke("runs", "--help").stdout
