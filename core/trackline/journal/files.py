"""Writing and reading journal files (the format is in ``trackline.journal.format``)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackline.journal.format import (
    DATA_OPS,
    FORMAT_VERSION,
    HEADER_KEY,
    OP_REJECTED,
    OP_REPLAYED,
    Entry,
    JournalError,
    decode_entry,
    encode_entry,
    header,
)

SUFFIX = ".journal.jsonl"


def default_journal_dir() -> Path:
    """``TRACKLINE_JOURNAL_DIR``, else ``~/.trackline/journal``."""
    configured = os.environ.get("TRACKLINE_JOURNAL_DIR")
    return Path(configured) if configured else Path.home() / ".trackline" / "journal"


class JournalLockedError(JournalError):
    """Another process (or writer) has the journal open for writing."""


def _lock(handle: Any, path: Path, blocking: bool = False) -> None:
    """An exclusive advisory lock, so a replay never runs against a journal still written to."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; callers are trusted not to race
        return
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise JournalLockedError(
                f"Journal {path} is in use by a running process; it replays its own journal. "
                "Wait for it to end, then run 'trackline sync' again."
            ) from exc
        raise


class JournalWriter:
    """Appends entries to one journal file and fsyncs them, a batch at a time.

    The file and its directory are created on the first ``append``, so a process that never
    loses its store never leaves a journal behind. The writer holds an exclusive lock on the
    file while it is open.
    """

    def __init__(self, path: Path, store_uri: str) -> None:
        self.path = Path(path)
        self.store_uri = store_uri
        self._handle: Any = None
        self._next_seq = 1

    @classmethod
    def new(cls, store_uri: str, directory: Path | None = None) -> JournalWriter:
        directory = Path(directory) if directory is not None else default_journal_dir()
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        return cls(directory / name, store_uri)

    @property
    def opened(self) -> bool:
        return self._handle is not None

    def next_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered: a failed write must not leave bytes in a buffer that a later flush
        # (or truncate) would push out as a partial line.
        handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 (open while writing)
        try:
            _lock(handle, self.path)
            if handle.tell() == 0:
                first = header(self.store_uri, int(time.time() * 1000), os.getpid(), _host())
                _write_all(handle.fileno(), json.dumps(first).encode() + b"\n")
                os.fsync(handle.fileno())
                _fsync_dir(self.path.parent)
        except BaseException:
            handle.close()
            raise
        self._handle = handle

    def append(self, entries: list[Entry]) -> None:
        """Write entries and fsync once; on error (disk full…) the file is left as it was."""
        self._write_lines([encode_entry(e) for e in entries])

    def append_records(self, records: list[dict[str, Any]]) -> None:
        self._write_lines([json.dumps(r, separators=(",", ":")) for r in records])

    def _write_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        if self._handle is None:
            self._open()
        data = ("\n".join(lines) + "\n").encode("utf-8")
        fd = self._handle.fileno()
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            # Cut off a partial write so the next append starts on a fresh line.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _host() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return ""


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class JournalContents:
    path: Path
    header: dict[str, Any]
    entries: list[Entry] = field(default_factory=list)
    # upto per target store URI, from "replayed" records
    replayed: dict[str, int] = field(default_factory=dict)
    # (seq, target, error) from "rejected" records
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    torn_tail: bool = False

    @property
    def store_uri(self) -> str:
        return str(self.header.get("store_uri", ""))

    def pending(self, target_uri: str) -> list[Entry]:
        """Entries not yet replayed into ``target_uri``."""
        done = self.replayed.get(target_uri, 0)
        return [e for e in self.entries if e.seq > done]


def read_journal(path: str | Path) -> JournalContents:
    """Parse a journal. Bad lines become ``problems``; a bad header raises JournalError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JournalError(f"Cannot read journal {path}: {exc.strerror or exc}") from exc
    lines = raw.split(b"\n")
    torn = bool(lines) and lines[-1] != b""  # no newline at the end: a write cut short
    if not lines or not lines[0].strip():
        raise JournalError(f"{path} is empty: not a trackline journal.")
    try:
        head = json.loads(lines[0])
    except ValueError as exc:
        raise JournalError(f"{path} line 1: not a trackline journal header ({exc}).") from exc
    if not isinstance(head, dict) or HEADER_KEY not in head:
        raise JournalError(f"{path} line 1: not a trackline journal header ({HEADER_KEY!r}).")
    version = head[HEADER_KEY]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise JournalError(
            f"{path} is a version {version} journal, written by a newer trackline; this "
            f"trackline reads journal version {FORMAT_VERSION}. Upgrade trackline to replay it."
        )
    contents = JournalContents(path=path, header=head, torn_tail=torn)
    body = lines[1:-1] if not torn else lines[1:]
    seen: set[int] = set()
    for number, line in enumerate(body, start=2):
        if not line.strip():
            continue
        if torn and number == len(lines):
            # A torn last line is the write a crash interrupted; it was never fsync'd whole.
            contents.problems.append(Problem(number, "incomplete last line (ignored)"))
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("a record must be a JSON object")
            op = record.get("op")
            if op == OP_REPLAYED:
                target = str(record["to"])
                contents.replayed[target] = max(contents.replayed.get(target, 0), record["upto"])
            elif op == OP_REJECTED:
                contents.rejected.append(
                    (int(record["seq"]), str(record["to"]), str(record.get("error", "")))
                )
            elif op in DATA_OPS:
                entry = decode_entry(record, number)
                if entry.seq in seen:
                    raise ValueError(f"seq {entry.seq} appears twice")
                seen.add(entry.seq)
                contents.entries.append(entry)
            else:
                raise ValueError(f"unknown op {op!r}")
        except (ValueError, KeyError, TypeError) as exc:
            text = line[:80].decode("utf-8", "replace")
            contents.problems.append(Problem(number, f"corrupted record ({exc}): {text}"))
    return contents


def find_journals(path: str | Path) -> list[Path]:
    """A journal file itself, or every journal in a directory (oldest first)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.name.endswith(SUFFIX))
    return [path]


def open_for_replay(path: Path) -> JournalWriter:
    """A writer on an existing journal for its bookkeeping records; refuses a journal in use."""
    writer = JournalWriter(path, "")
    writer._open()
    return writer
