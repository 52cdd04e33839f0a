"""The autologging framework with a real library imported from disk after autolog()."""

from __future__ import annotations

import importlib
import logging
import sys
import warnings

import pytest
from trackline.autologging import (
    AutologgingWarning,
    UnsupportedLibraryVersion,
    enabled_integrations,
    is_patched,
)
from trackline.autologging._import_hooks import _NotifyingLoader
from trackline.exceptions import TracklineException

from .conftest import all_runs, toy_autolog


def test_autolog_waits_for_the_import_and_imports_nothing(tracking, make_toy):
    name = make_toy()
    tracking.autolog()
    assert name not in sys.modules
    assert "toy" not in enabled_integrations()

    toy = importlib.import_module(name)

    assert "toy" in enabled_integrations()
    assert is_patched(toy.Trainer, "fit")
    # The module keeps its real loader: the wrapper only lived during the import.
    assert not isinstance(toy.__spec__.loader, _NotifyingLoader)
    assert not isinstance(toy.__loader__, _NotifyingLoader)

    result = toy.Trainer().fit("abc")

    assert result == {"trained_on": "abc"}
    (run,) = all_runs(tracking)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"data": "abc", "trainer": "Trainer"}
    assert run.data.metrics == {"size": 3.0}
    assert run.data.tags["mlflow.autologging"] == "toy"
    assert tracking.active_run() is None  # the run autologging started is ended


