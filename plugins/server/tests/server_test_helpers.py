"""Helpers shared by the trackline-server tests (imported through conftest's sys.path entry)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from trackline_server.config import ServerConfig

BASE = "http://localhost"
API = "/api/2.0/mlflow"


def make_config(tmp_path: Path, **overrides: Any) -> ServerConfig:
    settings: dict[str, Any] = {
        "backend_store_uri": f"sqlite:///{tmp_path / 'trackline.db'}",
        "artifacts_destination": str(tmp_path / "mlartifacts"),
    }
    settings.update(overrides)
    return ServerConfig(**settings)


def raw_request(
    app: Any, method: str, raw_path: bytes, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Call the ASGI app with an exact raw path (HTTP clients normalise '..' away)."""
    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path.decode("latin-1")),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"localhost")]
        + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("127.0.0.1", 1),
        "server": ("localhost", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    out_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], out_headers, content


def post(client: Any, path: str, body: Any) -> Any:
    return client.post(API + path, json=body)


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = json.loads(response.content)
    assert body["error_code"] == code, body
    return body["message"]
