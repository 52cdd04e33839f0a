"""The run a project executes in: its tags, its parameters, its end, and how to run it again.

Backends call these helpers so that every backend's runs carry the same tags (MLflow's, listed
in the reference §12.2) and can be re-run from those tags alone.
"""

from __future__ import annotations

import json
import os
import shlex
from typing import TYPE_CHECKING

from trackline.projects.spec import ResolvedParameters

if TYPE_CHECKING:
    from trackline.entities import Run
    from trackline.projects.sources import FetchedProject
    from trackline.tracking.client import TracklineClient

SOURCE_NAME_TAG = "mlflow.source.name"
SOURCE_TYPE_TAG = "mlflow.source.type"
USER_TAG = "mlflow.user"
PARENT_RUN_ID_TAG = "mlflow.parentRunId"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_REPO_URL_TAG = "mlflow.source.git.repoURL"
GIT_BRANCH_TAG = "mlflow.source.git.branch"
ENTRY_POINT_TAG = "mlflow.project.entryPoint"
ENV_TAG = "mlflow.project.env"
BACKEND_TAG = "mlflow.project.backend"
# trackline's own: which run params are the project's (the script may log more), and why a
# run failed before or outside its command (an environment that did not build…).
PARAMETERS_TAG = "trackline.project.parameters"
ERROR_TAG = "trackline.project.error"

PROJECT_SOURCE_TYPE = "PROJECT"
_MAX_TAG_LENGTH = 8000


def absolute_tracking_uri(uri: str) -> str:
    """``uri`` with a relative SQLite or file path made absolute.

    A project's command runs in the project's folder, so ``sqlite:///trackline.db`` must
    name the parent's database there, not a new one.
    """
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        path = uri[len("sqlite:///") :]
        if path and path != ":memory:" and not path.startswith(":"):
            return "sqlite:///" + os.path.abspath(path)
    if uri.startswith("file:") and not uri.startswith("file:/"):
        return "file://" + os.path.abspath(uri[len("file:") :])
    looks_like_path = uri.startswith((".", "/", "~")) or os.sep in uri or os.path.exists(uri)
    if ":" not in uri.split("/", 1)[0] and looks_like_path:  # a file store's folder
        return os.path.abspath(os.path.expanduser(uri))
    return uri


def run_environment_variables(run_id: str, experiment_id: str, tracking_uri: str) -> dict[str, str]:
    """What the command needs so that its ``start_run()`` continues the project's run.

    Both spellings are set: ``TRACKLINE_*`` wins over ``MLFLOW_*`` in trackline, and code using
    MLflow itself reads the ``MLFLOW_*`` ones.
    """
    variables = {}
    for name, value in (
        ("RUN_ID", run_id),
        ("EXPERIMENT_ID", experiment_id),
        ("TRACKING_URI", absolute_tracking_uri(tracking_uri)),
    ):
        variables[f"MLFLOW_{name}"] = value
        variables[f"TRACKLINE_{name}"] = value
    from trackline.tracking.uri import default_artifact_root

    variables["TRACKLINE_DEFAULT_ARTIFACT_ROOT"] = default_artifact_root()
    return variables


def _client(tracking_uri: str | None) -> TracklineClient:
    from trackline.tracking.client import TracklineClient

    return TracklineClient(tracking_uri)


def project_tags(fetched: FetchedProject, entry_point: str) -> dict[str, str]:
    """The tags MLflow writes on a project run (§12.2), from the fetched source."""
    from trackline.plugins._builtin.context import _user

    tags = {
        USER_TAG: _user(),
        SOURCE_NAME_TAG: fetched.source_name,
        SOURCE_TYPE_TAG: PROJECT_SOURCE_TYPE,
        ENTRY_POINT_TAG: entry_point,
    }
    if fetched.git_commit:
        tags[GIT_COMMIT_TAG] = fetched.git_commit
    if fetched.git_repo_url:
        tags[GIT_REPO_URL_TAG] = fetched.git_repo_url
    if fetched.git_branch:
        tags[GIT_BRANCH_TAG] = fetched.git_branch
    return tags


