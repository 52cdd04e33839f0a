"""The built-in run context: user, source, git commit."""

from __future__ import annotations

import subprocess

from trackline.plugins._builtin import context


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_git_commit_is_recorded_for_a_script_in_a_checkout(tmp_path):
    _git(tmp_path, "init", "-q")
    script = tmp_path / "train.py"
    script.write_text("print('hi')\n")
    _git(tmp_path, "add", "train.py")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "init")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert context._git_commit(str(script)) == head


def test_no_git_commit_outside_a_checkout(tmp_path):
    assert context._git_commit(str(tmp_path / "script.py")) is None


def test_tracking_username_wins_over_os_user(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    assert context.run_context_tags()["mlflow.user"] == "alice"
    monkeypatch.setenv("TRACKLINE_TRACKING_USERNAME", "bob")
    assert context.run_context_tags()["mlflow.user"] == "bob"
