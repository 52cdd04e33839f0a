"""Hook implementations of trackline-xgboost: registers the ``xgboost`` flavor and autologger.

Registration only; XGBoost is imported when a model is saved or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import AutologgerSpec, FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="xgboost",
            module="trackline_xgboost.flavor",
            description="XGBoost Boosters and scikit-learn API models (native UBJSON/JSON files).",
        )
    )


@hookimpl
def register_autologgers(register: Register[AutologgerSpec]) -> None:
    # tested: the oldest XGBoost this plugin supports, and the newest its tests ran with.
    register(
        AutologgerSpec(
            name="xgboost",
            library="xgboost",
            autolog="trackline_xgboost.autolog:autolog",
            tested=("1.7.0", "3.2.0"),
        )
    )
