"""What every route module shares: ``Route``, the handler ``Context``, URL prefixes, responses.

The server's endpoints are grouped by area in modules that each export a ``ROUTES`` tuple
(``trackline_server.api`` for tracking and artifacts); ``trackline_server.api.ROUTES``
joins them, and that one table drives the router, the request parser and the OpenAPI
document. A new area adds a module and one line there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trackline_server.artifacts import ArtifactProxy, media_type
from trackline_server.config import ServerConfig
from trackline_server.protocol import Field as F

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from trackline.store.tracking import AbstractTrackingStore

API_2 = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
API_3 = ("/api/3.0/mlflow", "/ajax-api/3.0/mlflow")
AJAX_2 = ("/ajax-api/2.0/mlflow",)
ARTIFACTS = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")
ROOT = ("",)


@dataclass
class Context:
    """What handlers need: the configuration, the tracking store and the artifact proxy."""

    config: ServerConfig
    store_factory: Callable[[], AbstractTrackingStore] | None = None
    _store: AbstractTrackingStore | None = field(default=None, repr=False)

    @property
    def store(self) -> AbstractTrackingStore:
        if self._store is None:
            assert self.store_factory is not None
            self._store = self.store_factory()
        return self._store

    @property
    def proxy(self) -> ArtifactProxy:
        proxy = self.__dict__.get("_proxy")
        if proxy is None:
            proxy = self.__dict__["_proxy"] = ArtifactProxy(self.config.destination)
        return proxy


RpcHandler = Callable[[Context, dict[str, Any]], dict[str, Any]]
RawHandler = Callable[[Context, "Request"], Awaitable["Response"]]


@dataclass(frozen=True)
class Route:
    name: str
    methods: tuple[str, ...]
    path: str  # below each prefix; Starlette syntax for path parameters
    handler: Callable[..., Any]
    request: tuple[F, ...] = ()
    response: tuple[F, ...] = ()
    prefixes: tuple[str, ...] = API_2
    kind: str = "rpc"  # or "raw"
    group: str = "tracking"  # "tracking", "artifacts" or "misc": what server modes disable
    summary: str = ""
    media_type: str = "application/json"  # of a raw route's success response; "" = no body
    statuses: tuple[str, ...] = ()  # documented error statuses beyond 400/404/500
    raw_body: bool = False  # a raw POST whose body is file bytes and request fields the query

    def paths(self, static_prefix: str = "") -> list[str]:
        return [static_prefix + prefix + self.path for prefix in self.prefixes]


def omit_empty(d: dict[str, Any]) -> dict[str, Any]:
    """Unset and empty repeated fields are left out, as protobuf JSON does."""
    return {k: v for k, v in d.items() if v not in (None, [], "")}


def paged(key: str, page: Any) -> dict[str, Any]:
    return omit_empty(
        {key: [item.to_dict() for item in page], "next_page_token": getattr(page, "token", None)}
    )


# -- responses -----------------------------------------------------------------------------------


def json_response(data: Any, status_code: int = 200) -> Response:
    import json

    from starlette.responses import Response

    # allow_nan: the ajax bulk history writes bare NaN, as the reference server does.
    # check_circular=False: handlers build trees of fresh dicts (no cycles), and skipping
    # the encoder's bookkeeping of every container makes large pages cheaper to encode.
    body = json.dumps(data, allow_nan=True, separators=(",", ":"), check_circular=False)
    return Response(body, status_code=status_code, media_type="application/json")


def file_response(local: str, tmp_dir: str | None) -> Response:
    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse

    cleanup = BackgroundTask(shutil.rmtree, tmp_dir, True) if tmp_dir else None
    return FileResponse(
        local,
        media_type=media_type(local),
        filename=os.path.basename(local),
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
        background=cleanup,
    )
