"""The scoring server: MLflow's ``/ping``, ``/health``, ``/version`` and ``/invocations``.

``build_app(model)`` serves a loaded ``PyFuncModel``; ``create_app()`` is the uvicorn factory
each worker calls, loading the model named by ``TRACKLINE_SERVING_MODEL_URI``. The model is
loaded before uvicorn reports the server ready, so ``/ping`` answering means it can predict.
"""

from __future__ import annotations

import asyncio
import logging
import os
import traceback
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from trackline.exceptions import BAD_REQUEST, TracklineException
from trackline.models.scoring import UnsupportedMediaType, parse_request, predictions_json

logger = logging.getLogger("trackline_serving")

MODEL_URI_ENV = "TRACKLINE_SERVING_MODEL_URI"
TIMEOUT_ENV = "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
_JSON = "application/json"


def _error(exc: TracklineException, stack_trace: str | None = None) -> Response:
    body = {"error_code": exc.error_code, "message": exc.message}
    if stack_trace:
        body["stack_trace"] = stack_trace
    import json

    return Response(json.dumps(body), status_code=exc.get_http_status_code(), media_type=_JSON)


def predict_payload(model: Any, body: bytes, content_type: str | None) -> str:
    """Parse, predict and serialise one request; raises TracklineException / UnsupportedMediaType."""
    parsed = parse_request(body, content_type, model.metadata.get_input_schema())
    return predictions_json(model.predict(parsed.data, params=parsed.params))


def build_app(model: Any, timeout: float | None = None) -> Starlette:
    from trackline import __version__

    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))

    async def ping(request: Request) -> Response:
        return Response("\n", status_code=200, media_type=_JSON)

    async def version(request: Request) -> Response:
        return PlainTextResponse(__version__)

    async def invocations(request: Request) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type")
        try:
            result = await asyncio.wait_for(
                run_in_threadpool(predict_payload, model, body, content_type), timeout=timeout
            )
        except UnsupportedMediaType as exc:
            return PlainTextResponse(str(exc), status_code=415)
        except asyncio.TimeoutError:
            return Response(
                "Request processing time exceeded limit", status_code=504, media_type=_JSON
            )
        except TracklineException as exc:
            if exc.get_http_status_code() >= 500:
                # Model code raising our exception type with a server error code is still a
                # failed prediction for this input, as MLflow reports it.
                exc = TracklineException(exc.message, BAD_REQUEST)
            return _error(exc)
        except Exception as exc:
            logger.exception("Prediction failed")
            return _error(
                TracklineException(
                    "Encountered an unexpected error while evaluating the model "
                    f"({type(exc).__name__}: {exc}). Check that the input matches what the "
                    "model expects.",
                    BAD_REQUEST,
                ),
                traceback.format_exc(),
            )
        return Response(result, status_code=200, media_type=_JSON)

    routes = [
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.model = model
    return app


def create_app() -> Starlette:
    """The uvicorn factory: loads the model named in ``TRACKLINE_SERVING_MODEL_URI``."""
    from trackline.pyfunc import load_model

    uri = os.environ.get(MODEL_URI_ENV)
    if not uri:
        raise RuntimeError(
            f"{MODEL_URI_ENV} is not set; start the server with 'trackline models serve'."
        )
    return build_app(load_model(uri))
