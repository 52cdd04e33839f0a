"""A fresh SQLite tracking store per test, artifacts under tmp_path."""

from __future__ import annotations

import pytest


@pytest.fixture
def sqlite_tracking(tmp_path, monkeypatch):
    import trackline
    from trackline.tracking import fluent
    from trackline.tracking.uri import clear_store_cache

    for var in ("EXPERIMENT_NAME", "EXPERIMENT_ID", "RUN_ID", "TRACKING_URI"):
        monkeypatch.delenv(f"MLFLOW_{var}", raising=False)
        monkeypatch.delenv(f"TRACKLINE_{var}", raising=False)
    monkeypatch.setenv("TRACKLINE_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    trackline.set_tracking_uri(f"sqlite:///{tmp_path / 'tracking.db'}")
    yield trackline
    while fluent.active_run():
        fluent.end_run()
    trackline.set_tracking_uri(None)
    clear_store_cache()
