"""``RestRegistryStore``: the model-registry store for ``http``/``https`` registry URIs.

Each method is one call to the ``/api/2.0/mlflow/registered-models/…`` or
``/model-versions/…`` endpoints that trackline's server and MLflow's server both speak. The
server validates and stores, and fires the registry event hooks of *its* plugins; this store
therefore sets ``fires_events_remotely`` so the client does not fire them a second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trackline.entities import PagedList
from trackline.registry.entities import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)
from trackline.store.registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    AbstractRegistryStore,
)

from trackline_rest.http import HttpClient, HttpConfig, raise_for_error, redact
from trackline_rest.store import API_PREFIX, _json


class RestRegistryStore(AbstractRegistryStore):
    """A model registry served at ``store_uri`` (``http(s)://host[:port][/prefix]``)."""

    fires_events_remotely = True

    def __init__(self, store_uri: str, *, config: HttpConfig | None = None) -> None:
        self.store_uri = store_uri
        self._http = HttpClient(store_uri, config)

    def __repr__(self) -> str:
        return f"RestRegistryStore({redact(self.store_uri)!r})"

    def close(self) -> None:
        self._http.close()

    # -- transport -------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        endpoint: str,
        body: dict[str, Any],
        *,
        retry_safe: bool = False,
    ) -> dict[str, Any]:
        body = {k: v for k, v in body.items() if v is not None}
        if method == "GET":
            response = self._http.request("GET", API_PREFIX + endpoint, params=body)
        else:
            response = self._http.request(
                method, API_PREFIX + endpoint, json=body, retry_safe=retry_safe
            )
        return _json(raise_for_error(response))

    # -- registered models -----------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: Sequence[RegisteredModelTag] = (),
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        body = {
            "name": name,
            "tags": [t.to_dict() for t in tags] or None,
            "description": description,
            "deployment_job_id": deployment_job_id,
        }
        reply = self._call("POST", "/registered-models/create", body)
        return RegisteredModel.from_dict(reply["registered_model"])

    def update_registered_model(
        self, name: str, description: str | None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        body = {"name": name, "description": description, "deployment_job_id": deployment_job_id}
        reply = self._call("PATCH", "/registered-models/update", body, retry_safe=True)
        return RegisteredModel.from_dict(reply["registered_model"])

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        reply = self._call(
            "POST", "/registered-models/rename", {"name": name, "new_name": new_name}
        )
        return RegisteredModel.from_dict(reply["registered_model"])

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", "/registered-models/delete", {"name": name})

    def get_registered_model(self, name: str) -> RegisteredModel:
        reply = self._call("GET", "/registered-models/get", {"name": name})
        return RegisteredModel.from_dict(reply["registered_model"])

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        params = {
            "filter": filter_string or None,
            "max_results": max_results,
            "order_by": list(order_by) if order_by else None,
            "page_token": page_token or None,
        }
        reply = self._call("GET", "/registered-models/search", params)
        models = [RegisteredModel.from_dict(m) for m in reply.get("registered_models", [])]
        return PagedList(models, reply.get("next_page_token") or None)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        body = {"name": name, "stages": list(stages) if stages else None}
        reply = self._call("POST", "/registered-models/get-latest-versions", body, retry_safe=True)
        return [ModelVersion.from_dict(v) for v in reply.get("model_versions", [])]

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        body = {"name": name, "key": tag.key, "value": tag.value}
        self._call("POST", "/registered-models/set-tag", body, retry_safe=True)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call("DELETE", "/registered-models/delete-tag", {"name": name, "key": key})

    # -- model versions --------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Sequence[ModelVersionTag] = (),
        run_link: str | None = None,
        description: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion:
        body = {
            "name": name,
            "source": source,
            "run_id": run_id or None,
            "tags": [t.to_dict() for t in tags] or None,
            "run_link": run_link or None,
            "description": description,
            "model_id": model_id or None,
        }
        reply = self._call("POST", "/model-versions/create", body)
        return ModelVersion.from_dict(reply["model_version"])

    def update_model_version(
        self, name: str, version: str | int, description: str | None
    ) -> ModelVersion:
        body = {"name": name, "version": str(version), "description": description}
        reply = self._call("PATCH", "/model-versions/update", body, retry_safe=True)
        return ModelVersion.from_dict(reply["model_version"])

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool
    ) -> ModelVersion:
        body = {
            "name": name,
            "version": str(version),
            "stage": stage,
            "archive_existing_versions": bool(archive_existing_versions),
        }
        reply = self._call("POST", "/model-versions/transition-stage", body)
        return ModelVersion.from_dict(reply["model_version"])

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._call("DELETE", "/model-versions/delete", {"name": name, "version": str(version)})

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        reply = self._call("GET", "/model-versions/get", {"name": name, "version": str(version)})
        return ModelVersion.from_dict(reply["model_version"])

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        reply = self._call(
            "GET", "/model-versions/get-download-uri", {"name": name, "version": str(version)}
        )
        return reply["artifact_uri"]

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        params = {
            "filter": filter_string or None,
            "max_results": max_results,
            "order_by": list(order_by) if order_by else None,
            "page_token": page_token or None,
        }
        reply = self._call("GET", "/model-versions/search", params)
        versions = [ModelVersion.from_dict(v) for v in reply.get("model_versions", [])]
        return PagedList(versions, reply.get("next_page_token") or None)

    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        body = {"name": name, "version": str(version), "key": tag.key, "value": tag.value}
        self._call("POST", "/model-versions/set-tag", body, retry_safe=True)

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        body = {"name": name, "version": str(version), "key": key}
        self._call("DELETE", "/model-versions/delete-tag", body)

    # -- aliases ---------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        body = {"name": name, "alias": alias, "version": str(version)}
        self._call("POST", "/registered-models/alias", body, retry_safe=True)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._call("DELETE", "/registered-models/alias", {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        reply = self._call("GET", "/registered-models/alias", {"name": name, "alias": alias})
        return ModelVersion.from_dict(reply["model_version"])
