"""The ASGI application: ``ROUTES`` turned into Starlette routes, errors into MLflow's envelope.

``create_app()`` is the uvicorn factory each worker calls; it reads the configuration the CLI
left in ``TRACKLINE_SERVER_*`` variables. ``build_app(config)`` is the same without the
environment, for tests and embedding.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route as StarletteRoute
from trackline.exceptions import TracklineException

from trackline_server.api import ROUTES, Context, Route, json_response
from trackline_server.config import ServerConfig
from trackline_server.protocol import parse_json_body, parse_message
from trackline_server.security import SecurityMiddleware

logger = logging.getLogger("trackline_server")

_JSON = "application/json"
_ARTIFACTS_ONLY_TEXT = "Endpoint disabled: the server runs with --artifacts-only."
_NO_ARTIFACTS_TEXT = "Endpoint disabled: the server runs with --no-serve-artifacts."


class BodyTooLarge(Exception):
    pass


def create_app() -> Starlette:
    """The uvicorn factory (``trackline_server.app:create_app``, ``--factory``)."""
    return build_app(ServerConfig.from_env())


def build_app(config: ServerConfig, store_factory: Callable[[], Any] | None = None) -> Starlette:
    ctx = Context(config, store_factory or _default_store_factory(config))
    routes = [
        StarletteRoute(path, _endpoint(route, ctx), methods=list(route.methods), name=None)
        for route in ROUTES
        for path in route.paths(config.static_prefix)
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Open the store (and create or check its schema) before uvicorn reports ready, so
        # /health answering means the server can serve.
        if not config.artifacts_only:
            await run_in_threadpool(lambda: ctx.store)
        yield
        # Close what the handlers opened: the tracking store, and a registry store if one was.
        for store in (ctx._store, ctx.__dict__.get("_registry_store")):
            close = getattr(store, "close", None)
            if close is not None:
                close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.context = ctx
    if not config.disable_security_middleware:
        app.add_middleware(SecurityMiddleware, config=config)
    return app


def _default_store_factory(config: ServerConfig) -> Callable[[], Any]:
    def make() -> Any:
        from trackline.plugins.manager import get_plugin_manager

        factory = get_plugin_manager().tracking_store_factory(config.backend_store_uri)
        return factory(config.backend_store_uri, config.store_artifact_root)

    return make


# -- endpoints ---------------------------------------------------------------------------------


def _endpoint(route: Route, ctx: Context) -> Callable[[Request], Any]:
    disabled = _disabled_text(route, ctx.config)
    if disabled is not None:

        async def unavailable(request: Request) -> Response:
            return PlainTextResponse(disabled, status_code=503)

        return unavailable

    if route.kind == "raw":

        async def raw(request: Request) -> Response:
            try:
                return await route.handler(ctx, request)
            except Exception as exc:
                return error_response(exc)

        return raw

    async def rpc(request: Request) -> Response:
        try:
            raw_params, from_query = await read_params(request, ctx.config.max_request_body)
            if request.path_params:  # /logged-models/{model_id}: the URL names the resource
                path_values = request.path_params
                raw_params = {
                    **raw_params,
                    **({k: [v] for k, v in path_values.items()} if from_query else path_values),
                }
            message = parse_message(route.request, raw_params, query=from_query)
            result = await run_in_threadpool(route.handler, ctx, message)
            return json_response(result)
        except Exception as exc:
            return error_response(exc)

    return rpc


def _disabled_text(route: Route, config: ServerConfig) -> str | None:
    if route.group == "tracking" and config.artifacts_only:
        return _ARTIFACTS_ONLY_TEXT
    if route.group == "artifacts" and not config.serve_artifacts:
        return _NO_ARTIFACTS_TEXT
    return None


def error_response(exc: Exception) -> Response:
    if isinstance(exc, TracklineException):
        body = {"error_code": exc.error_code, "message": exc.message, **exc.details}
        return json_response(body, exc.get_http_status_code())
    if isinstance(exc, BodyTooLarge):
        body = {"error_code": "BAD_REQUEST", "message": str(exc)}
        return json_response(body, 413)
    if isinstance(exc, ClientDisconnect):
        return Response(status_code=400)  # nobody is listening; keep the log quiet
    logger.exception("internal error")
    body = {"error_code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"}
    return json_response(body, 500)


# -- request parameters ------------------------------------------------------------------------


async def read_params(request: Request, limit: int) -> tuple[dict[str, Any], bool]:
    """(raw parameters, whether they came from the query string), per the protocol rules."""
    method = request.method
    if method == "GET":
        if request.scope.get("query_string"):
            query = request.query_params
            return {key: query.getlist(key) for key in query}, True
        return parse_json_body(await read_body(request, limit)), False
    if method in ("POST", "PUT"):
        _check_content_type(request.headers.get("content-type"))
    return parse_json_body(await read_body(request, limit)), False


def _check_content_type(value: str | None) -> None:
    if value is None:
        raise TracklineException.invalid_parameter_value(
            "Bad Request. Content-Type header is missing."
        )
    if value.split(";", 1)[0].strip().lower() != _JSON:
        raise TracklineException.invalid_parameter_value(
            f"Bad Request. Content-Type must be one of ['{_JSON}']."
        )


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"Request body too large: the limit for API requests is {limit // (1024 * 1024)} MiB. "
        "Upload large data as artifacts."
    )