def start_project_run(
    fetched: FetchedProject,
    entry_point: str,
    parameters: ResolvedParameters,
    experiment_id: str,
    tracking_uri: str | None = None,
    run_id: str | None = None,
    run_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> Run:
    """Create the run (or adopt ``run_id``), tag it and log the parameters in one batch.

    Inside an active run of this process the new run becomes its child, as in MLflow.
    """
    from trackline import validation
    from trackline.entities import Param, RunTag
    from trackline.projects.exceptions import ExecutionException
    from trackline.tracking import fluent

    client = _client(tracking_uri)
    tags = project_tags(fetched, entry_point)
    run_params = parameters.as_run_params()
    tags[PARAMETERS_TAG] = json.dumps(list(run_params))[:_MAX_TAG_LENGTH]
    tags.update(extra_tags or {})
    try:  # a value too long for a param is an error now, not a run left half-made
        for key, value in run_params.items():
            validation.validate_param(Param(key, value))
    except Exception as exc:
        raise ExecutionException(f"Parameter cannot be logged on the run: {exc}") from exc
    if run_id is not None:
        run = client.get_run(run_id)
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    else:
        active = fluent.active_run()
        if active is not None:
            tags[PARENT_RUN_ID_TAG] = active.info.run_id
        if run_name is not None:
            tags["mlflow.runName"] = run_name
        run = client.create_run(experiment_id, tags=tags, run_name=run_name)
    if run_params:
        client.log_batch(run.info.run_id, params=[Param(k, v) for k, v in run_params.items()])
    return client.get_run(run.info.run_id)


def end_project_run(
    run_id: str,
    status: str,
    reason: str | None = None,
    tracking_uri: str | None = None,
    only_if_running: bool = False,
) -> None:
    """End the run with ``status``, recording ``reason`` (why it failed) as a tag."""
    client = _client(tracking_uri)
    if only_if_running and client.get_run(run_id).info.status != "RUNNING":
        return
    if reason:
        client.set_tag(run_id, ERROR_TAG, reason[-_MAX_TAG_LENGTH:])
    client.set_terminated(run_id, status)


def project_parameters(run: Run) -> dict[str, str]:
    """The project parameters of ``run`` as given (unquoted), in the order they were logged."""
    names = run.data.tags.get(PARAMETERS_TAG)
    try:
        keys = json.loads(names) if names else list(run.data.params)
    except ValueError:
        keys = list(run.data.params)
    result = {}
    for key in keys:
        if key not in run.data.params:
            continue
        logged = run.data.params[key]
        try:
            tokens = shlex.split(logged)
        except ValueError:
            tokens = [logged]
        result[key] = tokens[0] if len(tokens) == 1 else logged
    return result


def rerun_command(run: Run) -> str | None:
    """The ``trackline run`` command that runs this project run again, or ``None``.

    It names the same source at the same commit, entry point, parameters, environment
    manager, backend and experiment.
    """
    tags = run.data.tags
    if tags.get(SOURCE_TYPE_TAG) != PROJECT_SOURCE_TYPE or SOURCE_NAME_TAG not in tags:
        return None
    parts = ["trackline", "run", shlex.quote(tags[SOURCE_NAME_TAG])]
    parts += ["-e", shlex.quote(tags.get(ENTRY_POINT_TAG, "main"))]
    if tags.get(GIT_COMMIT_TAG):  # the committed code, even if the folder has moved on
        parts += ["--version", tags[GIT_COMMIT_TAG]]
    for key, value in project_parameters(run).items():
        parts += ["-P", shlex.quote(f"{key}={value}")]
    # No environment tag: the run used the current environment (MLflow's runs too).
    parts += ["--env-manager", shlex.quote(tags.get(ENV_TAG, "local"))]
    if tags.get(BACKEND_TAG) and tags[BACKEND_TAG] != "local":
        parts += ["--backend", shlex.quote(tags[BACKEND_TAG])]
    parts += ["--experiment-id", shlex.quote(run.info.experiment_id)]
    return " ".join(parts)
