"""Hook implementations of trackline-pytorch: registers the ``pytorch`` flavor and the
PyTorch Lightning autologger.

Registration only; torch is imported when a model is saved or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import AutologgerSpec, FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="pytorch",
            module="trackline_pytorch.flavor",
            description="PyTorch nn.Modules (torch.export 'pt2' archives or whole-model pickles).",
        )
    )


@hookimpl
def register_autologgers(register: Register[AutologgerSpec]) -> None:
    # The autologger follows PyTorch Lightning training; it is enabled when ``lightning`` is
    # imported. tested: the Lightning versions this plugin's tests cover.
    register(
        AutologgerSpec(
            name="pytorch",
            library="lightning",
            autolog="trackline_pytorch.autolog:autolog",
            tested=("2.0.0", "2.6.6"),
        )
    )
