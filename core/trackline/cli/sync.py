"""``trackline sync SOURCE --to URI``: replay journals, or copy a store into another."""

from __future__ import annotations

import os
from pathlib import Path

import click


def _is_uri(text: str) -> bool:
    scheme, sep, _ = text.partition(":")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


def _looks_like_mlruns(path: Path) -> bool:
    return path.is_dir() and any(
        child.name.isdigit() and (child / "meta.yaml").is_file() for child in path.iterdir()
    )


@click.command("sync")
@click.argument("source")
@click.option(
    "--to",
    "target_uri",
    required=True,
    help="Tracking URI to send to: sqlite:///x.db, postgresql://…, http://server:5000, …",
)
@click.option(
    "--artifacts/--no-artifacts",
    default=True,
    show_default=True,
    help="When copying a store: copy run artifacts too.",
)
@click.option(
    "--default-artifact-root",
    default=None,
    help="Artifact root for experiments the sync creates in the target (default: "
    "TRACKLINE_DEFAULT_ARTIFACT_ROOT, else ./mlruns).",
)
def sync(source: str, target_uri: str, artifacts: bool, default_artifact_root: str | None) -> None:
    """Send SOURCE to the tracking store at --to.

    SOURCE is a journal file, a folder of journals (replayed in order, each entry once per
    target store), an ``mlruns/`` folder or ``file:`` URI, or any tracking URI (every active
    experiment and run is copied, with artifacts; syncing again adds only what is new).
    """
    from trackline.journal import find_journals
    from trackline.tracking import uri as uri_module

    target = uri_module.get_tracking_store(target_uri, artifact_root=default_artifact_root)
    path = Path(source)
    journals = []
    if not _is_uri(source) or source.startswith("file:"):
        if path.is_file():
            journals = [path]
        elif path.is_dir():
            journals = find_journals(path)
            if not journals and not _looks_like_mlruns(path):
                raise click.ClickException(
                    f"{source} holds neither journals (*.journal.jsonl) nor an mlruns/ folder "
                    "(numbered experiment folders with meta.yaml)."
                )
        elif not source.startswith("file:"):
            raise click.ClickException(f"{source}: no such file or folder.")
    if journals:
        _replay(journals, target, target_uri)
    else:
        source_uri = source if _is_uri(source) else Path(source).absolute().as_uri()
        _copy(source_uri, target, target_uri, artifacts)


def _replay(journals: list[Path], target: object, target_uri: str) -> None:
    from trackline.journal import JournalError, StoreUnavailable, replay_file

    failed = False
    for journal_path in journals:
        try:
            report, contents = replay_file(journal_path, target, target_uri)
        except JournalError as exc:
            click.echo(f"{journal_path}: {exc}", err=True)
            failed = True
            continue
        except StoreUnavailable as exc:
            raise click.ClickException(
                f"{exc}. Replayed entries are recorded; run sync again."
            ) from exc
        click.echo(
            f"{journal_path}: {report.applied} entries replayed into {target_uri}, "
            f"{report.already_replayed} replayed before, {len(report.rejected)} rejected"
        )
        for rejection in report.rejected:
            click.echo(f"  rejected: {rejection}", err=True)
            failed = True
        for problem in contents.problems:
            if problem.message.startswith("incomplete last line"):
                click.echo(f"  note: {journal_path} {problem} (a crash cut that write short)")
                continue
            click.echo(f"  skipped: {journal_path} {problem}", err=True)
            failed = True
    if failed:
        raise click.exceptions.Exit(1)


def _copy(source_uri: str, target: object, target_uri: str, artifacts: bool) -> None:
    from trackline.tracking import uri as uri_module
    from trackline.tracking.store_sync import sync_stores

    source = uri_module.get_tracking_store(source_uri)
    verbose = os.environ.get("TRACKLINE_SYNC_VERBOSE") == "1"
    report = sync_stores(
        source,
        target,
        source_uri=source_uri,
        target_uri=target_uri,
        artifacts=artifacts,
        progress=click.echo if verbose else (lambda _: None),
    )
    click.echo(
        f"{report.experiments} experiment(s), {report.runs_created} run(s) copied, "
        f"{report.runs_updated} updated, {report.metric_points} metric points, "
        f"artifacts of {report.artifact_runs} run(s) into {target_uri}"
    )
    for error in report.errors:
        click.echo(f"  error: {error}", err=True)
    if report.errors:
        raise click.exceptions.Exit(1)
