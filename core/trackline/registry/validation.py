"""Input rules of the model registry, with MLflow's limits and clearer messages.

Every check raises ``TracklineException`` with INVALID_PARAMETER_VALUE before anything is
written. Stores call them, so the client, the REST server and any other entry point refuse
the same input the same way.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from trackline.exceptions import RESOURCE_DOES_NOT_EXIST, TracklineException
from trackline.registry.entities import (
    ACTIVE_STAGES,
    ALL_STAGES,
    ModelVersionTag,
    RegisteredModelTag,
)
from trackline.validation import validate_key

MAX_MODEL_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_REGISTRY_TAG_KEY_LENGTH = 250
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000
MAX_REGISTERED_MODELS_SEARCH_RESULTS = 1000
MAX_MODEL_VERSIONS_SEARCH_RESULTS = 200_000

_ALIAS_RE = re.compile(r"^[\w\-]*$")
_VERSION_LIKE_ALIAS_RE = re.compile(r"^[vV]\d+$")


def _invalid(message: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(message)


def validate_model_name(name: object, what: str = "Registered model name") -> str:
    """A registered model name: non-blank, no ``/`` or ``:``, not a relative path trick."""
    if not isinstance(name, str) or not name.strip():
        raise _invalid(f"{what} cannot be empty: got {name!r}.")
    if "/" in name or ":" in name:
        raise _invalid(
            f"Invalid registered model name {name!r}: names cannot contain '/' or ':' "
            "(they would break models:/<name>/<version> URIs)."
        )
    if posixpath.normpath(name) != name or name == "." or name.startswith(".."):
        raise _invalid(
            f"Invalid registered model name {name!r}: it must not be a relative path such as "
            "'.' or '..'."
        )
    if "\x00" in name:
        raise _invalid(f"Invalid registered model name {name!r}: it contains a NUL character.")
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise _invalid(
            f"Invalid registered model name of length {len(name)}: the limit is "
            f"{MAX_MODEL_NAME_LENGTH} characters."
        )
    return name


def validate_version(version: object, *, name: str | None = None) -> int:
    """A model version number, given as int or numeric string.

    A non-integer is invalid (400). With ``name``, an integer no version can have (0,
    negative, beyond 32 bits) is reported as that version not being found (404), as MLflow does.
    """
    if isinstance(version, bool):
        number = None
    elif isinstance(version, int):
        number = version
    elif isinstance(version, str) and re.fullmatch(r"-?\d+", version.strip()):
        number = int(version.strip())
    else:
        number = None
    if number is not None and name is not None and not 1 <= number < 2**31:
        raise TracklineException(
            f"Model Version (name={name}, version={version}) not found", RESOURCE_DOES_NOT_EXIST
        )
    if number is None or number < 1 or number >= 2**31:
        raise _invalid(
            f"Invalid model version {version!r}: a version is a positive integer such as 1 or '1'."
        )
    return number


def validate_alias(alias: object, *, reading: bool = False) -> str:
    """An alias: word characters and dashes, at most 255, not ``latest`` or ``v<N>``.

    ``reading``: the alias is only looked up, where MLflow allows the reserved names
    (``@latest`` reads the highest version)."""
    if not isinstance(alias, str) or not alias:
        raise _invalid(f"Registered model alias cannot be empty: got {alias!r}.")
    if not _ALIAS_RE.match(alias):
        raise _invalid(
            f"Invalid alias {alias!r}: aliases may only contain alphanumerics, underscores (_) "
            "and dashes (-)."
        )
    if len(alias) > MAX_ALIAS_LENGTH:
        raise _invalid(
            f"Invalid alias of length {len(alias)}: the limit is {MAX_ALIAS_LENGTH} characters."
        )
    if not reading and (alias.lower() == "latest" or _VERSION_LIKE_ALIAS_RE.match(alias)):
        raise _invalid(
            f"Invalid alias {alias!r}: 'latest' and 'v<number>' are reserved, because "
            "models:/<name>@<alias> would be read as a version. Choose another alias name."
        )
    return alias


def canonical_stage(stage: object) -> str:
    """A stage name in any case → its canonical spelling (``production`` → ``Production``)."""
    if isinstance(stage, str):
        for known in ALL_STAGES:
            if stage.strip().lower() == known.lower():
                return known
    raise _invalid(
        f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(ALL_STAGES)}."
    )


def validate_archive_flag(stage: str, archive_existing_versions: bool) -> None:
    if archive_existing_versions and stage not in ACTIVE_STAGES:
        raise _invalid(
            f"Model version transition cannot archive existing model versions because "
            f"'{stage}' is not an active stage. Valid stages are {', '.join(ACTIVE_STAGES)}."
        )


def _tag_value(key: str, value: object) -> str:
    text = "" if value is None else str(value)
    if len(text) > MAX_REGISTRY_TAG_VALUE_LENGTH:
        raise _invalid(
            f"Invalid tag value for key {key!r}: {len(text)} characters, the limit is "
            f"{MAX_REGISTRY_TAG_VALUE_LENGTH}."
        )
    return text


def validate_registered_model_tag(tag: RegisteredModelTag) -> RegisteredModelTag:
    validate_key(tag.key, "registered model tag")
    return RegisteredModelTag(tag.key, _tag_value(tag.key, tag.value))


def validate_model_version_tag(tag: ModelVersionTag) -> ModelVersionTag:
    validate_key(tag.key, "model version tag")
    return ModelVersionTag(tag.key, _tag_value(tag.key, tag.value))


def validate_tag_key(key: object, kind: str) -> str:
    return validate_key(key, kind)


def validate_source(source: object) -> str:
    """The source of a new version: a non-empty string without NUL characters."""
    if not isinstance(source, str) or not source.strip():
        raise _invalid(f"Model version source cannot be empty: got {source!r}.")
    if "\x00" in source:
        raise _invalid(f"Invalid model version source: {source!r} contains a NUL character.")
    return source


def validate_search_max_results(max_results: object, limit: int) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results <= 0:
        raise _invalid(
            f"Invalid value {max_results!r} for parameter 'max_results' supplied. "
            "It must be a positive integer."
        )
    if max_results > limit:
        raise _invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. "
            f"It must be at most {limit}."
        )
    return max_results


def last_per_key(tags: Iterable[RegisteredModelTag]) -> dict[str, str]:
    """Tags as a dict; a key given twice keeps its last value, as MLflow's stores do."""
    return {t.key: t.value for t in tags}
