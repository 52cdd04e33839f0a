"""trackline.testing.ports: ports for test servers that outgoing connections cannot take."""

from __future__ import annotations

import socket

import pytest
from trackline.testing import ports


@pytest.fixture
def as_worker(monkeypatch: pytest.MonkeyPatch):
    def set_worker(index: int, count: int) -> range:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{index}")
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(count))
        return ports._worker_slice()

    return set_worker


def test_ports_are_below_the_ephemeral_range_and_bindable() -> None:
    chosen = [ports.free_port() for _ in range(20)]
    assert len(set(chosen)) == 20
    for port in chosen:
        assert ports.LOWEST_PORT <= port < ports.ephemeral_range_start()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_listening_port_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", ports.free_port()))
        listener.listen()
        taken = listener.getsockname()[1]
        # Start the search at the taken port: it must be skipped.
        monkeypatch.setattr(ports, "_next_candidate", iter([taken, taken + 1]))
        assert ports.free_port() == taken + 1


def test_xdist_workers_get_disjoint_slices(as_worker) -> None:
    slices = [as_worker(index, 4) for index in range(4)]
    for first in range(4):
        for second in range(first + 1, 4):
            assert not set(slices[first]) & set(slices[second])
    assert all(len(s) > 1000 for s in slices)


def test_address_in_use_is_recognised_in_server_logs() -> None:
    assert ports.is_address_in_use("ERROR:    [Errno 98] Address already in use")
    assert ports.is_address_in_use("OSError: [Errno 48] Address already in use")
    assert not ports.is_address_in_use("Uvicorn running on http://127.0.0.1:5000")
