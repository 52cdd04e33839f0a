"""``RestTrackingStore``: the tracking store for ``http``/``https`` tracking URIs.

Every method is one call (or, for an unbounded metric history, a series of paged calls) to
the ``/api/2.0/mlflow/...`` REST API that trackline's server and MLflow's server both speak.
The server validates and stores; this side only converts entities to and from their JSON
shapes (``to_dict``/``from_dict``) and maps error envelopes to ``TracklineException``.

The one thing validated here is a logged batch (``trackline.validation.validate_batch``):
the ``MLFLOW_TRUNCATE_LONG_VALUES`` choice belongs to the process that logs, and the server
cannot see that process's environment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trackline.entities import (
    DatasetInput,
    DatasetSummary,
    Experiment,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from trackline.exceptions import NOT_IMPLEMENTED, RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.store.tracking import (
    SEARCH_DATASETS_MAX_EXPERIMENTS,
    SEARCH_DATASETS_MAX_RESULTS,
    SEARCH_MAX_RESULTS_DEFAULT,
    AbstractTrackingStore,
)
from trackline.validation import validate_batch

from trackline_rest.http import HttpClient, HttpConfig, raise_for_error, redact
from trackline_rest.logged_models import RestLoggedModelsMixin

API_PREFIX = "/api/2.0/mlflow"
AJAX_PREFIX = "/ajax-api/2.0/mlflow"
# The page size MLflow's client uses to fetch a whole metric history.
METRIC_HISTORY_PAGE_SIZE = 25000


def _tags(tags: Sequence[RunTag]) -> list[dict[str, Any]]:
    return [t.to_dict() for t in tags]


class RestTrackingStore(RestLoggedModelsMixin, AbstractTrackingStore):
    """A tracking server reached at ``store_uri`` (``http(s)://host[:port][/prefix]``).

    ``default_artifact_root`` is unused: the server decides where artifacts go.
    """

    def __init__(
        self,
        store_uri: str,
        default_artifact_root: str | None = None,
        *,
        config: HttpConfig | None = None,
    ) -> None:
        self.store_uri = store_uri
        self.default_artifact_root = default_artifact_root
        self._http = HttpClient(store_uri, config)

    def __repr__(self) -> str:
        return f"RestTrackingStore({redact(self.store_uri)!r})"

    # -- transport -------------------------------------------------------------------------

    def _get(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        params = {k: v for k, v in params.items() if v is not None}
        response = self._http.request("GET", API_PREFIX + endpoint, params=params)
        return _json(raise_for_error(response))

    def _post(self, endpoint: str, body: dict[str, Any], *, retry_safe: bool) -> dict[str, Any]:
        body = {k: v for k, v in body.items() if v is not None}
        response = self._http.request(
            "POST", API_PREFIX + endpoint, json=body, retry_safe=retry_safe
        )
        return _json(raise_for_error(response))

    # -- experiments -----------------------------------------------------------------------

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[RunTag] = ()
    ) -> str:
        body = {"name": name, "artifact_location": artifact_location or None, "tags": _tags(tags)}
        return str(self._post("/experiments/create", body, retry_safe=False)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        reply = self._get("/experiments/get", {"experiment_id": str(experiment_id)})
        return Experiment.from_dict(reply["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            reply = self._get("/experiments/get-by-name", {"experiment_name": name})
        except TracklineException as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                return None
            raise
        return Experiment.from_dict(reply["experiment"])

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        body = {
            # Always sent: over REST a missing max_results means 0, which servers refuse.
            "max_results": max_results,
            "view_type": ViewType.to_string(ViewType.parse(view_type)),
            "filter": filter_string or None,
            "order_by": list(order_by) if order_by else None,
            "page_token": page_token or None,
        }
        reply = self._post("/experiments/search", body, retry_safe=True)
        experiments = [Experiment.from_dict(e) for e in reply.get("experiments", [])]
        return PagedList(experiments, reply.get("next_page_token") or None)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        body = {"experiment_id": str(experiment_id), "new_name": new_name}
        self._post("/experiments/update", body, retry_safe=False)

    def delete_experiment(self, experiment_id: str) -> None:
        self._post("/experiments/delete", {"experiment_id": str(experiment_id)}, retry_safe=False)

    def restore_experiment(self, experiment_id: str) -> None:
        self._post("/experiments/restore", {"experiment_id": str(experiment_id)}, retry_safe=False)

    def set_experiment_tag(self, experiment_id: str, tag: RunTag) -> None:
        body = {"experiment_id": str(experiment_id), "key": tag.key, "value": tag.value}
        self._post("/experiments/set-experiment-tag", body, retry_safe=True)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        body = {"experiment_id": str(experiment_id), "key": key}
        self._post("/experiments/delete-experiment-tag", body, retry_safe=False)

    # -- runs ------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        body = {
            "experiment_id": str(experiment_id),
            "user_id": user_id,
            "start_time": start_time,
            "tags": _tags(tags),
            "run_name": run_name or None,
        }
        return Run.from_dict(self._post("/runs/create", body, retry_safe=False)["run"])

    def get_run(self, run_id: str) -> Run:
        return Run.from_dict(self._get("/runs/get", {"run_id": run_id})["run"])

    def update_run_info(
        self,
        run_id: str,
        run_status: int | str | None,
        end_time: int | None,
        run_name: str | None,
    ) -> RunInfo:
        body = {
            "run_id": run_id,
            "run_uuid": run_id,  # older servers read only the deprecated name
            "status": None if run_status is None else RunStatus.to_string(run_status),
            "end_time": end_time,
            "run_name": run_name or None,
        }
        return RunInfo.from_dict(self._post("/runs/update", body, retry_safe=True)["run_info"])

    def delete_run(self, run_id: str) -> None:
        self._post("/runs/delete", {"run_id": run_id}, retry_safe=True)

    def restore_run(self, run_id: str) -> None:
        self._post("/runs/restore", {"run_id": run_id}, retry_safe=True)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string or None,
            "run_view_type": ViewType.to_string(ViewType.parse(run_view_type)),
            "max_results": max_results,
            "order_by": list(order_by) if order_by else None,
            "page_token": page_token or None,
        }
        reply = self._post("/runs/search", body, retry_safe=True)
        runs = [Run.from_dict(r) for r in reply.get("runs", [])]
        return PagedList(runs, reply.get("next_page_token") or None)

    def search_dataset_summaries(self, experiment_ids: Sequence[str]) -> list[DatasetSummary]:
        # Only the UI's ajax prefix serves SearchDatasets (MLflow's proto path lacks its
        # leading slash), at most 20 experiments per request.
        found: dict[DatasetSummary, None] = {}
        ids = [str(e) for e in experiment_ids]
        for start in range(0, len(ids), SEARCH_DATASETS_MAX_EXPERIMENTS):
            response = self._http.request(
                "POST",
                AJAX_PREFIX + "/experiments/search-datasets",
                json={"experiment_ids": ids[start : start + SEARCH_DATASETS_MAX_EXPERIMENTS]},
                retry_safe=True,
            )
            for summary in _json(raise_for_error(response)).get("dataset_summaries", []):
                found[DatasetSummary.from_dict(summary)] = None
        return list(found)[:SEARCH_DATASETS_MAX_RESULTS]

    # -- logging ---------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        metrics, params, tags = validate_batch(metrics, params, tags)
        body = {
            "run_id": run_id,
            "metrics": [_metric_body(m) for m in metrics],
            "params": [p.to_dict() for p in params],
            "tags": _tags(tags),
        }
        self._post("/runs/log-batch", body, retry_safe=True)

    def delete_tag(self, run_id: str, key: str) -> None:
        self._post("/runs/delete-tag", {"run_id": run_id, "key": key}, retry_safe=False)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = ()) -> None:
        body = {"run_id": run_id, "datasets": [d.to_dict() for d in datasets]}
        self._post("/runs/log-inputs", body, retry_safe=False)

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList[Metric]:
        if max_results is not None:
            return self._metric_history_page(run_id, metric_key, max_results, page_token)
        # Everything was asked for: page through at MLflow's page size, so that no single
        # response has to hold a history of millions of points.
        points: list[Metric] = []
        token = page_token
        while True:
            page = self._metric_history_page(run_id, metric_key, METRIC_HISTORY_PAGE_SIZE, token)
            points.extend(page)
            token = page.token
            if not token:
                return PagedList(points, None)

    def _metric_history_page(
        self, run_id: str, metric_key: str, max_results: int, page_token: str | None
    ) -> PagedList[Metric]:
        params = {
            "run_id": run_id,
            "metric_key": metric_key,
            "max_results": max_results,
            "page_token": page_token or None,
        }
        reply = self._get("/metrics/get-history", params)
        metrics = [Metric.from_dict(m) for m in reply.get("metrics", [])]
        return PagedList(metrics, reply.get("next_page_token") or None)

    # -- garbage collection ----------------------------------------------------------------

    def get_deleted_run_ids(self, older_than_ms: int | None = None) -> list[str]:
        raise _gc_not_supported()

    def hard_delete_run(self, run_id: str) -> None:
        raise _gc_not_supported()

    def hard_delete_experiment(self, experiment_id: str) -> None:
        raise _gc_not_supported()

    def close(self) -> None:
        self._http.close()


def _metric_body(metric: Metric) -> dict[str, Any]:
    # run_id belongs to the request, not to each metric; MLflow's server ignores it anyway.
    body = metric.to_dict()
    body.pop("run_id", None)
    body["value"] = body["value"] if isinstance(body["value"], str) else float(body["value"])
    return body


def _gc_not_supported() -> TracklineException:
    return TracklineException(
        "Garbage collection is not available over REST: the REST API has no call that erases "
        "runs or experiments. Run 'trackline gc' with the server's backend store URI "
        "(--backend-store-uri) on a machine that can reach its database.",
        NOT_IMPLEMENTED,
    )


def _json(response: Any) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        payload = response.json()
    except ValueError as exc:
        raise TracklineException(
            f"The server answered {response.request.method} {redact(response.url)} with something "
            "that "
            f"is not JSON (HTTP {response.status_code}); is this a tracking server?",
            "INTERNAL_ERROR",
        ) from exc
    return payload if isinstance(payload, dict) else {}