def test_autolog_enables_a_library_imported_before(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog(extra_tags={"team": "vision"})
    assert is_patched(toy.Trainer, "fit")
    toy.Trainer().fit("x")
    (run,) = all_runs(tracking)
    assert run.data.tags["team"] == "vision"


def test_an_error_in_autologging_before_training_is_a_warning(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog(toy={"fail_in": "before"})

    with pytest.warns(AutologgingWarning, match="during toy autologging.*broke before"):
        result = toy.Trainer().fit("data")

    assert result == {"trained_on": "data"}
    assert toy.CALLS == [("fit", "data")]  # trained exactly once


def test_an_error_in_autologging_after_training_keeps_the_result(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog(toy={"fail_in": "after"})

    with pytest.warns(AutologgingWarning, match="broke after training") as caught:
        result = toy.Trainer().fit("data")

    assert len(caught) == 1
    assert result == {"trained_on": "data"}
    assert toy.CALLS == [("fit", "data")]
    (run,) = all_runs(tracking)
    assert run.info.status == "FINISHED"
    assert run.data.params["data"] == "data"  # what was logged before the failure stays


def test_a_failing_step_is_reported_once_and_the_others_still_run(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog(toy={"fail_in": "step"})
    with pytest.warns(AutologgingWarning, match="logging a metric: KeyError") as caught:
        toy.Trainer().fit("data")
    assert len(caught) == 1
    (run,) = all_runs(tracking)
    assert run.data.metrics == {"size": 4.0}


def test_silent_turns_the_warning_into_a_debug_message(tracking, make_toy, caplog):
    toy = importlib.import_module(make_toy())
    tracking.autolog(silent=True, toy={"fail_in": "after"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level(logging.DEBUG, logger="trackline.autologging"):
            assert toy.Trainer().fit("data") == {"trained_on": "data"}
    assert "broke after training" in caplog.text


def test_testing_mode_raises_autologging_errors(tracking, make_toy, monkeypatch):
    monkeypatch.setenv("MLFLOW_AUTOLOGGING_TESTING", "true")
    toy = importlib.import_module(make_toy())
    tracking.autolog(toy={"fail_in": "after"})
    with pytest.raises(RuntimeError, match="broke after training"):
        toy.Trainer().fit("data")


def test_the_users_own_exception_propagates_unchanged(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog()
    with pytest.raises(ValueError, match="the user's own error") as raised:
        toy.Trainer().fit("boom")
    assert type(raised.value) is ValueError
    (run,) = all_runs(tracking)
    assert run.info.status == "FAILED"
    assert tracking.active_run() is None


def test_disable_restores_the_original_methods(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    fit, inner_fit = toy.Trainer.__dict__["fit"], toy.Inner.__dict__["fit"]
    descriptor = toy.OnlyIfReady.__dict__["predict"]
    tracking.autolog()
    assert toy.Trainer.__dict__["fit"] is not fit

    tracking.autolog(disable=True)

    assert toy.Trainer.__dict__["fit"] is fit
    assert toy.Inner.__dict__["fit"] is inner_fit
    assert toy.OnlyIfReady.__dict__["predict"] is descriptor
    assert "toy" not in enabled_integrations()
    toy.Trainer().fit("quiet")
    assert all_runs(tracking) == []


def test_disable_through_the_integration_itself(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    fit = toy.Trainer.__dict__["fit"]
    toy_autolog()
    toy_autolog(disable=True)
    assert toy.Trainer.__dict__["fit"] is fit


def test_a_patched_descriptor_still_decides_whether_the_attribute_exists(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog()
    assert is_patched(toy.OnlyIfReady, "predict")
    assert not hasattr(toy.OnlyIfReady(ready=False), "predict")
    assert toy.OnlyIfReady(ready=True).predict("abcd") == [4]


def test_a_patched_call_inside_another_logs_once(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog()
    toy.Trainer(inner=toy.Inner()).fit("nested")
    assert toy.CALLS == [("fit", "nested"), ("inner", "nested")]
    (run,) = all_runs(tracking)  # one run: the inner fit logged nothing of its own
    assert run.data.params["trainer"] == "Trainer"


def test_the_active_run_is_used_and_left_open(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog()
    with tracking.start_run() as run:
        toy.Trainer().fit("mine")
        assert tracking.active_run().info.run_id == run.info.run_id
    (logged,) = all_runs(tracking)
    assert logged.info.run_id == run.info.run_id
    assert logged.data.params["data"] == "mine"
    assert "mlflow.autologging" not in logged.data.tags


def test_exclusive_leaves_user_runs_alone(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog(exclusive=True)
    with tracking.start_run() as run:
        toy.Trainer().fit("mine")
    toy.Trainer().fit("autologged")
    runs = {r.info.run_id: r for r in all_runs(tracking)}
    assert runs.pop(run.info.run_id).data.params == {}
    (other,) = runs.values()
    assert other.data.params["data"] == "autologged"


def test_the_integrations_own_settings_win_over_the_blanket_autolog(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    toy_autolog(fail_in="after")
    tracking.autolog()  # must not reset fail_in
    with pytest.warns(AutologgingWarning, match="broke after"):
        toy.Trainer().fit("x")


def test_unknown_blanket_keyword_is_refused_and_changes_nothing(tracking, make_toy):
    name = make_toy()
    with pytest.raises(TracklineException, match="unknown keyword 'tox'"):
        tracking.autolog(tox={"fail_in": "after"})
    with pytest.raises(TracklineException, match="takes a dict"):
        tracking.autolog(toy="after")
    toy = importlib.import_module(name)
    assert not is_patched(toy.Trainer, "fit")


def test_unknown_option_of_an_integration_is_a_clear_error(tracking, make_toy):
    importlib.import_module(make_toy())
    with pytest.raises(TracklineException, match="toy autolog: .*log_everything"):
        toy_autolog(log_everything=True)


def test_exclude_flavors(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog(exclude_flavors=["toy"])
    assert not is_patched(toy.Trainer, "fit")


# -- versions -------------------------------------------------------------------------------


def test_blanket_autolog_skips_an_untested_version_with_a_debug_message(tracking, make_toy, caplog):
    name = make_toy(version="2.5.0")
    with caplog.at_level(logging.DEBUG, logger="trackline.autologging"):
        tracking.autolog()
        toy = importlib.import_module(name)
    assert not is_patched(toy.Trainer, "fit")
    assert "skipping the toy autologger" in caplog.text
    assert "tested with" in caplog.text and "2.5.0 is installed" in caplog.text


def test_direct_autolog_refuses_an_untested_version(tracking, make_toy):
    toy = importlib.import_module(make_toy(version="0.9"))
    with pytest.raises(UnsupportedLibraryVersion, match=r"1\.0 to 1\.9, and .* 0\.9 is installed"):
        toy_autolog()
    assert not is_patched(toy.Trainer, "fit")

    toy_autolog(disable_for_unsupported_versions=True)  # quietly stays off
    assert not is_patched(toy.Trainer, "fit")

    toy_autolog(allow_untested_versions=True)
    assert is_patched(toy.Trainer, "fit")


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.0", True),
        ("1.0.0", True),
        ("1.9.7", True),  # a bound with fewer parts covers what it prefixes
        ("1.10", False),
        ("2.0", False),
        ("0.99", False),
        ("1.5.0rc1", True),
        ("1.5.0+cpu", True),
    ],
)
def test_version_ranges(version, expected):
    from trackline.autologging import in_range

    assert in_range(version, ("1.0", "1.9")) is expected


def test_trackline_plugins_shows_the_tested_range(make_toy):
    from click.testing import CliRunner
    from trackline.cli.main import cli

    make_toy()
    output = CliRunner().invoke(cli, ["plugins", "--json"]).output
    assert "autologger: toy (toylib_" in output
    assert "1.0 to 1.9 tested)" in output


def test_disable_before_the_import_cancels_the_waiting_hook(tracking, make_toy):
    from trackline.autologging._import_hooks import pending_modules

    name = make_toy()
    tracking.autolog()
    assert name in pending_modules()
    tracking.autolog(disable=True)
    assert name not in pending_modules()
    toy = importlib.import_module(name)
    assert not is_patched(toy.Trainer, "fit")


def test_options_of_a_later_blanket_call_reach_a_library_imported_after_both(tracking, make_toy):
    name = make_toy()
    tracking.autolog()
    tracking.autolog(toy={"fail_in": "after"})
    toy = importlib.import_module(name)
    with pytest.warns(AutologgingWarning, match="broke after"):
        toy.Trainer().fit("x")


def test_a_patched_call_in_another_thread_during_logging_logs_nothing(tracking, make_toy):
    import threading

    toy = importlib.import_module(make_toy())
    tracking.autolog()
    results = []

    class Outer:
        def fit(self, data):
            # While this call is being logged, another thread trains too.
            worker = threading.Thread(target=lambda: results.append(toy.Inner().fit("other")))
            worker.start()
            worker.join()
            return "outer"

    trainer = toy.Trainer(inner=Outer())
    trainer.fit("main")
    assert results == ["inner-result"]
    (run,) = all_runs(tracking)
    assert run.data.params["data"] == "main"


def test_a_value_that_cannot_be_logged_gives_one_warning_and_training_goes_on(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    tracking.autolog()

    class Unprintable:
        def __str__(self):
            raise TypeError("no text for this")

    data = Unprintable()
    with pytest.warns(AutologgingWarning) as caught:
        result = toy.Trainer().fit(data)
    assert result == {"trained_on": data}
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "param 'data' was not logged: str() failed (TypeError: no text for this)" in message
    assert "logging metrics: TypeError" in message
    (run,) = all_runs(tracking)
    assert run.data.params == {"trainer": "Trainer"}


def test_a_bad_option_changes_nothing(tracking, make_toy):
    toy = importlib.import_module(make_toy())
    toy_autolog(fail_in="after")
    with pytest.raises(ValueError, match="fail_in must be"):
        toy_autolog(fail_in="sometimes")
    assert is_patched(toy.Trainer, "fit")  # still enabled, with the previous options
    with pytest.warns(AutologgingWarning, match="broke after"):
        toy.Trainer().fit("x")


def test_a_version_error_changes_nothing(tracking, make_toy):
    toy = importlib.import_module(make_toy(version="3.0"))
    toy_autolog(allow_untested_versions=True)
    with pytest.raises(UnsupportedLibraryVersion):
        toy_autolog(log_models=False)
    assert is_patched(toy.Trainer, "fit")
    from trackline.autologging import get_autologging_config

    assert get_autologging_config("toy", "log_models") is True


def test_an_unknown_per_library_option_is_refused_at_once(tracking, make_toy):
    name = make_toy()
    with pytest.raises(TracklineException, match="unknown toy autolog option.*fail_at"):
        tracking.autolog(toy={"fail_at": "after"})
    assert name not in sys.modules  # checked without importing the library
