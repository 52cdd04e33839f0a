"""Fluent logged-model functions (MLflow 3): ``trackline.initialize_logged_model()``…

Re-exported by ``trackline.tracking.fluent``; same names and parameters as ``mlflow.*``.
The *active model* (``set_active_model``) is kept per thread; metrics logged through the
fluent API while a model is active are attached to it, as in MLflow. Outside any
``set_active_model`` call, ``MLFLOW_ACTIVE_MODEL_ID`` (or ``TRACKLINE_ACTIVE_MODEL_ID``)
names the active model.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from trackline.entities import LoggedModel, LoggedModelOutput, LoggedModelStatus, PagedList
from trackline.exceptions import TracklineException
from trackline.tracking.uri import env

SEARCH_PAGE_SIZE = 1000


class _ModelState(threading.local):
    def __init__(self) -> None:
        self.active_model_id: str | None = None
        self.explicitly_cleared = False
        self.last_logged_model_id: str | None = None


_model_state = _ModelState()


def _fluent() -> Any:
    from trackline.tracking import fluent

    return fluent


@dataclass(frozen=True)
class ActiveModel(LoggedModel):
    """The model made active by ``set_active_model``; as a context manager, the model that
    was active before comes back on exit."""

    previous_model_id: str | None = None

    def __enter__(self) -> ActiveModel:
        return self

    def __exit__(self, *exc_info: object) -> bool:
        _model_state.active_model_id = self.previous_model_id
        _model_state.explicitly_cleared = self.previous_model_id is None
        return False


def _set_last_logged_model_id(model_id: str) -> None:
    _model_state.last_logged_model_id = model_id


def initialize_logged_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> LoggedModel:
    """Create a PENDING logged model (finalize it once its files are uploaded).

    ``source_run_id`` defaults to the active run, ``experiment_id`` to that run's
    experiment, else the active experiment.
    """
    fluent = _fluent()
    client = fluent._client()
    if source_run_id is None:
        run = fluent.active_run()
        source_run_id = run.info.run_id if run is not None else None
    if experiment_id is None:
        if source_run_id is not None:
            experiment_id = client.get_run(source_run_id).info.experiment_id
        else:
            experiment_id = fluent._resolve_experiment_id()
    # As in MLflow, a new model carries the context tags a run would (mlflow.user,
    # mlflow.source.*); the caller's tags win.
    all_tags = {**fluent.resolve_context_tags(str(experiment_id)), **(tags or {})}
    model = client.create_logged_model(
        str(experiment_id),
        name=name,
        source_run_id=source_run_id,
        tags=all_tags,
        params=params,
        model_type=model_type,
    )
    _set_last_logged_model_id(model.model_id)
    return model


MODEL_IS_EXTERNAL_TAG = "mlflow.model.isExternal"


def create_external_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> LoggedModel:
    """A READY logged model whose real artifacts live outside trackline (an agent, a service).

    Like MLflow, it is tagged ``mlflow.model.isExternal=true`` and gets a minimal ``MLmodel``
    file (metadata ``mlflow.model.isExternal: true``) so that it can be registered.
    """
    import tempfile
    from pathlib import Path

    from trackline.models.model import Model

    model = initialize_logged_model(
        name=name,
        source_run_id=source_run_id,
        tags={**(tags or {}), MODEL_IS_EXTERNAL_TAG: "true"},
        params=params,
        model_type=model_type,
        experiment_id=experiment_id,
    )
    spec = Model(
        artifact_path=model.artifact_location,
        run_id=model.source_run_id,
        model_uuid=model.model_id,
        model_id=model.model_id,
        metadata={MODEL_IS_EXTERNAL_TAG: True},
    )
    client = _fluent()._client()
    with tempfile.TemporaryDirectory(prefix="trackline-external-model-") as tmp:
        spec.save(Path(tmp) / "MLmodel")
        client.log_model_artifacts(model.model_id, tmp)
    model = client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    _set_last_logged_model_id(model.model_id)
    return model


def finalize_logged_model(model_id: str, status: LoggedModelStatus | str) -> LoggedModel:
    return _fluent()._client().finalize_logged_model(model_id, status)


def get_logged_model(model_id: str) -> LoggedModel:
    return _fluent()._client().get_logged_model(model_id)


def last_logged_model() -> LoggedModel | None:
    """The most recent model created by this thread (``initialize_logged_model``, ``log_model``)."""
    model_id = _model_state.last_logged_model_id
    return None if model_id is None else get_logged_model(model_id)


def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    _fluent()._client().set_logged_model_tags(model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    _fluent()._client().delete_logged_model_tag(model_id, key)


def log_model_params(params: dict[str, Any], model_id: str | None = None) -> None:
    """Log params to ``model_id``, else to the active model, else to the last logged model."""
    model_id = model_id or get_active_model_id() or _model_state.last_logged_model_id
    if model_id is None:
        raise TracklineException.invalid_parameter_value(
            "No model to log params to: pass model_id, call set_active_model(), or log a model "
            "first."
        )
    _fluent()._client().log_model_params(model_id, params)


def log_outputs(models: Sequence[LoggedModelOutput]) -> None:
    """Record logged models as outputs of the active run (started if none is)."""
    fluent = _fluent()
    fluent._client().log_outputs(fluent._run_id(), models)


def search_logged_models(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    datasets: list[dict[str, Any]] | None = None,
    max_results: int | None = None,
    order_by: list[dict[str, Any]] | None = None,
    output_format: str = "pandas",
) -> Any:
    """Every matching model (or the first ``max_results``), as a DataFrame or a list.

    ``experiment_ids`` defaults to the active experiment.
    """
    if output_format not in ("pandas", "list"):
        raise TracklineException.invalid_parameter_value(
            f"Unsupported output_format {output_format!r}: use 'pandas' or 'list'."
        )
    fluent = _fluent()
    client = fluent._client()
    if experiment_ids is None:
        ids = [fluent._resolve_experiment_id()]
    elif isinstance(experiment_ids, (str, int)):
        ids = [str(experiment_ids)]
    else:
        ids = [str(e) for e in experiment_ids]
    models: list[LoggedModel] = []
    token = None
    while max_results is None or len(models) < max_results:
        size = (
            SEARCH_PAGE_SIZE
            if max_results is None
            else min(SEARCH_PAGE_SIZE, max_results - len(models))
        )
        page: PagedList[LoggedModel] = client.search_logged_models(
            ids, filter_string, datasets, size, order_by, token
        )
        models.extend(page)
        token = page.token
        if not token:
            break
    return models if output_format == "list" else logged_models_to_dataframe(models)


def logged_models_to_dataframe(models: Sequence[LoggedModel]) -> Any:
    """One row per model; columns are the attributes, ``status`` as its name."""
    import pandas as pd

    columns = [f.name for f in fields(LoggedModel)]
    rows = []
    for model in models:
        row = asdict(model)
        row["status"] = str(model.status)
        row["metrics"] = list(model.metrics)
        rows.append({name: row[name] for name in columns})
    return pd.DataFrame(rows, columns=columns)


# -- the active model ---------------------------------------------------------------------


def set_active_model(*, name: str | None = None, model_id: str | None = None) -> ActiveModel:
    """Make a model active: by ``model_id``, or by ``name`` (the newest model of that name in
    the active experiment, created if there is none)."""
    if name is None and model_id is None:
        raise TracklineException.invalid_parameter_value(
            "Give name or model_id to set_active_model."
        )
    fluent = _fluent()
    client = fluent._client()
    if model_id is not None:
        model = client.get_logged_model(model_id)
        if name is not None and model.name != name:
            raise TracklineException.invalid_parameter_value(
                f"Logged model {model_id} is named {model.name!r}, not {name!r}."
            )
    else:
        experiment_id = fluent._resolve_experiment_id()
        quoted = name.replace("'", "''")  # type: ignore[union-attr]
        found = client.search_logged_models(
            [experiment_id], filter_string=f"name = '{quoted}'", max_results=1
        )
        model = found[0] if found else client.create_logged_model(experiment_id, name=name)
    previous = get_active_model_id()
    _model_state.active_model_id = model.model_id
    _model_state.explicitly_cleared = False
    values = {f.name: getattr(model, f.name) for f in fields(LoggedModel)}
    return ActiveModel(**values, previous_model_id=previous)


def get_active_model_id() -> str | None:
    if _model_state.active_model_id is not None:
        return _model_state.active_model_id
    if _model_state.explicitly_cleared:
        return None
    return env("ACTIVE_MODEL_ID")


def clear_active_model() -> None:
    _model_state.active_model_id = None
    _model_state.explicitly_cleared = True


__all__ = [
    "ActiveModel",
    "clear_active_model",
    "create_external_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_active_model_id",
    "get_logged_model",
    "initialize_logged_model",
    "last_logged_model",
    "log_model_params",
    "log_outputs",
    "logged_models_to_dataframe",
    "search_logged_models",
    "set_active_model",
    "set_logged_model_tags",
]
