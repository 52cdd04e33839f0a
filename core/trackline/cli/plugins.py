"""``trackline plugins``: what is installed, what each plugin provides, what failed."""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from trackline.cli._common import echo_json, format_table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def plugins(ctx: click.Context, as_json: bool) -> None:
    """List installed plugins: distribution, version, hooks and what they provide.

    Plugins that failed to load are listed with their error. Set
    TRACKLINE_DISABLE_PLUGINS=name,... to skip a plugin.
    """
    entries = _entries(ctx)
    if as_json:
        echo_json(entries)
        return
    rows = [
        (e["name"], e["distribution"] or "", e["version"] or "", e["hooks"], e["provides"])
        for e in entries
        if not e["error"]
    ]
    click.echo(format_table(("NAME", "DISTRIBUTION", "VERSION", "HOOKS", "PROVIDES"), rows))
    problems = [(e["name"], e["error"]) for e in entries if e["error"]]
    problems += [
        (e["name"], f"register_commands: {e['command_error']}")
        for e in entries
        if e["command_error"]
    ]
    if problems:
        click.echo("\nFailed to load:")
        click.echo(format_table(("NAME", "ERROR"), problems))


def _entries(ctx: click.Context) -> list[dict[str, Any]]:
    """PluginInfo records as dicts, with the CLI commands each plugin added."""
    from trackline.plugins.manager import get_plugin_manager

    root = ctx.find_root().command
    commands: dict[str, list[str]] = {}
    command_errors: dict[str, str] = {}
    load = getattr(root, "load_plugin_commands", None)
    if load is not None:  # the root is TracklineGroup unless the command is embedded elsewhere
        load()
        commands = root.plugin_commands
        command_errors = root.plugin_errors
    entries = []
    manager = get_plugin_manager()
    for info in manager.plugin_infos():
        entry = dataclasses.asdict(info)
        entry["provides"] = [_with_tested_range(manager, p) for p in entry["provides"]] + [
            f"command: {name}" for name in commands.get(info.name, [])
        ]
        entry["command_error"] = command_errors.get(info.name)
        entries.append(entry)
    return entries


def _with_tested_range(manager: Any, provided: str) -> str:
    """``autologger: sklearn`` → ``autologger: sklearn (sklearn 1.3.0 to 1.9.1 tested)``: the
    library range the plugin declares in its ``AutologgerSpec.tested``."""
    kind, _, name = provided.partition(": ")
    entry = manager.registry.autologgers.get(name) if kind == "autologger" else None
    if entry is None:
        return provided
    spec = entry[0]
    tested = "any version" if spec.tested is None else f"{spec.tested[0]} to {spec.tested[1]}"
    return f"{provided} ({spec.library} {tested} tested)"
