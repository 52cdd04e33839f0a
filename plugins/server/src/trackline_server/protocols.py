"""uvicorn HTTP protocols that switch Nagle's algorithm off on every accepted connection.

A synchronous client waits for each small response before sending the next request; with
Nagle on, a response written in two pieces can sit for a delayed-ACK timeout (40 ms on
Linux). asyncio's own socket transport sets TCP_NODELAY, but uvloop versions and sockets
inherited by uvicorn's worker processes have not always done so; setting it here, once per
connection, makes the latency independent of the event loop in use.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


def set_nodelay(transport: Any) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):  # e.g. the peer is already gone
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional (the "fast" extra)
    HTTPTOOLS = False
else:
    HTTPTOOLS = True

    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            set_nodelay(transport)
            super().connection_made(transport)


def protocol_path() -> str:
    """The import string of the fastest protocol installed, for uvicorn's ``--http``."""
    name = "NoDelayHttpToolsProtocol" if HTTPTOOLS else "NoDelayH11Protocol"
    return f"trackline_server.protocols:{name}"
