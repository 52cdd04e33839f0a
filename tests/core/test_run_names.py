"""Run names every store shares."""

import re

import pytest
from trackline.exceptions import TracklineException
from trackline.store.run_names import random_run_name, resolve_run_name


def test_random_run_names_look_like_mlflow_ones():
    for _ in range(200):
        name = random_run_name()
        assert re.fullmatch(r"[a-z]+-[a-z]+-\d{3}", name), name
        assert len(name) <= 20


def test_resolve_run_name_prefers_argument_then_tag():
    assert resolve_run_name("a", None) == "a"
    assert resolve_run_name(None, "b") == "b"
    assert resolve_run_name("c", "c") == "c"
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{3}", resolve_run_name(None, None))
    with pytest.raises(TracklineException, match="different values") as info:
        resolve_run_name("a", "b")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
