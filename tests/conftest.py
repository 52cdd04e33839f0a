"""Fixtures shared by the core and end-to-end tests."""

from __future__ import annotations

import pytest
from trackline.testing.databases import fresh_database


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def database_uri(request, tmp_path):
    """A tracking URI of an empty database on each backend the SQL store supports."""
    with fresh_database(request.param, tmp_path) as uri:
        yield uri


@pytest.fixture
def tracking(database_uri, tmp_path, monkeypatch):
    """The fluent API pointed at a fresh database, artifacts in tmp, no state leaking out."""
    import trackline
    from trackline.tracking import fluent
    from trackline.tracking.uri import clear_store_cache

    for var in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.replace("MLFLOW_", "TRACKLINE_"), raising=False)
    monkeypatch.setenv("TRACKLINE_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    trackline.set_tracking_uri(database_uri)
    yield trackline
    while fluent.active_run():
        fluent.end_run()
    trackline.set_tracking_uri(None)
    clear_store_cache()
