"""Artifact transfers to S3: trackline's S3 repository and trackline's server proxy against a
plain s3fs copy of the same data (the practical limit of the library underneath).

    benchmarks/run_artifacts.sh                      # 1,000 small files + a 1 GiB file
    benchmarks/run_artifacts.sh --large-mib 128      # a quicker look

The S3 server is moto's (``moto[server]``) on loopback, started here. Four paths move the
same data up and down:

* ``s3fs``: ``S3FileSystem.put``/``get`` of the folder (s3fs batches files concurrently) and
  ``put_file``/``get_file`` of the large file, with s3fs's defaults;
* ``repository``: ``trackline.artifacts.get_artifact_repository("s3://…")`` —
  ``log_artifacts``/``download_artifacts`` and ``log_artifact`` of the large file;
* ``proxy``: a ``trackline server --artifacts-destination s3://…`` on loopback and trackline's
  client (``TracklineClient.log_artifacts`` / ``download_artifacts``, eight files at a time);
  the large file goes up as a multipart upload through presigned part URLs and comes down
  in parallel byte ranges from a presigned URL (both thresholds are lowered to 8 MiB so a
  small ``--large-mib`` still takes those paths); small files go through the server;
* ``mlflow proxy`` (with ``--mlflow``): the real ``mlflow`` client against the same server.

Each path first moves a little data untimed (one file; through the server, a folder of 100),
so the figures are transfers, not a client's first use: imports of s3fs and botocore (in each
server worker too), sessions and connections.

Ratios are ``s3fs seconds / other seconds``: 1.0 matches s3fs, the target is ≥ 0.8. moto is
an in-process Python server, so absolute numbers say more about moto than about S3; the
ratios compare clients against the same server. Not run in CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

MiB = 1024 * 1024
TIMEOUT = 600


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _make_data(root: Path, files: int, small_bytes: int, large_mib: int) -> tuple[Path, Path]:
    small = root / "small"
    for i in range(files):
        target = small / f"d{i % 10}" / f"f{i:04d}.bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(os.urandom(small_bytes))
    large = root / "large" / "model.bin"
    large.parent.mkdir(parents=True)
    with open(large, "wb") as f:
        block = os.urandom(MiB)
        for i in range(large_mib):
            f.write(block[i % 256 :] + block[: i % 256])  # every MiB differs
    return small, large


def _same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all(
        (a / p).stat().st_size == (b / p).stat().st_size for p in files_a
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="number of small files")
    parser.add_argument("--small-bytes", type=int, default=4096, help="size of each small file")
    parser.add_argument("--large-mib", type=int, default=1024, help="size of the large file")
    parser.add_argument("--mlflow", action="store_true", help="also time the mlflow client")
    args = parser.parse_args()

    from trackline_fsspec import testing

    work = Path(tempfile.mkdtemp(prefix="bench-artifacts-"))
    try:
        print(
            f"data: {args.files} files of {args.small_bytes} B, one file of {args.large_mib} MiB",
            flush=True,
        )
        small, large = _make_data(work / "data", args.files, args.small_bytes, args.large_mib)
        with testing.moto_s3() as s3:
            os.environ.update(s3.env)
            rows = _run(args, s3, work, small, large)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _print(rows)


def _run(args, s3, work: Path, small: Path, large: Path) -> dict[str, dict[str, float]]:
    import s3fs
    from trackline.artifacts import get_artifact_repository

    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    # moto assembles a multipart upload of 1 GiB in one request: give every client the same
    # generous read timeout (botocore's default, 60 s, is too short on a loaded machine).
    os.environ["MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT"] = str(TIMEOUT)
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(TIMEOUT)  # the clients of the proxy
    fs = s3fs.S3FileSystem(
        client_kwargs={"endpoint_url": s3.endpoint},
        config_kwargs={"connect_timeout": TIMEOUT, "read_timeout": TIMEOUT},
        use_listings_cache=False,
    )
    fs.mkdir(bucket)
    rows: dict[str, dict[str, float]] = {}

    def out(name: str) -> Path:
        path = work / "out" / name
        path.mkdir(parents=True)
        return path

    # Every path first moves one small file, untimed: the figures compare transfers, not
    # the first use of a client (imports, sessions, connections; in the server's workers too).
    warm_file = next(p for p in sorted(small.rglob("*")) if p.is_file())

    # s3fs, the limit
    fs.put_file(str(warm_file), f"{bucket}/warm/plain.bin")
    plain = {}
    plain["small up"] = _timed(lambda: fs.put(str(small), f"{bucket}/plain/small", recursive=True))
    dst = out("plain-small")
    plain["small down"] = _timed(lambda: fs.get(f"{bucket}/plain/small", str(dst), recursive=True))
    assert _same_tree(small, dst / "small" if (dst / "small").exists() else dst)
    plain["large up"] = _timed(lambda: fs.put_file(str(large), f"{bucket}/plain/large/model.bin"))
    dst = out("plain-large")
    plain["large down"] = _timed(
        lambda: fs.get_file(f"{bucket}/plain/large/model.bin", str(dst / "model.bin"))
    )
    rows["s3fs"] = plain
    print("s3fs done", flush=True)

    # the repository
    repo = get_artifact_repository(f"s3://{bucket}/repo")
    repo.log_artifact(str(warm_file), "warm")
    timed = {}
    timed["small up"] = _timed(lambda: repo.log_artifacts(str(small), "small"))
    dst = out("repo-small")
    timed["small down"] = _timed(lambda: repo.download_artifacts("small", str(dst)))
    assert _same_tree(small, dst / "small")
    timed["large up"] = _timed(lambda: repo.log_artifact(str(large), "large"))
    dst = out("repo-large")
    timed["large down"] = _timed(lambda: repo.download_artifacts("large/model.bin", str(dst)))
    assert (dst / "large" / "model.bin").stat().st_size == large.stat().st_size
    rows["repository"] = timed
    print("repository done", flush=True)

    # the server's proxy
    from trackline_server.testing import start_server

    os.environ["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"] = str(8 * MiB)
    os.environ["MLFLOW_MULTIPART_DOWNLOAD_MINIMUM_FILE_SIZE"] = str(8 * MiB)
    with start_server(
        work / "server",
        "--artifacts-destination",
        f"s3://{bucket}/proxy",
        "--workers",
        "2",
        env={**s3.env, "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT": str(TIMEOUT)},
        timeout=120,
    ) as server:
        rows["proxy"] = _through_server(server.url, small, large, out, "trackline", warm_file)
        print("proxy done", flush=True)
        if args.mlflow:
            rows["mlflow proxy"] = _through_server(
                server.url, small, large, out, "mlflow", warm_file
            )
            print("mlflow proxy done", flush=True)
    return rows


def _through_server(
    url: str, small: Path, large: Path, out, client_kind: str, warm_file: Path
) -> dict:
    if client_kind == "mlflow":
        from mlflow import MlflowClient
    else:
        from trackline import MlflowClient
    os.environ["MLFLOW_TRACKING_URI"] = url
    client = MlflowClient(url)
    run = client.create_run(client.create_experiment(f"bench-{uuid.uuid4().hex[:6]}"))
    run_id = run.info.run_id
    # A folder at once, so that the client's parallel connections reach both server workers.
    client.log_artifacts(run_id, str(warm_file.parent), "warm")
    timed = {}
    timed["small up"] = _timed(lambda: client.log_artifacts(run_id, str(small), "small"))
    dst = out(f"{client_kind}-small")
    timed["small down"] = _timed(lambda: client.download_artifacts(run_id, "small", str(dst)))
    assert _same_tree(small, dst / "small")
    timed["large up"] = _timed(lambda: client.log_artifact(run_id, str(large), "large"))
    dst = out(f"{client_kind}-large")
    local: list[str] = []
    timed["large down"] = _timed(
        lambda: local.append(client.download_artifacts(run_id, "large/model.bin", str(dst)))
    )
    assert Path(local[0]).stat().st_size == large.stat().st_size
    return timed


def _print(rows: dict[str, dict[str, float]]) -> None:
    base = rows["s3fs"]
    names = list(rows)
    header = f"{'operation':<12}" + "".join(f"{n:>16}" for n in names)
    header += "".join(f"{'ratio ' + n:>20}" for n in names[1:])
    print()
    print(header)
    for op in base:
        line = f"{op:<12}" + "".join(f"{rows[n][op]:>15.2f}s" for n in names)
        line += "".join(f"{base[op] / rows[n][op]:>19.2f}x" for n in names[1:])
        print(line)
    print("\nratio = s3fs seconds / seconds (1.0 = as fast as plain s3fs; target >= 0.8)")


if __name__ == "__main__":
    sys.exit(main())
