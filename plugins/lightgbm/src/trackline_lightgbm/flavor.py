"""``trackline.lightgbm``: save, log and load LightGBM models in MLflow's ``lightgbm`` format.

Files, as MLflow 3 writes them:

- a ``lightgbm.Booster`` → ``model.lgb``, LightGBM's own text format (no pickle; loading
  parses text and runs no code);
- a scikit-learn API model (``LGBMClassifier``, ``LGBMRegressor``, ``LGBMRanker``) →
  ``model.skops`` (default: skops refuses types it was not told to trust instead of running
  them), or ``model.pkl`` with ``serialization_format="cloudpickle"``/``"pickle"`` (loading a
  pickle runs code from the file; ``TRACKLINE_ALLOW_PICKLE_DESERIALIZATION=false`` refuses it).

The ``python_function`` flavor names ``loader_module: mlflow.lightgbm`` so that MLflow loads
the model too; trackline maps that name back to this module.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from trackline.exceptions import TracklineException
from trackline.models import flavor
from trackline.models.model import Model, ModelInfo
from trackline.models.signature import ModelSignature

from trackline_lightgbm.autolog import autolog  # trackline.lightgbm.autolog(); imports no lightgbm

FLAVOR_NAME = "lightgbm"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SUPPORTED_SERIALIZATION_FORMATS = (
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
    SERIALIZATION_FORMAT_PICKLE,
)
BOOSTER_CLASS = "lightgbm.basic.Booster"
BOOSTER_FILE = "model.lgb"
# What a LightGBM scikit-learn model is made of, for skops (MLflow trusts the same).
DEFAULT_SKOPS_TRUSTED_TYPES = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "lightgbm.sklearn.LGBMRanker",
)

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


def _import_lightgbm(saved_version: str | None = None) -> Any:
    return flavor.import_library("lightgbm", "LightGBM", saved_version)


def get_default_pip_requirements(
    include_cloudpickle: bool = False, include_skops: bool = False
) -> list[str]:
    """The requirements a saved model lists, pinned to the installed versions."""
    return [
        "lightgbm",
        *(["cloudpickle"] if include_cloudpickle else []),
        *(["skops"] if include_skops else []),
    ]


def save_model(
    lgb_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    trackline_model: Model | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    skops_trusted_types: list[str] | None = None,
    mlflow_model: Model | None = None,
) -> None:
    """Save ``lgb_model`` (a ``lightgbm.Booster`` or a LightGBM scikit-learn model) to the new
    directory ``path``, as ``mlflow.lightgbm.save_model`` does.

    ``serialization_format`` applies to scikit-learn API models only (a Booster is always
    LightGBM's text file): ``"skops"`` (default), ``"cloudpickle"`` or ``"pickle"``.
    """
    lgb = _import_lightgbm()
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise TracklineException.invalid_parameter_value(
            f"Unknown serialization_format {serialization_format!r}: use one of "
            f"{', '.join(SUPPORTED_SERIALIZATION_FORMATS)}."
        )
    is_booster = isinstance(lgb_model, lgb.Booster)
    if not is_booster and not isinstance(lgb_model, lgb.LGBMModel):
        raise TracklineException.invalid_parameter_value(
            "lgb_model must be a lightgbm.Booster or a LightGBM scikit-learn model (LGBMModel), "
            f"got {type(lgb_model).__name__}."
        )
    if not is_booster and not getattr(lgb_model, "fitted_", False):
        raise TracklineException.invalid_parameter_value(
            f"The {type(lgb_model).__name__} is not fitted; call fit() before saving it."
        )
    if is_booster:
        file_name, fmt, trusted = BOOSTER_FILE, None, None
    elif serialization_format == SERIALIZATION_FORMAT_SKOPS:
        file_name, fmt = "model.skops", serialization_format
        trusted = sorted({*DEFAULT_SKOPS_TRUSTED_TYPES, *(skops_trusted_types or [])})
    else:
        file_name, fmt, trusted = "model.pkl", serialization_format, None
    with flavor.model_directory(path) as folder:
        model = flavor.new_model(trackline_model or mlflow_model, metadata)
        if is_booster:
            lgb_model.save_model(str(folder / file_name))
        else:
            _dump(lgb_model, folder / file_name, serialization_format, trusted)
        code = flavor.copy_code_paths(folder, code_paths)
        flavor.add_pyfunc(model, "mlflow.lightgbm", data=file_name, code=code)
        model.add_flavor(
            FLAVOR_NAME,
            lgb_version=lgb.__version__,
            data=file_name,
            model_class=flavor.class_name(lgb_model),
            code=code,
            serialization_format=fmt,
            skops_trusted_types=trusted,
        )
        flavor.finish(
            folder,
            model,
            signature=signature,
            input_example=input_example,
            predict=lgb_model.predict,
            requirements=get_default_pip_requirements(
                include_cloudpickle=fmt == SERIALIZATION_FORMAT_CLOUDPICKLE,
                include_skops=fmt == SERIALIZATION_FORMAT_SKOPS,
            ),
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )


def _dump(lgb_model: Any, file: Path, serialization_format: str, trusted: list[str] | None) -> None:
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        import skops.io

        skops.io.dump(lgb_model, file)
        # Refuse at save time a model that would be refused at load time.
        untrusted = sorted(set(skops.io.get_untrusted_types(file=file)) - set(trusted or []))
        if untrusted:
            raise TracklineException.invalid_parameter_value(
                f"skops would not trust these types of the model when loading it: {untrusted}. "
                "If they are safe, pass skops_trusted_types=[...] naming them, or save with "
                "serialization_format='cloudpickle' (loading a pickle runs code)."
            )
        return
    if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        import cloudpickle as pickler
    else:
        import pickle as pickler
    with open(file, "wb") as out:
        pickler.dump(lgb_model, out)


def log_model(
    lgb_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    skops_trusted_types: list[str] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
) -> ModelInfo:
    """Log ``lgb_model`` as a logged model of the active run (``models:/m-<id>``)."""
    return flavor.log_model(
        save_model,
        lgb_model,
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
        metadata=metadata,
        serialization_format=serialization_format,
        skops_trusted_types=skops_trusted_types,
    )


def _load_from_folder(folder: str, extra_trusted: list[str] | None = None) -> Any:
    conf = flavor.flavor_config(folder, FLAVOR_NAME)
    lgb = _import_lightgbm(conf.get("lgb_version"))
    file = flavor.model_file(folder, conf.get("data"), FLAVOR_NAME)
    if (conf.get("model_class") or BOOSTER_CLASS) == BOOSTER_CLASS:
        try:
            return lgb.Booster(model_file=file)
        except lgb.basic.LightGBMError as exc:
            raise flavor.corrupted_model_file(file, exc, "LightGBM") from exc
    # Models written before MLflow offered skops carry no serialization_format: cloudpickle.
    fmt = conf.get("serialization_format") or SERIALIZATION_FORMAT_CLOUDPICKLE
    if fmt not in SUPPORTED_SERIALIZATION_FORMATS:
        raise TracklineException.invalid_parameter_value(
            f"The model's serialization_format {fmt!r} is unknown; expected one of "
            f"{', '.join(SUPPORTED_SERIALIZATION_FORMATS)}."
        )
    if fmt == SERIALIZATION_FORMAT_SKOPS:
        import skops.io
        from skops.io.exceptions import UntrustedTypesFoundException

        # The MLmodel file cannot widen the trust on its own: of the types it lists, only
        # LightGBM's own are taken; anything else must come from the caller.
        declared = conf.get("skops_trusted_types") or []
        trusted = [t for t in declared if t in DEFAULT_SKOPS_TRUSTED_TYPES]
        trusted += list(extra_trusted or [])
        try:
            return skops.io.load(file, trusted=trusted or None)
        except UntrustedTypesFoundException as exc:
            ignored = sorted(set(declared) - set(trusted))
            note = f" (the MLmodel lists {ignored}, which trackline does not trust on its word)"
            raise TracklineException.invalid_parameter_value(
                f"The skops file holds types that are not trusted: {exc}"
                f"{note if ignored else ''}. Pass skops_trusted_types=[...] to load_model if "
                "you trust them."
            ) from exc
        except Exception as exc:
            raise flavor.corrupted_model_file(file, exc, "LightGBM") from exc
    flavor.require_pickle_allowed(
        f"The model is a {fmt} file, and loading it would run code from it"
    )
    import pickle

    with open(file, "rb") as f:
        try:
            if fmt == SERIALIZATION_FORMAT_CLOUDPICKLE:
                import cloudpickle

                return cloudpickle.load(f)
            return pickle.load(f)
        except ModuleNotFoundError:
            raise  # a library the pickled model needs is missing: not a corrupted file
        except Exception as exc:  # a damaged pickle fails in many ways
            raise flavor.corrupted_model_file(file, exc, "LightGBM") from exc


def load_model(
    model_uri: str, dst_path: str | None = None, skops_trusted_types: list[str] | None = None
) -> Any:
    """The LightGBM model saved at ``model_uri``: a ``Booster`` or the scikit-learn API model.

    ``skops_trusted_types`` adds to the types the model's MLmodel declares as trusted.
    """
    folder = flavor.download_model(model_uri, dst_path)
    conf = flavor.flavor_config(folder, FLAVOR_NAME)
    flavor.add_code_to_path(folder, conf)
    return _load_from_folder(folder, skops_trusted_types)


class _LGBModelWrapper:
    """pyfunc face of a LightGBM model: ``predict`` on the data as given."""

    def __init__(self, lgb_model: Any) -> None:
        self.lgb_model = lgb_model

    def get_raw_model(self) -> Any:
        return self.lgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.lgb_model.predict(data)


def _load_pyfunc(path: str) -> _LGBModelWrapper:
    """pyfunc loader (``loader_module: mlflow.lightgbm``); ``path`` is the model file named by
    ``data``, or the model directory."""
    folder = flavor.model_folder(path)
    return _LGBModelWrapper(_load_from_folder(folder))
