"""Hook implementations of trackline-pytorch: registers the ``pytorch`` flavor.

Registration only; torch is imported when a model is saved or loaded.
"""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import FlavorSpec, Register


@hookimpl
def register_flavors(register: Register[FlavorSpec]) -> None:
    register(
        FlavorSpec(
            name="pytorch",
            module="trackline_pytorch.flavor",
            description="PyTorch nn.Modules (torch.export 'pt2' archives or whole-model pickles).",
        )
    )
