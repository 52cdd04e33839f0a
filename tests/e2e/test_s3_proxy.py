"""``trackline server --artifacts-destination s3://…`` against moto's S3 server, used by the
real ``mlflow`` client and by trackline's own client: proxied uploads, listings, downloads,
deletes, and multipart uploads of large files through presigned part URLs.

The multipart threshold is lowered through MLflow's own variables
(``MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE``/``_CHUNK_SIZE``) in this client process.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from trackline_fsspec import testing as storage
from trackline_server.testing import start_server

MiB = 1024 * 1024
PART = 5 * MiB  # S3's smallest part


@pytest.fixture(scope="module")
def s3() -> Iterator[storage.Server]:
    with storage.moto_s3() as server:
        yield server


@pytest.fixture
def s3_env(s3, monkeypatch) -> dict[str, str]:
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    return s3.env


@pytest.fixture
def bucket(s3, s3_env) -> str:
    import s3fs

    name = f"bucket-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3.endpoint}).mkdir(name)
    return name


@pytest.fixture
def server(tmp_path: Path, bucket: str, s3_env) -> Iterator[object]:
    running = start_server(
        tmp_path / "server",
        "--artifacts-destination",
        f"s3://{bucket}/mlartifacts",
        env=s3_env,
        timeout=60,
    )
    with running:
        yield running


def _objects(bucket: str) -> dict[str, dict]:
    import s3fs

    endpoint = os.environ["MLFLOW_S3_ENDPOINT_URL"]
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint}, use_listings_cache=False)
    return {name.split("/", 1)[1]: info for name, info in fs.find(bucket, detail=True).items()}


def _sha(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _big_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_server_info_offers_multipart_uploads(server):
    info = requests.get(server.url + "/api/3.0/mlflow/server-info", timeout=30).json()
    assert info["multipart_uploads_enabled"] is True


def test_mlflow_client_logs_lists_downloads_and_deletes_through_the_proxy(
    server, bucket, tmp_path: Path, monkeypatch
):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    client = MlflowClient(server.url)
    experiment_id = client.create_experiment("s3-proxy")
    run = client.create_run(experiment_id)
    source = tmp_path / "src"
    (source / "data").mkdir(parents=True)
    (source / "data" / "a b.txt").write_text("spaces")
    (source / "model.json").write_text('{"k": 1}')
    client.log_artifacts(run.info.run_id, str(source), "outputs")

    listed = {f.path for f in client.list_artifacts(run.info.run_id, "outputs")}
    assert listed == {"outputs/data", "outputs/model.json"}
    stored = _objects(bucket)
    prefix = f"mlartifacts/{experiment_id}/{run.info.run_id}/artifacts/outputs"
    assert {f"{prefix}/data/a b.txt", f"{prefix}/model.json"} <= set(stored)

    out = tmp_path / "out"
    out.mkdir()
    local = client.download_artifacts(run.info.run_id, "outputs", str(out))
    assert (Path(local) / "data" / "a b.txt").read_text() == "spaces"
    assert (Path(local) / "model.json").read_text() == '{"k": 1}'


def test_mlflow_client_multipart_upload_of_a_large_file(server, bucket, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(10 * MiB))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(PART))
    client = MlflowClient(server.url)
    run = client.create_run(client.create_experiment("mpu"))
    big = _big_file(tmp_path / "weights.bin", 12 * MiB + 123)
    client.log_artifact(run.info.run_id, str(big), "model")

    key = f"mlartifacts/{run.info.experiment_id}/{run.info.run_id}/artifacts/model/weights.bin"
    info = _objects(bucket)[key]
    assert info["size"] == big.stat().st_size
    # An S3 multipart object's ETag is "<md5 of the part md5s>-<parts>": three parts.
    assert info["ETag"].strip('"').endswith("-3")
    out = tmp_path / "out"
    out.mkdir()
    local = client.download_artifacts(run.info.run_id, "model/weights.bin", str(out))
    assert _sha(local) == _sha(big)


def test_trackline_client_multipart_upload_of_a_large_file(server, bucket, tmp_path, monkeypatch):
    import trackline

    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(10 * MiB))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(PART))
    client = trackline.MlflowClient(server.url)
    run = client.create_run(client.create_experiment("trackline-mpu"))
    big = _big_file(tmp_path / "weights.bin", 11 * MiB)
    client.log_artifact(run.info.run_id, str(big), "model")

    key = f"mlartifacts/{run.info.experiment_id}/{run.info.run_id}/artifacts/model/weights.bin"
    info = _objects(bucket)[key]
    assert info["size"] == big.stat().st_size
    assert info["ETag"].strip('"').endswith("-3")
    out = tmp_path / "out"
    out.mkdir()
    local = client.download_artifacts(run.info.run_id, "model/weights.bin", str(out))
    assert _sha(local) == _sha(big)


def _mpu(server, verb: str, directory: str, body: dict) -> requests.Response:
    url = f"{server.url}/api/2.0/mlflow-artifacts/mpu/{verb}/{directory}"
    return requests.post(url, json=body, timeout=30)


def test_abort_leaves_no_object_and_no_parts(server, bucket):
    created = _mpu(server, "create", "1/run/artifacts", {"path": "/tmp/x.bin", "num_parts": 2})
    assert created.status_code == 200, created.text
    body = created.json()
    assert [c["part_number"] for c in body["credentials"]] == [1, 2]
    put = requests.put(body["credentials"][0]["url"], data=b"x" * PART, timeout=30)
    assert put.status_code == 200
    aborted = _mpu(
        server, "abort", "1/run/artifacts", {"path": "/tmp/x.bin", "upload_id": body["upload_id"]}
    )
    assert aborted.status_code == 200, aborted.text
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": os.environ["MLFLOW_S3_ENDPOINT_URL"]})
    assert fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads", []) == []
    assert "mlartifacts/1/run/artifacts/x.bin" not in _objects(bucket)


def test_complete_with_a_wrong_etag_fails_and_publishes_nothing(server, bucket):
    created = _mpu(server, "create", "d", {"path": "x.bin", "num_parts": 1}).json()
    requests.put(created["credentials"][0]["url"], data=b"data", timeout=30)
    parts = [{"part_number": 1, "etag": '"00000000000000000000000000000000"'}]
    completed = _mpu(
        server,
        "complete",
        "d",
        {"path": "x.bin", "upload_id": created["upload_id"], "parts": parts},
    )
    assert completed.status_code >= 400
    assert "x.bin" in completed.json()["message"]
    assert "mlartifacts/d/x.bin" not in _objects(bucket)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"path": "x.bin", "num_parts": 0}, 400),
        ({"path": "x.bin", "num_parts": 10_001}, 400),
        ({"num_parts": 1}, 400),
    ],
)
def test_bad_create_requests_are_refused(server, body, status):
    response = _mpu(server, "create", "d", body)
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_only_the_base_name_of_the_client_path_is_used(server, bucket):
    # MLflow clients send their local path; only its last part names the artifact.
    created = _mpu(server, "create", "d", {"path": "../../etc/x.bin", "num_parts": 1})
    assert created.status_code == 200, created.text
    url = created.json()["credentials"][0]["url"]
    assert f"/{bucket}/mlartifacts/d/x.bin?" in url


def test_a_path_escaping_the_destination_is_refused(server):
    response = _mpu(server, "create", "a/%2e%2e/%2e%2e/b", {"path": "x.bin", "num_parts": 1})
    assert response.status_code in (400, 404)
