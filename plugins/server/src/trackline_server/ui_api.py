"""The web UI's routes: the page, its static files, artifact previewers, down-sampled metrics.

The UI itself is plain ES modules in ``trackline_server/ui`` (no build step); it talks to the
public REST API plus the two read-only endpoints defined here, which the OpenAPI document
describes like every other route:

* ``GET /ajax-api/2.0/trackline/ui/previewers``: the artifact previewers plugins registered
  with the ``register_artifact_previewers`` hook (trackline-server's own built-ins included).
* ``GET /ajax-api/2.0/trackline/metrics/get-history-downsampled``: a metric's history for
  a chart, at most ``max_points`` per run, chosen deterministically so that every bucket keeps
  its first, last, lowest and highest point (an M4 reduction): a spike is never dropped. The
  tracking store reduces (``get_metric_history_downsampled``, see ``trackline.metric_downsample``).
"""

from __future__ import annotations

import functools
import math
import mimetypes
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from trackline.entities import RunStatus
from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.metric_downsample import X_AXES, DownsampledHistory

from trackline_server.artifacts import check_raw_url_path
from trackline_server.protocol import MESSAGES
from trackline_server.protocol import Field as F
from trackline_server.routing import ROOT, Context, Route

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from trackline.plugins.types import ArtifactPreviewerSpec

UI_API = ("/ajax-api/2.0/trackline",)
UI_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ui")
PREVIEWERS_URL = "previewers/"
MAX_RUNS = 100
DEFAULT_MAX_POINTS = 2000
MAX_POINTS = 20000

# Module scripts need a JavaScript MIME type; some platforms' mimetypes tables lack one.
_STATIC_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
}


# -- artifact previewers ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredPreviewer:
    spec: ArtifactPreviewerSpec
    plugin: str

    def module_url(self, static_prefix: str) -> str:
        module = self.spec.module
        if module.startswith(("http://", "https://")):
            return module
        return f"{static_prefix}/static-files/{PREVIEWERS_URL}{self.spec.name}/{module}"

    def static_root(self) -> str | None:
        """The real path of the previewer's static folder (``None`` if it ships none)."""
        where = self.spec.static_dir
        if not where:
            return None
        if ":" in where and not os.path.isabs(where) and not _is_windows_drive(where):
            package, _, subdir = where.partition(":")
            base = resources.files(package)
            where = str(base.joinpath(*filter(None, subdir.split("/"))))
        return os.path.realpath(where)


def _is_windows_drive(path: str) -> bool:
    return len(path) > 1 and path[1] == ":" and path[0].isalpha()


def collect_previewers() -> dict[str, RegisteredPreviewer]:
    """Every previewer the installed plugins register, by name; a name taken twice raises."""
    from trackline.plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    found: dict[str, RegisteredPreviewer] = {}
    for impl in manager.hook.register_artifact_previewers.get_hookimpls():

        def register(spec: ArtifactPreviewerSpec, _plugin: str = impl.plugin_name) -> None:
            known = found.get(spec.name)
            if known is not None and known.plugin != _plugin:
                raise TracklineException(
                    f"The artifact previewer {spec.name!r} is registered by two plugins: "
                    f"{manager.describe(known.plugin)} and {manager.describe(_plugin)}. "
                    "Uninstall one, or disable it with TRACKLINE_DISABLE_PLUGINS."
                )
            found[spec.name] = RegisteredPreviewer(spec, _plugin)

        impl.function(*[{"register": register}[arg] for arg in impl.argnames])
    return found


@functools.cache
def previewers() -> dict[str, RegisteredPreviewer]:
    """The previewers of this process; plugins are installed before a server starts."""
    return collect_previewers()


