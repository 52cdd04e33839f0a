"""Free TCP ports for servers that tests start, chosen so that nothing else takes them.

Asking the kernel for port 0 and then closing the socket hands out a port from the
*ephemeral* range, the same range every outgoing connection (to PostgreSQL, to another
test server) draws its local port from. Between the probe and the server's own bind,
one of those connections can take it, and the server dies with "Address already in use"
(a CI failure of this project). ``free_port`` therefore picks from below the ephemeral
range, where the kernel never assigns ports on its own, and gives each pytest-xdist
worker its own slice of that range, so that two workers never probe the same port.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path

# Well above the ports of services that run next to the tests (PostgreSQL 5432, MySQL 3306).
LOWEST_PORT = 20000
_DEFAULT_EPHEMERAL_START = 32768  # Linux's default; macOS starts at 49152


def ephemeral_range_start() -> int:
    """The first port the kernel hands out on its own (Linux's setting, else its default)."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_START


def _worker_slice() -> range:
    """This process's share of the ports below the ephemeral range."""
    top = max(ephemeral_range_start(), LOWEST_PORT + 1000)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    width = (top - LOWEST_PORT) // max(count, 1)
    start = LOWEST_PORT + (index % max(count, 1)) * width
    return range(start, start + width)


def _candidates() -> Iterator[int]:
    # A random starting point, then onwards in order: ports handed out one after another in
    # this process are all different until the slice wraps around.
    ports = _worker_slice()
    offset = random.randrange(len(ports))
    while True:
        yield from itertools.chain(ports[offset:], ports[:offset])


_next_candidate = _candidates()


def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on and the kernel will not hand out itself."""
    for _ in range(len(_worker_slice())):
        port = next(_next_candidate)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port below the ephemeral range")


def is_address_in_use(server_output: str) -> bool:
    """Whether a server's log says it could not bind its port (uvicorn, werkzeug, gunicorn)."""
    text = server_output.lower()
    return "address already in use" in text or "errno 98" in text or "errno 48" in text
