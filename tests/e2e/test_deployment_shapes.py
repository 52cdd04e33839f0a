"""The deployment shapes of MLflow's tracking-server guide, each driven by the real ``mlflow``
client against ``trackline server`` processes:

* a local server over SQLite that does not serve artifacts: the client writes them straight
  into the default artifact root, a local folder;
* a remote server over PostgreSQL whose default artifact root is an S3 bucket that clients
  reach directly with their own credentials (the server has none);
* metadata and artifacts split over two servers: one ``--artifacts-only`` server in front of
  the artifact store, one tracking server whose default artifact root points at it.

The proxied default (``mlflow-artifacts:/`` through the tracking server) is covered by
test_mlflow_client.py and test_s3_proxy.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from trackline.testing.databases import fresh_database
from trackline_server.testing import RunningServer, start_server

ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
# The server needs none of these to store an artifact location; clients bring their own.
_NO_CLOUD_CREDENTIALS = {
    "MLFLOW_S3_ENDPOINT_URL": "",
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "MLFLOW_TRACKING_URI": "",
}


@pytest.fixture
def client_at(mlflow_at):
    """A real ``MlflowClient`` on a server's URL (the fluent API pointed there too)."""
    from mlflow import MlflowClient

    def make(server: RunningServer) -> MlflowClient:
        mlflow_at(server.url)
        return MlflowClient(server.url)

    return make


def _log_a_folder(client, experiment_name: str, tmp_path: Path) -> tuple[object, Path]:
    source = tmp_path / "src"
    (source / "plots").mkdir(parents=True)
    (source / "plots" / "loss.csv").write_text("step,loss\n0,1.0\n")
    (source / "notes.txt").write_text("shape test")
    run = client.create_run(client.create_experiment(experiment_name))
    client.log_artifacts(run.info.run_id, str(source), "outputs")
    return client.get_run(run.info.run_id), source


def _round_trip(client, run, tmp_path: Path) -> None:
    listed = {f.path for f in client.list_artifacts(run.info.run_id, "outputs")}
    assert listed == {"outputs/notes.txt", "outputs/plots"}
    out = tmp_path / "downloaded"
    out.mkdir()
    local = Path(client.download_artifacts(run.info.run_id, "outputs", str(out)))
    assert (local / "notes.txt").read_text() == "shape test"
    assert (local / "plots" / "loss.csv").read_text() == "step,loss\n0,1.0\n"


def test_local_server_that_does_not_serve_artifacts(tmp_path, client_at):
    root = tmp_path / "artifact-root"
    with start_server(
        tmp_path / "server",
        "--no-serve-artifacts",
        "--default-artifact-root",
        str(root),
        env=_NO_CLOUD_CREDENTIALS,
        timeout=60,
    ) as server:
        client = client_at(server)
        run, _ = _log_a_folder(client, "local-direct", tmp_path)
        run_root = root / run.info.experiment_id / run.info.run_id / "artifacts"
        assert run.info.artifact_uri in (str(run_root), run_root.as_uri())
        assert (run_root / "outputs" / "notes.txt").read_text() == "shape test"
        _round_trip(client, run, tmp_path)
        # Not serving artifacts: the proxy routes answer a plain-text 503.
        refused = requests.get(server.url + ARTIFACTS_API, timeout=30)
        assert refused.status_code == 503


@pytest.fixture(scope="module")
def s3() -> Iterator[object]:
    from trackline_fsspec import testing as storage

    with storage.moto_s3() as server:
        yield server


@pytest.mark.postgres
def test_remote_server_whose_clients_write_to_s3_directly(tmp_path, s3, client_at, monkeypatch):
    import s3fs

    bucket = f"direct-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(
        key="testing", secret="testing", client_kwargs={"endpoint_url": s3.endpoint}
    )
    fs.mkdir(bucket)
    with (
        fresh_database("postgresql", tmp_path) as backend_uri,
        start_server(
            tmp_path / "server",
            "--backend-store-uri",
            backend_uri,
            "--no-serve-artifacts",
            "--default-artifact-root",
            f"s3://{bucket}/root",
            env=_NO_CLOUD_CREDENTIALS,
            timeout=60,
        ) as server,
    ):
        for key, value in s3.env.items():  # the client's own credentials
            monkeypatch.setenv(key, value)
        client = client_at(server)
        run, _ = _log_a_folder(client, "s3-direct", tmp_path)
        prefix = f"s3://{bucket}/root/{run.info.experiment_id}/{run.info.run_id}/artifacts"
        assert run.info.artifact_uri == prefix
        fs.invalidate_cache()
        stored = {path.split("/artifacts/", 1)[1] for path in fs.find(bucket)}
        assert stored == {"outputs/notes.txt", "outputs/plots/loss.csv"}
        _round_trip(client, run, tmp_path)


@pytest.mark.parametrize("root_form", ["http", "mlflow-artifacts"])
def test_metadata_and_artifacts_on_two_servers(tmp_path, client_at, root_form):
    destination = tmp_path / "artifact-store"
    with start_server(
        tmp_path / "artifacts-server",
        "--artifacts-only",
        "--artifacts-destination",
        str(destination),
        env=_NO_CLOUD_CREDENTIALS,
        timeout=60,
    ) as artifacts_server:
        host_port = artifacts_server.url.removeprefix("http://")
        root = {
            "http": f"{artifacts_server.url}{ARTIFACTS_API}/experiments",
            "mlflow-artifacts": f"mlflow-artifacts://{host_port}/experiments",
        }[root_form]
        with start_server(
            tmp_path / "tracking-server",
            "--no-serve-artifacts",
            "--default-artifact-root",
            root,
            env=_NO_CLOUD_CREDENTIALS,
            timeout=60,
        ) as tracking_server:
            client = client_at(tracking_server)
            run, _ = _log_a_folder(client, f"split-{root_form}", tmp_path)
            assert run.info.artifact_uri.startswith(root)
            stored = destination / "experiments" / run.info.experiment_id / run.info.run_id
            assert (stored / "artifacts" / "outputs" / "notes.txt").read_text() == "shape test"
            _round_trip(client, run, tmp_path)
            # Neither server does the other's job.
            tracking_refused = requests.get(
                artifacts_server.url + "/api/2.0/mlflow/experiments/search",
                params={"max_results": 1},
                timeout=30,
            )
            assert tracking_refused.status_code == 503
            proxy_refused = requests.get(tracking_server.url + ARTIFACTS_API, timeout=30)
            assert proxy_refused.status_code == 503
