"""The tracking-store interface every tracking backend implements.

A plugin registers a factory for one or more URI schemes (see
``trackline.plugins.hookspecs.register_tracking_stores``); the factory is called as
``factory(store_uri, default_artifact_root)`` and returns an ``AbstractTrackingStore``.

Contract (the conformance kit in ``trackline.testing`` checks every line of it):

* Ids: experiment ids and run ids are strings. Run ids are 32-char uuid4 hex.
* Validation of keys, values and limits is done by the store with ``trackline.validation``,
  so that every entry point (client, REST server, sync) gets the same rules.
* A write either happens whole or not at all: ``log_batch`` with one bad element stores nothing.
* Writes to a deleted run, or creating a run in a deleted experiment, fail with
  INVALID_PARAMETER_VALUE.
* Unknown ids fail with RESOURCE_DOES_NOT_EXIST (``get_metric_history`` may answer no points).
* Search filters and order_by clauses are parsed with ``trackline.search`` and must be
  evaluated by the backend (SQL, remote server…), never by loading everything into Python
  when the backend can do better.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from trackline.entities import (
    DatasetInput,
    DatasetSummary,
    Experiment,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunTag,
    ViewType,
)
from trackline.exceptions import NOT_IMPLEMENTED, TracklineException
from trackline.metric_downsample import (
    DownsampledHistory,
    check_downsample_arguments,
    downsample_history,
)

SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS_THRESHOLD = 50000
# SearchDatasets: experiments per request and summaries per answer, as MLflow.
SEARCH_DATASETS_MAX_EXPERIMENTS = 20
SEARCH_DATASETS_MAX_RESULTS = 1000
# search_logged_models: the protocol's default page size, and the largest page.
LOGGED_MODELS_MAX_RESULTS_DEFAULT = 50
LOGGED_MODELS_MAX_RESULTS_THRESHOLD = 50000


KV = TypeVar("KV", Param, RunTag)


def key_value_list(items: Mapping[str, Any] | Sequence[KV] | None, kind: type[KV]) -> list[KV]:
    """Params or tags given as a dict (the client's form) or as entities (the store's form)."""
    if not items:
        return []
    if isinstance(items, Mapping):
        return [kind(str(k), v if isinstance(v, str) else str(v)) for k, v in items.items()]
    return [item if isinstance(item, kind) else kind(item.key, item.value) for item in items]


def logged_models_not_supported(store: object) -> TracklineException:
    """The error of a store that predates logged models (MLflow 3)."""
    return TracklineException(
        f"{type(store).__name__} does not store logged models (MLflow 3 'log_model(name=...)'). "
        "Use a tracking store that does, such as trackline-sql or a tracking server.",
        NOT_IMPLEMENTED,
    )


class AbstractTrackingStore(ABC):
    """Experiments, runs, metrics, params, tags and dataset inputs."""

    # -- experiments -----------------------------------------------------------------------

    @abstractmethod
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[RunTag] = ()
    ) -> str:
        """Create an experiment and return its id.

        ``artifact_location`` defaults to ``<default artifact root>/<experiment id>``.
        A name in use (even by a deleted experiment) fails with RESOURCE_ALREADY_EXISTS.
        """

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment, deleted or not; unknown ids fail with RESOURCE_DOES_NOT_EXIST."""

    @abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name (deleted ones included), or ``None``."""

    @abstractmethod
    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """One page of experiments; default order ``creation_time DESC, experiment_id ASC``."""

    @abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    @abstractmethod
    def delete_experiment(self, experiment_id: str) -> None:
        """Soft delete: the experiment and all its runs become ``deleted``."""

    @abstractmethod
    def restore_experiment(self, experiment_id: str) -> None:
        """Undo ``delete_experiment``; the runs deleted with it come back too."""

    @abstractmethod
    def set_experiment_tag(self, experiment_id: str, tag: RunTag) -> None: ...

    @abstractmethod
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # -- runs ------------------------------------------------------------------------------

    @abstractmethod
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        """Create a RUNNING run.

        ``run_name`` and the ``mlflow.runName`` tag are kept equal: a missing name is taken
        from the tag, or generated (``adjective-noun-NNN``) and written to the tag; a name that
        differs from the tag fails with INVALID_PARAMETER_VALUE.
        """

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The run with its latest metrics, params, tags and dataset inputs."""

    @abstractmethod
    def update_run_info(
        self,
        run_id: str,
        run_status: int | str | None,
        end_time: int | None,
        run_name: str | None,
    ) -> RunInfo:
        """Change only what is given; a new ``run_name`` also rewrites ``mlflow.runName``."""

    @abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abstractmethod
    def restore_run(self, run_id: str) -> None: ...

    @abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """One page of runs; default order ``start_time DESC, run_id ASC``."""

    def search_dataset_summaries(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        """The distinct (experiment, dataset name, digest, context) of the dataset inputs of
        every run of these experiments, deleted runs included; at most
        ``SEARCH_DATASETS_MAX_RESULTS``, in no particular order.

        The default walks the runs with ``search_runs``; a store whose backend can answer
        directly (a SQL ``DISTINCT``) should override it.
        """
        from trackline.search.evaluate import DATASET_CONTEXT_TAG

        found: dict[DatasetSummary, None] = {}  # an ordered set
        for experiment_id in experiment_ids:
            token = None
            while True:
                page = self.search_runs(
                    [experiment_id], run_view_type=ViewType.ALL, page_token=token
                )
                for run in page:
                    for used in run.inputs.dataset_inputs:
                        context = next(
                            (t.value for t in used.tags if t.key == DATASET_CONTEXT_TAG), None
                        )
                        summary = DatasetSummary(
                            experiment_id, used.dataset.name, used.dataset.digest, context
                        )
                        found[summary] = None
                        if len(found) == SEARCH_DATASETS_MAX_RESULTS:
                            return list(found)
                token = page.token
                if not token:
                    break
        return list(found)

    # -- logging ---------------------------------------------------------------------------

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Store all of it or none of it (see the module docstring for the rules)."""

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, metrics=[metric])

    def log_param(self, run_id: str, param: Param) -> None:
        self.log_batch(run_id, params=[param])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, tags=[tag])

    @abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag; a missing tag fails with RESOURCE_DOES_NOT_EXIST."""

    @abstractmethod
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        """Record dataset inputs; the same dataset (name, digest) is stored once per experiment.

        ``get_run`` lists a run's inputs in the order they were first logged.
        """

    @abstractmethod
    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Metric]:
        """Every point of one metric, ordered by step then timestamp; paged if max_results.

        For a run that does not exist a store either returns no points (as MLflow's SQL store)
        or fails with RESOURCE_DOES_NOT_EXIST (as MLflow's file store); the conformance kit's
        ``history_of_unknown_run_is_empty`` says which.
        """

    def get_metric_history_downsampled(
        self,
        run_id: str,
        metric_key: str,
        x_axis: str = "step",
        max_points: int = 2000,
        x_min: float | None = None,
        x_max: float | None = None,
    ) -> DownsampledHistory:
        """One metric's history reduced for a chart: at most ``max_points`` points, every spike
        kept (optional: the default reads the whole history and reduces it in Python).

        ``x_axis`` is ``step``, ``wall`` (milliseconds since the epoch) or ``relative``
        (seconds since the history's first point); only points with ``x_min <= x <= x_max``
        are kept, plus one point beyond each edge. The points in x order are cut into
        ``max_points // 4`` buckets of equal count, each keeping its first, last, lowest and
        highest point (NaN never wins a minimum or maximum). The web UI's charts call this.

        A store that can do better than building a ``Metric`` per point overrides it (reading
        bare columns, or letting the database find each bucket's extremes) and must return
        exactly what this default returns, for every input: ``trackline.metric_downsample``
        is the reference implementation. Unknown runs fail with RESOURCE_DOES_NOT_EXIST.
        """
        check_downsample_arguments(x_axis, max_points, x_min, x_max)
        history = self.get_metric_history(run_id, metric_key)
        return downsample_history(history, x_axis, max_points, x_min, x_max)

    # -- logged models (MLflow 3) -----------------------------------------------------------
    #
    # Not abstract: a store written before logged models existed keeps working for runs and
    # answers these with NOT_IMPLEMENTED. ``trackline.testing.logged_models`` has the
    # conformance tests. Metrics logged with ``Metric.model_id`` through ``log_batch`` also
    # belong to that logged model (stores that support logged models must record them there).

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, str] | Sequence[RunTag] | None = None,
        params: Mapping[str, str] | Sequence[Param] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """Create a PENDING logged model with id ``m-<uuid4 hex>``.

        Its artifact location is ``<experiment artifact_location>/models/<model_id>/artifacts``;
        a missing name is generated like a run name. The experiment must be active.
        """
        raise logged_models_not_supported(self)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set the final status (READY or UPLOAD_FAILED) and return the model."""
        raise logged_models_not_supported(self)

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """The model; unknown (or deleted, unless ``allow_deleted``) ids fail with
        RESOURCE_DOES_NOT_EXIST."""
        raise logged_models_not_supported(self)

    def delete_logged_model(self, model_id: str) -> None:
        """Soft delete: the model disappears from get and search."""
        raise logged_models_not_supported(self)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """One page of active logged models of the experiments.

        ``filter_string`` uses the grammar of ``trackline.search.parse_logged_model_filter``;
        ``datasets`` (``[{"dataset_name", "dataset_digest"?}]``) limits which metrics the
        metric comparisons look at; ``order_by`` is ``[{"field_name", "ascending"?,
        "dataset_name"?, "dataset_digest"?}]``. Default order: newest first, then model_id.
        """
        raise logged_models_not_supported(self)

    def set_logged_model_tags(
        self, model_id: str, tags: Mapping[str, str] | Sequence[RunTag]
    ) -> None:
        """Set (or overwrite) tags of a model that is not deleted."""
        raise logged_models_not_supported(self)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag; a missing tag fails with RESOURCE_DOES_NOT_EXIST."""
        raise logged_models_not_supported(self)

    def log_logged_model_params(
        self, model_id: str, params: Mapping[str, str] | Sequence[Param]
    ) -> None:
        """Add params; as for runs, a different value for an existing key is refused."""
        raise logged_models_not_supported(self)

    def log_model_params(self, model_id: str, params: Mapping[str, str] | Sequence[Param]) -> None:
        """The client's name for ``log_logged_model_params``."""
        self.log_logged_model_params(model_id, params)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Link logged models to a run as its outputs (``Run.outputs.model_outputs``)."""
        raise logged_models_not_supported(self)

    def log_model_inputs(self, run_id: str, models: Sequence[LoggedModelInput]) -> None:
        """Link logged models to a run as its inputs (``Run.inputs.model_inputs``)."""
        raise logged_models_not_supported(self)

    # -- garbage collection ----------------------------------------------------------------

    def get_deleted_run_ids(self, older_than_ms: int | None = None) -> list[str]:
        """Ids of deleted runs (deleted more than ``older_than_ms`` ago), for ``trackline gc``."""
        raise NotImplementedError

    def hard_delete_run(self, run_id: str) -> None:
        """Erase a run and everything logged to it (not its artifacts: gc does those)."""
        raise NotImplementedError

    def hard_delete_experiment(self, experiment_id: str) -> None:
        """Erase an experiment and its runs."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
