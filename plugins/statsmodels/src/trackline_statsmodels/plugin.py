"""Hook implementations of trackline-statsmodels: registers the ``statsmodels`` flavor.

Registration only; statsmodels is imported when a model is saved or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="statsmodels",
            module="trackline_statsmodels.flavor",
            description="Fitted statsmodels results (statsmodels' own save: a pickle).",
        )
    )
