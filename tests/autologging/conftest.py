"""A real toy library (a package written to disk, imported for real), a plugin that registers
an autologger for it, and a fresh SQLite tracking store per test."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid

import pytest
from trackline.autologging import (
    autologging_integration,
    autologging_step,
    get_autologging_config,
    safe_patch,
)
from trackline.autologging import utils as alu
from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import AutologgerSpec

TOY_SOURCE = '''
__version__ = "{version}"

CALLS = []


class Inner:
    def fit(self, data):
        CALLS.append(("inner", data))
        return "inner-result"


class Trainer:
    def __init__(self, inner=None):
        self.inner = inner

    def fit(self, data):
        CALLS.append(("fit", data))
        if data == "boom":
            raise ValueError("the user's own error")
        if self.inner is not None:
            self.inner.fit(data)
        return {{"trained_on": data}}


class OnlyIfReady:
    """A method that exists only when ``ready`` is true, like scikit-learn's available_if."""

    def __init__(self, ready):
        self.ready = ready


class _Conditional:
    def __init__(self, function):
        self.function = function

    def __get__(self, obj, owner=None):
        if obj is not None and not obj.ready:
            raise AttributeError("not ready")
        if obj is None:
            return self.function
        return self.function.__get__(obj, owner)


def _predict(self, data):
    CALLS.append(("predict", data))
    return [len(str(data))]


OnlyIfReady.predict = _Conditional(_predict)
'''


def toy_patch(original, trainer, data):
    config = get_autologging_config("toy", "fail_in")
    if config == "before":
        raise RuntimeError("autologging broke before training")
    with autologging_step("logging params"):
        alu.log_params({"data": data, "trainer": type(trainer).__name__})
    result = original(trainer, data)
    if config == "after":
        raise RuntimeError("autologging broke after training")
    if config == "step":
        with autologging_step("logging a metric"):
            raise KeyError("a step failed")
    with autologging_step("logging metrics"):
        alu.log_metrics({"size": len(str(data))})
    return result


@autologging_integration("toy")
def toy_autolog(
    log_models=True,
    log_datasets=True,
    disable=False,
    exclusive=False,
    disable_for_unsupported_versions=False,
    silent=False,
    extra_tags=None,
    fail_in=None,
):
    if fail_in not in (None, "before", "after", "step"):
        raise ValueError(f"fail_in must be before, after or step, got {fail_in!r}")
    module = sys.modules[ToyPlugin.library]
    safe_patch("toy", module.Trainer, "fit", toy_patch, manage_run=True)
    safe_patch("toy", module.Inner, "fit", toy_patch, manage_run=True)
    safe_patch("toy", module.OnlyIfReady, "predict", lambda original, *a: original(*a))


class ToyPlugin:
    library = ""
    tested = ("1.0", "1.9")

    @hookimpl
    def register_autologgers(self, register):
        register(
            AutologgerSpec(
                name="toy",
                library=ToyPlugin.library,
                autolog=toy_autolog,
                tested=ToyPlugin.tested,
            )
        )


def _write_toy(tmp_path, version):
    name = f"toylib_{uuid.uuid4().hex[:10]}"
    package = tmp_path / "toy_site" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(TOY_SOURCE.format(version=version)))
    return name


@pytest.fixture
def make_toy(tmp_path, monkeypatch):
    """``make_toy(version)`` → the name of a fresh, not yet imported toy library, with the toy
    autologger registered for it."""
    from trackline.autologging import _reset_for_tests
    from trackline.plugins.manager import get_plugin_manager

    monkeypatch.syspath_prepend(str(tmp_path / "toy_site"))
    names = []

    def make(version="1.4.0"):
        (tmp_path / "toy_site").mkdir(exist_ok=True)
        name = _write_toy(tmp_path, version)
        importlib.invalidate_caches()
        ToyPlugin.library = name
        manager = get_plugin_manager()
        if manager.has_plugin("toy-autologger"):
            manager.unregister(name="toy-autologger")
        manager.register(ToyPlugin(), name="toy-autologger")
        names.append(name)
        return name

    yield make
    _reset_for_tests()
    manager = get_plugin_manager()
    if manager.has_plugin("toy-autologger"):
        manager.unregister(name="toy-autologger")
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    import trackline
    from trackline.tracking import fluent
    from trackline.tracking.uri import clear_store_cache

    for var in (
        "EXPERIMENT_NAME",
        "EXPERIMENT_ID",
        "RUN_ID",
        "TRACKING_URI",
        "AUTOLOGGING_TESTING",
    ):
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


def all_runs(trackline):
    from trackline.tracking import fluent

    client = fluent._client()
    return client.search_runs(["0"])
