"""The core's conformance kits against a ``trackline server`` reached over REST.

One server serves the whole module; each tracking test gets an empty store by resetting the
server's SQLite file (``reset_sqlite``), each artifact test a root no other test uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from trackline.store.artifacts import ArtifactRepository
from trackline.testing.artifacts import ArtifactRepositoryContract
from trackline.testing.tracking import TrackingStoreContract
from trackline_rest.artifacts import HttpArtifactRepository, MlflowArtifactsRepository
from trackline_rest.store import RestTrackingStore

from .conftest import Server, reset_sqlite


@pytest.fixture(autouse=True)
def no_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server error must fail the test at once, not after minutes of backoff.
    monkeypatch.setenv("TRACKLINE_HTTP_REQUEST_MAX_RETRIES", "0")


class TestRestTrackingStore(TrackingStoreContract):
    history_of_unknown_run_is_empty = True  # the server's store is SQL

    @pytest.fixture
    def store(self, trackline_server: Server, tmp_path) -> Iterator[RestTrackingStore]:
        reset_sqlite(trackline_server.db_path)
        store = RestTrackingStore(trackline_server.url, str(tmp_path / "artifacts"))
        yield store
        store.close()


class TestMlflowArtifactsRepository(ArtifactRepositoryContract):
    @pytest.fixture
    def repo(
        self, trackline_server: Server, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[ArtifactRepository]:
        monkeypatch.setenv("TRACKLINE_TRACKING_URI", trackline_server.url)
        yield MlflowArtifactsRepository(f"mlflow-artifacts:/conformance-{uuid.uuid4().hex}")

    @pytest.fixture
    def repo_factory(self, trackline_server: Server) -> Callable[[str], ArtifactRepository]:
        return MlflowArtifactsRepository


class TestHttpArtifactRepository(ArtifactRepositoryContract):
    """The same API at an explicit http:// URL (no tracking URI involved)."""

    @pytest.fixture
    def repo(self, trackline_server: Server) -> Iterator[ArtifactRepository]:
        root = f"{trackline_server.url}/api/2.0/mlflow-artifacts/artifacts/http-{uuid.uuid4().hex}"
        yield HttpArtifactRepository(root)

    @pytest.fixture
    def repo_factory(self) -> Callable[[str], ArtifactRepository]:
        return HttpArtifactRepository
