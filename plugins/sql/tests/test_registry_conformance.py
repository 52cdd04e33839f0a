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


def test_concurrent_version_creation_gets_distinct_numbers(db_uri: str) -> None:
    """Several writers registering versions of one model at once: every call succeeds and
    the numbers are 1..N without gaps or repeats (a lost race is retried, not reported)."""
    from concurrent.futures import ThreadPoolExecutor

    stores = [SqlRegistryStore(db_uri) for _ in range(4)]
    try:
        stores[0].create_registered_model("contended")
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [
                pool.submit(stores[i % 4].create_model_version, "contended", f"s3://b/{i}")
                for i in range(20)
            ]
            versions = sorted(int(f.result().version) for f in futures)
        assert versions == list(range(1, 21))
    finally:
        for store in stores:
            store.close()
