"""The small syntax tree that search filters and order_by clauses parse into.

The core parses once (``trackline.search.parse_run_filter`` and friends); each store compiles
this tree to its own query language (SQL, a REST filter string, a Python predicate).
The tree is deliberately tiny: comparisons, AND, OR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# What a key names. Run filters use all five; experiment filters use "attribute" and "tag".
Entity = Literal["attribute", "metric", "param", "tag", "dataset"]

# Operators after normalisation (upper case, single spaces).
Operator = Literal[
    "=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"
]

Value = str | float | int | tuple | None


@dataclass(frozen=True)
class Identifier:
    """``entity.key``, with aliases resolved (``metric.`` → metric, ``created`` → start_time)."""

    entity: Entity
    key: str


@dataclass(frozen=True)
class Comparison:
    """``identifier operator value``.

    ``value`` is a ``str`` for string comparisons, an ``int``/``float`` for numeric ones,
    a non-empty ``tuple`` of those for ``IN``/``NOT IN``, and ``None`` for the ``IS`` tests.
    """

    identifier: Identifier
    operator: Operator
    value: Value


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Comparison | And | Or


@dataclass(frozen=True)
class OrderBy:
    identifier: Identifier
    ascending: bool = True


def comparisons(node: Node | None) -> list[Comparison]:
    """Every comparison in a tree, left to right (handy for stores that need to join per key)."""
    if node is None:
        return []
    if isinstance(node, Comparison):
        return [node]
    out: list[Comparison] = []
    for operand in node.operands:
        out.extend(comparisons(operand))
    return out
