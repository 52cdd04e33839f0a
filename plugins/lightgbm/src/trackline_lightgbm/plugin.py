"""Hook implementations of trackline-lightgbm: registers the ``lightgbm`` flavor and autologger.

Registration only; LightGBM and skops are imported when a model is saved or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import AutologgerSpec, FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="lightgbm",
            module="trackline_lightgbm.flavor",
            description="LightGBM Boosters (text files) and scikit-learn API models (skops or pickle).",
        )
    )


@hookimpl
def register_autologgers(register: Register[AutologgerSpec]) -> None:
    # tested: the oldest LightGBM this plugin supports, and the newest its tests ran with.
    register(
        AutologgerSpec(
            name="lightgbm",
            library="lightgbm",
            autolog="trackline_lightgbm.autolog:autolog",
            tested=("3.3.0", "4.7.0"),
        )
    )
