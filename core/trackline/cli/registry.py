"""``trackline registry``: registered models, their versions and aliases, and downloads.

The registry is selected by TRACKLINE_REGISTRY_URI / MLFLOW_REGISTRY_URI, else the tracking
URI (TRACKLINE_TRACKING_URI / MLFLOW_TRACKING_URI): a database URI or a server URL.
"""

from __future__ import annotations

import click

from trackline.cli._common import echo_json, format_table, format_time, parse_key_values

NAME = click.option("--name", "-n", required=True, help="The registered model's name.")
VERSION = click.option("--version", "-v", "version", required=True, help="The version number.")
_PAGE_SIZE = 1000


def _client():  # noqa: ANN202 - the client type is imported lazily
    from trackline.tracking.client import TracklineClient

    return TracklineClient()


@click.group("registry")
def commands() -> None:
    """Manage the model registry: models, versions, aliases.

    The registry store is TRACKLINE_REGISTRY_URI or MLFLOW_REGISTRY_URI, else the tracking URI.
    """


@commands.command("list")
@click.option("--filter", "filter_string", default=None, help="e.g. \"name LIKE 'fraud%'\".")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_models(filter_string: str | None, as_json: bool) -> None:
    """List registered models."""
    client, models, token = _client(), [], None
    while True:
        page = client.search_registered_models(filter_string, _PAGE_SIZE, None, token)
        models.extend(page)
        token = page.token
        if not token:
            break
    if as_json:
        echo_json([m.to_dict() for m in models])
        return
    rows = [
        (
            m.name,
            ", ".join(f"{v.current_stage}: v{v.version}" for v in m.latest_versions) or "-",
            ", ".join(f"{a}=v{v}" for a, v in m.aliases.items()) or "-",
            format_time(m.last_updated_timestamp),
        )
        for m in models
    ]
    click.echo(format_table(("name", "latest versions", "aliases", "updated"), rows))


@commands.command("create")
@NAME
@click.option("--description", "-d", default=None)
@click.option("--tag", "-t", "tags", multiple=True, help="key=value; repeat for more.")
def create_model(name: str, description: str | None, tags: tuple[str, ...]) -> None:
    """Create a registered model."""
    model = _client().create_registered_model(name, parse_key_values(tags, "--tag"), description)
    click.echo(f"Created registered model {model.name!r}.")


@commands.command("delete")
@NAME
def delete_model(name: str) -> None:
    """Delete a registered model with all its versions."""
    _client().delete_registered_model(name)
    click.echo(f"Deleted registered model {name!r}.")


@commands.command("versions")
@NAME
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_versions(name: str, as_json: bool) -> None:
    """List the versions of a registered model, newest first."""
    client = _client()
    client.get_registered_model(name)  # an unknown model is an error, not an empty list
    versions = client.search_model_versions(
        f"name = '{name}'", 10_000, ["version_number DESC"], None
    )
    if as_json:
        echo_json([v.to_dict() for v in versions])
        return
    rows = [
        (v.version, v.current_stage, ", ".join(v.aliases) or "-", v.run_id or "-", v.source or "")
        for v in versions
    ]
    click.echo(format_table(("version", "stage", "aliases", "run", "source"), rows))


@commands.command("create-version")
@NAME
@click.option("--source", "-s", required=True, help="runs:/<run_id>/<path>, models:/… or a URI.")
@click.option("--run-id", default=None, help="The run that produced the model.")
@click.option("--description", "-d", default=None)
def create_version(name: str, source: str, run_id: str | None, description: str | None) -> None:
    """Register a new version of a model (the model is created if missing)."""
    from trackline.registry.fluent import register_model

    if run_id is None and description is None:
        mv = register_model(source, name)
    else:
        client = _client()
        mv = client.create_model_version(name, source, run_id=run_id, description=description)
    click.echo(f"Created version {mv.version} of {name!r}.")


@commands.command("delete-version")
@NAME
@VERSION
def delete_version(name: str, version: str) -> None:
    """Delete one version (its number is never reused)."""
    _client().delete_model_version(name, version)
    click.echo(f"Deleted version {version} of {name!r}.")


@commands.command("set-alias")
@NAME
@click.option("--alias", "-a", required=True)
@VERSION
def set_alias(name: str, alias: str, version: str) -> None:
    """Point an alias (models:/<name>@<alias>) at a version."""
    _client().set_registered_model_alias(name, alias, version)
    click.echo(f"{name}@{alias} -> version {version}")


@commands.command("delete-alias")
@NAME
@click.option("--alias", "-a", required=True)
def delete_alias(name: str, alias: str) -> None:
    """Remove an alias."""
    _client().delete_registered_model_alias(name, alias)
    click.echo(f"Deleted alias {name}@{alias}.")


@commands.command("download")
@click.option("--model-uri", "-m", required=True, help="models:/<name>/<version>, …@<alias>.")
@click.option("--dst-path", "-d", default=".", show_default=True, help="Local directory.")
def download(model_uri: str, dst_path: str) -> None:
    """Download a registered model version's files and print where they are."""
    from trackline.artifacts import download_artifacts

    click.echo(download_artifacts(artifact_uri=model_uri, dst_path=dst_path))
