"""The web UI's routes: the page, its static files, artifact previewers, down-sampled metrics.

The UI itself is plain ES modules in ``trackline_server/ui`` (no build step); it talks to the
public REST API plus the two read-only endpoints defined here, which the OpenAPI document
describes like every other route:

* ``GET /ajax-api/2.0/trackline/ui/previewers``: the artifact previewers plugins registered
  with the ``register_artifact_previewers`` hook (trackline-server's own built-ins included).
* ``GET /ajax-api/2.0/trackline/metrics/get-history-downsampled``: a metric's history for
  a chart, at most ``max_points`` per run, chosen deterministically so that every bucket keeps
  its first, last, lowest and highest point (an M4 reduction): a spike is never dropped.
"""

from __future__ import annotations

import functools
import math
import mimetypes
import os
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException

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
X_AXES = ("step", "wall", "relative")

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


def m4_indices(values: list[float], max_points: int) -> list[int]:
    """Indices of at most ``max_points`` points of an x-ordered series, extremes kept.

    The series is cut into ``max_points // 4`` buckets of (nearly) equal size; each keeps its
    first, last, minimum and maximum point, in order. NaN and infinite values never win the
    minimum or maximum, but a bucket's first and last points are kept whatever they are. The
    result depends only on the input, so the same history always draws the same chart.
    """
    n = len(values)
    if n <= max_points:
        return list(range(n))
    buckets = max(1, max_points // 4)
    finite = math.isfinite
    keep: list[int] = []
    for b in range(buckets):
        start, end = b * n // buckets, (b + 1) * n // buckets
        if start >= end:
            continue
        segment = values[start:end]
        chosen = {start, end - 1}
        try:
            low, high = min(segment), max(segment)
            clean = finite(low) and finite(high)
        except TypeError:
            clean = False
        if not clean:
            finite_values = [v for v in segment if finite(v)]
            low = min(finite_values) if finite_values else None
            high = max(finite_values) if finite_values else None
        if low is not None:
            chosen.add(start + segment.index(low))
            chosen.add(start + segment.index(high))
        keep.extend(sorted(chosen))
    return keep


def _wire_double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def downsampled_series(
    history: list[Any],
    x_axis: str,
    max_points: int,
    x_min: float | None,
    x_max: float | None,
) -> dict[str, Any]:
    """One run's series: points ordered on ``x_axis``, cut to [x_min, x_max], then reduced."""
    first_timestamp = min((m.timestamp for m in history), default=None)
    if x_axis == "step":
        points = sorted(history, key=lambda m: (m.step, m.timestamp))
        xs: list[float] = [m.step for m in points]
    else:
        points = sorted(history, key=lambda m: (m.timestamp, m.step))
        origin = points[0].timestamp if points else 0
        scale = 1000.0 if x_axis == "relative" else 1.0  # relative: seconds from first point
        xs = [m.timestamp if scale == 1.0 else (m.timestamp - origin) / scale for m in points]
    if x_min is not None or x_max is not None:
        import bisect

        lo = 0 if x_min is None else bisect.bisect_left(xs, x_min)
        hi = len(xs) if x_max is None else bisect.bisect_right(xs, x_max)
        # One point beyond each edge keeps the line running to the border of a zoomed chart.
        lo, hi = max(0, lo - 1), min(len(xs), hi + 1)
        points = points[lo:hi]
    values = [m.value for m in points]
    keep = m4_indices(values, max_points)
    return {
        "first_timestamp": first_timestamp,
        "total_points": len(points),
        "downsampled": len(keep) < len(points),
        "steps": [points[i].step for i in keep],
        "timestamps": [points[i].timestamp for i in keep],
        "values": [_wire_double(values[i]) for i in keep],
    }


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
        history = list(ctx.store.get_metric_history(run_id, key))
        data = downsampled_series(history, x_axis, max_points, x_min, x_max)
        data = {k: v for k, v in data.items() if v is not None}  # no history, no first time
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
