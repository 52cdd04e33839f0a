"""Projects from git repositories made in the test: file:// URLs, --version, #subdirectory."""

from __future__ import annotations

import pytest
from trackline.projects import ExecutionException, fetch_project, run

PROJECT_FILES = {
    "MLproject": """
        entry_points:
          main:
            parameters:
              greeting: {type: string, default: hello}
            command: "python show.py {greeting}"
    """,
    "show.py": """
        import sys
        import trackline
        from version import VERSION
        with trackline.start_run():
            trackline.set_tag("seen", f"{VERSION}:{sys.argv[1]}")
    """,
}


@pytest.fixture
def repository(tmp_path, git, write_files):
    """A repository with the project in ``sub/``: v1 tagged, then v2 on main, v3 on a branch."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_files(root / "sub", PROJECT_FILES)
    commits = {}
    for version in ("v1", "v2"):
        (root / "sub" / "version.py").write_text(f"VERSION = {version!r}\n")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", version)
        commits[version] = git(root, "rev-parse", "HEAD")
        if version == "v1":
            git(root, "tag", "v1.0")
    git(root, "checkout", "-q", "-b", "feature")
    (root / "sub" / "version.py").write_text("VERSION = 'v3'\n")
    git(root, "commit", "-q", "-am", "v3")
    commits["v3"] = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "main")
    return root, commits


def _seen(tracking, submitted):
    return tracking.get_run(submitted.run_id).data.tags["seen"]


def test_tag_commit_and_branch_versions_run_that_code(tracking, repository, tmp_path):
    root, commits = repository
    url = f"file://{root}#sub"
    storage = str(tmp_path / "storage")

    by_tag = run(url, version="v1.0", env_manager="local", storage_dir=storage)
    assert _seen(tracking, by_tag) == "v1:hello"
    tags = tracking.get_run(by_tag.run_id).data.tags
    assert tags["mlflow.source.name"] == url
    assert tags["mlflow.source.git.commit"] == commits["v1"]
    assert tags["mlflow.source.git.repoURL"] == f"file://{root}"
    assert "mlflow.source.git.branch" not in tags  # a tag is not a branch

    by_commit = run(
        url,
        version=commits["v2"],
        parameters={"greeting": "hi"},
        env_manager="local",
        storage_dir=storage,
    )
    assert _seen(tracking, by_commit) == "v2:hi"
    assert tracking.get_run(by_commit.run_id).data.tags["mlflow.source.git.commit"] == commits["v2"]

    by_branch = run(url, version="feature", env_manager="local", storage_dir=storage)
    assert _seen(tracking, by_branch) == "v3:hello"
    branch_tags = tracking.get_run(by_branch.run_id).data.tags
    assert branch_tags["mlflow.source.git.branch"] == "feature"
    assert branch_tags["mlflow.source.git.commit"] == commits["v3"]


def test_without_version_the_default_branch_head_runs(tracking, repository, tmp_path):
    root, commits = repository
    submitted = run(f"file://{root}#sub", env_manager="local", storage_dir=str(tmp_path / "s"))
    assert _seen(tracking, submitted) == "v2:hello"
    assert tracking.get_run(submitted.run_id).data.tags["mlflow.source.git.commit"] == commits["v2"]


def test_a_local_checkout_runs_in_place_and_records_its_commit(tracking, repository):
    root, commits = repository
    (root / "sub" / "version.py").write_text("VERSION = 'uncommitted'\n")
    submitted = run(str(root / "sub"), env_manager="local")
    assert _seen(tracking, submitted) == "uncommitted:hello"  # in place: the working tree
    result = tracking.get_run(submitted.run_id)
    assert result.data.tags["mlflow.source.git.commit"] == commits["v2"]
    assert result.data.tags["mlflow.source.name"] == str(root / "sub")  # no remote to name
    # Re-running pins the recorded commit: the folder inside the checkout is cloned at it.
    from trackline.projects import rerun_command

    command = rerun_command(result)
    assert command.startswith(f"trackline run {root / 'sub'} -e main --version {commits['v2']} ")
    again = run(
        str(root / "sub"),
        version=commits["v2"],
        env_manager="local",
        storage_dir=str(root.parent / "s"),
    )
    assert _seen(tracking, again) == "v2:hello"
    assert tracking.get_run(again.run_id).data.tags["mlflow.source.name"] == f"{root}#sub"


def test_a_local_repository_path_with_version_is_cloned(tracking, repository, tmp_path):
    root, commits = repository
    submitted = run(
        f"{root}#sub", version="v1.0", env_manager="local", storage_dir=str(tmp_path / "s")
    )
    assert _seen(tracking, submitted) == "v1:hello"
    assert (root / "sub" / "version.py").read_text() == "VERSION = 'v2'\n"  # checkout untouched


def test_a_checkout_with_a_remote_names_the_remote_and_reruns_from_it(
    tracking, repository, tmp_path, git
):
    root, commits = repository
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{root}", str(clone))
    submitted = run(str(clone / "sub"), env_manager="local")
    result = tracking.get_run(submitted.run_id)
    assert result.data.tags["mlflow.source.name"] == f"file://{root}#sub"
    assert result.data.tags["mlflow.source.git.repoURL"] == f"file://{root}"
    from trackline.projects import rerun_command

    assert rerun_command(result).startswith(
        f"trackline run 'file://{root}#sub' -e main --version {commits['v2']} -P greeting=hello"
    )


@pytest.mark.parametrize(
    ("uri", "version", "message"),
    [
        (
            "file:///no/such/repo.git",
            None,
            "Cannot reach git repository 'file:///no/such/repo.git'",
        ),
        ("{url}", "v9.9", "Version 'v9.9' is not a branch, tag or commit"),
        ("{url}#missing", "v1.0", "has no subdirectory 'missing'"),
        ("{url}#../escape", "v1.0", "must be a relative path inside the project"),
    ],
)
def test_bad_git_sources_fail_before_any_run(tracking, repository, tmp_path, uri, version, message):
    root, _ = repository
    with pytest.raises(ExecutionException, match=message):
        run(
            uri.format(url=f"file://{root}"),
            version=version,
            env_manager="local",
            storage_dir=str(tmp_path / "s"),
        )
    assert tracking.search_runs(search_all_experiments=True, output_format="list") == []


def test_version_of_a_folder_that_is_not_a_repository_is_refused(tmp_path, write_files):
    write_files(tmp_path / "plain", {"run.py": "print(1)\n"})
    with pytest.raises(ExecutionException, match="needs a git repository"):
        fetch_project(str(tmp_path / "plain"), version="main")


def test_zip_archives_are_unpacked_and_path_traversal_refused(tmp_path, write_files):
    import zipfile

    good = tmp_path / "project.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("proj/run.py", "print(1)\n")
    fetched = fetch_project(f"{good}#proj", storage_dir=str(tmp_path / "s"))
    assert (fetched.work_dir.endswith("/proj")) and fetched.source_name == f"{good}#proj"
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("../evil.py", "print(1)\n")
    with pytest.raises(ExecutionException, match="entry outside its root"):
        fetch_project(str(bad), storage_dir=str(tmp_path / "s"))
    assert not (tmp_path / "s" / "evil.py").exists()


def test_zip_archive_over_http_runs(tracking, tmp_path, recording_script):
    import functools
    import http.server
    import threading
    import zipfile

    served = tmp_path / "served"
    served.mkdir()
    with zipfile.ZipFile(served / "project.zip", "w") as archive:
        archive.writestr("proj/record.py", recording_script)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/project.zip#proj"
        submitted = run(
            url, entry_point="record.py", env_manager="local", storage_dir=str(tmp_path / "s")
        )
        result = tracking.get_run(submitted.run_id)
        assert result.info.status == "FINISHED"
        assert result.data.tags["mlflow.source.name"] == url
        with pytest.raises(ExecutionException, match="Cannot download project archive"):
            run(f"http://127.0.0.1:{server.server_port}/missing.zip", env_manager="local")
    finally:
        server.shutdown()
        server.server_close()
