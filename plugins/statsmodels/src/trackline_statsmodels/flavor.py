"""``trackline.statsmodels``: save, log and load statsmodels results in MLflow's format.

The fitted results object is written with statsmodels' own ``save`` as
``model.statsmodels``. **That file is a pickle** (statsmodels has no other format), so
loading it runs code from the file: load only models from a trusted source.
``TRACKLINE_ALLOW_PICKLE_DESERIALIZATION=false`` (or ``MLFLOW_…``) makes loading refuse it.

The ``python_function`` flavor names ``loader_module: mlflow.statsmodels`` so that MLflow loads
the model too; trackline maps that name back to this module.
"""

from __future__ import annotations

import os
from typing import Any

from trackline.exceptions import TracklineException
from trackline.models import flavor
from trackline.models.model import Model, ModelInfo
from trackline.models.signature import ModelSignature

from trackline_statsmodels.autolog import (
    autolog,  # trackline.statsmodels.autolog(); imports no statsmodels
)

FLAVOR_NAME = "statsmodels"
STATSMODELS_DATA_SUBPATH = "model.statsmodels"

__all__ = [
    "FLAVOR_NAME",
    "autolog",
    "STATSMODELS_DATA_SUBPATH",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]


def _import_statsmodels(saved_version: str | None = None) -> Any:
    return flavor.import_library("statsmodels", "statsmodels", saved_version)


def get_default_pip_requirements() -> list[str]:
    """The requirements a saved model lists: ``statsmodels`` pinned to the installed version."""
    return ["statsmodels"]


def save_model(
    statsmodels_model: Any,
    path: str | os.PathLike[str],
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    trackline_model: Model | None = None,
    remove_data: bool = False,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
) -> None:
    """Save fitted statsmodels results (``model.fit()``'s return value) to the new directory
    ``path``, as ``mlflow.statsmodels.save_model`` does.

    ``remove_data=True`` drops the arrays of length ``nobs`` (training data, residuals)
    before saving, for a smaller file (statsmodels' ``remove_data``).
    """
    statsmodels = _import_statsmodels()
    from statsmodels.base.model import Results
    from statsmodels.base.wrapper import ResultsWrapper

    if not isinstance(statsmodels_model, (Results, ResultsWrapper)):
        raise TracklineException.invalid_parameter_value(
            "statsmodels_model must be fitted statsmodels results (what model.fit() returns), "
            f"got {type(statsmodels_model).__name__}."
        )
    if not isinstance(remove_data, bool):
        raise TracklineException.invalid_parameter_value(
            f"remove_data must be True or False, got {remove_data!r}."
        )
    wrapper = _StatsmodelsModelWrapper(statsmodels_model)
    with flavor.model_directory(path) as folder:
        model = flavor.new_model(trackline_model or mlflow_model, metadata)
        statsmodels_model.save(str(folder / STATSMODELS_DATA_SUBPATH), remove_data)
        code = flavor.copy_code_paths(folder, code_paths)
        flavor.add_pyfunc(model, "mlflow.statsmodels", data=STATSMODELS_DATA_SUBPATH, code=code)
        model.add_flavor(
            FLAVOR_NAME,
            statsmodels_version=statsmodels.__version__,
            data=STATSMODELS_DATA_SUBPATH,
            code=code,
        )
        flavor.finish(
            folder,
            model,
            signature=signature,
            input_example=input_example,
            predict=wrapper.predict,
            requirements=get_default_pip_requirements(),
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            conda_env=conda_env,
        )


def log_model(
    statsmodels_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    remove_data: bool = False,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: Any = None,
    extra_pip_requirements: Any = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
) -> ModelInfo:
    """Log fitted statsmodels results as a logged model of the active run."""
    return flavor.log_model(
        save_model,
        statsmodels_model,
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
        remove_data=remove_data,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _load_file(file: str, saved_version: str | None) -> Any:
    _import_statsmodels(saved_version)
    flavor.require_pickle_allowed(
        "statsmodels models are pickle files, and loading one runs code from it"
    )
    from statsmodels.iolib.smpickle import load_pickle

    try:
        return load_pickle(file)
    except ModuleNotFoundError:
        raise  # a library the pickled results need is missing: not a corrupted file
    except Exception as exc:  # a damaged pickle fails in many ways
        raise flavor.corrupted_model_file(file, exc, "statsmodels", "a statsmodels pickle") from exc


def load_model(model_uri: str, dst_path: str | None = None) -> Any:
    """The statsmodels results saved at ``model_uri`` (unpickled: trusted models only)."""
    folder = flavor.download_model(model_uri, dst_path)
    conf = flavor.flavor_config(folder, FLAVOR_NAME)
    flavor.add_code_to_path(folder, conf)
    file = flavor.model_file(folder, conf.get("data") or STATSMODELS_DATA_SUBPATH, FLAVOR_NAME)
    return _load_file(file, conf.get("statsmodels_version"))


class _StatsmodelsModelWrapper:
    """pyfunc face of statsmodels results: ``predict(exog)``.

    Time-series results (ARIMA, ExponentialSmoothing, ...) forecast instead: the input is one
    row with ``start`` and ``end`` columns, as MLflow defines it.
    """

    def __init__(self, statsmodels_model: Any) -> None:
        self.statsmodels_model = statsmodels_model

    def get_raw_model(self) -> Any:
        return self.statsmodels_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        from statsmodels.tsa.base.tsa_model import TimeSeriesModel

        if isinstance(self.statsmodels_model.model, TimeSeriesModel):
            columns = getattr(data, "columns", ())
            if len(data) != 1 or "start" not in columns or "end" not in columns:
                raise TracklineException.invalid_parameter_value(
                    "A time-series statsmodels model predicts from exactly one row with the "
                    "columns 'start' and 'end' (the forecast range)."
                )
            row = data.iloc[0]
            return self.statsmodels_model.predict(start=row["start"], end=row["end"])
        return self.statsmodels_model.predict(data)


def _load_pyfunc(path: str) -> _StatsmodelsModelWrapper:
    """pyfunc loader (``loader_module: mlflow.statsmodels``); ``path`` is the model file
    named by ``data``, or the model directory."""
    if os.path.isdir(path):
        conf = flavor.flavor_config(path, FLAVOR_NAME)
        version = conf.get("statsmodels_version")
        file = flavor.model_file(path, conf.get("data") or STATSMODELS_DATA_SUBPATH, FLAVOR_NAME)
    else:
        folder = os.path.dirname(path)
        version = flavor.flavor_config(folder, FLAVOR_NAME).get("statsmodels_version")
        file = flavor.model_file(folder, os.path.basename(path), FLAVOR_NAME)
    return _StatsmodelsModelWrapper(_load_file(file, version))
