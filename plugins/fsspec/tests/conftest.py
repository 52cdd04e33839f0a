"""Servers of each storage protocol, started once per test session on loopback.

A server whose program is missing here skips its tests with the install command, unless
``TRACKLINE_REQUIRE_STORAGE_SERVERS=1`` (set by CI) turns that into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from trackline_fsspec import testing


def _start(
    request: pytest.FixtureRequest, make: Callable[[], AbstractContextManager[testing.Server]]
) -> Iterator[testing.Server]:
    try:
        context = make()
        server = context.__enter__()
    except testing.ServerUnavailable as exc:
        if os.environ.get("TRACKLINE_REQUIRE_STORAGE_SERVERS") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        context.__exit__(None, None, None)


@pytest.fixture(scope="session")
def s3_server(request) -> Iterator[testing.Server]:
    yield from _start(request, testing.moto_s3)


@pytest.fixture(scope="session")
def azure_server(request) -> Iterator[testing.Server]:
    yield from _start(request, testing.azurite_blob)


@pytest.fixture(scope="session")
def gcs_server(request) -> Iterator[testing.Server]:
    yield from _start(request, testing.gcs_emulator)


@pytest.fixture(scope="session")
def ftp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ftp-root")


@pytest.fixture(scope="session")
def ftp_server(request, ftp_root) -> Iterator[testing.Server]:
    yield from _start(request, lambda: testing.ftp_server(ftp_root))


@pytest.fixture(scope="session")
def sftp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sftp-root")


@pytest.fixture(scope="session")
def sftp_server(request, sftp_root) -> Iterator[testing.Server]:
    yield from _start(request, lambda: testing.sftp_server(sftp_root))
