"""Hook implementations of trackline-serving: adds the ``trackline models`` command group.

Only click is imported here; Starlette, uvicorn and pandas load when a command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trackline.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    import click


@hookimpl
def register_commands(cli: click.Group) -> None:
    from trackline_serving.cli import models

    cli.add_command(models)
