"""``trackline.sklearn``: save, log and load scikit-learn models in MLflow's sklearn format.

Files: ``model.skops`` (default; skops refuses types it does not trust instead of running
them) or ``model.pkl`` (``cloudpickle``/``pickle``: loading runs code from the file). The
``python_function`` flavor names ``loader_module: mlflow.sklearn`` so MLflow loads the model;
trackline maps that name back to this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trackline.exceptions import TracklineException
from trackline.models import flavor
from trackline.models.model import Model, ModelInfo
from trackline.models.signature import ModelSignature

from trackline_sklearn.autolog import autolog  # trackline.sklearn.autolog(); imports no sklearn

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SUPPORTED_SERIALIZATION_FORMATS = (
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
    SERIALIZATION_FORMAT_PICKLE,
)
PYFUNC_PREDICT_FNS = (
    "predict",
    "predict_proba",
    "predict_log_proba",
    "predict_joint_log_proba",
    "score",
)

_FILE_NAMES = {SERIALIZATION_FORMAT_SKOPS: "model.skops"}
_PICKLE_FILE = "model.pkl"

__all__ = [
    "FLAVOR_NAME",
    "autolog",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]


def get_default_pip_requirements(
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
) -> list[str]:
    extra = {
        SERIALIZATION_FORMAT_SKOPS: ["skops"],
        SERIALIZATION_FORMAT_CLOUDPICKLE: ["cloudpickle"],
    }.get(serialization_format, [])
    return ["scikit-learn", "numpy", "scipy", *extra]


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    trackline_model: Model | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    mlflow_model: Model | None = None,
) -> None:
    """Save ``sk_model`` to the new directory ``path`` (MLflow's ``mlflow.sklearn.save_model``)."""
    import sklearn

    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise TracklineException.invalid_parameter_value(
            f"Unknown serialization_format {serialization_format!r}: use one of "
            f"{', '.join(SUPPORTED_SERIALIZATION_FORMATS)}."
        )
    if pyfunc_predict_fn not in PYFUNC_PREDICT_FNS:
        raise TracklineException.invalid_parameter_value(
            f"pyfunc_predict_fn must be one of {', '.join(PYFUNC_PREDICT_FNS)}, "
            f"got {pyfunc_predict_fn!r}."
        )
    if not callable(getattr(sk_model, pyfunc_predict_fn, None)):
        raise TracklineException.invalid_parameter_value(
            f"The model {type(sk_model).__name__} has no {pyfunc_predict_fn}() method."
        )
    file_name = _FILE_NAMES.get(serialization_format, _PICKLE_FILE)
    with flavor.model_directory(path) as folder:
        model = flavor.new_model(trackline_model or mlflow_model, metadata)
        _dump(sk_model, folder / file_name, serialization_format, skops_trusted_types)
        code = flavor.copy_code_paths(folder, code_paths)
        flavor.add_pyfunc(
            model, "mlflow.sklearn", code=code, model_path=file_name, predict_fn=pyfunc_predict_fn
        )
        model.add_flavor(
            FLAVOR_NAME,
            pickled_model=file_name,
            sklearn_version=sklearn.__version__,
            serialization_format=serialization_format,
            skops_trusted_types=skops_trusted_types,
            code=code,
        )
        flavor.finish(
            folder,
            model,
            signature=signature,
            input_example=input_example,
            predict=getattr(sk_model, pyfunc_predict_fn),
            requirements=get_default_pip_requirements(serialization_format),
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )


def _dump(sk_model: Any, file: Path, serialization_format: str, trusted: list[str] | None) -> None:
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        import skops.io
        from skops.io.exceptions import UntrustedTypesFoundException

        try:
            skops.io.dump(sk_model, file)
            # Refuse at save time a model that would be refused at load time.
            skops.io.load(file, trusted=trusted)
        except UntrustedTypesFoundException as exc:
            raise TracklineException.invalid_parameter_value(
                f"skops does not trust some types of this model: {exc}. If loading them is "
                "safe, pass skops_trusted_types=[...] naming them, or save with "
                "serialization_format='cloudpickle' (loading a pickle runs code)."
            ) from exc
        except Exception as exc:
            raise TracklineException.invalid_parameter_value(
                f"skops cannot serialize this model ({type(exc).__name__}: {exc}); skops needs "
                "classes and functions defined at module top level. Use "
                "serialization_format='cloudpickle' instead."
            ) from exc
        return
    if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle as pickler
    else:
        import pickle as pickler
    with open(file, "wb") as out:
        pickler.dump(sk_model, out)


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    name: str | None = None,
    skops_trusted_types: list[str] | None = None,
) -> ModelInfo:
    """Log ``sk_model`` as a logged model of the active run (``models:/m-<id>``)."""
    return flavor.log_model(
        save_model,
        sk_model,
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
        serialization_format=serialization_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        pyfunc_predict_fn=pyfunc_predict_fn,
        metadata=metadata,
        skops_trusted_types=skops_trusted_types,
    )


