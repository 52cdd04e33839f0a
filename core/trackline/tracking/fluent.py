"""The fluent tracking API: ``trackline.start_run()``, ``trackline.log_metric()``…

Same names, parameters and behaviour as MLflow's ``mlflow.*`` functions. The active run is
kept per thread; functions that need a run start one when none is active.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trackline.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunTag,
    ViewType,
)
from trackline.exceptions import TracklineException
from trackline.tracking import async_logging
from trackline.tracking.client import (
    PARENT_RUN_ID_TAG,
    RUN_NAME_TAG,
    TracklineClient,
    dataset_input_from,
    now_ms,
)
from trackline.tracking.uri import (
    env,
    get_registry_uri,
    get_tracking_uri,
    is_tracking_uri_set,
    set_registry_uri,
)
from trackline.tracking.uri import set_tracking_uri as _set_tracking_uri

logger = logging.getLogger(__name__)

NOTE_TAG = "mlflow.note.content"
DEFAULT_EXPERIMENT_ID = "0"
SEARCH_RUNS_PAGE_SIZE = 50000

__all__ = [
    "ActiveRun",
    "get_registry_uri",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "set_registry_uri",
]


@dataclass(frozen=True)
class ActiveRun(Run):
    """The run returned by ``start_run``; as a context manager it ends the run on exit."""

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        status = "FINISHED" if exc_type is None else "FAILED"
        end_run(status)
        return False


class _State(threading.local):
    def __init__(self) -> None:
        self.run_stack: list[ActiveRun] = []
        self.last_run_id: str | None = None


_state = _State()
_active_experiment_id: str | None = None


def _client() -> TracklineClient:
    return TracklineClient(get_tracking_uri())


# -- tracking URI -------------------------------------------------------------------------


def set_tracking_uri(uri: Any) -> None:
    """Send runs to ``uri``; forgets the active experiment, which belonged to the old store."""
    global _active_experiment_id
    _set_tracking_uri(uri)
    _active_experiment_id = None


# -- experiments --------------------------------------------------------------------------


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active (creating it by name if needed) and return it."""
    global _active_experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise TracklineException.invalid_parameter_value(
            "Give exactly one of experiment_name or experiment_id to set_experiment."
        )
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        experiment = client.get_experiment_by_name(experiment_name)  # type: ignore[arg-type]
        if experiment is None:
            logger.info("Experiment %r does not exist; creating it.", experiment_name)
            try:
                new_id = client.create_experiment(experiment_name)  # type: ignore[arg-type]
            except TracklineException as exc:
                # Another process may have created it in the meantime.
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                new_id = client.get_experiment_by_name(experiment_name).experiment_id  # type: ignore
            experiment = client.get_experiment(new_id)
    if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
        raise TracklineException.invalid_parameter_value(
            f"Cannot set a deleted experiment {experiment.name!r} as the active experiment. "
            "Restore it with 'trackline experiments restore' or use another name."
        )
    _active_experiment_id = experiment.experiment_id
    return experiment


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    _client().restore_experiment(experiment_id)


