"""The fluent registry functions: ``trackline.register_model`` and friends (MLflow's names).

They use the current tracking URI and registry URI, like the rest of the fluent API.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from trackline.entities import PagedList
from trackline.exceptions import RESOURCE_ALREADY_EXISTS, TracklineException
from trackline.registry.entities import ModelVersion, RegisteredModel
from trackline.registry.uri import is_models_uri, parse_model_uri

logger = logging.getLogger(__name__)

SEARCH_PAGE_SIZE = 1000


def _client() -> Any:
    from trackline.tracking.client import TracklineClient
    from trackline.tracking.uri import get_registry_uri, get_tracking_uri

    return TracklineClient(get_tracking_uri(), get_registry_uri())


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: dict[str, Any] | None = None,
) -> ModelVersion:
    """Register the model at ``model_uri`` as a new version of ``name`` (created if missing).

    ``model_uri`` is ``runs:/<run_id>/<path>``, ``models:/<model_id>`` (a logged model),
    ``models:/<name>/<version>`` or any artifact URI. The version records its lineage: the
    run (``run_id``), the logged model (``model_id``) and the source URI.
    """
    client = _client()
    try:
        client.create_registered_model(name)
        logger.info("Successfully registered model '%s'.", name)
    except TracklineException as exc:
        if exc.error_code != RESOURCE_ALREADY_EXISTS:
            raise
        logger.info("Registered model '%s' already exists. Creating a new version.", name)
    source, run_id, model_id = _lineage(client, model_uri)
    version = client.create_model_version(
        name,
        source,
        run_id=run_id,
        tags=tags,
        await_creation_for=await_registration_for,
        model_id=model_id,
    )
    logger.info("Created version '%s' of model '%s'.", version.version, name)
    if model_id is not None:
        tag_logged_model_versions(client, model_id, version.name, str(version.version))
    return version


MODEL_VERSIONS_TAG = "mlflow.modelVersions"


def tag_logged_model_versions(client: Any, model_id: str, name: str, version: str) -> None:
    """Record a registered version on its logged model (``mlflow.modelVersions``, a JSON list
    of ``{"name", "version"}``), as MLflow 3 does on every registration. Idempotent."""
    import json

    current = client.get_logged_model(model_id).tags.get(MODEL_VERSIONS_TAG)
    entries = json.loads(current) if current else []
    entry = {"name": name, "version": version}
    if entry not in entries:
        entries.append(entry)
        client.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: json.dumps(entries)})


def _lineage(client: Any, model_uri: str) -> tuple[str, str | None, str | None]:
    """(source, run_id, model_id) to record for ``model_uri``."""
    from trackline.artifacts import parse_runs_uri, resolve_artifact_uri

    if model_uri.startswith("runs:"):
        run_id, path = parse_runs_uri(model_uri)
        logged = _logged_model_of_run(client, run_id, path)
        if logged is not None:
            return f"models:/{logged.model_id}", run_id, logged.model_id
        return resolve_artifact_uri(model_uri, client.tracking_uri), run_id, None
    if is_models_uri(model_uri):
        parsed = parse_model_uri(model_uri)
        if parsed.model_id is not None:
            run_id = None
            getter = getattr(client, "get_logged_model", None) or client._store.get_logged_model
            with contextlib.suppress(TracklineException, NotImplementedError):
                run_id = getter(parsed.model_id).source_run_id
            return model_uri, run_id, parsed.model_id
        source = client.resolve_model_version(model_uri)
        return f"models:/{source.name}/{source.version}", source.run_id, source.model_id
    return model_uri, None, None


def _logged_model_of_run(client: Any, run_id: str, path: str) -> Any:
    """The logged model named ``path`` that run ``run_id`` produced, if the store has one
    and the run has no plain artifacts at ``path`` (MLflow 3's lookup order)."""
    if not path:
        return None
    try:
        if client.list_artifacts(run_id, path):
            return None
        run = client.get_run(run_id)
        search = getattr(client._store, "search_logged_models", None)
        if search is None:
            return None
        models = search(
            [run.info.experiment_id],
            filter_string=f"source_run_id = '{run_id}' AND name = '{path}'",
            max_results=1,
        )
    except (TracklineException, NotImplementedError):
        return None
    return models[0] if models else None


def search_registered_models(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[RegisteredModel]:
    """Every matching registered model (all pages, or at most ``max_results``)."""
    return _all_pages(_client().search_registered_models, max_results, filter_string, order_by)


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[ModelVersion]:
    """Every matching model version (all pages, or at most ``max_results``)."""
    return _all_pages(_client().search_model_versions, max_results, filter_string, order_by)


def _all_pages(
    search: Any, max_results: int | None, filter_string: str | None, order_by: Any
) -> list[Any]:
    found: list[Any] = []
    token = None
    while max_results is None or len(found) < max_results:
        size = (
            SEARCH_PAGE_SIZE
            if max_results is None
            else min(SEARCH_PAGE_SIZE, max_results - len(found))
        )
        page: PagedList[Any] = search(filter_string, size, order_by, token)
        found.extend(page)
        token = page.token
        if not token:
            break
    return found


def set_model_version_tag(
    name: str,
    version: str | int | None = None,
    key: str | None = None,
    value: Any = None,
    stage: str | None = None,
) -> None:
    _client().set_model_version_tag(name, version, key, value, stage)


__all__ = [
    "register_model",
    "search_model_versions",
    "search_registered_models",
    "set_model_version_tag",
]
