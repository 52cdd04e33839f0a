"""The offline journal: tracking writes that wait, on local disk, for their store.

``format`` documents the file format (versioned JSON Lines); ``files`` writes and reads
journals; ``replay`` sends their entries to a store, in order and once per store. The
asynchronous logging queue (``trackline.tracking.async_logging``) writes a journal when its
store is unreachable and replays it when the store is back; ``trackline sync`` replays one
later, into any tracking store.
"""

from trackline.journal.files import (
    JournalContents,
    JournalLockedError,
    JournalWriter,
    default_journal_dir,
    find_journals,
    read_journal,
)
from trackline.journal.format import FORMAT_VERSION, Entry, JournalError
from trackline.journal.replay import (
    ReplayReport,
    StoreUnavailable,
    is_store_unavailable,
    replay_entries,
    replay_file,
)

__all__ = [
    "FORMAT_VERSION",
    "Entry",
    "JournalContents",
    "JournalError",
    "JournalLockedError",
    "JournalWriter",
    "ReplayReport",
    "StoreUnavailable",
    "default_journal_dir",
    "find_journals",
    "is_store_unavailable",
    "read_journal",
    "replay_entries",
    "replay_file",
]