def rename_experiment(experiment_id: str, new_name: str) -> None:
    _client().rename_experiment(experiment_id, new_name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """All matching experiments (every page), or the first ``max_results``."""
    client = _client()
    results: list[Experiment] = []
    token = None
    while True:
        page_size = 1000 if max_results is None else min(1000, max_results - len(results))
        page = client.search_experiments(view_type, page_size, filter_string, order_by, token)
        results.extend(page)
        token = page.token
        if not token or (max_results is not None and len(results) >= max_results):
            return results


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_resolve_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


def delete_experiment_tag(key: str) -> None:
    _client().delete_experiment_tag(_resolve_experiment_id(), key)


def _resolve_experiment_id() -> str:
    """Active experiment > MLFLOW_EXPERIMENT_NAME > MLFLOW_EXPERIMENT_ID > plugins > "0"."""
    if _active_experiment_id is not None:
        return _active_experiment_id
    name = env("EXPERIMENT_NAME")
    env_id = env("EXPERIMENT_ID")
    if name:
        experiment = set_experiment(experiment_name=name)
        if env_id and env_id != experiment.experiment_id:
            raise TracklineException.invalid_parameter_value(
                f"MLFLOW_EXPERIMENT_NAME={name!r} is experiment {experiment.experiment_id}, "
                f"but MLFLOW_EXPERIMENT_ID={env_id!r}: set only one, or make them agree."
            )
        return experiment.experiment_id
    if env_id:
        return _client().get_experiment(env_id).experiment_id
    from trackline.plugins.manager import get_plugin_manager

    from_plugin = get_plugin_manager().hook.default_experiment_id()
    return from_plugin or DEFAULT_EXPERIMENT_ID


# -- runs ---------------------------------------------------------------------------------


def active_run() -> ActiveRun | None:
    return _state.run_stack[-1] if _state.run_stack else None


def last_active_run() -> Run | None:
    current = active_run()
    if current is not None:
        return get_run(current.info.run_id)
    return get_run(_state.last_run_id) if _state.last_run_id else None


def resolve_context_tags(experiment_id: str) -> dict[str, str]:
    """Tags every new run gets: plugin context, then MLFLOW_RUN_CONTEXT (a JSON object)."""
    from trackline.plugins.manager import get_plugin_manager

    results = get_plugin_manager().hook.run_context_tags(experiment_id=experiment_id)
    tags: dict[str, str] = {}
    # pluggy returns results in call order, built-ins (trylast) last: apply them first.
    for result in reversed(results):
        tags.update(result or {})
    extra = env("RUN_CONTEXT")
    if extra:
        try:
            tags.update({str(k): str(v) for k, v in json.loads(extra).items()})
        except (ValueError, AttributeError) as exc:
            raise TracklineException.invalid_parameter_value(
                f"MLFLOW_RUN_CONTEXT must be a JSON object of tags: {exc}"
            ) from exc
    return tags


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run, or resume ``run_id`` (or ``MLFLOW_RUN_ID``), and make it active."""
    current = active_run()
    if current is not None and not nested:
        raise TracklineException.invalid_parameter_value(
            f"Run with UUID {current.info.run_id} is already active. To start a nested run, "
            "call start_run with nested=True; or end the active run first with end_run()."
        )
    client = _client()
    resume_id = (
        run_id or os.environ.pop("TRACKLINE_RUN_ID", None) or os.environ.pop("MLFLOW_RUN_ID", None)
    )
    if resume_id:
        run = _resume_run(client, resume_id, experiment_id, run_name, tags, description)
    else:
        run = _create_run(client, experiment_id, run_name, nested, parent_run_id, tags, description)
    active = ActiveRun(run.info, run.data, run.inputs)
    _state.run_stack.append(active)
    return active


def _resume_run(
    client: TracklineClient,
    run_id: str,
    experiment_id: str | None,
    run_name: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
) -> Run:
    run = client.get_run(run_id)
    expected = experiment_id or _active_experiment_id
    if expected is not None and str(expected) != run.info.experiment_id:
        raise TracklineException.invalid_parameter_value(
            f"Cannot resume run {run_id}: it belongs to experiment {run.info.experiment_id}, "
            f"not the active experiment {expected}."
        )
    if run.info.lifecycle_stage == LifecycleStage.DELETED:
        raise TracklineException.invalid_parameter_value(
            f"Cannot resume run {run_id}: it is deleted. Restore it first."
        )
    client._store.update_run_info(run_id, "RUNNING", None, run_name)
    extra = {str(k): v for k, v in (tags or {}).items()}
    if description is not None:
        extra[NOTE_TAG] = description
    if extra:
        client.log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in extra.items()])
    return client.get_run(run_id)


def _create_run(
    client: TracklineClient,
    experiment_id: str | None,
    run_name: str | None,
    nested: bool,
    parent_run_id: str | None,
    tags: dict[str, Any] | None,
    description: str | None,
) -> Run:
    current = active_run()
    if parent_run_id is not None:
        if current is not None and current.info.run_id != parent_run_id:
            raise TracklineException.invalid_parameter_value(
                f"parent_run_id {parent_run_id} is not the active run {current.info.run_id}."
            )
        parent = client.get_run(parent_run_id)
        if parent.info.lifecycle_stage == LifecycleStage.DELETED:
            raise TracklineException.invalid_parameter_value(
                f"Cannot start a child of run {parent_run_id}: it is deleted."
            )
    elif nested and current is not None:
        parent_run_id = current.info.run_id
    exp_id = str(experiment_id) if experiment_id is not None else _resolve_experiment_id()
    user_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    if description is not None:
        if NOTE_TAG in user_tags and user_tags[NOTE_TAG] != description:
            raise TracklineException.invalid_parameter_value(
                f"description and the {NOTE_TAG} tag disagree; give only one of them."
            )
        user_tags[NOTE_TAG] = description
    all_tags = resolve_context_tags(exp_id)
    if parent_run_id is not None:
        all_tags[PARENT_RUN_ID_TAG] = parent_run_id
    if run_name is not None:
        all_tags[RUN_NAME_TAG] = run_name
    all_tags.update(user_tags)
    return client.create_run(exp_id, tags=all_tags, run_name=run_name)


def end_run(status: str = "FINISHED") -> None:
    """End the active run (if any) with ``status`` and make its parent active again."""
    if not _state.run_stack:
        return
    run = _state.run_stack.pop()
    _state.last_run_id = run.info.run_id
    try:
        queue = async_logging.existing_logger(get_tracking_uri())
        if queue is not None:
            # This process logs asynchronously to the store: the end of the run queues behind
            # its values (and is journaled with them if the store is down), then we wait.
            from trackline.entities import RunStatus

            RunStatus.from_string(status)
            queue.submit(run.info.run_id, terminate=(status, now_ms()))
            queue.flush()
        else:
            _client().set_terminated(run.info.run_id, status)
    except TracklineException:
        _state.run_stack.append(run)
        raise


def _end_all_runs_at_exit() -> None:
    while _state.run_stack:
        try:
            end_run("FINISHED")
        except Exception as exc:  # never block interpreter exit
            logger.warning("Could not end run at exit: %s", exc)
            _state.run_stack.pop()


atexit.register(_end_all_runs_at_exit)


def _run_id(run_id: str | None = None) -> str:
    if run_id is not None:
        return run_id
    current = active_run()
    if current is None:
        current = start_run()
    return current.info.run_id


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    return _client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    _client().restore_run(run_id)


# -- logging ------------------------------------------------------------------------------


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    return _client().log_param(_run_id(), key, value, synchronous=synchronous)


def log_params(
    params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None
) -> async_logging.RunOperations | None:
    return _client().log_batch(
        _run_id(run_id),
        params=[Param(str(k), str(v)) for k, v in params.items()],
        synchronous=synchronous,
    )


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> async_logging.RunOperations | None:
    dataset_name = getattr(dataset, "name", None)
    dataset_digest = getattr(dataset, "digest", None)
    model_id = model_id or get_active_model_id()  # metrics of the active model belong to it
    return _client().log_metric(
        _run_id(run_id),
        key,
        value,
        timestamp,
        step,
        synchronous=synchronous,
        dataset_name=dataset_name,
        dataset_digest=dataset_digest,
        model_id=model_id,
    )


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> async_logging.RunOperations | None:
    from trackline.tracking.client import _as_metric_value

    timestamp = now_ms() if timestamp is None else timestamp
    step = 0 if step is None else step
    dataset_name = getattr(dataset, "name", None)
    dataset_digest = getattr(dataset, "digest", None)
    model_id = model_id or get_active_model_id()
    batch = [
        Metric(
            k,
            _as_metric_value(k, v),
            timestamp,
            step,
            dataset_name,
            dataset_digest,
            model_id,
        )
        for k, v in metrics.items()
    ]
    return _client().log_batch(_run_id(run_id), metrics=batch, synchronous=synchronous)


def set_tag(
    key: str, value: Any, synchronous: bool | None = None
) -> async_logging.RunOperations | None:
    return _client().set_tag(_run_id(), key, value, synchronous=synchronous)


def set_tags(
    tags: dict[str, Any], synchronous: bool | None = None
) -> async_logging.RunOperations | None:
    return _client().log_batch(
        _run_id(), tags=[RunTag(str(k), str(v)) for k, v in tags.items()], synchronous=synchronous
    )


def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id(), key)


def log_artifact(
    local_path: str, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _client().log_artifact(_run_id(run_id), local_path, artifact_path)


def log_artifacts(
    local_dir: str, artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _client().log_artifacts(_run_id(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_text(_run_id(run_id), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    _client().log_dict(_run_id(run_id), dictionary, artifact_file)


def log_figure(
    figure: Any,
    artifact_file: str,
    *,
    save_kwargs: dict[str, Any] | None = None,
) -> None:
    _client().log_figure(_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    _client().log_image(_run_id(), image, artifact_file, key, step, timestamp)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_table(_run_id(run_id), data, artifact_file)


def load_table(
    artifact_file: str,
    run_ids: Sequence[str] | None = None,
    extra_columns: Sequence[str] | None = None,
) -> Any:
    return _client().load_table(_resolve_experiment_id(), artifact_file, run_ids, extra_columns)


def log_input(
    dataset: Any = None,
    context: str | None = None,
    tags: dict[str, str] | None = None,
    model: Any = None,
) -> None:
    if dataset is None and model is None:
        return
    datasets = [] if dataset is None else [dataset_input_from(dataset, context, tags)]
    _client().log_inputs(_run_id(), datasets, models=None if model is None else [model])


def log_inputs(
    datasets: Sequence[Any] | None = None,
    contexts: Sequence[str | None] | None = None,
    tags_list: Sequence[dict[str, str] | None] | None = None,
    models: Any = None,
) -> None:
    datasets = list(datasets or [])
    contexts = list(contexts or [None] * len(datasets))
    tags_list = list(tags_list or [None] * len(datasets))
    inputs = [
        dataset_input_from(d, c, t) for d, c, t in zip(datasets, contexts, tags_list, strict=True)
    ]
    if inputs or models:
        _client().log_inputs(_run_id(), inputs, models=models)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    return _client().get_artifact_uri(_run_id(), artifact_path)


def flush(timeout: float | None = None) -> None:
    """Wait until everything logged asynchronously so far is stored (or journaled while the
    store is down); raise the errors of asynchronous writes that failed."""
    async_logging.flush(timeout)


def flush_async_logging() -> None:
    """MLflow's name for ``flush()``."""
    async_logging.flush()


enable_async_logging = async_logging.enable_async_logging


# -- search -------------------------------------------------------------------------------


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Runs matching a filter, as a pandas DataFrame (default) or a list of ``Run``."""
    if output_format not in ("pandas", "list"):
        raise TracklineException.invalid_parameter_value(
            f"Unsupported output_format {output_format!r}: use 'pandas' or 'list'."
        )
    client = _client()
    ids = _search_experiment_ids(client, experiment_ids, experiment_names, search_all_experiments)
    runs: list[Run] = []
    token = None
    while len(runs) < max_results:
        page = client.search_runs(
            ids,
            filter_string,
            run_view_type,
            min(SEARCH_RUNS_PAGE_SIZE, max_results - len(runs)),
            order_by,
            token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    return runs if output_format == "list" else runs_to_dataframe(runs)


def _search_experiment_ids(
    client: TracklineClient,
    experiment_ids: Sequence[str] | None,
    experiment_names: Sequence[str] | None,
    search_all: bool,
) -> list[str]:
    if experiment_ids:
        return [
            str(e)
            for e in ([experiment_ids] if isinstance(experiment_ids, str) else experiment_ids)
        ]
    if experiment_names:
        ids = []
        for name in experiment_names:
            experiment = client.get_experiment_by_name(name)
            if experiment is not None:
                ids.append(experiment.experiment_id)
        return ids
    if search_all:
        return [e.experiment_id for e in search_experiments(view_type=ViewType.ALL)]
    return [_resolve_experiment_id()]


def runs_to_dataframe(runs: Sequence[Run]) -> Any:
    """MLflow's search_runs columns: info first, then metrics., params., tags. columns."""
    import pandas as pd

    info_columns: dict[str, list[Any]] = {
        "run_id": [],
        "experiment_id": [],
        "status": [],
        "artifact_uri": [],
        "start_time": [],
        "end_time": [],
    }
    metric_columns: dict[str, list[Any]] = {}
    param_columns: dict[str, list[Any]] = {}
    tag_columns: dict[str, list[Any]] = {}
    for index, run in enumerate(runs):
        info = run.info
        info_columns["run_id"].append(info.run_id)
        info_columns["experiment_id"].append(info.experiment_id)
        info_columns["status"].append(info.status)
        info_columns["artifact_uri"].append(info.artifact_uri)
        info_columns["start_time"].append(info.start_time)
        info_columns["end_time"].append(info.end_time)
        for columns, values, missing in (
            (metric_columns, run.data.metrics, float("nan")),
            (param_columns, run.data.params, None),
            (tag_columns, run.data.tags, None),
        ):
            for key, value in values.items():
                column = columns.get(key)
                if column is None:
                    column = columns[key] = [missing] * index
                column.append(value)
            for column in columns.values():
                if len(column) == index:
                    column.append(missing)
    data: dict[str, Any] = dict(info_columns)
    for column_name in ("start_time", "end_time"):
        data[column_name] = pd.to_datetime(
            pd.array(info_columns[column_name], dtype="Int64"), unit="ms", utc=True
        )
    for prefix, columns in (
        ("metrics", metric_columns),
        ("params", param_columns),
        ("tags", tag_columns),
    ):
        for key in sorted(columns):
            data[f"{prefix}.{key}"] = columns[key]
    frame = pd.DataFrame(data)
    for key in metric_columns:
        frame[f"metrics.{key}"] = frame[f"metrics.{key}"].astype("float64")
    return frame


# The registry functions live with the registry; they are part of the fluent API's names.
from trackline.registry.fluent import (  # noqa: E402
    register_model,
    search_model_versions,
    search_registered_models,
    set_model_version_tag,
)

__all__ += [
    "register_model",
    "search_model_versions",
    "search_registered_models",
    "set_model_version_tag",
]

# Logged models (MLflow 3) live in their own module; they are part of the fluent API's names.
from trackline.tracking._logged_models_fluent import (  # noqa: E402
    ActiveModel,
    clear_active_model,
    create_external_model,
    delete_logged_model_tag,
    finalize_logged_model,
    get_active_model_id,
    get_logged_model,
    initialize_logged_model,
    last_logged_model,
    log_model_params,
    log_outputs,
    search_logged_models,
    set_active_model,
    set_logged_model_tags,
)

__all__ += [
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
    "search_logged_models",
    "set_active_model",
    "set_logged_model_tags",
]

# Autologging has its own package; trackline.autolog is part of the fluent API's names.
from trackline.autologging import autolog  # noqa: E402

__all__ += ["autolog"]
