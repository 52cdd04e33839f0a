"""Model-registry endpoints: ``/registered-models/…`` and ``/model-versions/…`` (MLflow's).

Every write goes through the registry store wrapped in ``EventedRegistryStore``, so the
``registry_change_requested`` / ``registry_changed`` hooks of the server's plugins see every
change, whichever client made it.

A new version's ``source`` is checked before it is stored (``check_version_source``): the
server later reads from it (``get-artifact``, ``get-download-uri``), so a client must not be
able to point it at an arbitrary local path or at another run's files.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from trackline.exceptions import TracklineException
from trackline.registry.entities import ModelVersionTag, RegisteredModelTag
from trackline.registry.uri import is_models_uri, parse_model_uri
from trackline.store.registry import AbstractRegistryStore

from trackline_server.artifacts import (
    MLFLOW_ARTIFACTS_SCHEME,
    RunArtifacts,
    check_path,
    is_local_uri,
    local_root,
)
from trackline_server.protocol import MESSAGES, parse_message
from trackline_server.protocol import Field as F
from trackline_server.routing import Context, Route, file_response, omit_empty, paged

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

MESSAGES.update(
    {
        "RegisteredModelTag": (F("key", required=True), F("value")),
        "ModelVersionTag": (F("key", required=True), F("value")),
        "RegisteredModelAlias": (F("alias"), F("version")),
        "ModelVersion": (
            F("name"),
            F("version"),
            F("creation_timestamp", "int64"),
            F("last_updated_timestamp", "int64"),
            F("user_id"),
            F("current_stage"),
            F("description"),
            F("source"),
            F("run_id"),
            F("status", doc="PENDING_REGISTRATION, FAILED_REGISTRATION or READY"),
            F("status_message"),
            F("tags", "ModelVersionTag", repeated=True),
            F("run_link"),
            F("aliases", repeated=True),
            F("model_id"),
        ),
        "RegisteredModel": (
            F("name"),
            F("creation_timestamp", "int64"),
            F("last_updated_timestamp", "int64"),
            F("user_id"),
            F("description"),
            F("latest_versions", "ModelVersion", repeated=True),
            F("tags", "RegisteredModelTag", repeated=True),
            F("aliases", "RegisteredModelAlias", repeated=True),
            F("deployment_job_id"),
        ),
    }
)

MAX_REGISTERED_MODELS_DEFAULT = 100
MAX_MODEL_VERSIONS_DEFAULT = 200_000


def registry_store(ctx: Context) -> AbstractRegistryStore:
    """The server's registry store (``--registry-store-uri``, else the backend store)."""
    store = ctx.__dict__.get("_registry_store")
    if store is None:
        from trackline.plugins.manager import get_plugin_manager
        from trackline.registry.events import EventedRegistryStore

        uri = ctx.config.registry_store_uri or ctx.config.backend_store_uri
        store = EventedRegistryStore(get_plugin_manager().registry_store_factory(uri)(uri), uri)
        ctx.__dict__["_registry_store"] = store
    return store


def _rm_tags(items: list[dict[str, Any]] | None) -> list[RegisteredModelTag]:
    return [RegisteredModelTag(t["key"], t.get("value", "")) for t in items or ()]


def _mv_tags(items: list[dict[str, Any]] | None) -> list[ModelVersionTag]:
    return [ModelVersionTag(t["key"], t.get("value", "")) for t in items or ()]


# -- source checks -------------------------------------------------------------------------------


