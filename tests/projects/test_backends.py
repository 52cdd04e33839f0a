"""Asynchronous runs (status, logs, cancel) and backends plugged in through the hook."""

from __future__ import annotations

import os
import subprocess
import threading

import pytest
from click.testing import CliRunner
from trackline.cli.main import cli
from trackline.plugins import ProjectBackendSpec, hookimpl
from trackline.plugins.manager import get_plugin_manager
from trackline.projects import (
    AbstractBackend,
    ExecutionException,
    SubmittedRun,
    fetch_project,
    load_project,
    prepare_environment,
    run,
    run_environment_variables,
    start_project_run,
)

# -- the local backend, asynchronously ---------------------------------------------------------


def test_local_backend_is_registered_through_the_hook():
    manager = get_plugin_manager()
    spec, plugin = manager.registry.project_backends["local"]
    assert plugin == "trackline.plugins._builtin.projects"
    assert spec.factory == "trackline.projects.local:LocalBackend"
    info = next(i for i in manager.plugin_infos() if i.name == plugin)
    assert info.provides == ["project backend: local"]
    assert info.hooks == ["register_project_backends"]


def test_asynchronous_run_can_be_cancelled_and_ends_killed(tracking, typed_project):
    submitted = run(str(typed_project), entry_point="sleep", env_manager="local", synchronous=False)
    lines = submitted.logs(follow=True)
    assert next(lines) == "sleeping\n"  # the command is up and its output is streamed
    assert submitted.get_status() == "RUNNING"
    assert tracking.get_run(submitted.run_id).info.status == "RUNNING"
    submitted.cancel()
    assert submitted.get_status() == "KILLED"
    ended = tracking.get_run(submitted.run_id)
    assert ended.info.status == "KILLED"
    assert ended.info.end_time is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(submitted.process.pid, 0)  # the whole process group is gone
    assert submitted.wait() is False
    submitted.cancel()  # cancelling an ended run changes nothing
    assert tracking.get_run(submitted.run_id).info.status == "KILLED"


def test_asynchronous_run_streams_its_log_while_running(tracking, tmp_path, write_files):
    project = write_files(
        tmp_path / "stream",
        {
            "count.py": """
                import sys, time
                for i in range(3):
                    print(f"line {i}", flush=True)
                    time.sleep(0.2)
                print("to stderr", file=sys.stderr, flush=True)
            """
        },
    )
    submitted = run(str(project), entry_point="count.py", env_manager="local", synchronous=False)
    assert list(submitted.logs(follow=True)) == ["line 0\n", "line 1\n", "line 2\n", "to stderr\n"]
    assert submitted.wait() is True
    assert submitted.get_status() == "FINISHED"
    assert tracking.get_run(submitted.run_id).info.status == "FINISHED"


def test_asynchronous_run_ends_even_if_nobody_waits(tracking, typed_project):
    submitted = run(
        str(typed_project), parameters={"label": "x"}, env_manager="local", synchronous=False
    )
    submitted.process.wait()  # only the supervisor process; no call into the SubmittedRun
    assert tracking.get_run(submitted.run_id).info.status == "FINISHED"


# -- a third-party backend plugged in through register_project_backends -------------------------


class ThreadRun(SubmittedRun):
    """A job of ``ThreadBackend``: a subprocess watched by a thread (a stand-in for a cluster)."""

    def __init__(self, run_id: str, process: subprocess.Popen):
        self._run_id = run_id
        self.process = process

    @property
    def run_id(self) -> str:
        return self._run_id

    def wait(self) -> bool:
        return self.process.wait() == 0

    def get_status(self) -> str:
        code = self.process.poll()
        return "RUNNING" if code is None else "FINISHED" if code == 0 else "FAILED"

    def cancel(self) -> None:
        self.process.terminate()
        self.process.wait()


