"""Logged models (MLflow 3) over REST: the ``/logged-models`` calls of ``RestTrackingStore``.

The server validates and stores; this side only shapes requests (the model id and a tag
key travel in the URL path, percent-encoded) and reads ``LoggedModel`` JSON back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from trackline.entities import (
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    LoggedModelStatus,
    PagedList,
    Param,
    RunTag,
)
from trackline.store.tracking import key_value_list

from trackline_rest.http import HttpClient, raise_for_error

API_PREFIX = "/api/2.0/mlflow"


def _model_path(model_id: str) -> str:
    return f"/logged-models/{quote(str(model_id), safe='')}"


def _pairs(items: Sequence[Param] | Sequence[RunTag]) -> list[dict[str, str]]:
    return [{"key": item.key, "value": item.value} for item in items]


class RestLoggedModelsMixin:
    """The logged-model methods of ``RestTrackingStore``."""

    # Provided by RestTrackingStore.
    _http: HttpClient
    _post: Callable[..., dict[str, Any]]
    _get: Callable[[str, dict[str, Any]], dict[str, Any]]

    def _call(
        self, method: str, endpoint: str, body: dict[str, Any], *, retry_safe: bool
    ) -> dict[str, Any]:
        """PATCH and DELETE carry a JSON body, as MLflow's client sends them."""
        from trackline_rest.store import _json

        response = self._http.request(
            method, API_PREFIX + endpoint, json=body, retry_safe=retry_safe
        )
        return _json(raise_for_error(response))

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, str] | Sequence[RunTag] | None = None,
        params: Mapping[str, str] | Sequence[Param] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        body = {
            "experiment_id": str(experiment_id),
            "name": name or None,
            "source_run_id": source_run_id or None,
            "model_type": model_type or None,
            "tags": _pairs(key_value_list(tags, RunTag)),
            "params": _pairs(key_value_list(params, Param)),
        }
        reply = self._post("/logged-models", body, retry_safe=False)
        return LoggedModel.from_dict(reply["model"])

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        body = {
            "model_id": model_id,
            "status": LoggedModelStatus.parse(status).to_proto_name(),
        }
        reply = self._call("PATCH", _model_path(model_id), body, retry_safe=True)
        return LoggedModel.from_dict(reply["model"])

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        params = {"allow_deleted": "true"} if allow_deleted else {}
        reply = self._get(_model_path(model_id), params)
        return LoggedModel.from_dict(reply["model"])

    def delete_logged_model(self, model_id: str) -> None:
        self._call("DELETE", _model_path(model_id), {"model_id": model_id}, retry_safe=False)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string or None,
            "datasets": [dict(d) for d in datasets] if datasets else None,
            "max_results": max_results,
            "order_by": [dict(o) for o in order_by] if order_by else None,
            "page_token": page_token or None,
        }
        reply = self._post("/logged-models/search", body, retry_safe=True)
        models = [LoggedModel.from_dict(m) for m in reply.get("models", [])]
        return PagedList(models, reply.get("next_page_token") or None)

    def set_logged_model_tags(
        self, model_id: str, tags: Mapping[str, str] | Sequence[RunTag]
    ) -> None:
        body = {"model_id": model_id, "tags": _pairs(key_value_list(tags, RunTag))}
        self._call("PATCH", f"{_model_path(model_id)}/tags", body, retry_safe=True)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        endpoint = f"{_model_path(model_id)}/tags/{quote(key, safe='')}"
        self._call("DELETE", endpoint, {}, retry_safe=False)

    def log_logged_model_params(
        self, model_id: str, params: Mapping[str, str] | Sequence[Param]
    ) -> None:
        body = {"model_id": model_id, "params": _pairs(key_value_list(params, Param))}
        self._post(f"{_model_path(model_id)}/params", body, retry_safe=True)

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        body = {"run_id": run_id, "models": [m.to_dict() for m in models]}
        self._post("/runs/outputs", body, retry_safe=True)

    def log_model_inputs(self, run_id: str, models: Sequence[LoggedModelInput]) -> None:
        body = {"run_id": run_id, "models": [m.to_dict() for m in models]}
        self._post("/runs/log-inputs", body, retry_safe=False)
