"""Hook implementations of trackline-xgboost: registers the ``xgboost`` flavor.

Registration only; XGBoost is imported when a model is saved or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="xgboost",
            module="trackline_xgboost.flavor",
            description="XGBoost Boosters and scikit-learn API models (native UBJSON/JSON files).",
        )
    )