class ThreadBackend(AbstractBackend):
    """Fetches and checks the project with trackline's helpers, then submits the command."""

    calls: list[dict] = []

    def run(
        self, project_uri, entry_point, params, version, backend_config, tracking_uri, experiment_id
    ):
        fetched = fetch_project(project_uri, version, backend_config.get("STORAGE_DIR"))
        project = load_project(fetched.work_dir)
        entry = project.get_entry_point(entry_point)
        values = entry.resolve_parameters(params, os.getcwd(), fetched.work_dir)
        started = start_project_run(fetched, entry_point, values, experiment_id, tracking_uri)
        run_id = started.info.run_id
        environment = prepare_environment(project, "local")  # this interpreter first on PATH
        env = environment.command_environment(
            run_environment_variables(run_id, experiment_id, tracking_uri)
        )
        process = subprocess.Popen(
            ["bash", "-c", entry.command_for(values)],
            cwd=fetched.work_dir,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        type(self).calls.append({"config": dict(backend_config), "thread": threading.get_ident()})
        return ThreadRun(run_id, process)


class ThreadBackendPlugin:
    @hookimpl
    def register_project_backends(self, register):
        register(ProjectBackendSpec(name="threads", factory=ThreadBackend))


@pytest.fixture
def thread_backend():
    manager = get_plugin_manager()
    manager.register(ThreadBackendPlugin(), name="test-thread-backend")
    ThreadBackend.calls = []
    yield ThreadBackend
    manager.unregister(name="test-thread-backend")


def test_third_party_backend_runs_projects_and_the_runner_ends_its_run(
    tracking, typed_project, thread_backend
):
    submitted = run(
        str(typed_project),
        parameters={"label": "x"},
        backend="threads",
        backend_config={"queue": "gpu"},
    )
    assert isinstance(submitted, ThreadRun)
    result = tracking.get_run(submitted.run_id)
    # The backend left the run RUNNING; the runner ended it after wait() succeeded.
    assert result.info.status == "FINISHED"
    assert result.data.tags["mlflow.project.backend"] == "threads"
    assert result.data.tags["mlflow.source.type"] == "PROJECT"
    assert result.data.metrics == {"called": 1.0}  # the command continued the backend's run
    (call,) = thread_backend.calls
    assert call["config"]["queue"] == "gpu"
    assert call["config"]["SYNCHRONOUS"] is True
    assert call["config"]["ENV_MANAGER"] is None


def test_third_party_backend_failure_marks_the_run_failed(tracking, typed_project, thread_backend):
    with pytest.raises(ExecutionException, match="failed: the backend reported a failure"):
        run(str(typed_project), entry_point="fail", backend="threads")
    (failed,) = tracking.search_runs(search_all_experiments=True, output_format="list")
    assert failed.info.status == "FAILED"


def test_cli_selects_the_backend_and_passes_its_config(
    tracking, typed_project, thread_backend, tmp_path
):
    config = tmp_path / "backend.json"
    config.write_text('{"queue": "cpu", "nodes": 2}')
    result = CliRunner().invoke(
        cli, ["run", str(typed_project), "-P", "label=x", "-b", "threads", "-c", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert thread_backend.calls[0]["config"]["nodes"] == 2
    result = CliRunner().invoke(
        cli, ["run", str(typed_project), "-P", "label=x", "-b", "threads", "-c", '{"queue": 1']
    )
    assert result.exit_code == 1
    assert "Backend config must be a JSON object or a path to a .json file" in result.output


def test_unknown_backend_lists_the_installed_ones(tracking, typed_project, thread_backend):
    with pytest.raises(
        ExecutionException,
        match=r"No project backend named 'slurm'\. Installed backends: local, threads",
    ):
        run(str(typed_project), parameters={"label": "x"}, backend="slurm")


def test_two_plugins_claiming_one_backend_name_is_an_error(thread_backend):
    class Clash:
        @hookimpl
        def register_project_backends(self, register):
            register(ProjectBackendSpec(name="threads", factory=ThreadBackend))

    manager = get_plugin_manager()
    manager.register(Clash(), name="test-clash")
    try:
        with pytest.raises(
            Exception, match="project backend 'threads' is registered by two plugins"
        ):
            manager.registry  # noqa: B018 (building the registry raises)
    finally:
        manager.unregister(name="test-clash")


def test_asynchronous_run_ends_after_the_launching_process_has_exited(
    tracking, typed_project, tmp_path
):
    import subprocess
    import sys
    import time

    launcher = (
        "import sys, trackline.projects as projects\n"
        f"submitted = projects.run({str(typed_project)!r}, parameters={{'label': 'x'}},\n"
        "                         env_manager='local', synchronous=False)\n"
        "print(submitted.run_id)\n"
    )
    out = tmp_path / "launcher.out"
    with open(out, "w") as handle:
        code = subprocess.run(
            [sys.executable, "-c", launcher],
            stdout=handle,
            env=dict(os.environ, TRACKLINE_TRACKING_URI=tracking.get_tracking_uri()),
        ).returncode
    assert code == 0  # the launcher is gone; its supervisor carries on alone
    run_id = out.read_text().split()[0]
    deadline = time.monotonic() + 120  # a bound on waiting, not a speed requirement
    while tracking.get_run(run_id).info.status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    ended = tracking.get_run(run_id)
    assert ended.info.status == "FINISHED"
    assert ended.data.metrics == {"called": 1.0}
