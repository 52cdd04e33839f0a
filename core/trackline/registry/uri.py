"""``models:/`` URIs: parsing every form MLflow accepts, and splitting off artifact sub-paths.

Forms (the model part):

* ``models:/<name>/<version>`` — one version (``models:/fraud/3``);
* ``models:/<name>/<stage>`` — the latest version in a stage, any case (``/production``);
* ``models:/<name>/latest`` — the latest version over all stages;
* ``models:/<name>@<alias>`` — the version an alias points to;
* ``models:/<model_id>`` — a logged model (``models:/m-0123…``).

``parse_model_uri`` accepts only the model part (``models:/name/1/sub`` is an error, as in
MLflow); ``split_model_uri`` separates a trailing artifact path, which
``trackline.artifacts.download_artifacts`` accepts (``models:/fraud/3/MLmodel``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from trackline.exceptions import TracklineException

SCHEME = "models"


@dataclass(frozen=True)
class ModelUri:
    """What a ``models:/`` URI names; exactly one of the selectors is set."""

    uri: str
    name: str | None = None
    version: str | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False
    model_id: str | None = None


def _bad(uri: str, why: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(
        f"Invalid model URI {uri!r}: {why}. Use models:/<name>/<version>, "
        "models:/<name>/<stage>, models:/<name>/latest, models:/<name>@<alias> or "
        "models:/<model_id>."
    )


def is_models_uri(uri: object) -> bool:
    return isinstance(uri, str) and urlparse(uri).scheme == SCHEME


def _path_parts(uri: str) -> list[str]:
    parsed = urlparse(uri)
    if parsed.scheme != SCHEME:
        raise _bad(uri, "it does not start with models:/")
    if parsed.netloc:
        # models://<profile>/… selects a remote Databricks workspace in MLflow; not here.
        raise _bad(uri, f"a host part ({parsed.netloc!r}) is not supported")
    if parsed.query or parsed.fragment:
        raise _bad(uri, "it must not have a query or a fragment")
    path = parsed.path
    if not path.startswith("/") or not path.strip("/"):
        raise _bad(uri, "the model name is missing")
    return path.lstrip("/").rstrip("/").split("/")


def _model_part(uri: str, parts: list[str]) -> ModelUri:
    if any(not p.strip() for p in parts):
        raise _bad(uri, "it has an empty path segment")
    if len(parts) == 1:
        head = parts[0]
        if "@" in head:
            name, _, alias = head.rpartition("@")
            if not name or not alias:
                raise _bad(uri, "both the name and the alias are needed around '@'")
            return ModelUri(uri, name=name, alias=alias)
        return ModelUri(uri, model_id=head)
    if len(parts) != 2:
        raise _bad(uri, "only one segment may follow the model name")
    name, suffix = parts
    if "@" in name:
        raise _bad(uri, "an alias cannot be combined with a version or stage")
    if suffix.isdigit():
        return ModelUri(uri, name=name, version=str(int(suffix)))
    if suffix.lower() == "latest":
        return ModelUri(uri, name=name, latest=True)
    return ModelUri(uri, name=name, stage=suffix)


def parse_model_uri(uri: str) -> ModelUri:
    """Parse the model part of a ``models:/`` URI; a trailing sub-path is an error."""
    return _model_part(uri, _path_parts(uri))


def split_model_uri(uri: str) -> tuple[ModelUri, str]:
    """(the model part, the artifact path after it): ``models:/m/1/a/b`` → (…/m/1, ``a/b``)."""
    parts = _path_parts(uri)
    # One segment for @alias and model ids, two for name/version|stage|latest.
    width = 1 if "@" in parts[0] or len(parts) == 1 or _looks_like_model_id(parts[0]) else 2
    head, rest = parts[:width], parts[width:]
    model_uri = "models:/" + "/".join(head)
    return _model_part(model_uri, head), "/".join(rest)


def _looks_like_model_id(segment: str) -> bool:
    return (
        segment.startswith("m-")
        and len(segment) > 2
        and all(c in "0123456789abcdef" for c in segment[2:])
    )


def version_uri(name: str, version: str | int) -> str:
    return f"models:/{name}/{version}"
