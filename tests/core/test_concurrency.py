"""trackline.concurrency.map_concurrently: the parallel-transfer rule artifact repositories share."""

from __future__ import annotations

import threading

import pytest
from trackline.concurrency import map_concurrently


def test_results_keep_the_input_order_and_use_several_threads() -> None:
    names: set[str] = set()
    barrier = threading.Barrier(3, timeout=10)

    def square(n: int) -> int:
        names.add(threading.current_thread().name)
        if n < 3:
            barrier.wait()  # three jobs at once, or this times out
        return n * n

    assert map_concurrently(square, list(range(8)), 4, "test-pool") == [n * n for n in range(8)]
    assert len(names) >= 3 and all(name.startswith("test-pool") for name in names)


def test_one_worker_runs_in_the_calling_thread() -> None:
    caller = threading.current_thread().name
    assert map_concurrently(lambda _: threading.current_thread().name, [1, 2], 1) == [caller] * 2


def test_the_first_failure_is_raised_and_jobs_not_started_are_cancelled() -> None:
    started: list[int] = []
    release = threading.Event()

    def job(n: int) -> int:
        started.append(n)
        if n == 0:
            raise ValueError("job 0 failed")
        release.wait(0.2)
        return n

    with pytest.raises(ValueError, match="job 0 failed"):
        map_concurrently(job, list(range(100)), 2)
    assert len(started) < 100


def test_no_items() -> None:
    assert map_concurrently(lambda n: n, [], 4) == []
