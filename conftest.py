"""Test isolation shared by every test folder of this repository (tests/ and plugins/*/tests).

The interoperability tests drive the real ``mlflow`` client in-process, and its
``set_experiment`` exports ``MLFLOW_EXPERIMENT_ID`` into ``os.environ`` so that subprocesses
inherit it. Left alone, that id leaks into every later test of the same worker (and the
processes they start), which then look for an experiment their fresh database lacks.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _forget_exported_mlflow_experiment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
