"""Hook implementations of trackline-sklearn: registers the ``sklearn`` flavor and autologger.

Registration only; scikit-learn, skops and cloudpickle are imported when a model is saved
or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import AutologgerSpec, FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="sklearn",
            module="trackline_sklearn.flavor",
            description="scikit-learn estimators (skops, cloudpickle or pickle files).",
        )
    )


@hookimpl
def register_autologgers(register: Register[AutologgerSpec]) -> None:
    # tested: the oldest scikit-learn this plugin supports, and the newest its tests ran with.
    register(
        AutologgerSpec(
            name="sklearn",
            library="sklearn",
            autolog="trackline_sklearn.autolog:autolog",
            tested=("1.3.0", "1.9.1"),
        )
    )
