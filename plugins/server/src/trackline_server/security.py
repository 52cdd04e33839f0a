"""Host-header check, CORS and X-Frame-Options, as one small pure-ASGI middleware.

* Host check: a browser tricked by DNS rebinding sends the attacker's host name; only the
  allowed names (by default localhost, loopback and private addresses) get an answer.
* CORS: allowed origins get CORS headers and preflight answers; a state-changing request
  from any other origin is refused, since a browser would send it before asking.
* X-Frame-Options on every response, against click-jacking of the UI.

Pure ASGI rather than ``BaseHTTPMiddleware``: it adds no task or body copy per request.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from typing import Any
from urllib.parse import urlparse

from trackline_server.config import ServerConfig

Scope = dict[str, Any]
Receive = Any
Send = Any

HOST_REJECTED = b"Invalid Host header - possible DNS rebinding attack detected"
CORS_REJECTED = b"Cross-origin request blocked: this origin is not allowed."
DEFAULT_ALLOWED_HOSTS = ("localhost", "*.localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0")
DEFAULT_ALLOWED_ORIGINS = (
    "http://localhost",
    "http://localhost:*",
    "http://127.0.0.1",
    "http://127.0.0.1:*",
    "http://[::1]",
    "http://[::1]:*",
)
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_EXEMPT_PATHS = ("/health",)


def split_host(host: str) -> str:
    """``name:port`` → ``name``; ``[::1]:5000`` → ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _is_private_ip(name: str) -> bool:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_private or address.is_loopback


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    if "*" in patterns:
        return True
    full = host.strip().lower()
    name = split_host(full)
    if not patterns:
        return any(fnmatch.fnmatch(name, p) for p in DEFAULT_ALLOWED_HOSTS) or _is_private_ip(name)
    return any(
        fnmatch.fnmatch(full, p.lower()) or fnmatch.fnmatch(name, p.lower()) for p in patterns
    )


def origin_allowed(origin: str, patterns: tuple[str, ...]) -> bool:
    patterns = patterns or DEFAULT_ALLOWED_ORIGINS
    if "*" in patterns:
        return True
    return any(fnmatch.fnmatch(origin.lower(), p.lower()) for p in patterns)


class SecurityMiddleware:
    def __init__(self, app: Any, config: ServerConfig) -> None:
        self.app = app
        self.allowed_hosts = config.allowed_hosts
        self.allowed_origins = config.cors_allowed_origins
        xfo = config.x_frame_options.strip()
        self.frame_header = None if xfo.upper() == "NONE" or not xfo else xfo.encode()
        self.exempt = tuple(config.static_prefix + p for p in _EXEMPT_PATHS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if scope["path"] not in self.exempt and not host_allowed(
            headers.get("host", ""), self.allowed_hosts
        ):
            await _plain(send, 403, HOST_REJECTED)
            return
        origin = headers.get("origin")
        cross = origin is not None and not _same_origin(origin, headers.get("host", ""))
        allowed_origin = cross and origin_allowed(origin or "", self.allowed_origins)
        method = scope["method"]
        if cross and not allowed_origin and method not in _SAFE_METHODS:
            await _plain(send, 403, CORS_REJECTED)
            return
        if allowed_origin and method == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, origin or "", headers)
            return
        extra: list[tuple[bytes, bytes]] = []
        if self.frame_header is not None:
            extra.append((b"x-frame-options", self.frame_header))
        if allowed_origin:
            extra += [
                (b"access-control-allow-origin", (origin or "").encode()),
                (b"vary", b"Origin"),
            ]
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _preflight(self, send: Send, origin: str, headers: dict[str, str]) -> None:
        requested = headers.get("access-control-request-headers", "")
        response_headers = [
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE, OPTIONS"),
            (b"access-control-allow-headers", requested.encode() or b"Content-Type"),
            (b"access-control-max-age", b"600"),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": response_headers})
        await send({"type": "http.response.body", "body": b""})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


def _same_origin(origin: str, host: str) -> bool:
    return urlparse(origin).netloc.lower() == host.strip().lower()


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
