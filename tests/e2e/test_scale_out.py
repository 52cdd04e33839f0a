"""Scale-out: two ``trackline server`` processes over ONE PostgreSQL database and ONE artifact
destination, written to concurrently by many clients that alternate between them.

Afterwards every metric point, param and artifact must be there exactly once, readable through
either server, and no request may have failed (client retries are disabled).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from .conftest import fresh_database, start_server

pytestmark = pytest.mark.postgres

WORKERS = 8
DURATION = 12.0  # seconds of concurrent load
BATCH = 25  # metric points per log_batch


@pytest.fixture
def two_servers(tmp_path, _client_env):
    with fresh_database("postgresql", tmp_path) as backend_uri:
        artifacts = tmp_path / "artifacts"
        first = start_server(backend_uri, artifacts, tmp_path / "logs-a", ("--workers", "2"))
        try:
            second = start_server(backend_uri, artifacts, tmp_path / "logs-b", ("--workers", "2"))
            try:
                yield first, second
            finally:
                second.stop()
        finally:
            first.stop()


def _worker(index, servers, experiment_id, deadline, results, errors):
    """Alternate between the servers: log_batch, log_metric, log_param and an artifact."""
    clients = [MlflowClient(tracking_uri=s.url) for s in servers]
    sessions = [requests.Session() for _ in servers]
    expected = {"points": [], "params": {}, "artifacts": {}}
    try:
        run = clients[index % 2].create_run(experiment_id, run_name=f"worker-{index}")
        run_id = run.info.run_id
        artifact_root = run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
        results[index] = (run_id, expected)
        step = 0
        iteration = 0
        while time.monotonic() < deadline:
            side = iteration % 2
            client, session, server = clients[side], sessions[side], servers[side]
            now = int(time.time() * 1000)
            batch = [Metric("batched", float(step + i) * 0.5, now, step + i) for i in range(BATCH)]
            client.log_batch(run_id, metrics=batch, params=[Param(f"b{iteration}", str(side))])
            expected["points"].extend(("batched", m.step, m.value) for m in batch)
            expected["params"][f"b{iteration}"] = str(side)
            step += BATCH

            client.log_metric(run_id, "single", float(iteration), timestamp=now, step=iteration)
            expected["points"].append(("single", iteration, float(iteration)))
            client.log_param(run_id, f"p{iteration}", f"v{index}-{iteration}")
            expected["params"][f"p{iteration}"] = f"v{index}-{iteration}"

            name = f"files/f{iteration:05d}.txt"
            data = f"worker {index} iteration {iteration} via {side}\n".encode() * 3
            response = session.put(
                f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{artifact_root}/{name}",
                data=data,
                timeout=60,
            )
            if response.status_code != 200:
                raise AssertionError(f"upload {name}: {response.status_code} {response.text}")
            expected["artifacts"][name] = data
            iteration += 1
    except Exception:  # every failure is collected and fails the test
        errors.append(f"worker {index}: {traceback.format_exc()}")


def test_two_servers_one_database_concurrent_writers_lose_and_duplicate_nothing(two_servers):
    servers = list(two_servers)
    experiment_id = MlflowClient(tracking_uri=servers[0].url).create_experiment("scale-out")
    results: dict[int, tuple] = {}
    errors: list[str] = []
    deadline = time.monotonic() + DURATION
    threads = [
        threading.Thread(
            target=_worker, args=(i, servers, experiment_id, deadline, results, errors)
        )
        for i in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DURATION + 120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, "\n".join(errors)
    assert len(results) == WORKERS

    total_points = 0
    for index, (run_id, expected) in results.items():
        reader = MlflowClient(tracking_uri=servers[(index + 1) % 2].url)  # the other server
        run = reader.get_run(run_id)
        assert run.data.params == expected["params"], f"worker {index}: params differ"

        for key in ("batched", "single"):
            history = reader.get_metric_history(run_id, key)
            got = Counter((m.key, m.step, m.value) for m in history)
            want = Counter(p for p in expected["points"] if p[0] == key)
            assert got == want, f"worker {index}, metric {key}: lost or duplicated points"
            duplicates = [p for p, n in got.items() if n > 1]
            assert not duplicates, f"worker {index}: duplicated {duplicates[:5]}"
            total_points += len(history)

        listing = reader.list_artifacts(run_id, "files")
        assert sorted(f.path for f in listing) == sorted(expected["artifacts"])
        for f in listing:
            assert f.file_size == len(expected["artifacts"][f.path])
        artifact_root = run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
        for name, data in list(expected["artifacts"].items())[
            :: max(1, len(expected["artifacts"]) // 5)
        ]:
            for server in servers:
                got = requests.get(
                    f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{artifact_root}/{name}",
                    timeout=60,
                )
                assert got.status_code == 200 and got.content == data

    # Searching through either server sees every run with its latest metric values.
    for server in servers:
        runs = MlflowClient(tracking_uri=server.url).search_runs([experiment_id], max_results=100)
        assert len(runs) == WORKERS
    assert total_points > WORKERS * 50, f"too little load generated: {total_points} points"
    print(f"scale-out: {total_points} metric points from {WORKERS} workers")
