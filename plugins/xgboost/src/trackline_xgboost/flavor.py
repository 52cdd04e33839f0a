"""``trackline.xgboost``: save, log and load XGBoost models in MLflow's ``xgboost`` flavor format.

The model is written with XGBoost's own ``save_model`` in a native format: ``model.ubj``
(UBJSON, the default) or ``model.json``. Neither is a pickle: loading parses data and runs
no code from the file. The MLmodel's ``model_class`` names the class to rebuild (a
``Booster`` or a scikit-learn API estimator such as ``XGBClassifier``); only classes of the
``xgboost`` package are accepted, so a model file cannot make trackline import anything else.
The ``python_function`` flavor names ``loader_module: mlflow.xgboost`` so that MLflow loads
the model too; trackline maps that name back to this module.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
from typing import Any

from trackline.exceptions import TracklineException
from trackline.models import flavor
from trackline.models.model import Model, ModelInfo
from trackline.models.signature import ModelSignature

from trackline_xgboost.autolog import autolog  # trackline.xgboost.autolog(); imports no xgboost

logger = logging.getLogger(__name__)

FLAVOR_NAME = "xgboost"
MODEL_FORMAT_UBJ = "ubj"
MODEL_FORMAT_JSON = "json"
SUPPORTED_MODEL_FORMATS = (MODEL_FORMAT_UBJ, MODEL_FORMAT_JSON)
_DEFAULT_MODEL_CLASS = "xgboost.core.Booster"

__all__ = [
    "FLAVOR_NAME",
    "autolog",
    "MODEL_FORMAT_JSON",
    "MODEL_FORMAT_UBJ",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]


def _import_xgboost(saved_version: str | None = None) -> Any:
    return flavor.import_library("xgboost", "XGBoost", saved_version)


def get_default_pip_requirements() -> list[str]:
    """The requirements a saved model lists: ``xgboost`` pinned to the installed version."""
    return ["xgboost"]


def save_model(
    xgb_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    trackline_model: Model | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    model_format: str = MODEL_FORMAT_UBJ,
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
) -> None:
    """Save ``xgb_model`` (an ``xgboost.Booster`` or a scikit-learn API model such as
    ``XGBClassifier``) to the new directory ``path``, as ``mlflow.xgboost.save_model`` does.

    ``model_format``: ``"ubj"`` (default) or ``"json"``; both are XGBoost's own formats.
    """
    xgb = _import_xgboost()
    if model_format not in SUPPORTED_MODEL_FORMATS:
        raise TracklineException.invalid_parameter_value(
            f"Unknown model_format {model_format!r}: use one of "
            f"{', '.join(SUPPORTED_MODEL_FORMATS)} (XGBoost's native formats)."
        )
    if not isinstance(xgb_model, (xgb.Booster, xgb.XGBModel)):
        raise TracklineException.invalid_parameter_value(
            f"xgb_model must be an xgboost.Booster or an XGBoost scikit-learn model "
            f"(XGBModel), got {type(xgb_model).__name__}."
        )
    if isinstance(xgb_model, xgb.XGBModel) and not _is_fitted(xgb_model):
        raise TracklineException.invalid_parameter_value(
            f"The {type(xgb_model).__name__} is not fitted; call fit() before saving it."
        )
    file_name = f"model.{model_format}"
    with flavor.model_directory(path) as folder:
        model = flavor.new_model(trackline_model or mlflow_model, metadata)
        xgb_model.save_model(str(folder / file_name))
        code = flavor.copy_code_paths(folder, code_paths)
        flavor.add_pyfunc(model, "mlflow.xgboost", data=file_name, code=code)
        model.add_flavor(
            FLAVOR_NAME,
            xgb_version=xgb.__version__,
            data=file_name,
            model_class=flavor.class_name(xgb_model),
            model_format=model_format,
            code=code,
        )
        flavor.finish(
            folder,
            model,
            signature=signature,
            input_example=input_example,
            predict=_XGBModelWrapper(xgb_model).predict,
            requirements=get_default_pip_requirements(),
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )


def _is_fitted(model: Any) -> bool:
    try:
        model.get_booster()
    except Exception:
        return False
    return True


def log_model(
    xgb_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    model_format: str = MODEL_FORMAT_UBJ,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
) -> ModelInfo:
    """Log ``xgb_model`` as a logged model of the active run (``models:/m-<id>``)."""
    return flavor.log_model(
        save_model,
        xgb_model,
        name=name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        await_registration_for=await_registration_for,
        params=params,
        tags=tags,
        model_type=model_type,
        step=step,
        model_id=model_id,
        conda_env=conda_env,
        code_paths=code_paths,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        model_format=model_format,
        metadata=metadata,
    )


def _model_class(xgb: Any, name: str) -> type:
    """The class ``model_class`` names, if it is an XGBoost model class (nothing else is
    imported: the MLmodel file must not choose arbitrary code to run)."""
    module_name, _, class_name = name.rpartition(".")
    if module_name != "xgboost" and not module_name.startswith("xgboost."):
        raise TracklineException.invalid_parameter_value(
            f"The model's model_class {name!r} is not an XGBoost class; refusing to load it."
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise TracklineException.invalid_parameter_value(
            f"The model's model_class {name!r} does not exist in the installed xgboost "
            f"{xgb.__version__}."
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, (xgb.Booster, xgb.XGBModel))):
        raise TracklineException.invalid_parameter_value(
            f"The model's model_class {name!r} is not an XGBoost model class."
        )
    return cls


def _load_from_folder(folder: str) -> Any:
    conf = flavor.flavor_config(folder, FLAVOR_NAME)
    xgb = _import_xgboost(conf.get("xgb_version"))
    cls = _model_class(xgb, conf.get("model_class") or _DEFAULT_MODEL_CLASS)
    file = flavor.model_file(folder, conf.get("data"), FLAVOR_NAME)
    model = cls()
    try:
        model.load_model(file)
    except xgb.core.XGBoostError as exc:
        raise flavor.corrupted_model_file(file, exc, "XGBoost", "an XGBoost model") from exc
    return model


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """The XGBoost model saved at ``model_uri``: a ``Booster`` or the scikit-learn API class it
    was saved from (``model_class``)."""
    folder = flavor.download_model(model_uri, dst_path)
    conf = flavor.flavor_config(folder, FLAVOR_NAME)
    flavor.add_code_to_path(folder, conf)
    return _load_from_folder(folder)


def _accepted(function: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The ``params`` that ``function`` accepts; the others are dropped with a warning."""
    parameters = inspect.signature(function).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return params
    accepted = {k: v for k, v in params.items() if k in parameters}
    if dropped := sorted(set(params) - set(accepted)):
        logger.warning("The XGBoost model's predict does not take %s; ignoring them.", dropped)
    return accepted


class _XGBModelWrapper:
    """pyfunc face of an XGBoost model: a ``Booster`` gets its input as a ``DMatrix``."""

    def __init__(self, xgb_model: Any) -> None:
        self.xgb_model = xgb_model

    def get_raw_model(self) -> Any:
        return self.xgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import xgboost as xgb

        params = _accepted(self.xgb_model.predict, dict(params or {}))
        params.pop("validate_features", None)
        if isinstance(self.xgb_model, xgb.Booster):
            return self.xgb_model.predict(xgb.DMatrix(data), validate_features=True, **params)
        return self.xgb_model.predict(data, validate_features=True, **params)


def _load_pyfunc(path: str) -> _XGBModelWrapper:
    """pyfunc loader (``loader_module: mlflow.xgboost``); ``path`` is the model file named
    by ``data``, or the model directory."""
    folder = flavor.model_folder(path)
    return _XGBModelWrapper(_load_from_folder(folder))
