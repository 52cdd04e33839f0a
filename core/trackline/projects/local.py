"""The ``local`` backend: run the project's command on this machine.

Registered by the built-in plugin ``trackline.plugins._builtin.projects`` through the same
``register_project_backends`` hook third-party backends use.

Order of work, so that bad input changes nothing: fetch the project, load its MLproject, check
the entry point, the parameters and the environment manager; only then create the run. From
there on any failure (the environment does not build, a remote path does not download, the
command cannot start or exits non-zero) ends the run FAILED with the reason in the
``trackline.project.error`` tag.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from typing import Any

from trackline.projects import backends
from trackline.projects.environments import (
    LOCAL,
    check_env_manager,
    default_env_manager,
    prepare_environment,
)
from trackline.projects.exceptions import ExecutionException
from trackline.projects.sources import fetch_project
from trackline.projects.spec import ENV_DOCKER, load_project
from trackline.projects.submitted import LocalSubmittedRun
from trackline.projects.tracking import (
    ENV_TAG,
    absolute_tracking_uri,
    end_project_run,
    run_environment_variables,
    start_project_run,
)

logger = logging.getLogger("trackline.projects")


class LocalBackend(backends.AbstractBackend):
    """Runs projects in a subprocess of this machine, in a local, virtualenv, uv or conda env."""

    def run(
        self,
        project_uri: str,
        entry_point: str,
        params: dict[str, Any],
        version: str | None,
        backend_config: dict[str, Any],
        tracking_uri: str,
        experiment_id: str,
    ) -> LocalSubmittedRun:
        storage_dir = backend_config.get(backends.STORAGE_DIR)
        fetched = fetch_project(project_uri, version, storage_dir)
        project = load_project(fetched.work_dir)
        entry = project.get_entry_point(entry_point)
        values = entry.resolve_parameters(params, os.getcwd(), fetched.work_dir)
        env_manager = backend_config.get(backends.ENV_MANAGER)
        if project.env_type == ENV_DOCKER and env_manager != LOCAL:
            raise ExecutionException(
                "This project declares a docker_env; trackline does not run docker projects "
                "yet. To run its command in the current environment instead, pass "
                "--env-manager local."
            )
        env_manager = env_manager or default_env_manager(project)
        check_env_manager(project, env_manager)
        tracking_uri = absolute_tracking_uri(tracking_uri)
        run = start_project_run(
            fetched,
            entry_point,
            values,
            experiment_id,
            tracking_uri=tracking_uri,
            run_id=backend_config.get(backends.RUN_ID),
            run_name=backend_config.get(backends.RUN_NAME),
            # MLflow tags the environment only when one is built; local means "no tag".
            extra_tags={} if env_manager == LOCAL else {ENV_TAG: env_manager},
        )
        run_id = run.info.run_id
        experiment_id = run.info.experiment_id  # an existing run (run_id=) keeps its own
        try:
            environment = prepare_environment(project, env_manager)
            scratch = tempfile.mkdtemp(prefix=f"trackline-run-{run_id}-", dir=_made(storage_dir))
            command = entry.command_for(values.with_remote_paths_downloaded(scratch))
            variables = {
                **environment.variables,
                **run_environment_variables(run_id, experiment_id, tracking_uri),
            }
            logger.info("=== Running command '%s' in run with ID '%s' ===", command, run_id)
            return _launch(run_id, command, fetched.work_dir, variables, scratch, tracking_uri)
        except BaseException as exc:  # Ctrl-C during a long build too: never leave it RUNNING
            if not isinstance(exc, Exception):
                end_project_run(run_id, "KILLED", "interrupted", tracking_uri)
                raise
            end_project_run(run_id, "FAILED", str(exc), tracking_uri)
            if isinstance(exc, ExecutionException):
                raise
            raise ExecutionException(f"Run {run_id} failed before its command ran: {exc}") from exc


def _made(directory: str | None) -> str | None:
    if directory is not None:
        os.makedirs(directory, exist_ok=True)
    return directory


def _launch(
    run_id: str,
    command: str,
    cwd: str,
    variables: dict[str, str],
    scratch: str,
    tracking_uri: str,
) -> LocalSubmittedRun:
    log_path = os.path.join(scratch, "output.log")
    spec_path = os.path.join(scratch, "supervisor.json")
    spec = {
        "run_id": run_id,
        "tracking_uri": tracking_uri,
        "command": command,
        "cwd": cwd,
        "env": variables,
        "log_path": log_path,
    }
    with open(spec_path, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    # The supervisor runs on this interpreter with this environment; the command's own
    # variables (its environment's PATH, the run id) travel in the spec.
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "trackline.projects._supervisor", spec_path],
            start_new_session=True,  # its own process group: cancel() signals the whole tree
            stdin=subprocess.DEVNULL,
        )
    except OSError as exc:
        raise ExecutionException(
            f"Could not start the project's supervisor process: {exc}"
        ) from exc
    return LocalSubmittedRun(run_id, process, log_path, tracking_uri)
