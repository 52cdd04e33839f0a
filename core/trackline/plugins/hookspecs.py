"""Hook specifications: the whole contract between trackline and its plugins.

A plugin is a module registered under the ``trackline`` entry-point group::

    # pyproject.toml of trackline-example
    [project.entry-points.trackline]
    example = "trackline_example.plugin"

That module defines functions decorated with ``trackline.hookimpl`` whose names match the
specifications below. An implementation may accept any subset of a hook's parameters
(pluggy calls hooks by keyword), so new parameters can be added without breaking plugins.

Rules for plugin modules:

* Importing the module must be cheap: import heavy libraries inside factories, and register
  factories as ``"module:attribute"`` strings, which the core imports on first use.
* Never import another plugin; what two plugins share belongs in the core.
* A scheme or name claimed by two plugins is an error naming both; remove one plugin or
  disable it with ``TRACKLINE_DISABLE_PLUGINS``.

This module imports nothing heavy; the record types live in ``trackline.plugins.types``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # typing only: importing this module must stay free
    import click

    from trackline.plugins.types import (
        ArtifactPreviewerSpec,
        ArtifactRepositorySpec,
        AutologgerSpec,
        FlavorSpec,
        ProjectBackendSpec,
        Register,
        RegistryEvent,
        RegistryStoreSpec,
        TrackingStoreSpec,
    )

PROJECT_NAME = "trackline"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---- Registration hooks: called once per plugin manager, the first time the core needs them


@hookspec
def register_tracking_stores(register: Register[TrackingStoreSpec]) -> None:
    """Offer tracking-store implementations keyed by URI scheme.

    Call ``register(TrackingStoreSpec(schemes=(...), factory="module:attr"))`` once per
    implementation. The factory is imported when one of its schemes is first resolved and
    called as ``factory(store_uri, default_artifact_root)``; it returns an
    ``trackline.store.tracking.AbstractTrackingStore``. A scheme is the part of the URI
    before ``:`` or ``+`` (``postgresql+psycopg://…`` → ``postgresql``); plain paths have the
    scheme ``file``.

    :param register: the callback; it raises if the scheme is already taken.

    Example::

        @hookimpl
        def register_tracking_stores(register):
            register(TrackingStoreSpec(schemes=("postgresql", "mysql", "sqlite"),
                                       factory="trackline_sql.store:SqlTrackingStore"))
    """


@hookspec
def register_registry_stores(register: Register[RegistryStoreSpec]) -> None:
    """Offer model-registry store implementations keyed by URI scheme.

    Like ``register_tracking_stores``; the factory is called as ``factory(store_uri)``.
    The registry URI defaults to the tracking URI.

    Example::

        @hookimpl
        def register_registry_stores(register):
            register(RegistryStoreSpec(schemes=("sqlite",),
                                       factory="trackline_sql.registry:SqlRegistryStore"))
    """


@hookspec
def register_artifact_repositories(register: Register[ArtifactRepositorySpec]) -> None:
    """Offer artifact repositories keyed by URI scheme (``file``, ``s3``, ``gs``…).

    The factory is called as ``factory(artifact_uri, tracking_uri=...)`` and returns an
    ``trackline.store.artifacts.ArtifactRepository`` rooted at that URI. ``tracking_uri``
    (``None`` when unknown) is the tracking store the artifacts belong to; repositories
    whose URIs are relative to a server (``mlflow-artifacts:/``) resolve against it.

    Example::

        @hookimpl
        def register_artifact_repositories(register):
            register(ArtifactRepositorySpec(schemes=("file",),
                                            factory="trackline_fsspec.local:LocalArtifactRepository"))
    """


@hookspec
def register_flavors(register: Register[FlavorSpec]) -> None:
    """Offer model flavors; each becomes ``trackline.<name>`` for users.

    ``FlavorSpec(name="sklearn", module="trackline_sklearn.flavor")``: the module provides
    ``save_model``, ``log_model`` and ``load_model`` (and ``autolog`` if the plugin has one),
    and ``_load_pyfunc(path)`` returning an object with ``predict(data, params=None)``.
    ``trackline.pyfunc.load_model`` calls it for models whose ``python_function`` flavor has
    ``loader_module: mlflow.<name>`` (MLflow's name, which flavors write so that MLflow loads
    their models too) or ``trackline.<name>``. Build the module on
    ``trackline.models.flavor`` (docs/models.md shows a whole flavor).

    Example::

        @hookimpl
        def register_flavors(register):
            register(FlavorSpec(name="sklearn", module="trackline_sklearn.flavor"))
    """


@hookspec
def register_autologgers(register: Register[AutologgerSpec]) -> None:
    """Offer autologgers that ``trackline.autolog()`` enables when their library is imported.

    ``AutologgerSpec(name="sklearn", library="sklearn",
    autolog="trackline_sklearn.autolog:autolog", tested=("1.3.0", "1.7.2"))``.

    ``autolog`` is a function decorated with
    ``trackline.autologging.autologging_integration(name)`` that patches the library with
    ``trackline.autologging.safe_patch``; it is imported only when the library is. ``tested``
    is the one place the supported range is declared: out of it, ``trackline.autolog()`` skips
    the autologger and ``trackline.<name>.autolog()`` raises; ``trackline plugins`` shows it.
    See ``docs/autologging.md``.

    Example::

        @hookimpl
        def register_autologgers(register):
            register(AutologgerSpec(name="mylib", library="mylib",
                                    autolog="trackline_mylib.autolog:autolog",
                                    tested=("1.2.0", "1.5.3")))
    """


@hookspec
def register_project_backends(register: Register[ProjectBackendSpec]) -> None:
    """Offer execution backends for projects (``trackline run --backend <name>``).

    Call ``register(ProjectBackendSpec(name=..., factory="module:Backend"))`` once per
    backend. The factory is imported when the backend is first used and called with no
    arguments; the object it returns has MLflow's ``run(project_uri, entry_point, params,
    version, backend_config, tracking_uri, experiment_id)`` and returns a
    ``trackline.projects.SubmittedRun`` (``wait()``, ``get_status()``, ``cancel()``,
    ``run_id``, optionally ``logs(follow)``). Subclass ``trackline.projects.AbstractBackend``.

    The backend fetches the project (``trackline.projects.fetch_project``), checks the entry
    point and parameters (``load_project(...).get_entry_point(...).resolve_parameters(...)``)
    before creating anything, creates the run with the standard tags and params
    (``trackline.projects.start_project_run``) and starts the command with
    ``run_environment_variables(...)`` set, so that the command's ``start_run()`` continues
    that run. ``backend_config`` is the user's ``--backend-config`` JSON plus ``ENV_MANAGER``,
    ``SYNCHRONOUS``, ``STORAGE_DIR``, ``RUN_NAME`` and the other keys named in
    ``trackline.projects.backends``. trackline then tags the run ``mlflow.project.backend`` and,
    for a synchronous run, waits and ends the run if the backend left it running.

    The built-in ``local`` backend is registered through this hook too
    (``trackline.plugins._builtin.projects``). A name registered by two plugins is an error.

    :param register: the callback; it raises if the name is already taken.

    Example::

        @hookimpl
        def register_project_backends(register):
            register(ProjectBackendSpec(name="slurm",
                                        factory="trackline_slurm.backend:SlurmBackend"))
    """


# ---- Web UI


@hookspec
def register_artifact_previewers(register: Register[ArtifactPreviewerSpec]) -> None:
    """Offer artifact previewers to the web UI: browser renderers for some file types.

    Call ``register(ArtifactPreviewerSpec(...))`` once per previewer. The tracking server
    serves the plugin's ``static_dir`` at ``<prefix>/static-files/previewers/<name>/`` and lists
    every previewer at ``GET <prefix>/ajax-api/2.0/trackline/ui/previewers``; the UI imports
    the ES module of the best match when a user opens an artifact and calls its default
    export as ``render(element, artifact)``. ``artifact`` has ``path``, ``size``, ``url`` (the
    file's bytes, same origin), ``fetchText()``, ``fetchBlob()`` and ``runId``. Names are
    unique across plugins (two plugins registering one name is an error naming both). The
    built-in previewers (text, JSON/YAML, CSV, images, HTML, MLmodel) are registered by
    trackline-server through this same hook.

    Example (a plugin shipping ``trackline_audio/static/audio.js``)::

        @hookimpl
        def register_artifact_previewers(register):
            register(ArtifactPreviewerSpec(
                name="audio", module="audio.js", static_dir="trackline_audio:static",
                extensions=(".wav", ".mp3", ".ogg"), mime_types=("audio/*",)))

        // audio.js
        export default function render(element, artifact) {
          const audio = document.createElement("audio");
          audio.controls = true;
          audio.src = artifact.url;
          element.replaceChildren(audio);
        }
    """


# ---- CLI


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands or command groups to the ``trackline`` CLI.

    :param cli: the root click group; call ``cli.add_command(...)`` or decorate with
        ``@cli.command()``. Import heavy libraries inside the command, not here.

    Example::

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                click.echo("hello")
    """


# ---- Run lifecycle


@hookspec
def run_context_tags(experiment_id: str) -> dict[str, str] | None:
    """Return tags to add to every new run (or ``None``).

    Results of all plugins are merged; built-in context (``mlflow.user``,
    ``mlflow.source.name``, ``mlflow.source.type``, ``mlflow.source.git.commit``) comes
    first, plugins override it, and tags passed explicitly to ``start_run`` override both.

    :param experiment_id: the experiment the run is created in.
    """


@hookspec(firstresult=True)
def default_experiment_id() -> str | None:
    """Return the experiment id for runs started without one, or ``None`` to pass.

    Consulted after ``set_experiment`` and the ``MLFLOW_EXPERIMENT_*`` variables, before the
    default experiment ``"0"``. Stops at the first non-``None`` result.
    """


# ---- Model registry events


@hookspec
def registry_change_requested(event: RegistryEvent) -> None:
    """Called before a change to the model registry is written; raise to refuse it.

    Fired in the process that writes to the registry store: the client for a local store
    (SQLite, PostgreSQL…), the tracking server for requests it receives (so a gate installed
    on the server holds for every client, MLflow's included). A client talking to a server
    over REST fires nothing itself; the server does.

    Raising vetoes the change and nothing is written. Raise ``TracklineException`` to choose
    the error the caller gets (``PERMISSION_DENIED`` answers HTTP 403 over REST); any other
    exception is reported as ``PERMISSION_DENIED`` naming the plugin's message.

    :param event: what is about to change (see ``trackline.plugins.types.RegistryEvent``).

    Example: only versions with a passing evaluation may reach Production::

        @hookimpl
        def registry_change_requested(event):
            if (
                event.event == "model_version.stage_transitioned"
                and event.data["stage"] == "Production"
                and event.data["tags"].get("evaluation") != "passed"
            ):
                raise TracklineException(
                    f"{event.name} v{event.version} has not passed evaluation",
                    "PERMISSION_DENIED",
                )
    """


@hookspec
def registry_changed(event: RegistryEvent) -> None:
    """Called after a change to the model registry was written (to notify, audit, sync).

    The change has happened: an exception raised here is logged as a warning and does not
    fail the caller's request. ``event.version`` is set for ``model_version.created``.

    Example::

        @hookimpl
        def registry_changed(event):
            if event.event == "model_version_alias.created":
                notify(f"{event.name}@{event.data['alias']} -> v{event.version}")
    """


# ---- Clients and servers


@hookspec
def request_headers(url: str) -> dict[str, str] | None:
    """Return HTTP headers to add to requests the REST client sends to ``url``.

    Results are merged in registration order; later plugins win on conflicts.
    """


@hookspec
def register_server_routes(app: Any) -> None:
    """Add routes or middleware to the tracking server's ASGI application.

    :param app: the server application object (documented by trackline-server).
    """
