"""Tracking and artifact endpoints, and ``ROUTES``: the table of every endpoint of the server.

``ROUTES`` is the single source for the router (``trackline_server.app``), the request
parser (``trackline_server.protocol``) and the OpenAPI document (``trackline_server.openapi``).

``rpc`` routes take a parsed message and return a dict; they are plain functions run in a
worker thread, because the stores are synchronous. ``raw`` routes get the Starlette request
and return a response (artifact bytes, plain text).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from trackline import __version__
from trackline.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelInput,
    Metric,
    Param,
    Run,
    RunTag,
)
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.store.tracking import SEARCH_DATASETS_MAX_EXPERIMENTS

from trackline_server import logged_models_api, registry_api, ui_api
from trackline_server.artifacts import (
    MULTIPART_UNSUPPORTED,
    RunArtifacts,
    check_local_location,
    check_path,
    check_raw_url_path,
)
from trackline_server.protocol import MESSAGES, parse_message
from trackline_server.protocol import Field as F
from trackline_server.routing import (
    AJAX_2,
    API_3,
    ARTIFACTS,
    ROOT,
    Context,
    Route,
    file_response,
    json_response,
    omit_empty,
    paged,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request
    from starlette.responses import Response

BULK_MAX_RUNS = 100
BULK_INTERVAL_MAX_RESULTS = 2500
BULK_MAX_RESULTS = 25000

# -- helpers -------------------------------------------------------------------------------------


def _tags(items: list[dict[str, Any]] | None) -> list[RunTag]:
    return [RunTag(t["key"], t.get("value", "")) for t in items or ()]


def _metric(d: dict[str, Any]) -> Metric:
    get = d.get  # positional and bound: a batch builds up to 1,000 of these
    return Metric(
        d["key"],
        d["value"],
        d["timestamp"],
        get("step", 0),
        get("dataset_name"),
        get("dataset_digest"),
        get("model_id"),
    )


def _dataset_input(d: dict[str, Any]) -> DatasetInput:
    ds = d["dataset"]
    dataset = Dataset(
        ds["name"],
        ds["digest"],
        ds["source_type"],
        ds["source"],
        ds.get("schema"),
        ds.get("profile"),
    )
    return DatasetInput(dataset, tuple(InputTag(t["key"], t["value"]) for t in d.get("tags", ())))


# -- experiments ---------------------------------------------------------------------------------


def create_experiment(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    if req.get("artifact_location"):
        check_local_location(req["artifact_location"], ctx.config.local_artifact_roots)
    experiment_id = ctx.store.create_experiment(
        req["name"], req.get("artifact_location"), _tags(req.get("tags"))
    )
    return {"experiment_id": str(experiment_id)}


def get_experiment(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": ctx.store.get_experiment(req["experiment_id"]).to_dict()}


def get_experiment_by_name(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    experiment = ctx.store.get_experiment_by_name(req["experiment_name"])
    if experiment is None:
        raise TracklineException(
            f"Could not find experiment with name '{req['experiment_name']}'",
            RESOURCE_DOES_NOT_EXIST,
        )
    return {"experiment": experiment.to_dict()}


def search_experiments(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    page = ctx.store.search_experiments(
        view_type=req.get("view_type", "ACTIVE_ONLY"),
        # Over REST an omitted max_results is 0, which the store refuses (as MLflow does).
        max_results=req.get("max_results", 0),
        filter_string=req.get("filter"),
        order_by=req.get("order_by"),
        page_token=req.get("page_token"),
    )
    return paged("experiments", page)


def update_experiment(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.rename_experiment(req["experiment_id"], req["new_name"])
    return {}


def delete_experiment(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.delete_experiment(req["experiment_id"])
    return {}


def restore_experiment(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.restore_experiment(req["experiment_id"])
    return {}


def set_experiment_tag(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.set_experiment_tag(req["experiment_id"], RunTag(req["key"], req.get("value", "")))
    return {}


def delete_experiment_tag(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.delete_experiment_tag(req["experiment_id"], req["key"])
    return {}


# -- runs ----------------------------------------------------------------------------------------


DEFAULT_EXPERIMENT_ID = "0"


def create_run(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    run = ctx.store.create_run(
        # The reference server files a run without an experiment under the default one.
        experiment_id=req.get("experiment_id") or DEFAULT_EXPERIMENT_ID,
        user_id=req.get("user_id", ""),
        start_time=req.get("start_time", 0),  # the reference server stores 0 when omitted
        tags=_tags(req.get("tags")),
        run_name=req.get("run_name"),
    )
    created = run.to_dict()
    del created["outputs"]  # MLflow's CreateRun answer has none; GetRun's has
    return {"run": created}


def update_run(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    info = ctx.store.update_run_info(
        req["run_id"], req.get("status"), req.get("end_time"), req.get("run_name")
    )
    return {"run_info": info.to_dict()}


def delete_run(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.delete_run(req["run_id"])
    return {}


def restore_run(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.restore_run(req["run_id"])
    return {}


def get_run(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    return {"run": run_to_dict(ctx.store.get_run(req["run_id"]))}


def log_metric(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.log_metric(req["run_id"], _metric(req))
    return {}


def log_param(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.log_param(req["run_id"], Param(req["key"], req.get("value", "")))
    return {}


def set_tag(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.set_tag(req["run_id"], RunTag(req["key"], req.get("value", "")))
    return {}


def delete_tag(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.delete_tag(req["run_id"], req["key"])
    return {}


def log_batch(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    ctx.store.log_batch(
        req["run_id"],
        metrics=[_metric(m) for m in req.get("metrics", ())],
        params=[Param(p["key"], p.get("value", "")) for p in req.get("params", ())],
        tags=_tags(req.get("tags")),
    )
    return {}


def log_inputs(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    datasets = [_dataset_input(d) for d in req.get("datasets", ())]
    models = [LoggedModelInput(m["model_id"]) for m in req.get("models", ())]
    if datasets or not models:
        ctx.store.log_inputs(req["run_id"], datasets)
    if models:  # logged models the run used (Run.inputs.model_inputs)
        ctx.store.log_model_inputs(req["run_id"], models)
    return {}


def _plain_metric_dict(metric: Metric) -> dict[str, Any] | None:
    """``metric.to_dict()`` for a latest-value metric with only key, value, timestamp and step
    set (what a run's data holds), or None for anything else."""
    if (
        metric.dataset_name is None
        and metric.dataset_digest is None
        and metric.model_id is None
        and metric.run_id is None
        and metric.timestamp is not None
        and metric.step is not None
        and type(metric.value) is float
        and math.isfinite(metric.value)
    ):
        return {
            "key": metric.key,
            "value": metric.value,
            "timestamp": metric.timestamp,
            "step": metric.step,
        }
    return None


def run_to_dict(run: Run) -> dict[str, Any]:
    """``run.to_dict()``, built directly for the common shapes of a run.

    A search page turns hundreds of runs with their params, tags and metrics into JSON; the
    entities' generic ``to_dict`` (a dict per object, then a copy without ``None``) is a
    large part of its cost. This builds the same dicts in one step and falls back to
    ``to_dict`` for anything out of the ordinary (tests compare the two).
    """
    info, data = run.info, run.data
    info_dict = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": info.user_id,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri,
        "lifecycle_stage": info.lifecycle_stage,
    }
    if None in info_dict.values():  # an unfinished run has no end_time
        info_dict = {k: v for k, v in info_dict.items() if v is not None}
    data_dict: dict[str, Any] = {}
    if data.metric_list:
        metrics = []
        for metric in data.metric_list:
            metric_dict = _plain_metric_dict(metric)
            if metric_dict is None:
                return run.to_dict()
            metrics.append(metric_dict)
        data_dict["metrics"] = metrics
    if data.param_list:
        data_dict["params"] = [{"key": p.key, "value": p.value} for p in data.param_list]
    if data.tag_list:
        data_dict["tags"] = [{"key": t.key, "value": t.value} for t in data.tag_list]
    inputs = run.inputs.to_dict() if run.inputs.dataset_inputs or run.inputs.model_inputs else {}
    outputs = run.outputs.to_dict() if run.outputs.model_outputs else {}
    return {"info": info_dict, "data": data_dict, "inputs": inputs, "outputs": outputs}


