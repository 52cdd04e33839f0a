"""``TracklineClient`` (alias ``MlflowClient``): the lower-level tracking API.

Every method takes explicit ids, as MLflow's client does; the fluent API in
``trackline.tracking.fluent`` is built on it. The client validates input before handing it
to the store, so a bad value fails the same way whatever the backend.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
import time
from collections.abc import Iterable, Sequence
from typing import Any

from trackline import validation
from trackline.artifacts import get_artifact_repository
from trackline.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    FileInfo,
    InputTag,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from trackline.exceptions import TracklineException
from trackline.store.artifacts import ArtifactRepository, validate_artifact_path
from trackline.store.tracking import AbstractTrackingStore
from trackline.tracking import async_logging
from trackline.tracking import uri as uri_module
from trackline.tracking._logged_models_client import LoggedModelsClientMixin
from trackline.tracking._registry_client import RegistryClientMixin

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
PARENT_RUN_ID_TAG = "mlflow.parentRunId"
RUN_NAME_TAG = "mlflow.runName"
USER_TAG = "mlflow.user"


def now_ms() -> int:
    return int(time.time() * 1000)


class TracklineClient(RegistryClientMixin, LoggedModelsClientMixin):
    """A client of one tracking store and one model registry."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self._tracking_uri = tracking_uri or uri_module.get_tracking_uri()
        # MLflow's order: explicit argument, set_registry_uri()/environment, tracking URI.
        self._registry_uri = (
            registry_uri or uri_module.explicit_registry_uri() or self._tracking_uri
        )

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    @property
    def _store(self) -> AbstractTrackingStore:
        if async_logging._loggers:
            # Reads and synchronous writes see every asynchronous write made before them.
            async_logging.wait_for_pending(self._tracking_uri)
        return uri_module.get_tracking_store(self._tracking_uri)

    # -- experiments -----------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> str:
        validation.validate_experiment_name(name)
        validation.validate_artifact_location(artifact_location)
        tag_list = [
            validation.validate_experiment_tag(RunTag(k, str(v))) for k, v in (tags or {}).items()
        ]
        return self._store.create_experiment(name, artifact_location, tag_list)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._store.get_experiment(validation.validate_experiment_id(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        validation.validate_max_results(max_results)
        return self._store.search_experiments(
            ViewType.parse(view_type), max_results, filter_string, order_by, page_token
        )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        validation.validate_experiment_name(new_name)
        self._store.rename_experiment(validation.validate_experiment_id(experiment_id), new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self._store.delete_experiment(validation.validate_experiment_id(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self._store.restore_experiment(validation.validate_experiment_id(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        tag = validation.validate_experiment_tag(RunTag(key, str(value)))
        self._store.set_experiment_tag(validation.validate_experiment_id(experiment_id), tag)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._store.delete_experiment_tag(validation.validate_experiment_id(experiment_id), key)

    # -- runs ------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
    ) -> Run:
        tag_list = [validation.validate_tag(RunTag(k, str(v))) for k, v in (tags or {}).items()]
        user_id = (tags or {}).get(USER_TAG, "")
        return self._store.create_run(
            experiment_id=validation.validate_experiment_id(experiment_id),
            user_id=str(user_id),
            start_time=now_ms() if start_time is None else int(start_time),
            tags=tag_list,
            run_name=run_name,
        )

    def get_run(self, run_id: str) -> Run:
        return self._store.get_run(validation.validate_run_id(run_id))

    def get_parent_run(self, run_id: str) -> Run | None:
        parent_id = self.get_run(run_id).data.tags.get(PARENT_RUN_ID_TAG)
        return self.get_run(parent_id) if parent_id else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        if status is not None:
            RunStatus.from_string(status)
        end_time = now_ms() if status is not None and RunStatus.is_terminated(status) else None
        self._store.update_run_info(validation.validate_run_id(run_id), status, end_time, name)

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> RunInfo:
        status = status or "FINISHED"
        RunStatus.from_string(status)
        return self._store.update_run_info(
            validation.validate_run_id(run_id),
            status,
            now_ms() if end_time is None else int(end_time),
            None,
        )

    def delete_run(self, run_id: str) -> None:
        self._store.delete_run(validation.validate_run_id(run_id))

    def restore_run(self, run_id: str) -> None:
        self._store.restore_run(validation.validate_run_id(run_id))

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]
        validation.validate_max_results(max_results)
        return self._store.search_runs(
            [str(e) for e in experiment_ids],
            filter_string,
            ViewType.parse(run_view_type),
            max_results,
            order_by,
            page_token,
        )

    # -- logging ---------------------------------------------------------------------------

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> async_logging.RunOperations | None:
        """Log one metric point; with ``synchronous=False`` it is queued (see async_logging)."""
        metric = Metric(
            key,
            _as_metric_value(key, value),
            now_ms() if timestamp is None else timestamp,
            0 if step is None else step,
            dataset_name,
            dataset_digest,
            model_id,
        )
        run_id = validation.validate_run_id(run_id)
        validation.validate_metric(metric)
        if async_logging.is_async(synchronous):
            return async_logging.logger_for(self._tracking_uri).submit(run_id, metrics=(metric,))
        self._store.log_metric(run_id, metric)
        return None

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        param = validation.validate_param(Param(key, _stringify(value)))
        run_id = validation.validate_run_id(run_id)
        if async_logging.is_async(synchronous):
            async_logging.logger_for(self._tracking_uri).submit(run_id, params=(param,))
            return value
        self._store.log_param(run_id, param)
        return value

    def set_tag(
        self, run_id: str, key: str, value: Any, synchronous: bool | None = None
    ) -> async_logging.RunOperations | None:
        tag = validation.validate_tag(RunTag(key, _stringify(value)))
        run_id = validation.validate_run_id(run_id)
        if async_logging.is_async(synchronous):
            return async_logging.logger_for(self._tracking_uri).submit(run_id, tags=(tag,))
        self._store.set_tag(run_id, tag)
        return None

    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(validation.validate_run_id(run_id), key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> async_logging.RunOperations | None:
        """Log many values at once; larger batches than the store accepts are split here.

        Everything is validated before the first chunk is written, so a bad value anywhere
        in the batch stores nothing.
        """
        run_id = validation.validate_run_id(run_id)
        metrics = [validation.validate_metric(m) for m in metrics]
        params = [validation.validate_param(p) for p in params]
        tags = [validation.validate_tag(t) for t in tags]
        keys = [p.key for p in params]
        if len(set(keys)) != len(keys):
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            raise TracklineException.invalid_parameter_value(
                f"Duplicate parameter keys have been submitted: {duplicates}."
            )
        if async_logging.is_async(synchronous):
            return async_logging.logger_for(self._tracking_uri).submit(
                run_id, metrics=metrics, params=params, tags=tags
            )
        for chunk_metrics, chunk_params, chunk_tags in _chunks(metrics, params, tags):
            self._store.log_batch(run_id, chunk_metrics, chunk_params, chunk_tags)
        return None

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[Any] | None = None,
    ) -> None:
        """Record dataset inputs and (MLflow 3) logged models used as inputs of a run."""
        inputs = [validation.validate_dataset_input(d) for d in datasets or []]
        if inputs or not models:
            self._store.log_inputs(validation.validate_run_id(run_id), inputs)
        self._log_model_inputs(run_id, models)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return list(self._store.get_metric_history(validation.validate_run_id(run_id), key))

    # -- artifacts -------------------------------------------------------------------------

    def _artifact_repo(self, run_id: str) -> ArtifactRepository:
        return get_artifact_repository(self.get_run(run_id).info.artifact_uri, self._tracking_uri)

    def get_artifact_uri(self, run_id: str, artifact_path: str | None = None) -> str:
        from trackline.artifacts import join_uri

        return join_uri(self.get_run(run_id).info.artifact_uri, artifact_path)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        if not os.path.exists(local_path):
            raise TracklineException.invalid_parameter_value(
                f"Cannot log artifact {local_path!r}: no such file or directory."
            )
        repo = self._artifact_repo(run_id)
        artifact_path = validate_artifact_path(artifact_path) or None
        if os.path.isdir(local_path):
            name = os.path.basename(os.path.normpath(local_path))
            target = posixpath.join(artifact_path, name) if artifact_path else name
            repo.log_artifacts(local_path, target)
        else:
            repo.log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        if not os.path.isdir(local_dir):
            raise TracklineException.invalid_parameter_value(
                f"Cannot log artifacts from {local_dir!r}: not a directory."
            )
        self._artifact_repo(run_id).log_artifacts(
            local_dir, validate_artifact_path(artifact_path) or None
        )

    def _log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        artifact_file = validate_artifact_path(artifact_file)
        if not artifact_file:
            raise TracklineException.invalid_parameter_value("artifact_file must name a file.")
        self._artifact_repo(run_id).log_bytes(data, artifact_file)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dictionary, default_flow_style=False, sort_keys=False)
        else:
            text = json.dumps(dictionary, indent=2)
        self.log_text(run_id, text, artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Save a matplotlib or plotly figure under ``artifact_file``."""
        save_kwargs = save_kwargs or {}
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, posixpath.basename(artifact_file))
            module = type(figure).__module__
            if module.startswith("matplotlib"):
                figure.savefig(local, **save_kwargs)
            elif module.startswith("plotly"):
                if local.endswith(".html"):
                    figure.write_html(local, **save_kwargs)
                else:
                    figure.write_image(local, **save_kwargs)
            else:
                raise TracklineException.invalid_parameter_value(
                    f"Unsupported figure type {type(figure).__name__}: use a matplotlib or "
                    "plotly figure."
                )
            with open(local, "rb") as f:
                self._log_bytes(run_id, f.read(), artifact_file)

    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        """Save a numpy array or PIL image as PNG (or the format ``artifact_file`` names).

        With ``key`` (and optional ``step``) instead of ``artifact_file``, the image is stored
        as ``images/<key>+step+<step>+timestamp+<ms>+<uuid>.png``, as MLflow does.
        """
        import uuid

        if (artifact_file is None) == (key is None):
            raise TracklineException.invalid_parameter_value(
                "Give exactly one of artifact_file or key to log_image."
            )
        pil_image = _to_pil_image(image)
        if key is not None:
            validation.validate_key(key, "image")
            step = 0 if step is None else step
            timestamp = now_ms() if timestamp is None else timestamp
            safe_key = key.replace("/", "#")
            artifact_file = (
                f"images/{safe_key}+step+{step}+timestamp+{timestamp}+{uuid.uuid4()}.png"
            )
            self.set_tag(run_id, "mlflow.loggedImages", "True")
        import io

        buffer = io.BytesIO()
        extension = posixpath.splitext(artifact_file)[1].lstrip(".").upper() or "PNG"
        pil_image.save(buffer, format={"JPG": "JPEG"}.get(extension, extension))
        self._log_bytes(run_id, buffer.getvalue(), artifact_file)  # type: ignore[arg-type]

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Save a dict of columns or a DataFrame as ``{"columns": [...], "data": [[...]]}``."""
        if not artifact_file.endswith(".json"):
            raise TracklineException.invalid_parameter_value(
                f"Invalid table artifact {artifact_file!r}: the file must end with .json."
            )
        columns, rows = _table_rows(data)
        self.log_text(
            run_id, json.dumps({"columns": columns, "data": rows}, default=str), artifact_file
        )
        run = self.get_run(run_id)
        logged = json.loads(run.data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
        entry = {"path": artifact_file, "type": "table"}
        if entry not in logged:
            logged.append(entry)
            self.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps(logged))

    def load_table(
        self,
        experiment_id: str,
        artifact_file: str,
        run_ids: Sequence[str] | None = None,
        extra_columns: Sequence[str] | None = None,
    ) -> Any:
        """Concatenate a table logged by several runs into one DataFrame."""
        import pandas as pd

        if run_ids is None:
            runs = self.search_runs([experiment_id], max_results=50000)
            run_ids = [r.info.run_id for r in runs]
        frames = []
        for run_id in run_ids:
            repo = self._artifact_repo(run_id)
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    local = repo.download_artifacts(artifact_file, tmp)
                except (OSError, TracklineException):
                    continue
                with open(local, encoding="utf-8") as f:
                    table = json.load(f)
            frame = pd.DataFrame(table["data"], columns=table["columns"])
            for column in extra_columns or ():
                frame[column] = run_id if column == "run_id" else None
            frames.append(frame)
        if not frames:
            raise TracklineException(
                f"No run has a table artifact {artifact_file!r}.", "RESOURCE_DOES_NOT_EXIST"
            )
        return pd.concat(frames, ignore_index=True)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self._artifact_repo(run_id).list_artifacts(validate_artifact_path(path) or None)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        if dst_path is not None:
            os.makedirs(dst_path, exist_ok=True)
        return self._artifact_repo(run_id).download_artifacts(path, dst_path)


MlflowClient = TracklineClient


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _as_metric_value(key: str, value: Any) -> float:
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        # numpy scalars are numbers.Number; strings and None are not.
        raise TracklineException.invalid_parameter_value(
            f"Invalid value {value!r} for metric {key!r}: metric values must be numbers."
        )
    return float(value)  # type: ignore[arg-type]


def _chunks(
    metrics: list[Metric], params: list[Param], tags: list[RunTag]
) -> Iterable[tuple[list[Metric], list[Param], list[RunTag]]]:
    """Split a batch into pieces within the store's limits (params first, as MLflow does)."""
    limit = validation.MAX_ENTITIES_PER_BATCH
    side_limit = validation.MAX_PARAMS_TAGS_PER_BATCH
    m, p, t = 0, 0, 0
    while m < len(metrics) or p < len(params) or t < len(tags) or (m == p == t == 0):
        chunk_params = params[p : p + side_limit]
        p += len(chunk_params)
        chunk_tags = tags[t : t + side_limit]
        t += len(chunk_tags)
        room = limit - len(chunk_params) - len(chunk_tags)
        chunk_metrics = metrics[m : m + min(room, validation.MAX_METRICS_PER_BATCH)]
        m += len(chunk_metrics)
        yield chunk_metrics, chunk_params, chunk_tags
        if m >= len(metrics) and p >= len(params) and t >= len(tags):
            break


def _to_pil_image(image: Any) -> Any:
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    import numpy as np

    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise TracklineException.invalid_parameter_value(
            f"Invalid image shape {array.shape}: expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)."
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype.kind == "f":
        if array.min() < 0 or array.max() > 1:
            raise TracklineException.invalid_parameter_value(
                "Float images must have values in [0, 1]."
            )
        array = (array * 255).round().astype("uint8")
    elif array.dtype.kind in "iu":
        if array.min() < 0 or array.max() > 255:
            raise TracklineException.invalid_parameter_value(
                "Integer images must have values in [0, 255]."
            )
        array = array.astype("uint8")
    elif array.dtype.kind == "b":
        array = array.astype("uint8") * 255
    return Image.fromarray(array)


def _table_rows(data: Any) -> tuple[list[str], list[list[Any]]]:
    if isinstance(data, dict):
        columns = [str(c) for c in data]
        values = [list(v) if isinstance(v, (list, tuple)) else [v] for v in data.values()]
        lengths = {len(v) for v in values}
        if len(lengths) > 1:
            raise TracklineException.invalid_parameter_value(
                "All columns of a table must have the same length."
            )
        return columns, [list(row) for row in zip(*values, strict=True)]
    if type(data).__name__ == "DataFrame":
        return [str(c) for c in data.columns], data.astype(object).values.tolist()
    raise TracklineException.invalid_parameter_value(
        f"Unsupported table type {type(data).__name__}: use a dict of columns or a DataFrame."
    )


def dataset_input_from(
    dataset: Any, context: str | None, tags: dict[str, str] | None
) -> DatasetInput:
    """Build a DatasetInput from a trackline Dataset or an object with MLflow's dataset API."""
    if hasattr(dataset, "_to_mlflow_entity"):
        dataset = dataset._to_mlflow_entity()
    if not isinstance(dataset, Dataset):
        fields = ("name", "digest", "source_type", "source")
        if not all(hasattr(dataset, f) for f in fields):
            raise TracklineException.invalid_parameter_value(
                f"Cannot log {type(dataset).__name__} as a dataset: it needs name, digest, "
                "source_type and source."
            )
        dataset = Dataset(
            dataset.name,
            dataset.digest,
            dataset.source_type,
            dataset.source if isinstance(dataset.source, str) else json.dumps(dataset.source),
            getattr(dataset, "schema", None),
            getattr(dataset, "profile", None),
        )
    input_tags = [InputTag(k, str(v)) for k, v in (tags or {}).items()]
    if context:
        input_tags.append(InputTag("mlflow.data.context", context))
    return DatasetInput(dataset, tuple(input_tags))
