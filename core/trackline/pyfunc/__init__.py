"""``trackline.pyfunc``: the generic ``predict`` interface every flavor offers.

``load_model(uri)`` reads the model's ``MLmodel``, finds its ``python_function`` flavor and
calls ``_load_pyfunc(path)`` of the flavor's loader module. Loader modules are named as MLflow
names them (``mlflow.sklearn``, ``mlflow.pyfunc.model``) so one directory loads in both;
trackline maps ``mlflow.<flavor>`` to the module a plugin registered for ``<flavor>`` through
the flavor registry, and ``mlflow.pyfunc.model`` to ``trackline.pyfunc.model``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
from pathlib import Path
from typing import Any

from trackline.exceptions import MissingPluginError, TracklineException
from trackline.models.flavor import (
    PYFUNC_FLAVOR,
    add_code_to_path,
    add_pyfunc,
    copy_code_paths,
    download_model,
    finish,
    model_directory,
    new_model,
)
from trackline.models.flavor import log_model as _log_flavor_model
from trackline.models.model import Model, ModelInfo
from trackline.models.signature import ModelSignature
from trackline.pyfunc.model import (
    PythonModel,
    PythonModelContext,
    _pinned_defaults,
    save_python_model,
)

logger = logging.getLogger(__name__)

FLAVOR_NAME = PYFUNC_FLAVOR
_CORE_LOADERS = {
    "mlflow.pyfunc.model": "trackline.pyfunc.model",
    "trackline.pyfunc.model": "trackline.pyfunc.model",
}

__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "get_model_dependencies",
    "load_model",
    "log_model",
    "resolve_loader_module",
    "save_model",
]


def resolve_loader_module(loader_module: str) -> Any:
    """The module that loads a model whose ``loader_module`` is this name.

    ``mlflow.<flavor>`` / ``trackline.<flavor>`` → the module the plugin for ``<flavor>``
    registered; ``mlflow.pyfunc.model`` → trackline's custom-model loader; any other name is
    a loader shipped with the model (its ``code`` directory) and is imported as is.
    """
    if not isinstance(loader_module, str) or not loader_module:
        raise TracklineException.invalid_parameter_value(
            f"The model's python_function flavor has no valid loader_module: {loader_module!r}."
        )
    if loader_module in _CORE_LOADERS:
        return importlib.import_module(_CORE_LOADERS[loader_module])
    prefix, _, rest = loader_module.partition(".")
    if prefix in ("mlflow", "trackline") and rest:
        flavor = rest.split(".", 1)[0]
        if flavor == "pyfunc":
            raise TracklineException(
                f"trackline cannot load models with loader_module {loader_module!r} yet "
                "(MLflow's GenAI model types); load it with MLflow.",
                "NOT_IMPLEMENTED",
            )
        from trackline.flavors import flavor_module

        module = flavor_module(flavor)
        if module is None:
            raise MissingPluginError(
                f"No installed plugin provides the model flavor {flavor!r} (the model's loader "
                f"is {loader_module!r}); pip install trackline-{flavor}. "
                "Run 'trackline plugins' to see the flavors installed."
            )
        if not callable(getattr(module, "_load_pyfunc", None)):
            raise TracklineException(
                f"The flavor plugin module {module.__name__!r} has no _load_pyfunc(path), so it "
                "cannot load models through trackline.pyfunc."
            )
        return module
    try:
        return importlib.import_module(loader_module)
    except ModuleNotFoundError as exc:
        if exc.name and not loader_module.startswith(exc.name):
            raise  # the loader exists but a library it imports is missing
        raise TracklineException.invalid_parameter_value(
            f"The model's loader module {loader_module!r} cannot be imported ({exc}); it is "
            "neither a trackline/MLflow flavor nor in the model's code directory."
        ) from exc


class PyFuncModel:
    """A loaded model behind the generic interface: ``predict(data, params=None)``.

    Input is checked against the model's signature before the model sees it.
    """

    def __init__(self, model_meta: Model, model_impl: Any, path: str | None = None) -> None:
        if not hasattr(model_impl, "predict"):
            raise TracklineException(
                f"The loaded model {type(model_impl).__name__} has no predict."
            )
        self._model_meta = model_meta
        self._model_impl = model_impl
        self._path = path

    @property
    def metadata(self) -> Model:
        """The model's ``MLmodel`` contents."""
        return self._model_meta

    @property
    def model_id(self) -> str | None:
        return self._model_meta.model_id

    @property
    def loader_module(self) -> str:
        return self._model_meta.flavors[FLAVOR_NAME]["loader_module"]

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        from trackline.models.enforcement import enforce_params, enforce_schema

        signature = self._model_meta.signature
        if signature is not None and signature.inputs is not None:
            data = enforce_schema(data, signature.inputs)
        if signature is not None and signature.params is not None:
            params = enforce_params(params, signature.params)
        elif params:
            params = enforce_params(params, None) or None
        predict = self._model_impl.predict
        if _accepts_params(predict):
            return predict(data, params=params)
        if params:
            logger.warning("The model's predict takes no params; ignoring %s.", sorted(params))
        return predict(data)

    def unwrap_python_model(self) -> Any:
        """The user's ``PythonModel`` instance of a custom model."""
        python_model = getattr(self._model_impl, "python_model", None)
        if python_model is None:
            raise TracklineException.invalid_parameter_value(
                "unwrap_python_model() works only on custom models saved from a PythonModel; "
                f"this model's loader is {self.loader_module!r}."
            )
        return python_model

    def get_raw_model(self) -> Any:
        """The underlying library object (e.g. the scikit-learn estimator)."""
        getter = getattr(self._model_impl, "get_raw_model", None)
        return getter() if getter else self._model_impl

    def __repr__(self) -> str:
        flavors = ", ".join(sorted(self._model_meta.flavors))
        return f"<PyFuncModel loader={self.loader_module!r} flavors=[{flavors}]>"