def _bad_source(source: str, why: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(
        f"Invalid model version source: '{source}'. {why}"
    )


def _segments(source: str) -> list[str]:
    """Path segments of ``source`` and of its percent-decodings (a layer of encoding must not
    hide ``..``)."""
    seen, text = [], source
    for _ in range(4):
        seen.extend(text.replace("\\", "/").split("/"))
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return seen


# A prompt version (MLflow's prompt registry) is a model version tagged
# mlflow.prompt.is_prompt=true; it has no files, and its source must be one of the placeholders
# MLflow's own senders use, as MLflow's server requires (handlers._validate_prompt_source).
PROMPT_TAG = "mlflow.prompt.is_prompt"
PROMPT_SOURCE_PLACEHOLDERS = frozenset({"dummy-source", "prompt-template"})


def is_prompt_request(tags: list[dict[str, Any]] | None) -> bool:
    """Whether a create-version request is for a prompt: the last ``mlflow.prompt.is_prompt``
    tag wins, and only ``true`` (any case) counts, as in MLflow."""
    values = {t.get("key"): t.get("value") or "" for t in tags or ()}
    return str(values.get(PROMPT_TAG, "false")).lower() == "true"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def check_version_source(
    ctx: Context, source: str, run_id: str | None, model_id: str | None
) -> None:
    """Refuse sources the server must not later read on a client's behalf.

    * no NUL and no ``..`` segment, in any encoding;
    * ``runs:/<id>/…`` only with ``run_id == <id>``; ``models:/m-<id>`` only with
      ``model_id == m-<id>``;
    * a local path only inside the local artifact directory of the given run (or logged
      model), and that directory inside the server's own artifact roots;
    * an ``mlflow-artifacts:`` (proxied) source only under the given run's or logged model's
      artifact location.

    Other schemes (``s3://``, ``gs://``…) are stored as given: the server reads them only
    through ``get-artifact``, which serves proxied and in-root local locations only.
    """
    if "\x00" in source or any(seg == ".." for seg in _segments(source)):
        raise _bad_source(source, "It must not contain '..' segments or NUL characters.")
    scheme = urlparse(source).scheme.lower()
    if scheme == "runs":
        from trackline.artifacts import parse_runs_uri

        named_run, _ = parse_runs_uri(source)
        if not run_id or named_run != run_id:
            raise _bad_source(
                source, "A runs:/ source must name the run given as the run_id parameter."
            )
        return
    if is_models_uri(source):
        parsed = parse_model_uri(source)
        if parsed.model_id is not None and parsed.model_id != model_id:
            raise _bad_source(
                source, "A models:/<model_id> source must name the model given as model_id."
            )
        return
    if not (is_local_uri(source) or scheme == MLFLOW_ARTIFACTS_SCHEME):
        return
    roots = _owner_locations(ctx, run_id, model_id)
    if not roots:
        raise _bad_source(
            source,
            "A local or proxied source needs the run_id (or model_id) it belongs to, and must "
            "lie inside that run's (or model's) artifact location.",
        )
    if is_local_uri(source):
        real = os.path.realpath(local_root(source))
        allowed = ctx.config.local_artifact_roots
        for root in roots:
            if not is_local_uri(root):
                continue
            root_real = os.path.realpath(local_root(root))
            in_server = any(_inside(root_real, r) for r in allowed)
            if in_server and _inside(real, root_real):
                return
    else:
        normal = posixpath.normpath(source.split(":", 1)[1].lstrip("/"))
        for root in roots:
            if root.startswith(MLFLOW_ARTIFACTS_SCHEME + ":"):
                root_path = posixpath.normpath(root.split(":", 1)[1].lstrip("/"))
                if _inside(normal, root_path):
                    return
    raise _bad_source(
        source,
        "It must lie inside the artifact location of the run (run_id) or logged model "
        "(model_id) it was produced by.",
    )


def _owner_locations(ctx: Context, run_id: str | None, model_id: str | None) -> list[str]:
    locations = []
    if run_id:
        locations.append(ctx.store.get_run(run_id).info.artifact_uri)
    if model_id:
        getter = getattr(ctx.store, "get_logged_model", None)
        if getter is not None:
            with contextlib.suppress(NotImplementedError):
                locations.append(getter(model_id).artifact_location)
    return locations


# -- registered models ---------------------------------------------------------------------------


def create_registered_model(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    model = registry_store(ctx).create_registered_model(
        req["name"], _rm_tags(req.get("tags")), req.get("description"), req.get("deployment_job_id")
    )
    return {"registered_model": model.to_dict()}


def rename_registered_model(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    model = registry_store(ctx).rename_registered_model(req["name"], req.get("new_name", ""))
    return {"registered_model": model.to_dict()}


def update_registered_model(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    model = registry_store(ctx).update_registered_model(
        req["name"], req.get("description"), req.get("deployment_job_id")
    )
    return {"registered_model": model.to_dict()}


def delete_registered_model(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    registry_store(ctx).delete_registered_model(req["name"])
    return {}


def get_registered_model(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    return {"registered_model": registry_store(ctx).get_registered_model(req["name"]).to_dict()}


def search_registered_models(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    page = registry_store(ctx).search_registered_models(
        req.get("filter"),
        req.get("max_results", MAX_REGISTERED_MODELS_DEFAULT),
        req.get("order_by"),
        req.get("page_token"),
    )
    return paged("registered_models", page)


def get_latest_versions(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    versions = registry_store(ctx).get_latest_versions(req["name"], req.get("stages"))
    return omit_empty({"model_versions": [v.to_dict() for v in versions]})


def set_registered_model_tag(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    tag = RegisteredModelTag(req["key"], req.get("value", ""))
    registry_store(ctx).set_registered_model_tag(req["name"], tag)
    return {}


def delete_registered_model_tag(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    registry_store(ctx).delete_registered_model_tag(req["name"], req["key"])
    return {}


# -- model versions ------------------------------------------------------------------------------


def create_model_version(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    if is_prompt_request(req.get("tags")):
        if req["source"] not in PROMPT_SOURCE_PLACEHOLDERS:
            raise TracklineException.invalid_parameter_value(
                f"Invalid prompt source: '{req['source']}'. Prompt sources must use an MLflow "
                "placeholder."
            )
    else:
        check_version_source(ctx, req["source"], req.get("run_id"), req.get("model_id"))
    version = registry_store(ctx).create_model_version(
        req["name"],
        req["source"],
        req.get("run_id"),
        _mv_tags(req.get("tags")),
        req.get("run_link"),
        req.get("description"),
        req.get("model_id"),
    )
    return {"model_version": version.to_dict()}


def update_model_version(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    version = registry_store(ctx).update_model_version(
        req["name"], req["version"], req.get("description")
    )
    return {"model_version": version.to_dict()}


def transition_model_version_stage(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    version = registry_store(ctx).transition_model_version_stage(
        req["name"], req["version"], req["stage"], req.get("archive_existing_versions", False)
    )
    return {"model_version": version.to_dict()}


def delete_model_version(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    registry_store(ctx).delete_model_version(req["name"], req["version"])
    return {}


def get_model_version(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    version = registry_store(ctx).get_model_version(req["name"], req["version"])
    return {"model_version": version.to_dict()}


def search_model_versions(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    page = registry_store(ctx).search_model_versions(
        req.get("filter"),
        req.get("max_results", MAX_MODEL_VERSIONS_DEFAULT),
        req.get("order_by"),
        req.get("page_token"),
    )
    return paged("model_versions", page)


def get_model_version_download_uri(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    uri = registry_store(ctx).get_model_version_download_uri(req["name"], req["version"])
    return {"artifact_uri": uri}


def set_model_version_tag(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    tag = ModelVersionTag(req["key"], req.get("value", ""))
    registry_store(ctx).set_model_version_tag(req["name"], req["version"], tag)
    return {}


def delete_model_version_tag(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    registry_store(ctx).delete_model_version_tag(req["name"], req["version"], req["key"])
    return {}


def set_registered_model_alias(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    registry_store(ctx).set_registered_model_alias(req["name"], req["alias"], req["version"])
    return {}


def delete_registered_model_alias(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    registry_store(ctx).delete_registered_model_alias(req["name"], req["alias"])
    return {}


def get_model_version_by_alias(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    version = registry_store(ctx).get_model_version_by_alias(req["name"], req["alias"])
    return {"model_version": version.to_dict()}


async def get_model_version_artifact(ctx: Context, request: Request) -> Response:
    """The bytes of one file of a version (the UI's download link)."""
    from starlette.concurrency import run_in_threadpool

    query = {k: request.query_params.getlist(k) for k in request.query_params}
    req = parse_message(GET_VERSION_ARTIFACT_REQUEST, query, query=True)
    path = check_path(req.get("path"))

    def locate() -> tuple[str, str | None]:
        from trackline.artifacts import resolve_artifact_uri

        location = registry_store(ctx).get_model_version_download_uri(req["name"], req["version"])
        if location.startswith("runs:"):
            from trackline.artifacts import parse_runs_uri

            run_id, sub = parse_runs_uri(location)
            base = ctx.store.get_run(run_id).info.artifact_uri
            location = base.rstrip("/") + ("/" + sub if sub else "")
        elif location.startswith("models:"):
            location = resolve_artifact_uri(location)
        artifacts = RunArtifacts(ctx.proxy, location, ctx.config.local_artifact_roots)
        return artifacts.download_target(path)

    local, tmp = await run_in_threadpool(locate)
    return file_response(local, tmp)


# -- the table -----------------------------------------------------------------------------------

NAME = F("name", required=True)
VERSION = F("version", required=True)
RM = (F("registered_model", "RegisteredModel"),)
MV = (F("model_version", "ModelVersion"),)
GET_VERSION_ARTIFACT_REQUEST = (NAME, VERSION, F("path"))

ROUTES: tuple[Route, ...] = (
    Route(
        "CreateRegisteredModel",
        ("POST",),
        "/registered-models/create",
        create_registered_model,
        (
            NAME,
            F("tags", "RegisteredModelTag", repeated=True),
            F("description"),
            F("deployment_job_id", doc="accepted and not stored"),
        ),
        RM,
    ),
    Route(
        "RenameRegisteredModel",
        ("POST",),
        "/registered-models/rename",
        rename_registered_model,
        (NAME, F("new_name")),
        RM,
    ),
    Route(
        "UpdateRegisteredModel",
        ("PATCH",),
        "/registered-models/update",
        update_registered_model,
        (NAME, F("description"), F("deployment_job_id", doc="accepted and not stored")),
        RM,
    ),
    Route(
        "DeleteRegisteredModel",
        ("DELETE",),
        "/registered-models/delete",
        delete_registered_model,
        (NAME,),
    ),
    Route(
        "GetRegisteredModel", ("GET",), "/registered-models/get", get_registered_model, (NAME,), RM
    ),
    Route(
        "SearchRegisteredModels",
        ("GET",),
        "/registered-models/search",
        search_registered_models,
        (
            F("filter"),
            F("max_results", "int64", doc="default 100, at most 1000"),
            F("order_by", repeated=True),
            F("page_token"),
        ),
        (F("registered_models", "RegisteredModel", repeated=True), F("next_page_token")),
    ),
    Route(
        "GetLatestVersions",
        ("GET", "POST"),
        "/registered-models/get-latest-versions",
        get_latest_versions,
        (NAME, F("stages", repeated=True)),
        (F("model_versions", "ModelVersion", repeated=True),),
    ),
    Route(
        "SetRegisteredModelTag",
        ("POST",),
        "/registered-models/set-tag",
        set_registered_model_tag,
        (NAME, F("key", required=True), F("value", required=True)),
    ),
    Route(
        "DeleteRegisteredModelTag",
        ("DELETE",),
        "/registered-models/delete-tag",
        delete_registered_model_tag,
        (NAME, F("key", required=True)),
    ),
    Route(
        "CreateModelVersion",
        ("POST",),
        "/model-versions/create",
        create_model_version,
        (
            NAME,
            F("source", required=True),
            F("run_id"),
            F("tags", "ModelVersionTag", repeated=True),
            F("run_link"),
            F("description"),
            F("model_id"),
        ),
        MV,
    ),
    Route(
        "UpdateModelVersion",
        ("PATCH",),
        "/model-versions/update",
        update_model_version,
        (NAME, VERSION, F("description")),
        MV,
    ),
    Route(
        "TransitionModelVersionStage",
        ("POST",),
        "/model-versions/transition-stage",
        transition_model_version_stage,
        (
            NAME,
            VERSION,
            F("stage", required=True),
            F("archive_existing_versions", "bool"),
        ),
        MV,
    ),
    Route(
        "DeleteModelVersion",
        ("DELETE",),
        "/model-versions/delete",
        delete_model_version,
        (NAME, VERSION),
    ),
    Route(
        "GetModelVersion", ("GET",), "/model-versions/get", get_model_version, (NAME, VERSION), MV
    ),
    Route(
        "SearchModelVersions",
        ("GET",),
        "/model-versions/search",
        search_model_versions,
        (
            F("filter"),
            F("max_results", "int64", doc="at most 200000"),
            F("order_by", repeated=True),
            F("page_token"),
        ),
        (F("model_versions", "ModelVersion", repeated=True), F("next_page_token")),
    ),
    Route(
        "GetModelVersionDownloadUri",
        ("GET",),
        "/model-versions/get-download-uri",
        get_model_version_download_uri,
        (NAME, VERSION),
        (F("artifact_uri"),),
    ),
    Route(
        "SetModelVersionTag",
        ("POST",),
        "/model-versions/set-tag",
        set_model_version_tag,
        (NAME, VERSION, F("key", required=True), F("value", required=True)),
    ),
    Route(
        "DeleteModelVersionTag",
        ("DELETE",),
        "/model-versions/delete-tag",
        delete_model_version_tag,
        (NAME, VERSION, F("key", required=True)),
    ),
    Route(
        "SetRegisteredModelAlias",
        ("POST",),
        "/registered-models/alias",
        set_registered_model_alias,
        (NAME, F("alias", required=True), VERSION),
    ),
    Route(
        "DeleteRegisteredModelAlias",
        ("DELETE",),
        "/registered-models/alias",
        delete_registered_model_alias,
        (NAME, F("alias", required=True)),
    ),
    Route(
        "GetModelVersionByAlias",
        ("GET",),
        "/registered-models/alias",
        get_model_version_by_alias,
        (NAME, F("alias", required=True)),
        MV,
    ),
    Route(
        "GetModelVersionArtifact",
        ("GET",),
        "/model-versions/get-artifact",
        get_model_version_artifact,
        GET_VERSION_ARTIFACT_REQUEST,
        prefixes=("", "/ajax-api/2.0/mlflow"),
        kind="raw",
        media_type="application/octet-stream",
        summary="The bytes of one file of a model version, as an attachment.",
    ),
)

__all__ = ["ROUTES", "check_version_source", "registry_store"]
