"""Hook implementations of trackline-statsmodels: registers the ``statsmodels`` flavor and autologger.

Registration only; statsmodels is imported when a model is saved or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import AutologgerSpec, FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="statsmodels",
            module="trackline_statsmodels.flavor",
            description="Fitted statsmodels results (statsmodels' own save: a pickle).",
        )
    )


@hookimpl
def register_autologgers(register: Register[AutologgerSpec]) -> None:
    # tested: the oldest statsmodels this plugin supports, and the newest its tests ran with.
    register(
        AutologgerSpec(
            name="statsmodels",
            library="statsmodels",
            autolog="trackline_statsmodels.autolog:autolog",
            tested=("0.13.0", "0.15.0"),
        )
    )
