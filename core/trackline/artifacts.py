"""Artifact URIs: resolving them to repositories, and the ``trackline.artifacts`` helpers.

``runs:/<run_id>/<path>`` URIs are resolved here, through the run's ``artifact_uri``; every
other scheme is handed to the artifact repository a plugin registered for it.
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from typing import Any
from urllib.parse import quote, urlparse

from trackline.entities import FileInfo
from trackline.exceptions import TracklineException
from trackline.store.artifacts import ArtifactRepository, validate_artifact_path


def get_artifact_repository(
    artifact_uri: str, tracking_uri: str | None = None
) -> ArtifactRepository:
    """The repository rooted at ``artifact_uri``, from the plugin registered for its scheme.

    ``tracking_uri`` is the store the artifacts belong to: URIs relative to a server
    (``mlflow-artifacts:/…``) resolve against it, not against the process-wide default.
    """
    from trackline.plugins.manager import get_plugin_manager

    factory = get_plugin_manager().artifact_repository_factory(artifact_uri)
    return factory(artifact_uri, tracking_uri=tracking_uri)


def join_uri(root: str, path: str | None) -> str:
    """Append a validated relative path to an artifact root URI (or plain path)."""
    path = validate_artifact_path(path)
    if not path:
        return root
    if _has_scheme(root):
        # In a URI the path is percent-encoded: "a b.txt" must not be read back as "a%20b.txt".
        path = quote(path, safe="/")
    return root.rstrip("/") + "/" + path


def _has_scheme(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return len(scheme) > 1  # a one-letter "scheme" is a Windows drive


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/<path>`` → (run_id, path)."""
    parsed = urlparse(uri)
    if parsed.scheme != "runs":
        raise TracklineException.invalid_parameter_value(f"Not a runs:/ URI: {uri!r}")
    parts = (parsed.netloc + parsed.path).strip("/").split("/", 1)
    if not parts[0]:
        raise TracklineException.invalid_parameter_value(
            f"Invalid runs URI {uri!r}: expected runs:/<run_id>/<path>."
        )
    return parts[0], validate_artifact_path(parts[1] if len(parts) > 1 else "")


def resolve_artifact_uri(
    artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
) -> str:
    """Turn ``runs:/`` and ``models:/`` URIs into the storage URI they point to; others pass
    through. ``models:/`` URIs take every form (see ``trackline.registry.uri``), with an
    optional artifact path after the model part (``models:/fraud/3/MLmodel``)."""
    for _ in range(_MAX_URI_HOPS):
        if artifact_uri.startswith("runs:"):
            from trackline.tracking.uri import get_tracking_store

            run_id, path = parse_runs_uri(artifact_uri)
            run = get_tracking_store(tracking_uri).get_run(run_id)
            return join_uri(run.info.artifact_uri, path)
        if not artifact_uri.startswith("models:"):
            return artifact_uri
        artifact_uri = _resolve_models_uri(artifact_uri, tracking_uri, registry_uri)
    raise TracklineException.invalid_parameter_value(
        f"Model URI {artifact_uri!r} refers to other model URIs more than {_MAX_URI_HOPS} "
        "times; is there a cycle?"
    )


# A registered version may point at another version (copy_model_version) or a logged model.
_MAX_URI_HOPS = 10


def _resolve_models_uri(uri: str, tracking_uri: str | None, registry_uri: str | None) -> str:
    """One step: ``models:/…`` → the location it names (itself maybe ``runs:/``/``models:/``)."""
    from trackline.registry.uri import split_model_uri
    from trackline.tracking.client import TracklineClient

    model, path = split_model_uri(uri)
    client = TracklineClient(tracking_uri, registry_uri)
    if model.model_id is not None:
        getter = getattr(client, "get_logged_model", None) or client._store.get_logged_model
        location = getter(model.model_id).artifact_location
    else:
        version = client.resolve_model_version(model.uri)
        location = client.get_model_version_download_uri(version.name, version.version)
    if not path:
        return location
    if location.startswith(("runs:", "models:")):
        return location.rstrip("/") + "/" + validate_artifact_path(path)
    return join_uri(location, path)


def _split_uri(uri: str) -> tuple[str, str]:
    """A URI → (parent URI, last path segment), to open a repository at the parent."""
    parsed = urlparse(uri)
    if parsed.scheme and len(parsed.scheme) > 1:
        path = parsed.path.rstrip("/")
        parent, name = posixpath.split(path)
        return parsed._replace(path=parent or "/").geturl(), name
    uri = uri.rstrip("/\\")
    return os.path.dirname(uri), os.path.basename(uri)


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> str:
    """Download a file or directory and return its local path.

    Give either ``artifact_uri`` (any scheme, including ``runs:/`` and ``models:/``) or
    ``run_id`` with an optional ``artifact_path``, as MLflow's
    ``mlflow.artifacts.download_artifacts``.
    """
    if (artifact_uri is None) == (run_id is None):
        raise TracklineException.invalid_parameter_value(
            "Give exactly one of artifact_uri or run_id (with artifact_path)."
        )
    if artifact_uri is not None and artifact_path is not None:
        raise TracklineException.invalid_parameter_value(
            "artifact_path can only be given with run_id, not with artifact_uri."
        )
    if dst_path is not None:
        os.makedirs(dst_path, exist_ok=True)
    if run_id is not None:
        from trackline.tracking.uri import get_tracking_store

        root = get_tracking_store(tracking_uri).get_run(run_id).info.artifact_uri
        return get_artifact_repository(root, tracking_uri).download_artifacts(
            artifact_path, dst_path
        )
    resolved = resolve_artifact_uri(artifact_uri, tracking_uri, registry_uri)  # type: ignore[arg-type]
    repo = get_artifact_repository(resolved, tracking_uri)
    if repo.is_directory(""):
        # The URI may point at a file: open its parent and download just that name.
        parent, name = _split_uri(resolved)
        parent_repo = get_artifact_repository(parent, tracking_uri)
        if name and not parent_repo.is_directory(name):
            return parent_repo.download_artifacts(name, dst_path)
    return repo.download_artifacts("", dst_path)


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """The direct children of an artifact directory."""
    if run_id is not None:
        from trackline.tracking.uri import get_tracking_store

        root = get_tracking_store(tracking_uri).get_run(run_id).info.artifact_uri
        return get_artifact_repository(root, tracking_uri).list_artifacts(artifact_path)
    if artifact_uri is None:
        raise TracklineException.invalid_parameter_value("Give artifact_uri or run_id.")
    return get_artifact_repository(
        resolve_artifact_uri(artifact_uri, tracking_uri)
    ).list_artifacts()


def load_text(artifact_uri: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        local = download_artifacts(artifact_uri=artifact_uri, dst_path=tmp)
        with open(local, encoding="utf-8") as f:
            return f.read()


def load_dict(artifact_uri: str) -> dict[str, Any]:
    text = load_text(artifact_uri)
    if artifact_uri.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_load(text)
    return json.loads(text)
