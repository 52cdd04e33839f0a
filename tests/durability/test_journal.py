"""The journal file: format, replay exactly once, and bad input (corrupted line, torn tail,
newer version, rejected entry, full disk, journal in use) — through the real CLI."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path

import pytest
import trackline
from trackline.entities import Metric, Param, RunTag
from trackline.journal import (
    FORMAT_VERSION,
    Entry,
    JournalError,
    JournalWriter,
    read_journal,
    replay_file,
)
from trackline.tracking.uri import get_tracking_store


@pytest.fixture
def store_uri(durable_env: Path, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'target.db'}"


@pytest.fixture
def run_id(store_uri: str) -> str:
    return trackline.MlflowClient(store_uri).create_run("0").info.run_id


def batch(seq: int, run_id: str, steps: range, params=(), tags=()) -> Entry:
    return Entry(
        seq=seq,
        op="log_batch",
        run_id=run_id,
        metrics=[Metric("loss", float(s), 1000 + s, s) for s in steps],
        params=list(params),
        tags=list(tags),
    )


def write_journal(path: Path, store_uri: str, entries: list[Entry]) -> Path:
    writer = JournalWriter(path, store_uri)
    writer.append(entries)
    writer.close()
    return path


def points(store_uri: str, run_id: str, key: str = "loss") -> list[tuple[int, float]]:
    history = trackline.MlflowClient(store_uri).get_metric_history(run_id, key)
    return sorted((m.step, m.value) for m in history)


def test_round_trip(tmp_path: Path) -> None:
    entries = [
        Entry(
            seq=1,
            op="log_batch",
            run_id="r" * 32,
            metrics=[
                Metric("nan", math.nan, 1, 0),
                Metric("inf", -math.inf, 2, 1),
                Metric("ds", 0.5, 3, 2, "train", "abc", "m-1"),
            ],
            params=[Param("p", "v")],
            tags=[RunTag("t", "x\ny")],
        ),
        Entry(seq=2, op="update_run", run_id="r" * 32, status="FINISHED", end_time=99),
    ]
    path = write_journal(tmp_path / "j.journal.jsonl", "sqlite:///x.db", entries)
    first = json.loads(path.read_text().splitlines()[0])
    assert first["trackline_journal"] == FORMAT_VERSION
    assert first["store_uri"] == "sqlite:///x.db"
    contents = read_journal(path)
    assert contents.problems == []
    one, two = contents.entries
    assert math.isnan(one.metrics[0].value) and one.metrics[1].value == -math.inf
    assert one.metrics[2] == Metric("ds", 0.5, 3, 2, "train", "abc", "m-1")
    assert one.params == [Param("p", "v")] and one.tags == [RunTag("t", "x\ny")]
    assert (two.op, two.status, two.end_time) == ("update_run", "FINISHED", 99)
    assert one.id != two.id


def test_replay_twice_stores_once(store_uri: str, run_id: str, tmp_path: Path, tools) -> None:
    path = write_journal(
        tmp_path / "j.journal.jsonl",
        store_uri,
        [
            batch(1, run_id, range(0, 50), params=[Param("lr", "0.1")]),
            batch(2, run_id, range(50, 100), tags=[RunTag("t", "1")]),
            Entry(seq=3, op="update_run", run_id=run_id, status="FINISHED", end_time=5),
        ],
    )
    env = tools.child_env(tmp_path / "journal")
    done = tools.cli("sync", str(path), "--to", store_uri, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 entries replayed" in done.stdout
    again = tools.cli("sync", str(path), "--to", store_uri, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 entries replayed" in again.stdout and "3 replayed before" in again.stdout
    assert points(store_uri, run_id) == [(s, float(s)) for s in range(100)]
    run = trackline.MlflowClient(store_uri).get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.end_time == 5
    # A crash between a write and its "replayed" record replays the entries again: the
    # store's semantics (identical points once, equal params, tag overwrite) keep one copy.
    lines = [line for line in path.read_text().splitlines() if '"op":"replayed"' not in line]
    path.write_text("\n".join(lines) + "\n")
    report, _ = replay_file(path, get_tracking_store(store_uri), store_uri)
    assert report.applied == 3 and not report.rejected
    assert points(store_uri, run_id) == [(s, float(s)) for s in range(100)]


def test_rejected_entry_is_named_and_the_rest_replays(
    store_uri: str, run_id: str, tmp_path: Path, tools
) -> None:
    path = write_journal(
        tmp_path / "j.journal.jsonl",
        store_uri,
        [
            batch(1, run_id, range(0, 10), params=[Param("lr", "0.1")]),
            batch(2, run_id, range(0), params=[Param("lr", "0.5")]),  # changes a param
            batch(3, run_id, range(10, 20)),
        ],
    )
    env = tools.child_env(tmp_path / "journal")
    done = tools.cli("sync", str(path), "--to", store_uri, env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert "journal entry seq 2" in done.stderr
    assert "param(s) ['lr']" in done.stderr and run_id in done.stderr
    assert "Changing param values is not allowed" in done.stderr
    assert points(store_uri, run_id) == [(s, float(s)) for s in range(20)]
    shown = tools.cli("journal", "show", str(path), env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"rejected:  seq 2 by {store_uri}" in shown.stdout
    assert "entries:   3 (22 values) for 1 run(s)" in shown.stdout


def test_corrupted_line_is_reported_and_skipped(
    store_uri: str, run_id: str, tmp_path: Path, tools
) -> None:
    path = write_journal(
        tmp_path / "j.journal.jsonl",
        store_uri,
        [batch(1, run_id, range(0, 5)), batch(2, run_id, range(5, 10))],
    )
    lines = path.read_text().splitlines()
    lines.insert(2, '{"seq": 7, "op": "log_batch", "run_id": ')  # cut in the middle
    lines.insert(3, '{"seq": 8, "op": "teleport", "run_id": "x"}')
    path.write_text("\n".join(lines) + "\n")
    env = tools.child_env(tmp_path / "journal")
    done = tools.cli("sync", str(path), "--to", store_uri, env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert "line 3: corrupted record" in done.stderr
    assert "line 4: corrupted record (unknown op 'teleport')" in done.stderr
    assert points(store_uri, run_id) == [(s, float(s)) for s in range(10)]
    shown = tools.cli("journal", "show", str(path), env=env, cwd=tmp_path)
    assert "problem:   line 3" in shown.stdout


def test_torn_last_line_is_the_crash_and_not_an_error(
    store_uri: str, run_id: str, tmp_path: Path, tools
) -> None:
    path = write_journal(tmp_path / "j.journal.jsonl", store_uri, [batch(1, run_id, range(3))])
    with open(path, "a") as f:
        f.write('{"seq": 2, "id": "x", "op": "log_batch", "run_id": "')  # kill -9 mid-write
    env = tools.child_env(tmp_path / "journal")
    done = tools.cli("sync", str(path), "--to", store_uri, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "incomplete last line" in done.stdout
    assert points(store_uri, run_id) == [(0, 0.0), (1, 1.0), (2, 2.0)]


def test_newer_version_is_refused_whole(store_uri: str, tmp_path: Path, tools) -> None:
    path = tmp_path / "new.journal.jsonl"
    path.write_text(json.dumps({"trackline_journal": FORMAT_VERSION + 1, "store_uri": "x"}) + "\n")
    with pytest.raises(JournalError, match="newer trackline"):
        read_journal(path)
    env = tools.child_env(tmp_path / "journal")
    done = tools.cli("sync", str(path), "--to", store_uri, env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert f"version {FORMAT_VERSION + 1} journal" in done.stderr
    shown = tools.cli("journal", "show", str(path), env=env, cwd=tmp_path)
    assert shown.returncode != 0 and "Upgrade trackline" in shown.stderr


def test_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "x.journal.jsonl"
    path.write_text("hello\n")
    with pytest.raises(JournalError, match="not a trackline journal header"):
        read_journal(path)


def test_a_journal_in_use_is_not_replayed(
    store_uri: str, run_id: str, tmp_path: Path, tools
) -> None:
    writer = JournalWriter(tmp_path / "busy.journal.jsonl", store_uri)
    writer.append([batch(1, run_id, range(3))])
    try:
        env = tools.child_env(tmp_path / "journal")
        done = tools.cli("sync", str(writer.path), "--to", store_uri, env=env, cwd=tmp_path)
        assert done.returncode == 1
        assert "in use by a running process" in done.stderr
        assert points(store_uri, run_id) == []
    finally:
        writer.close()


FULL_DISK = """
    import resource, signal, sys
    from trackline.entities import Metric
    from trackline.exceptions import TracklineException
    from trackline.tracking import async_logging
    from trackline.tracking.uri import get_tracking_store

    uri = sys.argv[1]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # report EFBIG instead of dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))  # the journal's "disk" is full
    queue = async_logging.AsyncLogger(uri, lambda: get_tracking_store(uri))
    for i in range(2000):
        queue.submit("a" * 32, metrics=[Metric("m", float(i), 1, i)])
    try:
        queue.flush(timeout=60)
        print("NO ERROR")
    except TracklineException as exc:
        print("ERROR", exc.message)
    print("PENDING", queue.pending)
    # As trackline's atexit hook does for the loggers it creates: stop the worker between
    # two journal attempts, not in the middle of one when the interpreter exits.
    try:
        queue.close(timeout=5)
    except TracklineException:
        pass
"""


def test_full_disk_is_reported_and_nothing_is_dropped(tmp_path: Path, tools) -> None:
    # A port held bound but never listening: connections are refused (the server is down),
    # and no server another test starts can take it meanwhile.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        journal_dir = tmp_path / "journal"
        process = tools.python(
            FULL_DISK,
            f"http://127.0.0.1:{port}",
            env=tools.child_env(journal_dir),
            cwd=tmp_path,
        )
        out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "ERROR" in out and "cannot be written" in out, out
    assert "File too large" in out
    assert "kept in memory" in out
    assert "PENDING True" in out  # still held, not dropped
    (journal,) = journal_dir.iterdir()
    assert read_journal(journal).problems == []  # the failed write left no partial line
