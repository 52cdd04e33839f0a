"""Run trackline's conformance kit against the memory store.

Every test of ``TrackingStoreContract`` runs here; the class only says how to make a store.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from trackline.testing.tracking import TrackingStoreContract
from trackline_memory.store import MemoryTrackingStore, forget


class TestMemoryTrackingStore(TrackingStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MemoryTrackingStore]:
        # A new name per test: stores on the same name share their data.
        uri = f"memory://conformance-{uuid.uuid4().hex}"
        store = MemoryTrackingStore(uri, str(tmp_path / "artifacts"))
        yield store
        store.close()
        forget(uri)