def list_previewers(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    prefix = ctx.config.static_prefix
    items = [
        {
            "name": p.spec.name,
            "plugin": p.plugin,
            "module_url": p.module_url(prefix),
            "extensions": list(p.spec.extensions),
            "mime_types": list(p.spec.mime_types),
            "priority": p.spec.priority,
            "max_size": p.spec.max_size,
            "description": p.spec.description,
        }
        for p in sorted(previewers().values(), key=lambda p: p.spec.name)
    ]
    return {"previewers": items}


# -- static files --------------------------------------------------------------------------------


def _not_found(what: str) -> TracklineException:
    return TracklineException(f"No such UI file: {what}", RESOURCE_DOES_NOT_EXIST)


def resolve_static(path: str) -> str:
    """The real file behind ``/static-files/<path>``, never outside the folder that serves it."""
    parts = path.split("/")
    if not path or any(part in ("", ".", "..") or "\\" in part for part in parts):
        raise _not_found(path)
    if path.startswith(PREVIEWERS_URL):
        name, rest = parts[1], parts[2:]
        previewer = previewers().get(name)
        root = previewer.static_root() if previewer else None
        if root is None or not rest:
            raise _not_found(path)
    else:
        root, rest = os.path.realpath(UI_DIR), parts
        if parts[0] == PREVIEWERS_URL.rstrip("/"):
            raise _not_found(path)
    target = os.path.realpath(os.path.join(root, *rest))
    if os.path.commonpath([root, target]) != root or not os.path.isfile(target):
        raise _not_found(path)
    return target


def static_media_type(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    return _STATIC_TYPES.get(ext) or mimetypes.guess_type(path)[0] or "application/octet-stream"


async def static_file(ctx: Context, request: Request) -> Response:
    from starlette.responses import FileResponse

    check_raw_url_path(request.scope.get("raw_path") or b"")
    target = resolve_static(request.path_params.get("path", ""))
    # Revalidate every time (cheap: ETag/Last-Modified), so an upgrade is never half-cached.
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return FileResponse(target, media_type=static_media_type(target), headers=headers)


@functools.cache
def _index_template() -> str:
    with open(os.path.join(UI_DIR, "index.html"), encoding="utf-8") as f:
        return f.read()


async def index_page(ctx: Context, request: Request) -> Response:
    import json

    from starlette.responses import HTMLResponse

    # The page learns the static prefix from here, so every URL it builds carries it.
    prefix = ctx.config.static_prefix
    html = _index_template().replace("__STATIC_PREFIX__", prefix)
    html = html.replace("__STATIC_PREFIX_JSON__", json.dumps(prefix))
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


# -- down-sampled metric history -----------------------------------------------------------------


def _invalid(message: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(message)


def _wire_double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def wire_series(reduced: DownsampledHistory) -> dict[str, Any]:
    """A reduced history as the MetricSeries message (no first_timestamp without points)."""
    data: dict[str, Any] = {
        "first_timestamp": reduced.first_timestamp,
        "total_points": reduced.total_points,
        "downsampled": reduced.downsampled,
        "steps": reduced.steps,
        "timestamps": reduced.timestamps,
        "values": [_wire_double(v) for v in reduced.values],
    }
    return {k: v for k, v in data.items() if v is not None}


class SeriesCache:
    """Recent reductions of runs that have finished, per worker process.

    Reading a million points from a store is the slow part of a chart, and finished runs
    rarely change, so a repeated view (another user, a reload, going back) reuses the result.
    An entry is used only while the run is still in the same terminal state with the same end
    time and the same latest value of the metric; running runs are never cached.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def token(store: Any, run_id: str, key: str) -> Any:
        """What must not have changed for a cached series to hold; ``None``: do not cache."""
        info, metrics = (run := store.get_run(run_id)).info, run.data.metric_list
        if RunStatus.to_string(info.status) not in RunStatus.TERMINATED:
            return None
        latest = next(((m.timestamp, m.step, m.value) for m in metrics if m.key == key), None)
        return (info.status, info.end_time, repr(latest))

    def get(self, key: tuple[Any, ...], token: Any) -> dict[str, Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != token:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple[Any, ...], token: Any, series: dict[str, Any]) -> None:
        with self._lock:
            self._entries[key] = (token, series)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


SERIES_CACHE = SeriesCache()


def get_history_downsampled(ctx: Context, req: dict[str, Any]) -> dict[str, Any]:
    run_ids, key = req["run_ids"], req["metric_key"]
    if len(run_ids) > MAX_RUNS:
        raise _invalid(f"At most {MAX_RUNS} run_ids per request. Received {len(run_ids)}.")
    x_axis = req.get("x_axis", "step")
    if x_axis not in X_AXES:
        raise _invalid(f"x_axis must be one of {', '.join(X_AXES)}. Got {x_axis!r}.")
    max_points = req.get("max_points", DEFAULT_MAX_POINTS)
    if not 4 <= max_points <= MAX_POINTS:
        raise _invalid(f"max_points must be between 4 and {MAX_POINTS}. Got {max_points}.")
    x_min, x_max = req.get("x_min"), req.get("x_max")
    for name, bound in (("x_min", x_min), ("x_max", x_max)):
        if bound is not None and not math.isfinite(bound):
            raise _invalid(f"{name} must be a finite number. Got {bound}.")
    if x_min is not None and x_max is not None and x_min > x_max:
        raise _invalid(f"x_min ({x_min}) must not be greater than x_max ({x_max}).")
    series = []
    for run_id in dict.fromkeys(run_ids):  # each run once, in the order asked
        cache_key = (id(ctx.store), run_id, key, x_axis, max_points, x_min, x_max)
        token = SeriesCache.token(ctx.store, run_id, key)  # also: 404 for a missing run
        data = SERIES_CACHE.get(cache_key, token) if token is not None else None
        if data is None:
            # The store reduces (trackline.metric_downsample by default; the SQL store without
            # building a Metric per point), so a million points never cross as objects.
            reduced = ctx.store.get_metric_history_downsampled(
                run_id, key, x_axis, max_points, x_min, x_max
            )
            data = wire_series(reduced)
            if token is not None:
                SERIES_CACHE.put(cache_key, token, data)
        series.append({"run_id": run_id, "metric_key": key, **data})
    return {"series": series}


# -- the table -------------------------------------------------------------------------------------

MESSAGES.update(
    {
        "MetricSeries": (
            F("run_id"),
            F("metric_key"),
            F("first_timestamp", "int64", doc="time of the run's first point: relative time 0"),
            F("total_points", "int64", doc="points in the requested range before reduction"),
            F("downsampled", "bool"),
            F("steps", "int64", repeated=True),
            F("timestamps", "int64", repeated=True, doc="milliseconds since the epoch"),
            F("values", "double", repeated=True),
        ),
        "ArtifactPreviewer": (
            F("name"),
            F("plugin", doc="the plugin that registered it"),
            F("module_url", doc="URL of the ES module whose default export renders a file"),
            F("extensions", repeated=True),
            F("mime_types", repeated=True),
            F("priority", "int64"),
            F("max_size", "int64", doc="bytes; larger files are offered as downloads only"),
            F("description"),
        ),
    }
)

ROUTES: tuple[Route, ...] = (
    Route(
        "UiIndex",
        ("GET",),
        "/",
        index_page,
        prefixes=ROOT,
        kind="raw",
        group="misc",
        media_type="text/html",
        summary="The web UI's page.",
    ),
    Route(
        "UiStaticFile",
        ("GET",),
        "/static-files/{path:path}",
        static_file,
        prefixes=ROOT,
        kind="raw",
        group="misc",
        media_type="*/*",  # JavaScript, CSS, images... whatever the file is
        summary="A static file of the web UI, or of a plugin's artifact previewer "
        "(previewers/<name>/<file>).",
    ),
    Route(
        "ListArtifactPreviewers",
        ("GET",),
        "/ui/previewers",
        list_previewers,
        response=(F("previewers", "ArtifactPreviewer", repeated=True),),
        prefixes=UI_API,
        group="misc",
        summary="The artifact previewers plugins registered (register_artifact_previewers).",
    ),
    Route(
        "GetMetricHistoryDownsampled",
        ("GET",),
        "/metrics/get-history-downsampled",
        get_history_downsampled,
        (
            F("run_ids", required=True, repeated=True, doc=f"at most {MAX_RUNS}"),
            F("metric_key", required=True),
            F("x_axis", doc="step (default), wall (ms since the epoch) or relative (seconds)"),
            F("max_points", "int32", doc=f"4..{MAX_POINTS} per run, default {DEFAULT_MAX_POINTS}"),
            F("x_min", "double", doc="only points with x >= x_min (plus one before)"),
            F("x_max", "double", doc="only points with x <= x_max (plus one after)"),
        ),
        (F("series", "MetricSeries", repeated=True),),
        prefixes=UI_API,
        summary="A metric's history per run for charts: at most max_points per run, every "
        "bucket keeping its first, last, minimum and maximum point (deterministic).",
    ),
)
