"""``trackline artifacts`` against SQLite and a local artifact folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def local_files(tmp_path: Path) -> Path:
    """model.txt and a data/ directory with two files, one nested."""
    root = tmp_path / "upload"
    (root / "data" / "nested").mkdir(parents=True)
    (root / "model.txt").write_text("weights")
    (root / "data" / "a.csv").write_text("x,y\n1,2\n")
    (root / "data" / "nested" / "b.json").write_text("{}")
    return root


def _list(invoke, run_id: str, path: str | None = None) -> list[dict]:
    args = ["artifacts", "list", "-r", run_id] + (["-a", path] if path else [])
    return json.loads(invoke(*args).stdout)


def test_log_list_download(invoke, run_id, local_files, tmp_path):
    out = invoke(
        "artifacts", "log-artifact", "-l", str(local_files / "model.txt"), "-r", run_id
    ).output
    assert out.startswith("Logged artifact from local file")
    invoke(
        "artifacts",
        "log-artifacts",
        "--local-dir",
        str(local_files / "data"),
        "--run-id",
        run_id,
        "--artifact-path",
        "data",
    )
    invoke(
        "artifacts", "log-artifact", "-l", str(local_files / "model.txt"), "-r", run_id, "-a", "m"
    )

    root = _list(invoke, run_id)
    assert [(f["path"], f["is_dir"]) for f in root] == [
        ("data", True),
        ("m", True),
        ("model.txt", False),
    ]
    assert root[2]["file_size"] == len("weights")
    assert [f["path"] for f in _list(invoke, run_id, "data")] == ["data/a.csv", "data/nested"]

    # one file, by run id and path
    dst = tmp_path / "dl"
    local = invoke(
        "artifacts", "download", "-r", run_id, "-a", "model.txt", "-d", str(dst)
    ).stdout.strip()
    assert Path(local) == dst / "model.txt"
    assert Path(local).read_text() == "weights"

    # a whole run into a fresh temporary directory
    everything = Path(invoke("artifacts", "download", "--run-id", run_id).stdout.strip())
    assert (everything / "data" / "nested" / "b.json").read_text() == "{}"

    # a directory through a runs:/ URI
    via_uri = invoke(
        "artifacts", "download", "-u", f"runs:/{run_id}/data", "-d", str(tmp_path / "u")
    ).stdout.strip()
    assert (Path(via_uri) / "a.csv").read_text() == "x,y\n1,2\n"


def test_download_usage_errors(invoke, run_id):
    assert "exactly one" in invoke("artifacts", "download", code=2).output
    both = invoke("artifacts", "download", "-r", run_id, "-u", f"runs:/{run_id}", code=2)
    assert "exactly one" in both.output
    path_with_uri = invoke("artifacts", "download", "-u", f"runs:/{run_id}", "-a", "x", code=2)
    assert "--artifact-path/-a goes with --run-id/-r" in path_with_uri.output


def test_unknown_run_and_bad_paths(invoke, run_id, local_files):
    unknown = "d" * 32
    assert invoke("artifacts", "list", "-r", unknown, code=1).output.startswith("Error: ")
    assert invoke("artifacts", "download", "-r", unknown, code=1).output.startswith("Error: ")
    escape = invoke("artifacts", "list", "-r", run_id, "-a", "../../etc", code=1)
    assert "Invalid artifact path" in escape.output
    upload = invoke(
        "artifacts",
        "log-artifact",
        "-l",
        str(local_files / "model.txt"),
        "-r",
        run_id,
        "-a",
        "../outside",
        code=1,
    )
    assert "Invalid artifact path" in upload.output
    no_file = invoke("artifacts", "log-artifact", "-l", "/no/such/file", "-r", run_id, code=2)
    assert "does not exist" in no_file.output
    not_dir = invoke(
        "artifacts", "log-artifacts", "-l", str(local_files / "model.txt"), "-r", run_id, code=2
    )
    assert "is a file" in not_dir.output
