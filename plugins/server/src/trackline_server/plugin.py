"""Hook implementations of trackline-server.

Imported every time trackline collects its plugins, so it stays free: click options are
declared in ``trackline_server.cli``, and Starlette and uvicorn are imported only when the
command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackline.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    from trackline_server.cli import server, ui

    cli.add_command(server)
    cli.add_command(ui)