def _accepts_params(function: Any) -> bool:
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return "params" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def load_model(
    model_uri: str | os.PathLike[str],
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    model_config: dict[str, Any] | None = None,
) -> PyFuncModel:
    """Load any model that has the ``python_function`` flavor.

    ``model_uri``: a local path, ``runs:/<run_id>/<name>``, ``models:/…`` or any artifact URI.
    """
    local = download_model(str(model_uri), dst_path)
    model_meta = Model.load(local)
    conf = model_meta.flavors.get(FLAVOR_NAME)
    if conf is None:
        others = sorted(model_meta.flavors)
        raise TracklineException.invalid_parameter_value(
            f"The model at {str(model_uri)!r} has no python_function flavor, so it cannot be "
            f"loaded as a pyfunc; it has {others}. Load it with trackline.<flavor>.load_model."
        )
    add_code_to_path(local, conf)
    try:
        loader = resolve_loader_module(conf.get("loader_module"))
    except ModuleNotFoundError as exc:
        raise _missing_library(exc, local) from exc
    data_path = os.path.join(local, conf["data"]) if conf.get("data") else local
    load = loader._load_pyfunc
    kwargs = {}
    if model_config is not None:
        if "model_config" not in inspect.signature(load).parameters:
            raise TracklineException.invalid_parameter_value(
                f"The loader {loader.__name__!r} does not take a model_config."
            )
        kwargs["model_config"] = model_config
    try:
        impl = load(data_path, **kwargs)
    except ModuleNotFoundError as exc:
        raise _missing_library(exc, local) from exc
    return PyFuncModel(model_meta, impl, local)


def _missing_library(exc: ModuleNotFoundError, local: str) -> TracklineException:
    from trackline.models.environment import read_requirements

    requirements = read_requirements(local)
    advice = (
        f" The model's requirements.txt lists: {', '.join(requirements)}." if requirements else ""
    )
    return TracklineException(
        f"Loading the model needs the Python module {(exc.name or '?').split('.')[0]!r}, "
        "which is not installed."
        f"{advice} Install them (e.g. pip install -r {os.path.join(local, 'requirements.txt')})."
    )


def get_model_dependencies(model_uri: str, format: str = "pip") -> str:
    """The path of the model's ``requirements.txt`` (``format="pip"``) or ``conda.yaml``."""
    local = download_model(model_uri)
    name = {"pip": "requirements.txt", "conda": "conda.yaml"}.get(format)
    if name is None:
        raise TracklineException.invalid_parameter_value("format must be 'pip' or 'conda'.")
    path = Path(local) / name
    if not path.is_file():
        raise TracklineException(f"The model has no {name}.", "RESOURCE_DOES_NOT_EXIST")
    return str(path)


