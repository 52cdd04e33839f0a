"""``trackline server --artifacts-destination s3://…`` against moto's S3 server, used by the
real ``mlflow`` client and by trackline's own client: proxied uploads, listings, downloads
(streamed from the store, byte ranges), deletes, multipart uploads of large files through
presigned part URLs, and downloads straight from the store through presigned URLs.

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


def test_server_info_offers_multipart_uploads_and_downloads(server):
    info = requests.get(server.url + "/api/3.0/mlflow/server-info", timeout=30).json()
    assert info["multipart_uploads_enabled"] is True
    assert info["multipart_downloads_enabled"] is True


ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
PRESIGNED = "/api/2.0/mlflow-artifacts/presigned"


def _put(server, path: str, data: bytes) -> None:
    response = requests.put(f"{server.url}{ARTIFACTS}/{path}", data=data, timeout=60)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("size", [0, 5, 3 * MiB + 7], ids=["empty", "small", "streamed"])
def test_proxied_download_streams_the_stored_file(server, bucket, size):
    data = os.urandom(size)
    _put(server, "d/f.bin", data)
    assert _objects(bucket)["mlartifacts/d/f.bin"]["size"] == size
    response = requests.get(f"{server.url}{ARTIFACTS}/d/f.bin", timeout=60)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-Length"] == str(size)
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Disposition"] == 'attachment; filename="f.bin"'


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=10-19", 10, 19), ("bytes=2097152-", 2 * MiB, None), ("bytes=-5", -5, None)],
)
def test_proxied_download_answers_byte_ranges(server, header, first, last):
    data = os.urandom(3 * MiB)
    _put(server, "r/f.bin", data)
    response = requests.get(
        f"{server.url}{ARTIFACTS}/r/f.bin", headers={"Range": header}, timeout=60
    )
    assert response.status_code == 206
    expected = data[first:] if last is None else data[first : last + 1]
    assert response.content == expected
    start = len(data) + first if first < 0 else first
    assert response.headers["Content-Range"] == (
        f"bytes {start}-{start + len(expected) - 1}/{len(data)}"
    )


def test_a_range_past_the_end_is_416_and_a_missing_file_404(server):
    _put(server, "r/small.txt", b"abc")
    past = requests.get(
        f"{server.url}{ARTIFACTS}/r/small.txt", headers={"Range": "bytes=3-"}, timeout=30
    )
    assert past.status_code == 416
    assert past.headers["Content-Range"] == "bytes */3"
    missing = requests.get(f"{server.url}{ARTIFACTS}/r/nope.txt", timeout=30)
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_presigned_download_url_points_at_the_store(server, bucket):
    data = os.urandom(1000)
    _put(server, "p/model.bin", data)
    response = requests.get(f"{server.url}{PRESIGNED}/p/model.bin", timeout=30)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["file_size"] == len(data)
    assert answer["headers"] == {}
    assert f"/{bucket}/mlartifacts/p/model.bin?" in answer["url"]
    stored = requests.get(answer["url"], timeout=30)
    assert stored.content == data
    assert stored.headers["Content-Disposition"] == 'attachment; filename="model.bin"'


@pytest.mark.parametrize(
    ("path", "status"),
    [("p/missing.bin", 404), ("p", 404), ("a/%2e%2e/%2e%2e/b.bin", 400), ("..%2fx", 400)],
)
def test_presigned_download_url_refuses_missing_files_and_tricks(server, path, status):
    _put(server, "p/model.bin", b"m")
    response = requests.get(f"{server.url}{PRESIGNED}/{path}", timeout=30)
    assert response.status_code in ((400, 404) if status == 400 else (status,)), response.text


def test_mlflow_client_downloads_large_files_from_presigned_urls(server, tmp_path, monkeypatch):
    from mlflow import MlflowClient
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE", str(PART))
    presigned: list[str] = []
    real = HttpArtifactRepository._multipart_download

    def spy(self, presigned_response, remote_file_path, *args, **kwargs):
        presigned.append(remote_file_path)
        return real(self, presigned_response, remote_file_path, *args, **kwargs)

    monkeypatch.setattr(HttpArtifactRepository, "_multipart_download", spy)
    client = MlflowClient(server.url)
    run = client.create_run(client.create_experiment("mpd"))
    big = _big_file(tmp_path / "weights.bin", 12 * MiB + 5)
    client.log_artifact(run.info.run_id, str(big), "model")
    out = tmp_path / "out"
    out.mkdir()
    local = client.download_artifacts(run.info.run_id, "model/weights.bin", str(out))
    assert _sha(local) == _sha(big)
    assert [path.rsplit("/", 1)[-1] for path in presigned] == ["weights.bin"]


def test_trackline_client_downloads_large_files_from_presigned_urls(server, tmp_path, monkeypatch):
    import trackline
    from trackline_rest import multipart

    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE", str(10 * MiB))
    monkeypatch.setenv("MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE", str(PART))
    presigned: list[str] = []
    real = multipart.download_presigned

    def spy(answer, local_path):
        presigned.append(answer["url"].split("?")[0])
        return real(answer, local_path)

    monkeypatch.setattr(multipart, "download_presigned", spy)
    client = trackline.MlflowClient(server.url)
    run = client.create_run(client.create_experiment("trackline-mpd"))
    source = tmp_path / "src"
    source.mkdir()
    big = _big_file(source / "weights.bin", 11 * MiB + 3)
    (source / "config.json").write_text("{}")
    client.log_artifacts(run.info.run_id, str(source), "model")
    out = tmp_path / "out"
    out.mkdir()
    local = Path(client.download_artifacts(run.info.run_id, "model", str(out)))
    assert _sha(local / "weights.bin") == _sha(big)
    assert (local / "config.json").read_text() == "{}"
    # Only the large file came from the store; the small one came through the server.
    assert [url.rsplit("/", 1)[1] for url in presigned] == ["weights.bin"]
    assert [p.name for p in out.rglob(".trackline*")] == []


def test_trackline_client_moves_many_files_through_the_proxy(server, bucket, tmp_path):
    import trackline

    client = trackline.MlflowClient(server.url)
    run = client.create_run(client.create_experiment("many"))
    source = tmp_path / "src"
    contents = {}
    for i in range(40):
        rel = f"d{i % 4}/f{i:02d}.txt"
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(os.urandom(i * 100))
        contents[rel] = (source / rel).read_bytes()
    client.log_artifacts(run.info.run_id, str(source), "many")
    prefix = f"mlartifacts/{run.info.experiment_id}/{run.info.run_id}/artifacts/many/"
    stored = {k[len(prefix) :] for k in _objects(bucket) if k.startswith(prefix)}
    assert stored == set(contents)
    out = tmp_path / "out"
    out.mkdir()
    local = Path(client.download_artifacts(run.info.run_id, "many", str(out)))
    got = {p.relative_to(local).as_posix(): p.read_bytes() for p in local.rglob("*.txt")}
    assert got == contents


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
