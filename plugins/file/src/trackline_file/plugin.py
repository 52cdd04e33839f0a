"""Hook implementations of trackline-file (cheap to import: the store is named by string)."""

from __future__ import annotations

from trackline.plugins.hookspecs import hookimpl
from trackline.plugins.types import Register, TrackingStoreSpec


@hookimpl
def register_tracking_stores(register: Register[TrackingStoreSpec]) -> None:
    register(
        TrackingStoreSpec(
            schemes=("file",),
            factory="trackline_file.store:open_store",
            description="plain files in MLflow's mlruns/ layout (file:./mlruns or a path)",
        )
    )