def _load_file(file: str, serialization_format: str, trusted: list[str] | None) -> Any:
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise TracklineException.invalid_parameter_value(
            f"The model's serialization_format {serialization_format!r} is unknown; expected one "
            f"of {', '.join(SUPPORTED_SERIALIZATION_FORMATS)}."
        )
    if not os.path.isfile(file):
        raise TracklineException(f"The model file {file!r} is missing.", "RESOURCE_DOES_NOT_EXIST")
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        import skops.io
        from skops.io.exceptions import UntrustedTypesFoundException

        try:
            return skops.io.load(file, trusted=trusted)
        except UntrustedTypesFoundException as exc:
            raise TracklineException.invalid_parameter_value(
                f"The skops file holds types that are not trusted: {exc}. Pass "
                "skops_trusted_types=[...] to load_model if you trust them."
            ) from exc
    flavor.require_pickle_allowed(
        f"The model is a {serialization_format} file, and loading it would run code from it"
    )
    with open(file, "rb") as f:
        if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
            import cloudpickle

            return cloudpickle.load(f)
        import pickle

        return pickle.load(f)


def load_model(
    model_uri: str, dst_path: str | None = None, skops_trusted_types: list[str] | None = None
) -> Any:
    """The scikit-learn estimator saved at ``model_uri``.

    ``skops_trusted_types`` adds to the types the model's MLmodel declares as trusted.
    """
    folder = flavor.download_model(model_uri, dst_path)
    conf = flavor.flavor_config(folder, FLAVOR_NAME)
    flavor.add_code_to_path(folder, conf)
    trusted = _trusted(conf, skops_trusted_types)
    return _load_file(
        os.path.join(folder, conf["pickled_model"]),
        conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE),
        trusted,
    )


def _trusted(conf: dict[str, Any], extra: list[str] | None) -> list[str] | None:
    declared = conf.get("skops_trusted_types") or []
    merged = [*declared, *(extra or [])]
    return merged or None


class _SklearnModelWrapper:
    """pyfunc face of an estimator: ``predict`` calls the configured ``predict_fn``."""

    def __init__(self, sk_model: Any, predict_fn: str = "predict") -> None:
        if predict_fn not in PYFUNC_PREDICT_FNS:
            raise TracklineException.invalid_parameter_value(
                f"The model's predict_fn {predict_fn!r} is not one of {', '.join(PYFUNC_PREDICT_FNS)}."
            )
        self.sk_model = sk_model
        self.predict_fn = predict_fn

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return getattr(self.sk_model, self.predict_fn)(data)

    def get_raw_model(self) -> Any:
        return self.sk_model


def _load_pyfunc(path: str) -> _SklearnModelWrapper:
    """pyfunc loader (``loader_module: mlflow.sklearn``); ``path`` is the model directory,
    or the model file itself for older models that set ``data``."""
    folder = flavor.model_folder(path)
    model_meta = Model.load(folder)
    conf = model_meta.flavors.get(FLAVOR_NAME, {})
    pyfunc_conf = model_meta.flavors.get(flavor.PYFUNC_FLAVOR, {})
    if os.path.isfile(path):
        file = path
    else:
        name = pyfunc_conf.get("model_path") or conf.get("pickled_model")
        if not name:
            raise TracklineException.invalid_parameter_value(
                f"The model at {path!r} names no model file (model_path / pickled_model)."
            )
        file = os.path.join(folder, name)
    sk_model = _load_file(
        file,
        conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE),
        _trusted(conf, None),
    )
    return _SklearnModelWrapper(sk_model, pyfunc_conf.get("predict_fn", "predict"))
