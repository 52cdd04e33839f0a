"""Run names shared by every store: readable random names, kept equal to the mlflow.runName tag."""

from __future__ import annotations

import random

# Short words only: 7 + 1 + 7 + 1 + 3 characters keeps every name within 20.
_ADJECTIVES = (
    "agile", "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "curious",
    "daring", "deft", "eager", "fancy", "fierce", "gentle", "glad", "golden", "grand", "happy",
    "honest", "humble", "jolly", "keen", "kind", "lively", "lucky", "merry", "mighty", "modest",
    "nimble", "noble", "plucky", "polite", "proud", "quick", "quiet", "rapid", "serene", "sharp",
    "shiny", "silent", "sleek", "smooth", "snappy", "solid", "steady", "sunny", "swift", "tidy",
    "vivid", "warm", "wise", "witty", "zesty",
)  # fmt: skip
_NOUNS = (
    "badger", "bear", "bee", "bison", "cat", "cobra", "crane", "crow", "deer", "dolphin",
    "eagle", "falcon", "ferret", "finch", "fox", "gecko", "goat", "hawk", "heron", "horse",
    "ibis", "koala", "lark", "lemur", "lion", "llama", "lynx", "mole", "moose", "newt",
    "otter", "owl", "panda", "parrot", "pigeon", "puma", "quail", "rabbit", "raven", "robin",
    "salmon", "seal", "shark", "sloth", "snail", "sparrow", "squid", "stork", "swan", "tiger",
    "toad", "trout", "turtle", "whale", "wolf", "wombat", "yak", "zebra",
)  # fmt: skip

_rng = random.SystemRandom()


def random_run_name() -> str:
    return f"{_rng.choice(_ADJECTIVES)}-{_rng.choice(_NOUNS)}-{_rng.randrange(1000):03d}"


RUN_NAME_TAG = "mlflow.runName"


def resolve_run_name(run_name: str | None, tag_value: str | None) -> str:
    """The name of a new run: ``run_name``, else the ``mlflow.runName`` tag, else a random one.

    Giving both with different values is an error, as in MLflow.
    """
    if run_name and tag_value is not None and run_name != tag_value:
        from trackline.exceptions import TracklineException

        raise TracklineException.invalid_parameter_value(
            f"Both 'run_name' argument and '{RUN_NAME_TAG}' tag are specified, but with "
            f"different values (run_name={run_name!r}, {RUN_NAME_TAG}={tag_value!r}). "
            "Give one of them, or the same value for both."
        )
    return run_name or tag_value or random_run_name()
