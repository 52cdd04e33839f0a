"""Search filters and order_by clauses of ``search_registered_models`` and
``search_model_versions``, parsed with the core's one search parser.

Registered models: ``name`` and ``tags.<key>``; order by ``name``, ``timestamp`` /
``creation_timestamp``, ``last_updated_timestamp`` (default ``name ASC``).
Model versions: ``name``, ``version_number`` (numeric), ``run_id``, ``source_path``,
``model_id``, ``current_stage`` and ``tags.<key>``; order by ``name``, ``version_number``,
``creation_timestamp``, ``last_updated_timestamp`` (default ``last_updated_timestamp DESC,
name ASC, version_number DESC``).

As everywhere in trackline, ``OR``, parentheses and ``IN``/``NOT IN`` on every string field
are accepted on top of MLflow's grammar.
"""

from __future__ import annotations

from collections.abc import Sequence

from trackline.search.ast import Identifier, Node, OrderBy
from trackline.search.parser import _check_text, _parse_filter, _parse_order_by, _Schema

REGISTERED_MODEL_SCHEMA = _Schema(
    name="registered model",
    entity_aliases=frozenset({"attributes", "attribute", "attr", "tags", "tag"}),
    attributes={
        "name": "string",
        "creation_timestamp": "numeric",
        "last_updated_timestamp": "numeric",
    },
    attribute_aliases={"timestamp": "creation_timestamp"},
    order_by_entities=frozenset({"attribute"}),
)

MODEL_VERSION_SCHEMA = _Schema(
    name="model version",
    entity_aliases=frozenset({"attributes", "attribute", "attr", "tags", "tag"}),
    attributes={
        "name": "string",
        "version_number": "numeric",
        "run_id": "string",
        "source_path": "string",
        "model_id": "string",
        "current_stage": "string",
        "creation_timestamp": "numeric",
        "last_updated_timestamp": "numeric",
    },
    attribute_aliases={"version": "version_number", "timestamp": "creation_timestamp"},
    order_by_entities=frozenset({"attribute"}),
)

DEFAULT_REGISTERED_MODEL_ORDER = (OrderBy(Identifier("attribute", "name")),)
DEFAULT_MODEL_VERSION_ORDER = (
    OrderBy(Identifier("attribute", "last_updated_timestamp"), ascending=False),
    OrderBy(Identifier("attribute", "name")),
    OrderBy(Identifier("attribute", "version_number"), ascending=False),
)


def parse_registered_model_filter(filter_string: str | None) -> Node | None:
    if filter_string is None:
        return None
    return _parse_filter(_check_text(filter_string, "filter string"), REGISTERED_MODEL_SCHEMA)


def parse_model_version_filter(filter_string: str | None) -> Node | None:
    if filter_string is None:
        return None
    return _parse_filter(_check_text(filter_string, "filter string"), MODEL_VERSION_SCHEMA)


def _with_defaults(clauses: list[OrderBy], defaults: Sequence[OrderBy]) -> list[OrderBy]:
    """The user's clauses, then the default ones they did not mention (stable paging)."""
    seen = {c.identifier for c in clauses}
    return clauses + [d for d in defaults if d.identifier not in seen]


def parse_registered_model_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    clauses = _parse_order_by(order_by, REGISTERED_MODEL_SCHEMA)
    return _with_defaults(clauses, DEFAULT_REGISTERED_MODEL_ORDER)


def parse_model_version_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    clauses = _parse_order_by(order_by, MODEL_VERSION_SCHEMA)
    if not clauses:
        return list(DEFAULT_MODEL_VERSION_ORDER)
    # The user's order, with name/version as tie-breaks so pages never overlap.
    return _with_defaults(clauses, DEFAULT_MODEL_VERSION_ORDER[1:])
