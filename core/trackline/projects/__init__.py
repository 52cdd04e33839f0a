"""Projects: run code packaged with an ``MLproject`` file, reproducibly, on a pluggable backend.

::

    import trackline.projects

    submitted = trackline.projects.run("./my-project", entry_point="train",
                                       parameters={"alpha": 0.5}, env_manager="uv")
    submitted.get_status()  # "FINISHED"

The same as MLflow's ``mlflow.projects`` (``mlflow run`` on the command line is
``trackline run``). For backend authors: ``AbstractBackend``, ``SubmittedRun`` and the helpers
``fetch_project``, ``load_project`` and ``start_project_run``; see docs/projects.md.
"""

from __future__ import annotations

from trackline.projects._runner import run, wait_for
from trackline.projects.backends import AbstractBackend, load_backend
from trackline.projects.environments import ENV_MANAGERS, Environment, prepare_environment
from trackline.projects.exceptions import ExecutionException
from trackline.projects.sources import FetchedProject, fetch_project
from trackline.projects.spec import EntryPoint, Parameter, Project, load_project
from trackline.projects.submitted import LocalSubmittedRun, SubmittedRun
from trackline.projects.tracking import (
    end_project_run,
    rerun_command,
    run_environment_variables,
    start_project_run,
)

__all__ = [
    "ENV_MANAGERS",
    "AbstractBackend",
    "EntryPoint",
    "Environment",
    "ExecutionException",
    "FetchedProject",
    "LocalSubmittedRun",
    "Parameter",
    "Project",
    "SubmittedRun",
    "end_project_run",
    "fetch_project",
    "load_backend",
    "load_project",
    "prepare_environment",
    "rerun_command",
    "run",
    "run_environment_variables",
    "start_project_run",
    "wait_for",
]
