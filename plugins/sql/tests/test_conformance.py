"""The core's conformance kit, run against SqlTrackingStore on SQLite, PostgreSQL and MariaDB.

``db_uri`` (tests/conftest.py) is parametrised over the three backends and names a database
without trackline data, so each test gets a fresh store (only the default experiment) with
its artifacts in a temporary directory.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from trackline.testing.tracking import TrackingStoreContract
from trackline_sql.store import SqlTrackingStore


class TestSqlTrackingStore(TrackingStoreContract):
    history_of_unknown_run_is_empty = True  # as MLflow's SQL store

    @pytest.fixture
    def store(self, db_uri: str, artifact_root: str) -> Iterator[SqlTrackingStore]:
        s = SqlTrackingStore(db_uri, artifact_root)
        yield s
        s.close()