def search_runs(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    page = ctx.store.search_runs(
        experiment_ids=req.get("experiment_ids", []),
        filter_string=req.get("filter"),
        run_view_type=req.get("run_view_type", "ACTIVE_ONLY"),
        max_results=req.get("max_results", 1000),
        order_by=req.get("order_by"),
        page_token=req.get("page_token"),
    )
    runs = [run_to_dict(run) for run in page]
    return omit_empty({"runs": runs, "next_page_token": getattr(page, "token", None)})


def search_datasets(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    experiment_ids = req.get("experiment_ids") or []
    if not experiment_ids:
        raise _invalid("SearchDatasets request must specify at least one experiment_id.")
    if len(experiment_ids) > SEARCH_DATASETS_MAX_EXPERIMENTS:
        raise _invalid(
            f"SearchDatasets request cannot specify more than {SEARCH_DATASETS_MAX_EXPERIMENTS} "
            f"experiment_ids. Received {len(experiment_ids)} experiment_ids."
        )
    summaries = ctx.store.search_dataset_summaries(experiment_ids)
    return omit_empty({"dataset_summaries": [s.to_dict() for s in summaries]})


# -- metrics -------------------------------------------------------------------------------------


def get_metric_history(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    page = ctx.store.get_metric_history(
        req["run_id"], req["metric_key"], req.get("max_results"), req.get("page_token")
    )
    return paged("metrics", page)


def _invalid(message: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(message)


def _check_run_ids(run_ids: list[str], rpc: str) -> None:
    if len(run_ids) > BULK_MAX_RUNS:
        # MLflow words the same limit differently for its two bulk routes.
        limit = (
            "cannot specify more than" if rpc == "GetMetricHistoryBulk" else "must specify at most"
        )
        raise _invalid(
            f"{rpc} request {limit} {BULK_MAX_RUNS} run_ids. Received {len(run_ids)} run_ids."
        )


def sample_points(history: list[Metric], max_results: int) -> list[Metric]:
    """At most ``max_results`` points of a metric's history, chosen as MLflow 3's SQL store does.

    The points are ordered by (step, timestamp, value, NaN last) and cut into ``max_results``
    buckets of (nearly) equal size, larger ones first (SQL's NTILE); the first point of each
    bucket is kept. The very last point is always kept too, replacing the last sample when
    there is no room, so ``max_results=1`` gives the latest point. Sampling points rather than
    steps keeps the answer bounded when many points share one step.
    """
    ordered = sorted(history, key=_point_order)
    count = len(ordered)
    if count <= max_results:
        return ordered
    size, larger = divmod(count, max_results)
    sample = [ordered[bucket * size + min(bucket, larger)] for bucket in range(max_results)]
    sample[-1] = ordered[-1]
    return sample


def _point_order(metric: Metric) -> tuple[int, int, float, bool]:
    nan = math.isnan(metric.value)
    return (metric.step, metric.timestamp, 0.0 if nan else metric.value, nan)


def _with_run_id(metric: Metric, run_id: str) -> dict[str, Any]:
    d = {"key": metric.key, "value": metric.value, "timestamp": metric.timestamp}
    d.update(step=metric.step, run_id=run_id)
    return d


def get_history_bulk_interval(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    run_ids, key = req["run_ids"], req["metric_key"]
    _check_run_ids(run_ids, "GetMetricHistoryBulkInterval")
    max_results = req.get("max_results", BULK_INTERVAL_MAX_RESULTS)
    if not 1 <= max_results <= BULK_INTERVAL_MAX_RESULTS:
        raise _invalid(
            f"max_results must be between 1 and {BULK_INTERVAL_MAX_RESULTS}. Got {max_results}."
        )
    start, end = req.get("start_step"), req.get("end_step")
    if (start is None) != (end is None):
        raise _invalid("If either start step or end step are specified, both must be specified.")
    if start is not None and end is not None and start > end:
        raise _invalid(
            "end_step must be greater than start_step. "
            f"Found start_step={start} and end_step={end}."
        )
    out: list[dict[str, Any]] = []
    for run_id in run_ids:
        history = [
            m
            for m in ctx.store.get_metric_history(run_id, key)
            if start is None or start <= m.step <= end  # type: ignore[operator]
        ]
        out.extend(replace(m, run_id=run_id).to_dict() for m in sample_points(history, max_results))
    return omit_empty({"metrics": out})


def get_history_bulk(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    run_ids, key = req["run_id"], req["metric_key"]
    _check_run_ids(run_ids, "GetMetricHistoryBulk")
    max_results = min(req.get("max_results", BULK_MAX_RESULTS), BULK_MAX_RESULTS)
    if max_results <= 0:
        raise _invalid(f"max_results must be positive. Got {max_results}.")
    # As MLflow's SQL store: runs in id order, each history by (timestamp, step, value), and
    # max_results for the whole answer, not per run.
    out: list[dict[str, Any]] = []
    for run_id in sorted(set(run_ids)):
        history = sorted(ctx.store.get_metric_history(run_id, key), key=_bulk_order)
        out.extend(_with_run_id(m, run_id) for m in history[: max_results - len(out)])
        if len(out) >= max_results:
            break
    # This UI endpoint writes doubles as bare JSON numbers (NaN included), as MLflow does.
    return {"metrics": out}


def _bulk_order(metric: Metric) -> tuple[int, int, float]:
    return (metric.timestamp, metric.step, 0.0 if math.isnan(metric.value) else metric.value)


# -- run artifacts -------------------------------------------------------------------------------


def _run_artifacts(ctx: Context, run_id: str) -> RunArtifacts:
    artifact_uri = ctx.store.get_run(run_id).info.artifact_uri
    return RunArtifacts(ctx.proxy, artifact_uri, ctx.config.local_artifact_roots)


def list_artifacts(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    path = check_path(req.get("path"))
    artifacts = _run_artifacts(ctx, req["run_id"])
    files = [f.to_dict() for f in artifacts.list(path)]
    return omit_empty({"root_uri": artifacts.artifact_uri, "files": files})


async def get_artifact(ctx: Context, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    query = {k: request.query_params.getlist(k) for k in request.query_params}
    req = parse_message(GET_ARTIFACT_REQUEST, query, query=True)
    path = check_path(req.get("path"))

    def locate() -> tuple[str, str | None]:
        return _run_artifacts(ctx, req["run_id"]).download_target(path)

    local, tmp = await run_in_threadpool(locate)
    return file_response(local, tmp)


# MLflow's UI uploads small files into a run through this ajax route; its limit.
UPLOAD_RUN_ARTIFACT_MAX_BYTES = 10 * 1024 * 1024
_UPLOAD_TOO_LARGE = "Artifact size is too large. Max size is 10MB."


async def upload_run_artifact(ctx: Context, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    # Only ``run_uuid``, as MLflow's handler: a ``run_id`` alone is refused there too.
    run_id = request.query_params.get("run_uuid")
    if not run_id:
        raise _invalid("Request must specify run_uuid.")
    if not request.query_params.get("path"):
        raise _invalid("Request must specify path.")
    path = check_path(request.query_params["path"])
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > UPLOAD_RUN_ARTIFACT_MAX_BYTES:
        raise _invalid(_UPLOAD_TOO_LARGE)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > UPLOAD_RUN_ARTIFACT_MAX_BYTES:
            raise _invalid(_UPLOAD_TOO_LARGE)
    if not body:
        raise _invalid("Request must specify data.")

    async def the_body() -> AsyncIterator[bytes]:
        yield bytes(body)

    artifacts = await run_in_threadpool(_run_artifacts, ctx, run_id)
    await artifacts.upload(path, the_body())
    return Response(status_code=200, media_type="application/json")


# -- proxied artifacts ---------------------------------------------------------------------------


def _url_path(request: Request) -> str:
    """The artifact path of a proxied-artifact URL, refused if it hides encoded tricks."""
    raw = request.scope.get("raw_path") or b""
    check_raw_url_path(raw)
    return check_path(request.path_params.get("path", ""))


async def download_artifact(ctx: Context, request: Request) -> Response:

    path = _url_path(request)
    return await ctx.proxy.download_response(path, request.headers.get("range"))


async def upload_artifact(ctx: Context, request: Request) -> Response:
    from starlette.responses import Response

    path = _url_path(request)
    await ctx.proxy.upload(path, request.stream())
    return Response(status_code=200)


async def list_proxied_artifacts(ctx: Context, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    path = check_path(request.query_params.get("path"))
    files = await run_in_threadpool(ctx.proxy.list, path)
    # No files: no "files" key at all, as MLflow's server answers.
    return json_response(omit_empty({"files": [f.to_dict() for f in files]}))


async def delete_artifact(ctx: Context, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    path = _url_path(request)
    await run_in_threadpool(ctx.proxy.delete, path)
    return json_response({})


async def _multipart_request(
    ctx: Context, request: Request, fields: tuple[F, ...]
) -> tuple[str, dict[str, Any]]:
    """(directory from the URL, parsed JSON body) of a multipart-upload request.

    As in MLflow, the URL names the directory and the body's ``path`` the client's local
    file, whose base name becomes the artifact's name.
    """
    from trackline_server.app import read_params

    directory = _url_path(request)
    if not ctx.proxy.supports_multipart_upload:
        raise TracklineException(MULTIPART_UNSUPPORTED, "NOT_IMPLEMENTED")
    raw_params, from_query = await read_params(request, ctx.config.max_request_body)
    return directory, parse_message(fields, raw_params, query=from_query)


async def create_multipart_upload(ctx: Context, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    directory, req = await _multipart_request(ctx, request, MPU_CREATE_REQUEST)
    num_parts = req.get("num_parts")
    num_parts = 1 if num_parts is None else num_parts
    created = await run_in_threadpool(
        ctx.proxy.create_multipart_upload, directory, req["path"], num_parts
    )
    return json_response(created)


async def complete_multipart_upload(ctx: Context, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    directory, req = await _multipart_request(ctx, request, MPU_COMPLETE_REQUEST)
    await run_in_threadpool(
        ctx.proxy.complete_multipart_upload,
        directory,
        req["path"],
        req.get("upload_id") or "",
        req["parts"],
    )
    return json_response({})


async def abort_multipart_upload(ctx: Context, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    directory, req = await _multipart_request(ctx, request, MPU_ABORT_REQUEST)
    await run_in_threadpool(
        ctx.proxy.abort_multipart_upload, directory, req["path"], req.get("upload_id") or ""
    )
    return json_response({})


async def presigned_download(ctx: Context, request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    path = _url_path(request)
    return json_response(await run_in_threadpool(ctx.proxy.presigned_download, path))


# -- misc ----------------------------------------------------------------------------------------


async def health(ctx: Context, request: Request) -> Response:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse("OK")


async def version(ctx: Context, request: Request) -> Response:
    from starlette.responses import PlainTextResponse

    return PlainTextResponse(__version__)


def server_info(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    store_type = None
    if not ctx.config.artifacts_only:
        store_type = "SqlStore" if "Sql" in type(ctx.store).__name__ else "FileStore"
    return {
        "store_type": store_type,
        "workspaces_enabled": False,
        "trace_archival_enabled": False,
        "multipart_uploads_enabled": bool(
            ctx.config.serve_artifacts and ctx.proxy.supports_multipart_upload
        ),
        "multipart_downloads_enabled": bool(
            ctx.config.serve_artifacts and ctx.proxy.supports_presigned_download
        ),
        "artifact_serving_enabled": ctx.config.serve_artifacts,
        "artifacts_presigned_only": False,
        "presigned_upload_run_id_supported": False,
        "presigned_upload_model_id_supported": False,
        "model_artifact_presigned_downloads_supported": False,
        "features_enabled": {"gateway": False, "scheduled_issue_detection": False},
    }


async def openapi_document(ctx: Context, request: Request) -> Response:
    from trackline_server.openapi import build_openapi

    return json_response(build_openapi(ROUTES, ctx.config.static_prefix))


# -- the table -----------------------------------------------------------------------------------

RUN_ID = F("run_id", required=True, alias="run_uuid", doc="run_uuid is a deprecated alias")
EXPERIMENT_ID = F("experiment_id", required=True)
GET_ARTIFACT_REQUEST = (RUN_ID, F("path", required=True))
MPU_NOTE = (
    "Multipart upload through presigned part URLs (S3 destinations); answers 501 "
    "NOT_IMPLEMENTED where the destination cannot do it (a local folder)."
)
MESSAGES.update(
    {
        "MultipartUploadCredential": (
            F("url"),
            F("part_number", "int64"),
            F("headers", "MultipartUploadHeaders", doc="headers to send with the PUT"),
        ),
        "MultipartUploadHeaders": (),
        "MultipartUploadPart": (F("part_number", "int64"), F("etag"), F("url")),
    }
)
MPU_CREATE_REQUEST = (F("path", required=True), F("num_parts", "int64"))
MPU_COMPLETE_REQUEST = (
    F("path", required=True),
    F("upload_id"),
    F("parts", "MultipartUploadPart", repeated=True, required=True),
)
MPU_ABORT_REQUEST = (F("path", required=True), F("upload_id"))
MPU_ROUTES = (
    (
        "Create",
        create_multipart_upload,
        MPU_CREATE_REQUEST,
        (F("upload_id"), F("credentials", "MultipartUploadCredential", repeated=True)),
    ),
    ("Complete", complete_multipart_upload, MPU_COMPLETE_REQUEST, ()),
    ("Abort", abort_multipart_upload, MPU_ABORT_REQUEST, ()),
)

TRACKING_ROUTES: tuple[Route, ...] = (
    # experiments
    Route(
        "CreateExperiment",
        ("POST",),
        "/experiments/create",
        create_experiment,
        (
            F("name", required=True),
            F("artifact_location"),
            F("tags", "ExperimentTag", repeated=True),
        ),
        (F("experiment_id"),),
    ),
    Route(
        "GetExperiment",
        ("GET",),
        "/experiments/get",
        get_experiment,
        (EXPERIMENT_ID,),
        (F("experiment", "Experiment"),),
    ),
    Route(
        "GetExperimentByName",
        ("GET",),
        "/experiments/get-by-name",
        get_experiment_by_name,
        (F("experiment_name", required=True),),
        (F("experiment", "Experiment"),),
    ),
    Route(
        "SearchExperiments",
        ("GET", "POST"),
        "/experiments/search",
        search_experiments,
        (
            F("max_results", "int64", doc="required in practice: 0 or omitted is refused"),
            F("page_token"),
            F("filter"),
            F("order_by", repeated=True),
            F("view_type", "enum:ViewType"),
        ),
        (F("experiments", "Experiment", repeated=True), F("next_page_token")),
    ),
    Route(
        "UpdateExperiment",
        ("POST",),
        "/experiments/update",
        update_experiment,
        (EXPERIMENT_ID, F("new_name", required=True)),
    ),
    Route(
        "DeleteExperiment", ("POST",), "/experiments/delete", delete_experiment, (EXPERIMENT_ID,)
    ),
    Route(
        "RestoreExperiment", ("POST",), "/experiments/restore", restore_experiment, (EXPERIMENT_ID,)
    ),
    Route(
        "SetExperimentTag",
        ("POST",),
        "/experiments/set-experiment-tag",
        set_experiment_tag,
        (EXPERIMENT_ID, F("key", required=True), F("value")),
    ),
    Route(
        "DeleteExperimentTag",
        ("POST",),
        "/experiments/delete-experiment-tag",
        delete_experiment_tag,
        (EXPERIMENT_ID, F("key", required=True)),
    ),
    # runs
    Route(
        "CreateRun",
        ("POST",),
        "/runs/create",
        create_run,
        (
            F("experiment_id", doc="default: the default experiment, 0"),
            F("user_id", doc="deprecated"),
            F("run_name"),
            F("start_time", "int64"),
            F("tags", "RunTag", repeated=True),
        ),
        (F("run", "Run"),),
    ),
    Route(
        "UpdateRun",
        ("POST",),
        "/runs/update",
        update_run,
        (RUN_ID, F("status", "enum:RunStatus"), F("end_time", "int64"), F("run_name")),
        (F("run_info", "RunInfo"),),
    ),
    Route("DeleteRun", ("POST",), "/runs/delete", delete_run, (RUN_ID,)),
    Route("RestoreRun", ("POST",), "/runs/restore", restore_run, (RUN_ID,)),
    Route("GetRun", ("GET",), "/runs/get", get_run, (RUN_ID,), (F("run", "Run"),)),
    Route(
        "LogMetric",
        ("POST",),
        "/runs/log-metric",
        log_metric,
        (RUN_ID, *(f for f in MESSAGES["Metric"] if f.name != "run_id")),
    ),
    Route(
        "LogParam",
        ("POST",),
        "/runs/log-parameter",
        log_param,
        (RUN_ID, F("key", required=True), F("value")),
    ),
    Route(
        "SetTag", ("POST",), "/runs/set-tag", set_tag, (RUN_ID, F("key", required=True), F("value"))
    ),
    Route(
        "DeleteTag", ("POST",), "/runs/delete-tag", delete_tag, (RUN_ID, F("key", required=True))
    ),
    Route(
        "LogBatch",
        ("POST",),
        "/runs/log-batch",
        log_batch,
        (
            RUN_ID,
            F("metrics", "Metric", repeated=True),
            F("params", "Param", repeated=True),
            F("tags", "RunTag", repeated=True),
        ),
    ),
    Route(
        "LogInputs",
        ("POST",),
        "/runs/log-inputs",
        log_inputs,
        (
            RUN_ID,
            F("datasets", "DatasetInput", repeated=True),
            F("models", "ModelInput", repeated=True, doc="logged models used by the run"),
        ),
    ),
    Route(
        "SearchRuns",
        ("POST",),
        "/runs/search",
        search_runs,
        (
            F("experiment_ids", repeated=True),
            F("filter"),
            F("run_view_type", "enum:ViewType"),
            F("max_results", "int32"),
            F("order_by", repeated=True),
            F("page_token"),
        ),
        (F("runs", "Run", repeated=True), F("next_page_token")),
    ),
    Route(
        "SearchDatasets",
        ("POST",),
        "/experiments/search-datasets",
        search_datasets,
        (F("experiment_ids", repeated=True, doc="1 to 20 (required)"),),
        (F("dataset_summaries", "DatasetSummary", repeated=True),),
        prefixes=AJAX_2,
        summary="The distinct datasets (name, digest, context) the runs of these experiments "
        "used; at most 1,000.",
    ),
    # metrics
    Route(
        "GetMetricHistory",
        ("GET",),
        "/metrics/get-history",
        get_metric_history,
        (RUN_ID, F("metric_key", required=True), F("page_token"), F("max_results", "int32")),
        (F("metrics", "Metric", repeated=True), F("next_page_token")),
    ),
    Route(
        "GetMetricHistoryBulkInterval",
        ("GET",),
        "/metrics/get-history-bulk-interval",
        get_history_bulk_interval,
        (
            F("run_ids", required=True, repeated=True, doc="at most 100"),
            F("metric_key", required=True),
            F("start_step", "int32"),
            F("end_step", "int32"),
            F("max_results", "int32", doc="1..2500, default 2500"),
        ),
        (F("metrics", "MetricWithRunId", repeated=True),),
    ),
    Route(
        "GetMetricHistoryBulk",
        ("GET",),
        "/metrics/get-history-bulk",
        get_history_bulk,
        (
            F("run_id", required=True, repeated=True, doc="repeat the key; at most 100"),
            F("metric_key", required=True),
            F("max_results", "int32", doc="at most 25000"),
        ),
        (F("metrics", "MetricWithRunId", repeated=True),),
        prefixes=AJAX_2,
    ),
    # run artifacts
    Route(
        "ListArtifacts",
        ("GET",),
        "/artifacts/list",
        list_artifacts,
        (RUN_ID, F("path"), F("page_token")),
        (F("root_uri"), F("files", "FileInfo", repeated=True), F("next_page_token")),
    ),
    Route(
        "GetArtifact",
        ("GET",),
        "/get-artifact",
        get_artifact,
        GET_ARTIFACT_REQUEST,
        prefixes=("", "/ajax-api/2.0/mlflow"),
        kind="raw",
        media_type="application/octet-stream",
        summary="The bytes of one run artifact, as an attachment.",
    ),
    Route(
        "UploadRunArtifact",
        ("POST",),
        "/upload-artifact",
        upload_run_artifact,
        (F("run_uuid"), F("path")),
        prefixes=AJAX_2,
        kind="raw",
        raw_body=True,
        summary=(
            "Store the raw request body (at most 10 MB) as the run artifact at ``path``; "
            "``run_uuid`` and ``path`` are query parameters."
        ),
    ),
    # proxied artifacts
    Route(
        "DownloadArtifact",
        ("GET",),
        "/artifacts/{path:path}",
        download_artifact,
        prefixes=ARTIFACTS,
        kind="raw",
        group="artifacts",
        media_type="application/octet-stream",
        summary="Stream one file of the artifact destination (Range requests supported).",
    ),
    Route(
        "UploadArtifact",
        ("PUT",),
        "/artifacts/{path:path}",
        upload_artifact,
        prefixes=ARTIFACTS,
        kind="raw",
        group="artifacts",
        media_type="",
        summary="Store the raw request body at the path; visible only once complete.",
    ),
    Route(
        "DeleteArtifact",
        ("DELETE",),
        "/artifacts/{path:path}",
        delete_artifact,
        prefixes=ARTIFACTS,
        kind="raw",
        group="artifacts",
        summary="Delete a file or directory; a missing path is not an error.",
    ),
    Route(
        "ListProxiedArtifacts",
        ("GET",),
        "/artifacts",
        list_proxied_artifacts,
        (F("path"),),
        (F("files", "FileInfo", repeated=True),),
        prefixes=ARTIFACTS,
        kind="raw",
        group="artifacts",
        summary="Direct children of a directory; paths relative to it.",
    ),
    *(
        Route(
            f"{name}MultipartUpload",
            ("POST",),
            f"/mpu/{name.lower()}/{{path:path}}",
            handler,
            request,
            response,
            prefixes=ARTIFACTS,
            kind="raw",
            group="artifacts",
            statuses=("501",),
            summary=MPU_NOTE,
        )
        for name, handler, request, response in MPU_ROUTES
    ),
    Route(
        "GetPresignedDownloadUrl",
        ("GET",),
        "/presigned/{path:path}",
        presigned_download,
        response=(
            F("url"),
            F("headers", "MultipartUploadHeaders", doc="headers to send with the GET"),
            F("file_size", "int64"),
        ),
        prefixes=ARTIFACTS,
        kind="raw",
        group="artifacts",
        statuses=("501",),
        summary="A presigned URL to download one file straight from the store (S3); "
        "501 NOT_IMPLEMENTED for destinations without presigned URLs (local).",
    ),
    # misc
    Route(
        "Health",
        ("GET",),
        "/health",
        health,
        prefixes=ROOT,
        kind="raw",
        group="misc",
        media_type="text/plain",
    ),
    Route(
        "Version",
        ("GET",),
        "/version",
        version,
        prefixes=ROOT,
        kind="raw",
        group="misc",
        media_type="text/plain",
    ),
    Route(
        "GetServerInfo",
        ("GET",),
        "/server-info",
        server_info,
        response=(
            F("store_type"),
            F("workspaces_enabled", "bool"),
            F("multipart_uploads_enabled", "bool"),
            F("artifact_serving_enabled", "bool"),
        ),
        prefixes=API_3,
        group="misc",
    ),
    Route(
        "OpenApi",
        ("GET",),
        "/openapi.json",
        openapi_document,
        prefixes=ROOT,
        kind="raw",
        group="misc",
        summary="This document.",
    ),
)

# Each area of the API keeps its routes in its own module; this is the one place they meet.
ROUTES: tuple[Route, ...] = (
    *TRACKING_ROUTES,
    *ui_api.ROUTES,
    *registry_api.ROUTES,
    *logged_models_api.ROUTES,
)

__all__ = ["ROUTES", "Context", "Route", "json_response"]
