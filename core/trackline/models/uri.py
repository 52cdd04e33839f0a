"""Model URIs → a local model directory.

Local paths (and ``file://`` URIs) are used where they are, without a copy. ``runs:/<run>/<name>``
resolves to the logged model of that name the run produced (MLflow 3), else to the run's
artifacts; every other URI (``models:/…`` in all its forms, ``s3://…``,
``mlflow-artifacts:/…``) is resolved and downloaded by ``trackline.artifacts``.
"""

from __future__ import annotations

import os
import tempfile
from urllib.parse import unquote, urlparse

from trackline.exceptions import MissingPluginError, TracklineException


def _local_path(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if not parsed.scheme or len(parsed.scheme) == 1:  # plain or Windows drive path
        return uri
    return None


def _logged_model_location(run_id: str, name: str, tracking_uri: str | None) -> str | None:
    """Artifact location of the logged model ``name`` produced by run ``run_id``, if any."""
    from trackline.tracking.client import TracklineClient

    client = TracklineClient(tracking_uri)
    run = client.get_run(run_id)
    outputs = getattr(run, "outputs", None)
    model_ids = [o.model_id for o in getattr(outputs, "model_outputs", ()) or ()]
    get_logged_model = getattr(client, "get_logged_model", None) or client._store.get_logged_model
    for model_id in model_ids:
        try:
            logged = get_logged_model(model_id)
        except TracklineException:
            continue
        if logged.name == name:
            return logged.artifact_location
    return None


def resolve_model_uri(model_uri: str, tracking_uri: str | None = None) -> str:
    """The storage URI a model URI points to (``runs:/`` may mean a logged model)."""
    model_uri = str(model_uri)
    if model_uri.startswith("runs:"):
        from trackline.artifacts import parse_runs_uri

        run_id, path = parse_runs_uri(model_uri)
        head, _, rest = path.partition("/")
        if head:
            try:
                location = _logged_model_location(run_id, head, tracking_uri)
            except (AttributeError, NotImplementedError):
                location = None  # a store without logged models: run artifacts only
            except TracklineException as exc:
                if exc.error_code != "NOT_IMPLEMENTED":
                    raise
                location = None
            if location:
                return location.rstrip("/") + ("/" + rest if rest else "")
    return model_uri


def download_model(
    model_uri: str, dst_path: str | None = None, tracking_uri: str | None = None
) -> str:
    """A local directory holding the model at ``model_uri`` (downloaded if remote)."""
    model_uri = str(model_uri)
    local = _local_path(model_uri)
    if local is not None:
        if not os.path.exists(local):
            raise TracklineException(
                f"No model at {model_uri!r}: the path does not exist.", "RESOURCE_DOES_NOT_EXIST"
            )
        if dst_path is None:
            return os.path.abspath(local)
    from trackline.artifacts import download_artifacts

    resolved = resolve_model_uri(model_uri, tracking_uri)
    if dst_path is None:
        dst_path = tempfile.mkdtemp(prefix="trackline-model-")
    try:
        return download_artifacts(
            artifact_uri=resolved, dst_path=dst_path, tracking_uri=tracking_uri
        )
    except MissingPluginError as exc:
        raise MissingPluginError(f"Cannot download the model {model_uri!r}: {exc.message}") from exc
