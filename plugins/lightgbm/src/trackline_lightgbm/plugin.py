"""Hook implementations of trackline-lightgbm: registers the ``lightgbm`` flavor.

Registration only; LightGBM and skops are imported when a model is saved or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="lightgbm",
            module="trackline_lightgbm.flavor",
            description="LightGBM Boosters (text files) and scikit-learn API models (skops or pickle).",
        )
    )
