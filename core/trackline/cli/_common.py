"""Helpers the command modules share: options, parsing, and plain-text output."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # the client pulls in the store layer; commands import it when they run
    from trackline.tracking.client import TracklineClient

VIEW_CHOICES = ("active_only", "deleted_only", "all")

Cell = str | Sequence[str]


def client(tracking_uri: str | None = None) -> TracklineClient:
    """A client of ``tracking_uri``, or of the URI the environment selects."""
    from trackline.tracking.client import TracklineClient

    return TracklineClient(tracking_uri)


def view_option(help_text: str) -> Any:
    """``--view/-v active_only|deleted_only|all``, as MLflow spells it."""
    return click.option(
        "--view",
        "-v",
        type=click.Choice(VIEW_CHOICES, case_sensitive=False),
        default="active_only",
        show_default=True,
        help=help_text,
    )


def view_type(view: str) -> int:
    from trackline.entities import ViewType

    return ViewType.parse(view)


def parse_key_values(pairs: Iterable[str], option: str) -> dict[str, str]:
    """``("a=1", "b=x=y")`` → ``{"a": "1", "b": "x=y"}``; a pair without ``=`` is a usage error."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        result[key] = value
    return result


def split_ids(raw: str | None) -> list[str]:
    """``"a, b,,c"`` → ``["a", "b", "c"]`` (order kept, duplicates dropped)."""
    seen: dict[str, None] = {}
    for part in (raw or "").split(","):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return list(seen)


def format_time(ms: int | None) -> str:
    """Epoch milliseconds as local time, the way people read dates in a terminal."""
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """A plain-text table; a cell given as a list of strings spans several lines.

    Columns are padded to their widest line and separated by two spaces, so the output
    stays readable in any terminal and easy to ``grep`` or ``awk``.
    """
    table = [[_lines(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in table:
        for index, cell in enumerate(row):
            widths[index] = max([widths[index], *(len(line) for line in cell)])
    out = [_join(list(headers), widths), _join(["-" * w for w in widths], widths)]
    for row in table:
        height = max([1, *(len(cell) for cell in row)])
        for line in range(height):
            out.append(_join([cell[line] if line < len(cell) else "" for cell in row], widths))
    return "\n".join(out)


def _lines(cell: Cell | None) -> list[str]:
    if cell is None:
        return [""]
    if isinstance(cell, str):
        return cell.splitlines() or [""]
    return [str(item) for item in cell] or [""]


def _join(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
