"""Run independent jobs on a few threads, stopping at the first failure.

Artifact repositories (local, object stores, the server's proxy) move many files or many
byte ranges at once; they share this one rule for it: results come back in input order, and
the first error cancels what has not started yet and is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_concurrently(
    action: Callable[[Item], Result],
    items: Sequence[Item],
    workers: int,
    thread_name_prefix: str = "trackline",
) -> list[Result]:
    """``[action(item) for item in items]`` on up to ``workers`` threads (in this thread when
    one is enough); the first failure cancels the jobs not yet started and is raised."""
    workers = min(workers, len(items))
    if workers <= 1:
        return [action(item) for item in items]
    with ThreadPoolExecutor(workers, thread_name_prefix=thread_name_prefix) as pool:
        futures = [pool.submit(action, item) for item in items]
        _, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in futures:
            if future.done() and not future.cancelled() and future.exception():
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]
