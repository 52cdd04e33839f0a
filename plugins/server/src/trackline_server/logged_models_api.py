"""Logged-model endpoints (MLflow 3): ``/logged-models/…`` and ``/runs/outputs``.

All live under ``/api/2.0/mlflow`` and ``/ajax-api/2.0/mlflow``, as in MLflow (the RPCs are
declared ``since 2.0``). The model id travels in the URL (``/logged-models/{model_id}``); the
app merges path parameters into the parsed message.

A logged model's artifacts live at its ``artifact_uri``
(``<experiment artifact location>/models/<model id>/artifacts``); on a server that proxies
artifacts that is an ``mlflow-artifacts:/…`` URI, and the listing and file download below go
through the same proxy and containment checks as run artifacts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trackline.entities import LoggedModelOutput, LoggedModelStatus, Param, RunTag

from trackline_server.artifacts import RunArtifacts, check_path
from trackline_server.protocol import ENUMS, MESSAGES, parse_message
from trackline_server.protocol import Field as F
from trackline_server.routing import AJAX_2, Context, Route, file_response, omit_empty, paged

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

ENUMS.update(
    {
        # Index + 1 is the protocol number (LOGGED_MODEL_STATUS_UNSPECIFIED = 0 is never sent).
        "LoggedModelStatus": (
            "LOGGED_MODEL_PENDING",
            "LOGGED_MODEL_READY",
            "LOGGED_MODEL_UPLOAD_FAILED",
        ),
    }
)
MESSAGES.update(
    {
        "LoggedModelTag": (F("key", required=True), F("value")),
        "LoggedModelParameter": (F("key", required=True), F("value")),
        "ModelOutput": (F("model_id", required=True), F("step", "int64", required=True)),
        "SearchLoggedModelsDataset": (F("dataset_name", required=True), F("dataset_digest")),
        "SearchLoggedModelsOrderBy": (
            F("field_name", required=True),
            F("ascending", "bool"),
            F("dataset_name"),
            F("dataset_digest"),
        ),
        # Response-only messages, for the OpenAPI document.
        "LoggedModelInfo": (
            F("model_id"),
            F("experiment_id"),
            F("name"),
            F("creation_timestamp_ms", "int64"),
            F("last_updated_timestamp_ms", "int64"),
            F("artifact_uri"),
            F("status", "enum:LoggedModelStatus"),
            F("model_type"),
            F("source_run_id"),
            F("status_message"),
            F("tags", "LoggedModelTag", repeated=True),
        ),
        "LoggedModelData": (
            F("params", "LoggedModelParameter", repeated=True),
            F("metrics", "Metric", repeated=True),
        ),
        "LoggedModel": (F("info", "LoggedModelInfo"), F("data", "LoggedModelData")),
    }
)

MODEL_ID = F("model_id", required=True, doc="m-<32 hex digits>")
MODEL = (F("model", "LoggedModel"),)


def _model(ctx: Context, model_id: str) -> dict[str, Any]:
    return {"model": ctx.store.get_logged_model(model_id).to_dict()}


def create_logged_model(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    model = ctx.store.create_logged_model(
        req["experiment_id"],
        name=req.get("name"),
        source_run_id=req.get("source_run_id"),
        tags=[RunTag(t["key"], t.get("value", "")) for t in req.get("tags", ())],
        params=[Param(p["key"], p.get("value", "")) for p in req.get("params", ())],
        model_type=req.get("model_type"),
    )
    return {"model": model.to_dict()}


def finalize_logged_model(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    status = LoggedModelStatus.parse(req["status"])
    return {"model": ctx.store.finalize_logged_model(req["model_id"], status).to_dict()}


def get_logged_model(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    model = ctx.store.get_logged_model(
        req["model_id"], allow_deleted=req.get("allow_deleted", False)
    )
    return {"model": model.to_dict()}


def delete_logged_model(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.delete_logged_model(req["model_id"])
    return {}


def search_logged_models(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    page = ctx.store.search_logged_models(
        experiment_ids=req["experiment_ids"],
        filter_string=req.get("filter"),
        datasets=req.get("datasets"),
        max_results=req.get("max_results"),
        order_by=req.get("order_by"),
        page_token=req.get("page_token"),
    )
    return paged("models", page)


def set_logged_model_tags(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    tags = [RunTag(t["key"], t.get("value", "")) for t in req.get("tags", ())]
    ctx.store.set_logged_model_tags(req["model_id"], tags)
    return _model(ctx, req["model_id"])


def delete_logged_model_tag(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.delete_logged_model_tag(req["model_id"], req["tag_key"])
    return {}


def log_logged_model_params(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    params = [Param(p["key"], p.get("value", "")) for p in req.get("params", ())]
    ctx.store.log_logged_model_params(req["model_id"], params)
    return {}


def log_outputs(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    models = [LoggedModelOutput(m["model_id"], m["step"]) for m in req["models"]]
    ctx.store.log_outputs(req["run_id"], models)
    return {}


def _model_artifacts(ctx: Context, model_id: str) -> RunArtifacts:
    location = ctx.store.get_logged_model(model_id).artifact_location
    return RunArtifacts(ctx.proxy, location, ctx.config.local_artifact_roots)


def list_logged_model_artifacts(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    path = check_path(req.get("artifact_directory_path"))
    artifacts = _model_artifacts(ctx, req["model_id"])
    files = [f.to_dict() for f in artifacts.list(path)]
    return omit_empty({"root_uri": artifacts.artifact_uri, "files": files})


async def get_logged_model_artifact(ctx: Context, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    query = {k: request.query_params.getlist(k) for k in request.query_params}
    query["model_id"] = [request.path_params["model_id"]]
    req = parse_message(ARTIFACT_FILE_REQUEST, query, query=True)
    path = check_path(req["artifact_file_path"])

    def locate() -> tuple[str, str | None]:
        return _model_artifacts(ctx, req["model_id"]).download_target(path)

    local, tmp = await run_in_threadpool(locate)
    return file_response(local, tmp)


ARTIFACT_FILE_REQUEST = (MODEL_ID, F("artifact_file_path", required=True))

ROUTES: tuple[Route, ...] = (
    Route(
        "CreateLoggedModel",
        ("POST",),
        "/logged-models",
        create_logged_model,
        (
            F("experiment_id", required=True),
            F("name"),
            F("model_type"),
            F("source_run_id"),
            F("params", "LoggedModelParameter", repeated=True),
            F("tags", "LoggedModelTag", repeated=True),
        ),
        MODEL,
        summary="Create a logged model in status LOGGED_MODEL_PENDING.",
    ),
    # Before /logged-models/{model_id}: "search" is not a model id.
    Route(
        "SearchLoggedModels",
        ("POST",),
        "/logged-models/search",
        search_logged_models,
        (
            F("experiment_ids", repeated=True, required=True),
            F("filter"),
            F("datasets", "SearchLoggedModelsDataset", repeated=True),
            F("max_results", "int32", doc="default 50"),
            F("order_by", "SearchLoggedModelsOrderBy", repeated=True),
            F("page_token"),
        ),
        (F("models", "LoggedModel", repeated=True), F("next_page_token")),
    ),
    Route(
        "GetLoggedModel",
        ("GET",),
        "/logged-models/{model_id}",
        get_logged_model,
        (MODEL_ID, F("allow_deleted", "bool")),
        MODEL,
    ),
    Route(
        "FinalizeLoggedModel",
        ("PATCH",),
        "/logged-models/{model_id}",
        finalize_logged_model,
        (MODEL_ID, F("status", "enum:LoggedModelStatus", required=True)),
        MODEL,
        summary="Set the final status: LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED.",
    ),
    Route(
        "DeleteLoggedModel",
        ("DELETE",),
        "/logged-models/{model_id}",
        delete_logged_model,
        (MODEL_ID,),
        summary="Soft delete.",
    ),
    Route(
        "SetLoggedModelTags",
        ("PATCH",),
        "/logged-models/{model_id}/tags",
        set_logged_model_tags,
        (MODEL_ID, F("tags", "LoggedModelTag", repeated=True)),
        MODEL,
    ),
    Route(
        "DeleteLoggedModelTag",
        ("DELETE",),
        "/logged-models/{model_id}/tags/{tag_key:path}",
        delete_logged_model_tag,
        (MODEL_ID, F("tag_key", required=True)),
    ),
    Route(
        "LogLoggedModelParams",
        ("POST",),
        "/logged-models/{model_id}/params",
        log_logged_model_params,
        (MODEL_ID, F("params", "LoggedModelParameter", repeated=True)),
    ),
    Route(
        "ListLoggedModelArtifacts",
        ("GET",),
        "/logged-models/{model_id}/artifacts/directories",
        list_logged_model_artifacts,
        (MODEL_ID, F("artifact_directory_path"), F("page_token")),
        (F("root_uri"), F("files", "FileInfo", repeated=True), F("next_page_token")),
    ),
    Route(
        "GetLoggedModelArtifact",
        ("GET",),
        "/logged-models/{model_id}/artifacts/files",
        get_logged_model_artifact,
        ARTIFACT_FILE_REQUEST,
        prefixes=AJAX_2,
        kind="raw",
        media_type="application/octet-stream",
        summary="The bytes of one file of a logged model, as an attachment.",
    ),
    Route(
        "LogOutputs",
        ("POST",),
        "/runs/outputs",
        log_outputs,
        (
            F("run_id", required=True),
            F("models", "ModelOutput", repeated=True, required=True),
        ),
        summary="Record logged models as outputs of a run (Run.outputs.model_outputs).",
    ),
)

__all__ = ["ROUTES"]
