"""Compile search trees (``trackline.search.ast``) into SQL expressions.

Every comparison becomes one SQL condition, so AND, OR and parentheses compose freely:

* run attributes compare the ``runs`` column directly;
* ``metrics.k``, ``params.k``, ``tags.k`` and ``datasets.*`` become correlated ``EXISTS``
  subqueries on the primary-key indexes (``IS NULL`` becomes ``NOT EXISTS``); metrics compare
  the latest value, as MLflow does;
* ``order_by`` on a metric, param or tag outer-joins that one key, ranked so that runs
  without it come last in both directions (and NaN metrics just before them).

Case rules are the same on every backend: ``=``, ``!=``, ``IN`` and ``LIKE`` are
case-sensitive, ``ILIKE`` is not. PostgreSQL does this natively; MySQL through the
``utf8mb4_bin`` collation of our tables; SQLite's ``LIKE`` ignores case, so a LIKE pattern
is translated to the equivalent ``GLOB``; MSSQL gets explicit collations. A backslash escapes
``%`` and ``_`` everywhere (PostgreSQL and MySQL's default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased
from trackline.exceptions import TracklineException
from trackline.search.ast import And, Comparison, Node, Or, OrderBy

from trackline_sql.models import (
    datasets,
    experiment_tags,
    experiments,
    input_tags,
    inputs,
    latest_metrics,
    params,
    runs,
    tags,
)

DATASET_CONTEXT_TAG = "mlflow.data.context"

_RUN_STRING_ATTRIBUTES = {
    "run_id": runs.c.run_uuid,
    "run_uuid": runs.c.run_uuid,
    "run_name": runs.c.name,
    "status": runs.c.status,
    "user_id": runs.c.user_id,
    "artifact_uri": runs.c.artifact_uri,
    "lifecycle_stage": runs.c.lifecycle_stage,
}
_RUN_NUMERIC_ATTRIBUTES = {
    "start_time": runs.c.start_time,
    "created": runs.c.start_time,
    "end_time": runs.c.end_time,
    "experiment_id": runs.c.experiment_id,
}
_EXPERIMENT_STRING_ATTRIBUTES = {"name": experiments.c.name}
_EXPERIMENT_NUMERIC_ATTRIBUTES = {
    "experiment_id": experiments.c.experiment_id,
    "creation_time": experiments.c.creation_time,
    "last_update_time": experiments.c.last_update_time,
}
_DATASET_COLUMNS = {"name": datasets.c.name, "digest": datasets.c.digest}

_NUMERIC_OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "IN", "NOT IN")
_STRING_OPERATORS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_KEY_VALUE_OPERATORS = _STRING_OPERATORS + ("IS NULL", "IS NOT NULL")

# Backends whose default collation ignores case; comparisons there get this one.
_MSSQL_CASE_SENSITIVE = "Latin1_General_CS_AS"
_MSSQL_CASE_INSENSITIVE = "Latin1_General_CI_AS"


def _invalid(message: str) -> TracklineException:
    return TracklineException.invalid_parameter_value(message)


def like_to_glob(pattern: str) -> str:
    """The SQLite GLOB pattern matching exactly what ``LIKE pattern`` would, with case.

    ``%`` → ``*``, ``_`` → ``?``, a backslash makes the next character literal, and GLOB's
    own wildcards in the text are bracketed so that they match themselves.
    """
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            char = next(chars, "\\")
            out.append(_glob_literal(char))
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(_glob_literal(char))
    return "".join(out)


def _glob_literal(char: str) -> str:
    return f"[{char}]" if char in "*?[" else char


class SearchCompiler:
    """Builds WHERE and ORDER BY expressions for one SQL dialect."""

    def __init__(self, dialect_name: str) -> None:
        self.dialect = dialect_name

    # -- string matching -------------------------------------------------------------------

    def _case_sensitive(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.dialect == "mssql":
            return col.collate(_MSSQL_CASE_SENSITIVE)
        return col

    def like(self, col: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        if self.dialect == "sqlite":
            return col.op("GLOB")(like_to_glob(pattern))
        return self._case_sensitive(col).like(pattern)

    def ilike(self, col: ColumnElement[Any], pattern: str) -> ColumnElement[bool]:
        if self.dialect == "sqlite":
            # SQLite has no default LIKE escape; name the one the other backends use.
            return func.lower(col).like(func.lower(literal(pattern)), escape="\\")
        if self.dialect == "mssql":
            return col.collate(_MSSQL_CASE_INSENSITIVE).like(pattern)
        return col.ilike(pattern)

    def string_condition(
        self, col: ColumnElement[Any], operator: str, value: Any, what: str
    ) -> ColumnElement[bool]:
        if operator in ("IN", "NOT IN"):
            values = _string_tuple(value, what)
            cond = self._case_sensitive(col).in_(values)
            return cond if operator == "IN" else self._case_sensitive(col).not_in(values)
        if not isinstance(value, str):
            raise _invalid(
                f"Expected a quoted string value for {what}, got {value!r}. "
                f"Quote it: {what} {operator} '{value}'."
            )
        if operator == "=":
            return self._case_sensitive(col) == value
        if operator == "!=":
            return self._case_sensitive(col) != value
        if operator == "LIKE":
            return self.like(col, value)
        if operator == "ILIKE":
            return self.ilike(col, value)
        raise _invalid(f"Invalid comparator {operator!r} for {what}.")

    @staticmethod
    def numeric_condition(
        col: ColumnElement[Any], operator: str, value: Any, what: str
    ) -> ColumnElement[bool]:
        if operator in ("IN", "NOT IN"):
            values = [_number(v, what) for v in _as_tuple(value, what)]
            return col.in_(values) if operator == "IN" else col.not_in(values)
        number = _number(value, what)
        return _compare(col, operator, number, what)

    # -- run filters -----------------------------------------------------------------------

    def run_filter(self, node: Node) -> ColumnElement[bool]:
        return self._compile(node, self._run_comparison)

    def _compile(
        self, node: Node, leaf: Callable[[Comparison], ColumnElement[bool]]
    ) -> ColumnElement[bool]:
        if isinstance(node, Comparison):
            return leaf(node)
        parts = [self._compile(operand, leaf) for operand in node.operands]
        if isinstance(node, And):
            return and_(*parts)
        if isinstance(node, Or):
            return or_(*parts)
        raise _invalid(f"Unsupported filter node {node!r}.")

    def _run_comparison(self, comp: Comparison) -> ColumnElement[bool]:
        entity = comp.identifier.entity
        if entity == "attribute":
            return self._run_attribute(comp)
        if entity == "metric":
            return self._metric(comp)
        if entity in ("param", "tag"):
            table = params if entity == "param" else tags
            return self._key_value(table, table.c.run_uuid, runs.c.run_uuid, comp, runs)
        if entity == "dataset":
            return self._dataset(comp)
        raise _invalid(f"Invalid entity {entity!r} in a run filter.")

    def _run_attribute(self, comp: Comparison) -> ColumnElement[bool]:
        key, operator = comp.identifier.key, comp.operator
        what = f"attribute '{key}'"
        if key in _RUN_STRING_ATTRIBUTES:
            _check_operator(operator, _STRING_OPERATORS, what)
            return self.string_condition(_RUN_STRING_ATTRIBUTES[key], operator, comp.value, what)
        if key in _RUN_NUMERIC_ATTRIBUTES:
            _check_operator(operator, _NUMERIC_OPERATORS, what)
            return self.numeric_condition(_RUN_NUMERIC_ATTRIBUTES[key], operator, comp.value, what)
        raise _invalid(f"Invalid attribute key {key!r} in a run filter.")

    def _metric(self, comp: Comparison) -> ColumnElement[bool]:
        what = f"metric '{comp.identifier.key}'"
        _check_operator(comp.operator, _NUMERIC_OPERATORS, what)
        value_col, is_nan = latest_metrics.c.value, latest_metrics.c.is_nan
        if comp.operator == "!=":
            # NaN differs from every number, as in IEEE arithmetic.
            cond = or_(is_nan == true(), value_col != _number(comp.value, what))
        else:
            cond = and_(
                is_nan == false(),
                self.numeric_condition(value_col, comp.operator, comp.value, what),
            )
        return (
            select(literal(1))
            .where(
                latest_metrics.c.run_uuid == runs.c.run_uuid,
                latest_metrics.c.key == comp.identifier.key,
                cond,
            )
            .correlate(runs)
            .exists()
        )

    def _key_value(
        self,
        table: FromClause,
        owner_col: ColumnElement[Any],
        outer_col: ColumnElement[Any],
        comp: Comparison,
        outer: FromClause,
    ) -> ColumnElement[bool]:
        """EXISTS / NOT EXISTS on a (owner, key, value) table: params, tags, experiment tags."""
        kind = "param" if table is params else "tag"
        what = f"{kind} '{comp.identifier.key}'"
        _check_operator(comp.operator, _KEY_VALUE_OPERATORS, what)
        conditions = [owner_col == outer_col, table.c.key == comp.identifier.key]
        if comp.operator not in ("IS NULL", "IS NOT NULL"):
            conditions.append(self.string_condition(table.c.value, comp.operator, comp.value, what))
        found = select(literal(1)).where(*conditions).correlate(outer).exists()
        return not_(found) if comp.operator == "IS NULL" else found

    def _dataset(self, comp: Comparison) -> ColumnElement[bool]:
        key = comp.identifier.key
        what = f"dataset attribute '{key}'"
        _check_operator(comp.operator, _STRING_OPERATORS, what)
        linked = and_(
            inputs.c.destination_id == runs.c.run_uuid,
            inputs.c.destination_type == "RUN",
            inputs.c.source_type == "DATASET",
        )
        if key in _DATASET_COLUMNS:
            cond = self.string_condition(_DATASET_COLUMNS[key], comp.operator, comp.value, what)
            query = select(literal(1)).select_from(
                inputs.join(datasets, datasets.c.dataset_uuid == inputs.c.source_id)
            )
        elif key == "context":
            cond = and_(
                input_tags.c.name == DATASET_CONTEXT_TAG,
                self.string_condition(input_tags.c.value, comp.operator, comp.value, what),
            )
            query = select(literal(1)).select_from(
                inputs.join(input_tags, input_tags.c.input_uuid == inputs.c.input_uuid)
            )
        else:
            raise _invalid(
                f"Invalid dataset key {key!r}: use datasets.name, datasets.digest or "
                "datasets.context."
            )
        return query.where(linked, cond).correlate(runs).exists()

    # -- experiment filters ----------------------------------------------------------------

    def experiment_filter(self, node: Node) -> ColumnElement[bool]:
        return self._compile(node, self._experiment_comparison)

    def _experiment_comparison(self, comp: Comparison) -> ColumnElement[bool]:
        entity, key, operator = comp.identifier.entity, comp.identifier.key, comp.operator
        if entity == "tag":
            return self._key_value(
                experiment_tags,
                experiment_tags.c.experiment_id,
                experiments.c.experiment_id,
                comp,
                experiments,
            )
        if entity != "attribute":
            raise _invalid(f"Invalid entity {entity!r} in an experiment filter.")
        what = f"attribute '{key}'"
        if key in _EXPERIMENT_STRING_ATTRIBUTES:
            _check_operator(operator, _STRING_OPERATORS, what)
            col = _EXPERIMENT_STRING_ATTRIBUTES[key]
            return self.string_condition(col, operator, comp.value, what)
        if key == "experiment_id":
            return _experiment_id_condition(operator, comp.value, what)
        if key in _EXPERIMENT_NUMERIC_ATTRIBUTES:
            _check_operator(operator, _NUMERIC_OPERATORS, what)
            col = _EXPERIMENT_NUMERIC_ATTRIBUTES[key]
            return self.numeric_condition(col, operator, comp.value, what)
        raise _invalid(f"Invalid attribute key {key!r} in an experiment filter.")

    # -- order by --------------------------------------------------------------------------

    def _sortable(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        # Binary (code point) order on every backend, whatever the database's locale.
        if self.dialect == "postgresql":
            return col.collate("C")
        if self.dialect == "mssql":
            return col.collate("Latin1_General_BIN2")
        return col

    def run_order_by(
        self, order_by: Sequence[OrderBy]
    ) -> tuple[list[tuple[FromClause, ColumnElement[bool]]], list[ColumnElement[Any]]]:
        """Outer joins to add and ORDER BY clauses, user's first, then the default order."""
        joins: list[tuple[FromClause, ColumnElement[bool]]] = []
        clauses: list[ColumnElement[Any]] = []
        for item in order_by:
            clauses.extend(self._run_order_item(item, joins))
        # Default order, and the tie-break after the user's: start_time DESC, run_id ASC.
        clauses.extend(_nulls_last(runs.c.start_time, ascending=False))
        clauses.append(runs.c.run_uuid.asc())
        return joins, clauses

    def _run_order_item(
        self, item: OrderBy, joins: list[tuple[FromClause, ColumnElement[bool]]]
    ) -> list[ColumnElement[Any]]:
        entity, key = item.identifier.entity, item.identifier.key
        if entity == "attribute":
            if key in _RUN_STRING_ATTRIBUTES:
                col = self._sortable(_RUN_STRING_ATTRIBUTES[key])
            elif key in _RUN_NUMERIC_ATTRIBUTES:
                col = _RUN_NUMERIC_ATTRIBUTES[key]
            else:
                raise _invalid(f"Invalid order_by attribute {key!r}.")
            return _nulls_last(col, item.ascending)
        if entity == "metric":
            alias = aliased(latest_metrics)
            joins.append((alias, and_(alias.c.run_uuid == runs.c.run_uuid, alias.c.key == key)))
            # Numbers first, then NaN, then runs without the metric; in both directions.
            rank = case((alias.c.run_uuid.is_(None), 2), (alias.c.is_nan == true(), 1), else_=0)
            value = alias.c.value.asc() if item.ascending else alias.c.value.desc()
            return [rank.asc(), value]
        if entity in ("param", "tag"):
            alias = aliased(params if entity == "param" else tags)
            joins.append((alias, and_(alias.c.run_uuid == runs.c.run_uuid, alias.c.key == key)))
            return _nulls_last(self._sortable(alias.c.value), item.ascending)
        raise _invalid(f"Invalid order_by entity {entity!r} for runs.")

    def experiment_order_by(self, order_by: Sequence[OrderBy]) -> list[ColumnElement[Any]]:
        clauses: list[ColumnElement[Any]] = []
        for item in order_by:
            entity, key = item.identifier.entity, item.identifier.key
            if entity != "attribute":
                raise _invalid(f"Invalid order_by key '{entity}.{key}' for experiments.")
            if key == "name":
                col = self._sortable(experiments.c.name)
            elif key in _EXPERIMENT_NUMERIC_ATTRIBUTES:
                col = _EXPERIMENT_NUMERIC_ATTRIBUTES[key]
            else:
                raise _invalid(f"Invalid order_by attribute {key!r} for experiments.")
            clauses.extend(_nulls_last(col, item.ascending))
        if not order_by:
            clauses.extend(_nulls_last(experiments.c.creation_time, ascending=False))
        clauses.append(experiments.c.experiment_id.asc())
        return clauses


