"""Fixtures: an in-process app on a SQLite file in tmp_path."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from trackline_server.app import build_app
from trackline_server.testing import server_factory  # noqa: F401  (a fixture)

sys.path.insert(0, str(Path(__file__).parent))

from server_test_helpers import BASE, make_config  # noqa: E402


@pytest.fixture
def make_client(tmp_path: Path):
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(build_app(make_config(tmp_path, **overrides)), base_url=BASE)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()
