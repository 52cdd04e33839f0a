"""The core's conformance kit, run against FileTrackingStore on a fresh folder per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from trackline.testing.tracking import TrackingStoreContract
from trackline_file.store import FileTrackingStore


class TestFileTrackingStore(TrackingStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[FileTrackingStore]:
        yield FileTrackingStore((tmp_path / "mlruns").as_uri())
