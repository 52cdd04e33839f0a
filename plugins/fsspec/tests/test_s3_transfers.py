"""The S3 repository's own transfer paths against moto: downloads in parallel byte ranges
(written in place into a hidden file, renamed when complete), streams for the server's
proxy, presigned download URLs, and small payloads stored in one checked PUT."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from trackline.artifacts import get_artifact_repository
from trackline.exceptions import TracklineException
from trackline_fsspec.repository import RangeNotSatisfiable
from trackline_fsspec.s3 import S3ArtifactRepository

MiB = 1024 * 1024


@pytest.fixture
def repo(s3_server, monkeypatch) -> Iterator[S3ArtifactRepository]:
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    import s3fs

    bucket = f"bucket-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server.endpoint}).mkdir(bucket)
    repository = get_artifact_repository(f"s3://{bucket}/root")
    assert isinstance(repository, S3ArtifactRepository)
    # 1 MiB parts (eight workers), so that a few MiB make several ranges.
    repository._store.download_kwargs.update(chunksize=MiB, max_concurrency=8)
    yield repository


def _store(repo: S3ArtifactRepository, rel: str, data: bytes) -> None:
    repo.fs.pipe_file(repo._full(rel), data)


class _ShortBody:
    """An S3 body that ends after ``limit`` bytes, as a dropped connection does."""

    def __init__(self, body, limit: int) -> None:
        self._body, self._left = body, limit

    async def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = await self._body.read(min(n, self._left) if n >= 0 else self._left)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._body.close()


def _cut_ranged_gets(repo: S3ArtifactRepository, monkeypatch, times: int | None) -> list[str]:
    """Cut the next ``times`` ranged GETs (None: all of them) after 1000 bytes."""
    real = repo.fs._call_s3
    ranges: list[str] = []
    left = [times]

    async def call(method, *args, **kwargs):
        answer = await real(method, *args, **kwargs)
        if method == "get_object" and "Range" in kwargs:
            ranges.append(kwargs["Range"])
            if left[0] is None or left[0] > 0:
                if left[0] is not None:
                    left[0] -= 1
                answer["Body"] = _ShortBody(answer["Body"], 1000)
        return answer

    monkeypatch.setattr(repo.fs, "_call_s3", call)
    return ranges


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith(".trackline"))


def test_large_download_is_assembled_from_parallel_ranges(repo, tmp_path, monkeypatch):
    data = os.urandom(5 * MiB + 12345)
    _store(repo, "m/big.bin", data)
    ranges = _cut_ranged_gets(repo, monkeypatch, times=0)
    local = repo.download_artifacts("m/big.bin", str(tmp_path))
    assert hashlib.sha256(Path(local).read_bytes()).digest() == hashlib.sha256(data).digest()
    # The first part comes from the first GET; the other five as ranges.
    assert sorted(ranges) == sorted(
        f"bytes={a}-{min(a + MiB, len(data)) - 1}" for a in range(MiB, len(data), MiB)
    )
    assert _hidden(tmp_path) == []


def test_parts_grow_to_fill_the_workers_rather_than_multiply(repo, tmp_path, monkeypatch):
    repo._store.download_kwargs.update(chunksize=MiB, max_concurrency=2)
    data = os.urandom(6 * MiB)
    _store(repo, "big.bin", data)
    ranges = _cut_ranged_gets(repo, monkeypatch, times=0)
    local = repo.download_artifacts("big.bin", str(tmp_path))
    assert Path(local).read_bytes() == data
    assert ranges == [f"bytes={3 * MiB}-{6 * MiB - 1}"]


def test_a_range_cut_short_resumes_where_it_stopped(repo, tmp_path, monkeypatch):
    data = os.urandom(3 * MiB)
    _store(repo, "big.bin", data)
    ranges = _cut_ranged_gets(repo, monkeypatch, times=1)
    local = repo.download_artifacts("big.bin", str(tmp_path))
    assert Path(local).read_bytes() == data
    # Two ranges, one of them cut after 1000 bytes and asked for again from there.
    assert len(ranges) == 3
    resumed = [r for r in ranges if int(r[6:].split("-")[0]) % MiB == 1000]
    assert len(resumed) == 1


def test_a_download_cut_short_leaves_no_file(repo, tmp_path, monkeypatch):
    _store(repo, "big.bin", os.urandom(3 * MiB))
    monkeypatch.setattr("trackline_fsspec.transfer.time.sleep", lambda seconds: None)
    _cut_ranged_gets(repo, monkeypatch, times=None)
    with pytest.raises(TracklineException) as info:
        repo.download_artifacts("big.bin", str(tmp_path))
    assert info.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert not (tmp_path / "big.bin").exists()
    assert _hidden(tmp_path) == []


def test_empty_and_small_files_download_in_one_get(repo, tmp_path, monkeypatch):
    _store(repo, "d/empty", b"")
    _store(repo, "d/small.txt", b"small")
    ranges = _cut_ranged_gets(repo, monkeypatch, times=0)
    local = Path(repo.download_artifacts("d", str(tmp_path)))
    assert (local / "empty").read_bytes() == b""
    assert (local / "small.txt").read_bytes() == b"small"
    assert ranges == []


def test_open_artifact_streams_the_whole_file_or_a_range(repo):
    data = os.urandom(2 * MiB + 5)
    _store(repo, "f.bin", data)
    stream = repo.open_artifact("f.bin")
    try:
        assert (stream.size, stream.first, stream.last) == (len(data), 0, len(data) - 1)
        assert b"".join(stream.chunks) == data
    finally:
        stream.close()
    for asked, (first, last) in [
        ((10, 20), (10, 20)),
        ((MiB, None), (MiB, len(data) - 1)),
        ((-5, None), (len(data) - 5, len(data) - 1)),
        ((len(data) - 2, len(data) + 100), (len(data) - 2, len(data) - 1)),
    ]:
        stream = repo.open_artifact("f.bin", asked)
        try:
            assert (stream.first, stream.last, stream.size) == (first, last, len(data))
            assert b"".join(stream.chunks) == data[first : last + 1]
        finally:
            stream.close()


def test_open_artifact_refuses_missing_files_and_ranges_past_the_end(repo):
    _store(repo, "d/f.bin", b"abc")
    for missing in ("nope.bin", "d"):
        with pytest.raises(TracklineException) as info:
            repo.open_artifact(missing)
        assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(RangeNotSatisfiable) as past:
        repo.open_artifact("d/f.bin", (3, None))
    assert past.value.size == 3


def test_presigned_download_url_serves_the_file_as_an_attachment(repo):
    data = os.urandom(1000)
    _store(repo, "model/weights v1.bin", data)
    answer = repo.get_download_presigned_url("model/weights v1.bin")
    assert answer["file_size"] == len(data)
    assert answer["headers"] == {}
    response = requests.get(answer["url"], headers=answer["headers"], timeout=30)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-Disposition"] == 'attachment; filename="weights v1.bin"'
    ranged = requests.get(answer["url"], headers={"Range": "bytes=10-19"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == data[10:20]


@pytest.mark.parametrize("path", ["missing.bin", "model", ""])
def test_presigned_download_url_of_no_file_is_resource_does_not_exist(repo, path):
    _store(repo, "model/weights.bin", b"w")
    with pytest.raises(TracklineException) as info:
        repo.get_download_presigned_url(path)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_log_bytes_stores_small_payloads_in_one_checked_put(repo, monkeypatch):
    calls: list[str] = []
    real_call, real_async = repo._call, repo.fs._call_s3

    def call(method, **kwargs):
        calls.append(method)
        return real_call(method, **kwargs)

    async def call_async(method, *args, **kwargs):  # info, pipe_file and the like
        calls.append(method)
        return await real_async(method, *args, **kwargs)

    monkeypatch.setattr(repo, "_call", call)
    monkeypatch.setattr(repo.fs, "_call_s3", call_async)
    repo.log_bytes(b"payload", "a/b.txt")
    assert calls == ["put_object"]
    monkeypatch.undo()
    assert repo.fs.cat_file(repo._full("a/b.txt")) == b"payload"
