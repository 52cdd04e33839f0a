"""``trackline.projects.run``: pick the backend, hand it the project, wait if asked to."""

from __future__ import annotations

import logging
from typing import Any

from trackline.projects import backends
from trackline.projects.environments import ENV_MANAGERS
from trackline.projects.exceptions import ExecutionException
from trackline.projects.submitted import SubmittedRun
from trackline.projects.tracking import BACKEND_TAG, absolute_tracking_uri, end_project_run

logger = logging.getLogger("trackline.projects")


def run(
    uri: str,
    entry_point: str = "main",
    version: str | None = None,
    parameters: dict[str, Any] | None = None,
    docker_args: dict[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    backend: str = "local",
    backend_config: dict[str, Any] | str | None = None,
    storage_dir: str | None = None,
    synchronous: bool = True,
    run_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    build_image: bool = False,
    docker_auth: dict[str, Any] | None = None,
) -> SubmittedRun:
    """Run a project (a folder, a git URL or a .zip; ``URI#subdir`` for a subdirectory).

    Same parameters as MLflow's ``mlflow.projects.run``.

    :param entry_point: an entry point of the MLproject file, or a ``.py``/``.sh`` file.
    :param version: git commit, branch or tag to run (git sources only).
    :param parameters: values for the entry point's parameters; undeclared ones are passed to
        the command as ``--name value``.
    :param experiment_name: run in this experiment (created if missing); or ``experiment_id``.
        Neither: the active experiment, as ``start_run`` picks it.
    :param backend: a backend registered with ``register_project_backends`` (``local``).
    :param backend_config: a dict, a JSON string or a path to a ``.json`` file for the backend.
    :param storage_dir: where clones and downloaded ``path`` parameters go (default: a
        temporary directory).
    :param synchronous: wait for the run to end and raise ``ExecutionException`` if it failed;
        ``False`` returns at once with a ``SubmittedRun`` to ``wait()`` on or ``cancel()``.
    :param run_id: run in this existing run instead of creating one.
    :param run_name: name of the new run.
    :param env_manager: ``local``, ``virtualenv``, ``uv`` or ``conda``; by default what the
        project's environment file calls for (python_env → virtualenv, conda.yaml → conda).
    :param build_image: docker projects only, which trackline does not run yet: an error.
    """
    if env_manager is not None and env_manager not in ENV_MANAGERS:
        raise ExecutionException(
            f"Unknown environment manager {env_manager!r}; use one of {', '.join(ENV_MANAGERS)}."
        )
    if build_image:
        raise ExecutionException(
            "build_image applies to docker_env projects, which trackline does not run yet."
        )
    config = backends.parse_backend_config(backend_config)
    config.update(
        {
            backends.ENV_MANAGER: env_manager,
            backends.SYNCHRONOUS: synchronous,
            backends.DOCKER_ARGS: docker_args,
            backends.STORAGE_DIR: storage_dir,
            backends.BUILD_IMAGE: build_image,
            backends.DOCKER_AUTH: docker_auth,
        }
    )
    if run_id is not None:
        config[backends.RUN_ID] = run_id
    if run_name is not None:
        config[backends.RUN_NAME] = run_name
    from trackline.tracking.uri import get_tracking_uri

    tracking_uri = absolute_tracking_uri(get_tracking_uri())
    experiment = _experiment_id(experiment_name, experiment_id)
    implementation = backends.load_backend(backend)
    submitted = backends.call_backend(
        implementation,
        project_uri=uri,
        entry_point=entry_point,
        params={str(k): v for k, v in (parameters or {}).items()},
        version=version,
        backend_config=config,
        tracking_uri=tracking_uri,
        experiment_id=experiment,
    )
    _tag_backend(submitted, backend, tracking_uri)
    if synchronous:
        wait_for(submitted, tracking_uri)
    return submitted


def _tag_backend(submitted: Any, backend: str, tracking_uri: str) -> None:
    from trackline.tracking.client import TracklineClient

    run_id = getattr(submitted, "run_id", None)
    if run_id:
        TracklineClient(tracking_uri).set_tag(run_id, BACKEND_TAG, backend)


def wait_for(submitted: SubmittedRun, tracking_uri: str | None = None) -> None:
    """Wait for ``submitted``; end its run if the backend left it running; raise if it failed.

    Ctrl-C cancels the run (it ends KILLED) and re-raises.
    """
    run_id = submitted.run_id
    try:
        succeeded = submitted.wait()
    except KeyboardInterrupt:
        logger.error("=== Run (ID '%s') interrupted, cancelling it ===", run_id)
        submitted.cancel()
        end_project_run(run_id, "KILLED", "interrupted", tracking_uri, only_if_running=True)
        raise
    if succeeded:
        end_project_run(run_id, "FINISHED", None, tracking_uri, only_if_running=True)
        logger.info("=== Run (ID '%s') succeeded ===", run_id)
        return
    end_project_run(
        run_id, "FAILED", "the backend reported a failure", tracking_uri, only_if_running=True
    )
    reason = _failure_reason(run_id, tracking_uri)
    raise ExecutionException(f"Run (ID '{run_id}') failed" + (f": {reason}" if reason else "."))


def _failure_reason(run_id: str, tracking_uri: str | None) -> str | None:
    from trackline.projects.tracking import ERROR_TAG
    from trackline.tracking.client import TracklineClient

    try:
        return TracklineClient(tracking_uri).get_run(run_id).data.tags.get(ERROR_TAG)
    except Exception:  # the reason is a courtesy; the failure itself is what matters
        return None


def _experiment_id(experiment_name: str | None, experiment_id: str | None) -> str:
    from trackline.tracking.client import TracklineClient

    if experiment_name is not None and experiment_id is not None:
        raise ExecutionException("Give experiment_name or experiment_id, not both.")
    client = TracklineClient()
    if experiment_name is not None:
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is not None:
            return experiment.experiment_id
        logger.info("Experiment %r does not exist; creating it.", experiment_name)
        return client.create_experiment(experiment_name)
    if experiment_id is not None:
        return client.get_experiment(str(experiment_id)).experiment_id
    from trackline.tracking.fluent import _resolve_experiment_id

    return _resolve_experiment_id()
