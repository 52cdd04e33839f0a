"""``trackline journal show FILE``: what a journal holds and how far it was replayed."""

from __future__ import annotations

from datetime import datetime, timezone

import click


@click.group("journal")
def journal() -> None:
    """Inspect offline journals (see docs/durability.md)."""


@journal.command("show")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many entries to list (0: only the summary).",
)
def show(path: str, limit: int) -> None:
    """Print a journal's header, what it holds, its replays and any unreadable lines."""
    from trackline.journal import JournalError, read_journal

    try:
        contents = read_journal(path)
    except JournalError as exc:
        raise click.ClickException(str(exc)) from exc
    head = contents.header
    created = head.get("created_ms")
    when = (
        datetime.fromtimestamp(created / 1000, tz=timezone.utc).isoformat(timespec="seconds")
        if isinstance(created, (int, float))
        else "?"
    )
    entries = contents.entries
    runs = sorted({e.run_id for e in entries})
    values = sum(len(e.metrics) + len(e.params) + len(e.tags) for e in entries)
    click.echo(f"journal:   {contents.path}")
    click.echo(f"format:    version {head.get('trackline_journal')}")
    click.echo(f"store:     {contents.store_uri}")
    click.echo(f"written:   {when} by pid {head.get('pid')} on {head.get('host') or '?'}")
    click.echo(f"entries:   {len(entries)} ({values} values) for {len(runs)} run(s)")
    if contents.replayed:
        for target, upto in sorted(contents.replayed.items()):
            left = sum(1 for e in entries if e.seq > upto)
            click.echo(f"replayed:  into {target} up to seq {upto} ({left} entries left)")
    else:
        click.echo("replayed:  never")
    for seq, target, error in contents.rejected:
        click.echo(f"rejected:  seq {seq} by {target}: {error}")
    for problem in contents.problems:
        click.echo(f"problem:   {problem}")
    if limit and entries:
        click.echo("")
        for entry in entries[:limit]:
            click.echo(entry.describe())
        if len(entries) > limit:
            click.echo(f"… {len(entries) - limit} more (use --limit)")
