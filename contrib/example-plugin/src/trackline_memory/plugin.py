"""The module trackline loads through the ``trackline`` entry point.

It only *registers* the store. The factory is given as a ``"module:attribute"`` string, so the
store module (and anything heavy it might import) is imported the first time someone uses a
``memory://`` URI, not when trackline discovers plugins.
"""

from __future__ import annotations

from trackline.plugins import TrackingStoreSpec, hookimpl
from trackline.plugins.types import Register


@hookimpl
def register_tracking_stores(register: Register[TrackingStoreSpec]) -> None:
    register(
        TrackingStoreSpec(
            schemes=("memory",),
            factory="trackline_memory.store:MemoryTrackingStore",
            description="In-process store kept in dicts (memory://<name>); gone at exit.",
        )
    )
