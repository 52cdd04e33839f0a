"""The core's registry conformance kit against SqlRegistryStore on SQLite, PostgreSQL and
MariaDB (``db_uri`` is parametrised over the three backends and emptied for each test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from trackline.testing.registry import RegistryStoreContract
from trackline_sql.registry import SqlRegistryStore


class TestSqlRegistryStore(RegistryStoreContract):
    @pytest.fixture
    def registry_store(self, db_uri: str) -> Iterator[SqlRegistryStore]:
        s = SqlRegistryStore(db_uri)
        yield s
        s.close()
