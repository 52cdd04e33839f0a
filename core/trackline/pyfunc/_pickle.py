"""cloudpickle for custom models, readable by both trackline and MLflow.

A ``PythonModel`` subclass defined in a script is pickled *by value*, but its base class is
pickled by reference. trackline writes the reference to the base as MLflow's
``mlflow.pyfunc.model.PythonModel``, so MLflow unpickles the model into a subclass of its own
``PythonModel`` (and needs no trackline installed); trackline's unpickler maps that name (and
MLflow's ``PythonModelContext``) back to trackline's classes, so it needs no MLflow either.

Unpickling runs code from the file. Only ``trackline.pyfunc.load_model`` on a model the
user named calls ``load``; nothing else in trackline opens a pickle.
"""

from __future__ import annotations

import importlib
import io
import pickle
from typing import Any, BinaryIO

_MLFLOW_MODULE = "mlflow.pyfunc.model"
_MLFLOW_NAMES = ("PythonModel", "PythonModelContext")


class _ModuleReference:
    """Pickles as ``importlib.import_module(name)``: a module reference by name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple[Any, ...]:
        return (importlib.import_module, (self.name,))


def dumps(obj: Any) -> bytes:
    import cloudpickle

    from trackline.pyfunc import model as model_module

    portable = {getattr(model_module, n): n for n in _MLFLOW_NAMES}

    class _PortablePickler(cloudpickle.Pickler):
        def reducer_override(self, value: Any) -> Any:
            if isinstance(value, type) and value in portable:
                return (getattr, (_ModuleReference(_MLFLOW_MODULE), portable[value]))
            return super().reducer_override(value)

    buffer = io.BytesIO()
    _PortablePickler(buffer, protocol=pickle.DEFAULT_PROTOCOL).dump(obj)
    return buffer.getvalue()


def _compat_import_module(name: str, package: str | None = None) -> Any:
    if name in (_MLFLOW_MODULE, "mlflow.pyfunc"):
        from trackline.pyfunc import model as model_module

        return model_module
    return importlib.import_module(name, package)


class _CompatUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module in (_MLFLOW_MODULE, "mlflow.pyfunc") and name in _MLFLOW_NAMES:
            from trackline.pyfunc import model as model_module

            return getattr(model_module, name)
        if (module, name) == ("mlflow.models.signature", "_TypeHints"):
            # MLflow caches the type hints of predict on the instance; a plain holder will do.
            from trackline.pyfunc import model as model_module

            return model_module._TypeHints
        if (module, name) == ("importlib", "import_module"):
            return _compat_import_module
        try:
            return super().find_class(module, name)
        except ImportError as exc:
            if module.split(".")[0] == "mlflow":
                raise ImportError(
                    f"This model's pickle refers to MLflow's {module}.{name}, which trackline "
                    "does not provide; install mlflow to load it."
                ) from exc
            raise


def load(file: BinaryIO) -> Any:
    """Unpickle a cloudpickled custom model, mapping MLflow's base classes to trackline's."""
    import cloudpickle  # noqa: F401  (its helpers are what by-value pickles reference)

    return _CompatUnpickler(file).load()