# -- saving custom models --------------------------------------------------------------------


def save_model(
    path: str | os.PathLike[str],
    loader_module: str | None = None,
    data_path: str | None = None,
    code_paths: list[str] | None = None,
    infer_code_paths: bool = False,
    conda_env: Any = None,
    trackline_model: Model | None = None,
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
    **kwargs: Any,
) -> None:
    """Save a custom model: a ``PythonModel`` (with ``artifacts``) or a ``loader_module``
    with ``data_path``. ``code_paths`` are copied into the model and put on ``sys.path``
    when it loads."""
    if kwargs:
        raise TypeError(f"save_model() got unexpected keyword arguments: {sorted(kwargs)}")
    if infer_code_paths:
        raise TracklineException(
            "infer_code_paths is not supported; list the modules in code_paths.", "NOT_IMPLEMENTED"
        )
    if (python_model is None) == (loader_module is None):
        raise TracklineException.invalid_parameter_value(
            "Give exactly one of python_model (a PythonModel) or loader_module (with data_path)."
        )
    if python_model is not None and data_path is not None:
        raise TracklineException.invalid_parameter_value(
            "data_path goes with loader_module; a python_model takes artifacts= instead."
        )
    if artifacts and loader_module is not None:
        raise TracklineException.invalid_parameter_value(
            "artifacts go with python_model; a loader_module takes data_path= instead."
        )
    with model_directory(path) as folder:
        model = new_model(trackline_model or mlflow_model, metadata)
        code = copy_code_paths(folder, code_paths)
        predict = None
        if python_model is not None:
            conf = save_python_model(folder, python_model, artifacts)
            if model_config is not None:
                conf["model_config"] = model_config
            # MLflow writes "code: null" for custom models; other flavors leave it out.
            add_pyfunc(model, "mlflow.pyfunc.model", **conf)
            model.flavors[FLAVOR_NAME]["code"] = code
            predict = _example_predictor(folder, python_model, conf)
        else:
            data = None
            if data_path is not None:
                source = Path(data_path)
                if not source.exists():
                    raise TracklineException.invalid_parameter_value(
                        f"data_path {data_path!r} does not exist."
                    )
                data = source.name
                if source.is_dir():
                    import shutil

                    shutil.copytree(source, folder / data)
                else:
                    import shutil

                    shutil.copy2(source, folder / data)
            add_pyfunc(model, loader_module, data=data, code=code)  # type: ignore[arg-type]
        finish(
            folder,
            model,
            signature=signature,
            input_example=input_example,
            predict=predict,
            requirements=_pinned_defaults(),
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )


def _example_predictor(folder: Path, python_model: Any, conf: dict[str, Any]) -> Any:
    """Predict with the in-memory model (nothing is unpickled) to infer the output schema."""
    from trackline.pyfunc.model import _PythonModelWrapper

    def predict(example: Any) -> Any:
        artifacts = {
            name: str(folder / info["path"]) for name, info in (conf.get("artifacts") or {}).items()
        }
        context = PythonModelContext(artifacts, conf.get("model_config"))
        load_context = getattr(python_model, "load_context", None)
        if load_context is not None:
            load_context(context=context)
        return _PythonModelWrapper(python_model, context).predict(example)

    return predict


def log_model(
    artifact_path: str | None = None,
    loader_module: str | None = None,
    data_path: str | None = None,
    code_paths: list[str] | None = None,
    infer_code_paths: bool = False,
    conda_env: Any = None,
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
) -> ModelInfo:
    """Log a custom model as a logged model of the active run (MLflow 3 semantics)."""
    return _log_flavor_model(
        save_model,
        name=name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        model_id=model_id,
        loader_module=loader_module,
        data_path=data_path,
        code_paths=code_paths,
        infer_code_paths=infer_code_paths,
        conda_env=conda_env,
        python_model=python_model,
        artifacts=artifacts,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        model_config=model_config,
    )
