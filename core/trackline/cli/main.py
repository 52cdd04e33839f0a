"""The root ``trackline`` command group.

Core command groups are registered by name and imported on first use, and plugin commands
(the ``register_commands`` hook) are added the first time a name is not a core command or
the full list is needed (``trackline --help``). So ``trackline --version`` and
``trackline runs --help`` never import a plugin, and one broken plugin cannot break the CLI.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from trackline import __version__
from trackline.exceptions import TracklineException

# Command name -> "module:attribute" of the click command, imported when used.
CORE_COMMANDS: dict[str, str] = {
    "artifacts": "trackline.cli.artifacts:commands",
    "experiments": "trackline.cli.experiments:commands",
    "gc": "trackline.cli.gc:gc",
    "journal": "trackline.cli.journal:journal",
    "plugins": "trackline.cli.plugins:plugins",
    "registry": "trackline.cli.registry:commands",
    "run": "trackline.cli.run:run",
    "runs": "trackline.cli.runs:commands",
    "sync": "trackline.cli.sync:sync",
}


class TracklineGroup(click.Group):
    """A click group with lazily imported core commands and lazily loaded plugin commands.

    Also turns a ``TracklineException`` into ``Error: <message>`` with exit code 1: those
    errors are the user's to fix (unknown id, bad value), so a traceback would only hide
    the message.
    """

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.plugin_commands: dict[str, list[str]] = {}  # plugin name -> commands it added
        self.plugin_errors: dict[str, str] = {}
        self._plugins_loaded = False

    # -- command lookup --------------------------------------------------------------------

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load_plugin_commands()
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            return self._core_command(cmd_name)
        command = super().get_command(ctx, cmd_name)
        if command is None and not self._plugins_loaded:
            self.load_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def _core_command(self, name: str) -> click.Command:
        command = self.commands.get(name)
        if command is None:
            module_name, _, attribute = self.lazy_commands[name].partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            self.commands[name] = command
        return command

    # -- plugins ---------------------------------------------------------------------------

    def load_plugin_commands(self) -> None:
        """Run every plugin's ``register_commands(cli)`` once.

        Each implementation is called on its own, so that a plugin that raises is reported
        (on stderr and by ``trackline plugins``) while the others' commands still load.
        """
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from trackline.plugins.manager import get_plugin_manager

        try:
            impls = get_plugin_manager().hook.register_commands.get_hookimpls()
        except Exception as exc:  # e.g. TRACKLINE_PLUGINS_STRICT and a broken plugin
            self._warn("plugins", f"{type(exc).__name__}: {exc}")
            return
        for impl in impls:
            if impl.hookwrapper or impl.wrapper:
                continue  # wrappers only make sense around a pluggy hook call
            self._register_from(impl.plugin_name, impl.function, impl.argnames)

    def _register_from(self, plugin_name: str, function: Any, argnames: tuple[str, ...]) -> None:
        before = dict(self.commands)
        try:
            function(**({"cli": self} if "cli" in argnames else {}))
        except Exception as exc:
            self._warn(plugin_name, f"{type(exc).__name__}: {exc}")
        added = []
        for name, command in list(self.commands.items()):
            if before.get(name) is command:
                continue
            if name in self.lazy_commands:
                # Core names stay core: scripts and docs must mean the same on every install.
                self._warn(plugin_name, f"cannot replace the core command {name!r}")
                if name in before:
                    self.commands[name] = before[name]
                else:
                    del self.commands[name]
                continue
            added.append(name)
        self.plugin_commands[plugin_name] = sorted(added)

    def _warn(self, plugin_name: str, message: str) -> None:
        self.plugin_errors[plugin_name] = message
        click.echo(
            f"Warning: plugin {plugin_name!r} could not add its commands: {message}", err=True
        )

    def forget_plugin_commands(self) -> None:
        """Drop plugin commands so the next lookup asks the plugins again (tests, reloads)."""
        for names in self.plugin_commands.values():
            for name in names:
                self.commands.pop(name, None)
        self.plugin_commands.clear()
        self.plugin_errors.clear()
        self._plugins_loaded = False

    # -- errors ----------------------------------------------------------------------------

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TracklineException as exc:
            raise click.ClickException(exc.message) from exc


def _load_env_file(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    from trackline.cli.dotenv import DotenvError, load_env_file

    try:
        load_env_file(value)
    except DotenvError as exc:
        raise click.BadParameter(f"{value}: {exc}", ctx=ctx, param=param) from exc


# No "-h" help alias: subcommands such as "models serve -h HOST" use -h, as in MLflow.
@click.group(cls=TracklineGroup, lazy_commands=CORE_COMMANDS)
@click.version_option(__version__, prog_name="trackline")
@click.option(
    "--env-file",
    type=click.Path(exists=True, dir_okay=False),
    callback=_load_env_file,
    expose_value=False,
    is_eager=True,
    help="Load KEY=VALUE lines from this dotenv file first; variables already set are kept.",
)
def cli() -> None:
    """trackline: track experiments, runs and artifacts; MLflow's CLI on a plugin core.

    The tracking store comes from TRACKLINE_TRACKING_URI, then MLFLOW_TRACKING_URI, then the
    default sqlite:///trackline.db in the working directory.
    """
