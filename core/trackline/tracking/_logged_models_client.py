"""The logged-model methods of ``TracklineClient`` (MLflow 3), kept in their own mixin.

Names and parameters are ``MlflowClient``'s. The store does the validation (so every entry
point applies the same rules); this side turns dicts into entities, resolves artifact
repositories for a model's own artifact location, and checks argument types.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from trackline import validation
from trackline.entities import (
    FileInfo,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    PagedList,
    Param,
    RunTag,
)
from trackline.exceptions import TracklineException
from trackline.store.artifacts import validate_artifact_path
from trackline.store.tracking import key_value_list

if TYPE_CHECKING:
    from trackline.store.artifacts import ArtifactRepository
    from trackline.store.tracking import AbstractTrackingStore


def _model_id(model_id: object) -> str:
    if not isinstance(model_id, str) or not model_id:
        raise TracklineException.invalid_parameter_value(
            f"Invalid logged model ID {model_id!r}: it must be a non-empty string."
        )
    return model_id


def _outputs(models: Sequence[Any] | None) -> list[LoggedModelOutput]:
    out = []
    for model in models or ():
        if isinstance(model, Mapping):
            model = LoggedModelOutput.from_dict(dict(model))
        if not isinstance(model, LoggedModelOutput):
            # MLflow's own LoggedModelOutput (or anything shaped like it) is welcome.
            model = LoggedModelOutput(_model_id(getattr(model, "model_id", None)), model.step)
        out.append(model)
    return out


class LoggedModelsClientMixin:
    """``create_logged_model``, ``search_logged_models``… on ``TracklineClient``."""

    _tracking_uri: str

    @property
    def _store(self) -> AbstractTrackingStore:  # provided by TracklineClient
        raise NotImplementedError  # pragma: no cover

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """Create a PENDING logged model; upload its files, then ``finalize_logged_model``."""
        model = self._store.create_logged_model(
            validation.validate_experiment_id(experiment_id),
            name=name,
            source_run_id=validation.validate_run_id(source_run_id) if source_run_id else None,
            tags=key_value_list(tags, RunTag),
            params=key_value_list(params, Param),
            model_type=model_type,
        )
        # trackline.last_logged_model() answers with it, whichever API created it (a
        # flavor's log_model goes through the client).
        from trackline.tracking._logged_models_fluent import _set_last_logged_model_id

        _set_last_logged_model_id(model.model_id)
        return model

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus | str) -> LoggedModel:
        return self._store.finalize_logged_model(
            _model_id(model_id), LoggedModelStatus.parse(getattr(status, "value", status))
        )

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        return self._store.get_logged_model(_model_id(model_id), allow_deleted=allow_deleted)

    def delete_logged_model(self, model_id: str) -> None:
        self._store.delete_logged_model(_model_id(model_id))

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [experiment_ids]  # type: ignore[list-item]
        if max_results is not None:
            validation.validate_max_results(max_results)
        return self._store.search_logged_models(
            [str(e) for e in experiment_ids],
            filter_string=filter_string,
            datasets=datasets,
            max_results=max_results,
            order_by=order_by,
            page_token=page_token,
        )

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        self._store.set_logged_model_tags(_model_id(model_id), key_value_list(tags, RunTag))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._store.delete_logged_model_tag(_model_id(model_id), key)

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        self._store.log_logged_model_params(_model_id(model_id), key_value_list(params, Param))

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record logged models as outputs of a run (``Run.outputs.model_outputs``)."""
        self._store.log_outputs(validation.validate_run_id(run_id), _outputs(models))

    def _log_model_inputs(self, run_id: str, models: Sequence[Any] | None) -> None:
        inputs = [
            m if isinstance(m, LoggedModelInput) else LoggedModelInput(_model_id(m.model_id))
            for m in models or ()
        ]
        if inputs:
            self._store.log_model_inputs(validation.validate_run_id(run_id), inputs)

    # -- a logged model's own artifacts ----------------------------------------------------

    def _model_artifact_repo(self, model_id: str) -> ArtifactRepository:
        from trackline.artifacts import get_artifact_repository

        location = self.get_logged_model(model_id).artifact_location
        return get_artifact_repository(location, self._tracking_uri)

    def log_model_artifact(self, model_id: str, local_path: str) -> None:
        """Upload one file to the root of the model's artifact location."""
        if not os.path.isfile(local_path):
            raise TracklineException.invalid_parameter_value(
                f"Cannot log model artifact {local_path!r}: no such file."
            )
        self._model_artifact_repo(model_id).log_artifact(local_path)

    def log_model_artifacts(self, model_id: str, local_dir: str) -> None:
        """Upload the contents of a directory to the model's artifact location."""
        if not os.path.isdir(local_dir):
            raise TracklineException.invalid_parameter_value(
                f"Cannot log model artifacts from {local_dir!r}: not a directory."
            )
        self._model_artifact_repo(model_id).log_artifacts(local_dir)

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        """Files and directories of a logged model, paths relative to its artifact root."""
        path = validate_artifact_path(path) or None
        infos = self._model_artifact_repo(model_id).list_artifacts(path)
        return sorted(infos, key=lambda info: posixpath.normpath(info.path))
