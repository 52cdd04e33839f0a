"""Custom Python models: ``PythonModel``, its context, and their save format.

The format is MLflow's (``loader_module: mlflow.pyfunc.model``, ``python_model.pkl``,
``artifacts/``), so a custom model saved here loads with ``mlflow.pyfunc.load_model`` and one
saved by MLflow loads here. This module is also the loader trackline uses for that
``loader_module`` (see ``trackline.pyfunc.loaders``).
"""

from __future__ import annotations

import inspect
import os
import shutil
from pathlib import Path
from typing import Any

PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"


class PythonModelContext:
    """What ``load_context`` and ``predict`` receive: the model's artifacts and config."""

    def __init__(
        self, artifacts: dict[str, str] | None = None, model_config: dict[str, Any] | None = None
    ) -> None:
        self._artifacts = dict(artifacts or {})
        self._model_config = model_config

    @property
    def artifacts(self) -> dict[str, str]:
        """Artifact name → absolute local path, as given to ``save_model(artifacts=...)``."""
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any] | None:
        return self._model_config


class PythonModel:
    """Base class of custom models: override ``predict`` (and ``load_context`` if needed).

    ``predict(self, context, model_input, params=None)``; the ``context`` parameter may be
    left out (``predict(self, model_input, params=None)``), as in MLflow 3.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading, with the artifacts; load heavy state here."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("A PythonModel subclass must implement predict().")


class _TypeHints:
    """Stands in for MLflow's cached predict type hints found in MLflow-written pickles."""

    def __init__(self, input_: Any = None, output: Any = None) -> None:
        self.input = input_
        self.output = output


def _takes_context(function: Any) -> bool:
    names = list(inspect.signature(function).parameters)
    return "context" in names or (len(names) >= 2 and names[0] in ("_", "ctx"))


def _takes_params(function: Any) -> bool:
    params = inspect.signature(function).parameters
    return "params" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class _PythonModelWrapper:
    """The pyfunc face of a loaded ``PythonModel``."""

    def __init__(self, python_model: Any, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        predict = self.python_model.predict
        kwargs = {"params": params} if _takes_params(predict) else {}
        if _takes_context(predict):
            return predict(self.context, model_input, **kwargs)
        return predict(model_input, **kwargs)

    def get_raw_model(self) -> Any:
        return self.python_model


def _load_pyfunc(path: str, model_config: dict[str, Any] | None = None) -> _PythonModelWrapper:
    """Load a custom model directory (``python_model.pkl`` + artifacts)."""
    from trackline.exceptions import TracklineException
    from trackline.models.model import Model
    from trackline.pyfunc import _pickle

    conf = Model.load(path).get_flavor("python_function")
    if "model_code_path" in conf:
        raise TracklineException(
            "This model was saved as 'models from code' (model_code_path), which trackline "
            "does not load yet; load it with MLflow.",
            "NOT_IMPLEMENTED",
        )
    pickle_name = conf.get("python_model")
    if not pickle_name:
        raise TracklineException.invalid_parameter_value(
            f"The model at {path!r} names no python_model file in its python_function flavor."
        )
    pickle_path = Path(path) / pickle_name
    if not pickle_path.is_file():
        raise TracklineException(
            f"The model's {pickle_name!r} is missing from {path!r}.", "RESOURCE_DOES_NOT_EXIST"
        )
    if conf.get("compression"):
        raise TracklineException(
            f"Compressed python models ({conf['compression']!r}) are not supported yet.",
            "NOT_IMPLEMENTED",
        )
    with open(pickle_path, "rb") as f:
        python_model = _pickle.load(f)
    artifacts = {
        name: str(Path(path) / info["path"]) for name, info in (conf.get("artifacts") or {}).items()
    }
    config = model_config if model_config is not None else conf.get("model_config")
    context = PythonModelContext(artifacts, config)
    load_context = getattr(python_model, "load_context", None)
    if load_context is not None:
        load_context(context=context)
    return _PythonModelWrapper(python_model, context)


def save_python_model(
    folder: Path,
    python_model: Any,
    artifacts: dict[str, str] | None,
) -> dict[str, Any]:
    """Pickle ``python_model`` and copy its artifacts; returns the pyfunc config entries."""
    from trackline.exceptions import TracklineException

    try:
        import cloudpickle
    except ModuleNotFoundError:
        raise TracklineException(
            "Saving a custom Python model needs cloudpickle: pip install 'trackline[pyfunc]'."
        ) from None
    from trackline.pyfunc import _pickle

    if not callable(getattr(python_model, "predict", None)):
        raise TracklineException.invalid_parameter_value(
            f"python_model must be a PythonModel (an object with a predict method), got "
            f"{type(python_model).__name__}."
        )
    conf: dict[str, Any] = {}
    if artifacts:
        if not isinstance(artifacts, dict):
            raise TracklineException.invalid_parameter_value(
                "artifacts must be a dict of name -> path or URI."
            )
        target = folder / ARTIFACTS_DIR
        target.mkdir()
        saved = {}
        for name, uri in artifacts.items():
            local = _fetch_artifact(str(uri), target)
            saved[name] = {"path": str(Path(local).relative_to(folder).as_posix()), "uri": str(uri)}
        conf["artifacts"] = saved
    (folder / PYTHON_MODEL_FILE).write_bytes(_pickle.dumps(python_model))
    conf["cloudpickle_version"] = cloudpickle.__version__
    conf["python_model"] = PYTHON_MODEL_FILE
    conf["streamable"] = callable(getattr(python_model, "predict_stream", None))
    return conf


def _fetch_artifact(uri: str, destination: Path) -> str:
    """Copy a local artifact, or download a remote one, into ``destination`` (by base name)."""
    from trackline.exceptions import TracklineException
    from trackline.models.uri import _local_path

    local = _local_path(uri)
    name = os.path.basename((local or uri).rstrip("/\\"))
    if (destination / name).exists():
        raise TracklineException.invalid_parameter_value(
            f"Two artifacts share the file name {name!r}; rename one of them."
        )
    if local is not None:
        source = Path(local)
        if not source.exists():
            raise TracklineException.invalid_parameter_value(f"Artifact {uri!r} does not exist.")
        copied = destination / source.name
        if source.is_dir():
            shutil.copytree(source, copied)
        else:
            shutil.copy2(source, copied)
        return str(copied)
    from trackline.artifacts import download_artifacts

    return download_artifacts(artifact_uri=uri, dst_path=str(destination))


def _pinned_defaults() -> list[str]:
    names = ["cloudpickle"]
    for optional in ("numpy", "pandas"):
        from trackline.models.environment import installed_version

        if installed_version(optional):
            names.append(optional)
    return names


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))
