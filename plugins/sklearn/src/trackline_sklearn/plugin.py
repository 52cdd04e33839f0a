"""Hook implementations of trackline-sklearn: registers the ``sklearn`` flavor.

Registration only; scikit-learn, skops and cloudpickle are imported when a model is saved
or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="sklearn",
            module="trackline_sklearn.flavor",
            description="scikit-learn estimators (skops, cloudpickle or pickle files).",
        )
    )