def _nulls_last(col: ColumnElement[Any], ascending: bool) -> list[ColumnElement[Any]]:
    """ORDER BY col with NULLs last in both directions (NULLS LAST is not portable)."""
    rank = case((col.is_(None), 1), else_=0)
    return [rank.asc(), col.asc() if ascending else col.desc()]


def _compare(col: ColumnElement[Any], operator: str, value: Any, what: str) -> ColumnElement[bool]:
    if operator == "=":
        return col == value
    if operator == "!=":
        return col != value
    if operator == ">":
        return col > value
    if operator == ">=":
        return col >= value
    if operator == "<":
        return col < value
    if operator == "<=":
        return col <= value
    raise _invalid(f"Invalid comparator {operator!r} for {what}.")


def _experiment_id_condition(operator: str, value: Any, what: str) -> ColumnElement[bool]:
    """experiment_id is an integer column, compared with ids given as strings."""
    col = experiments.c.experiment_id
    if operator in ("IN", "NOT IN"):
        ids = [i for i in (_as_int(v) for v in _as_tuple(value, what)) if i is not None]
        return col.in_(ids) if operator == "IN" else col.not_in(ids)
    _check_operator(operator, _NUMERIC_OPERATORS, what)
    number = _as_int(value)
    if number is None:
        # No experiment has a non-integer id: "=" matches nothing, "!=" everything.
        return true() if operator == "!=" else false()
    return _compare(col, operator, number, what)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _as_tuple(value: Any, what: str) -> tuple[Any, ...]:
    if isinstance(value, (tuple, list)) and value:
        return tuple(value)
    raise _invalid(f"Expected a non-empty parenthesised list of values for {what}.")


def _string_tuple(value: Any, what: str) -> list[str]:
    values = _as_tuple(value, what)
    if not all(isinstance(v, str) for v in values):
        raise _invalid(f"Expected a list of quoted strings for {what}, got {value!r}.")
    return list(values)


def _number(value: Any, what: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(f"Expected numeric value type for {what}. Found {value!r}.")
    return value


def _check_operator(operator: str, allowed: Sequence[str], what: str) -> None:
    if operator not in allowed:
        raise _invalid(
            f"Invalid comparator {operator!r} for {what}: use one of {', '.join(allowed)}."
        )


__all__ = ["SearchCompiler", "like_to_glob"]
