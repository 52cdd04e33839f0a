"""Test isolation shared by every test folder of this repository (tests/ and plugins/*/tests).

The interoperability tests drive the real ``mlflow`` client in-process, and its
``set_experiment`` exports ``MLFLOW_EXPERIMENT_ID`` into ``os.environ`` so that subprocesses
inherit it. Left alone, that id leaks into every later test of the same worker (and the
processes they start), which then look for an experiment their fresh database lacks.

MLflow's client also starts a telemetry thread that sets and pops
``_MLFLOW_TELEMETRY_SESSION_ID`` in ``os.environ``; a request iterating the environment at
that moment (requests reads proxy variables) fails with a KeyError. Tests send no telemetry.
"""

from __future__ import annotations

import os

import pytest

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["DO_NOT_TRACK"] = "true"


@pytest.fixture(autouse=True)
def _forget_exported_mlflow_experiment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
