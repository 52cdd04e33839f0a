"""Fixtures and helpers for testing an autologging integration against a real SQLite store.

Enable the fixture in a test module::

    from trackline.testing.autologging import only_run

    pytest_plugins = ["trackline.testing.autologging"]  # the sqlite_tracking fixture

    def test_fit_is_logged(sqlite_tracking):
        trackline = sqlite_tracking
        trackline.mylib.autolog()
        ...  # train a tiny model
        assert only_run().data.params["alpha"] == "0.5"

Needs a plugin that handles ``sqlite`` tracking URIs (trackline-sql).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = ["client", "only_run", "sqlite_tracking"]


@pytest.fixture
def sqlite_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The ``trackline`` module, tracking into a fresh SQLite file in ``tmp_path`` (artifacts
    and working directory there too), with no experiment or run chosen by the environment.

    Afterwards autologging is switched off everywhere, active runs are ended and the tracking
    URI is unset again.
    """
    import trackline
    from trackline.autologging import _reset_for_tests
    from trackline.tracking import fluent
    from trackline.tracking.uri import clear_store_cache

    for var in ("EXPERIMENT_NAME", "EXPERIMENT_ID", "RUN_ID", "TRACKING_URI"):
        monkeypatch.delenv(f"MLFLOW_{var}", raising=False)
        monkeypatch.delenv(f"TRACKLINE_{var}", raising=False)
    monkeypatch.setenv("TRACKLINE_DEFAULT_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    trackline.set_tracking_uri(f"sqlite:///{tmp_path / 'tracking.db'}")
    yield trackline
    _reset_for_tests()
    while fluent.active_run():
        fluent.end_run()
    trackline.set_tracking_uri(None)
    clear_store_cache()


def client() -> Any:
    """The tracking client of the fluent API (the current tracking URI)."""
    from trackline.tracking import fluent

    return fluent._client()


def only_run() -> Any:
    """The one run of the default experiment (``"0"``); fails if there is not exactly one."""
    (run,) = client().search_runs(["0"])
    return run
