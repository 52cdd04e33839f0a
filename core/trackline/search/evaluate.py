"""Reference evaluation of search trees in Python, with MLflow's semantics.

Used by stores that hold runs in memory (and by the conformance tests as the oracle other
stores are compared with). Stores backed by a query engine should compile the tree instead.

Semantics:

* metrics compare against the latest value (``run.data.metrics``);
* a comparison on a missing key is false, whatever the operator (SQL: ``!=`` on a missing
  tag is false), except ``IS NULL``, which is exactly "missing";
* ``LIKE`` is case-sensitive with ``%`` (any run) and ``_`` (one character); ``ILIKE`` ignores
  case; there is no escape character;
* a dataset comparison holds if any of the run's dataset inputs satisfies it;
* sorting puts runs that lack the key last in both directions; NaN metrics sort after real
  numbers and before missing ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from trackline.entities import DatasetInput, Experiment, Run
from trackline.search.ast import And, Comparison, Identifier, Node, Or, OrderBy

__all__ = ["experiment_matches", "run_matches", "sort_experiments", "sort_runs"]

T = TypeVar("T")

# The input tag that holds a dataset's context ("training", "eval"...).
DATASET_CONTEXT_TAG = "mlflow.data.context"

_DEFAULT_RUN_ORDER = (
    OrderBy(Identifier("attribute", "start_time"), ascending=False),
    OrderBy(Identifier("attribute", "run_id"), ascending=True),
)
_EXPERIMENT_DEFAULT_ORDER = OrderBy(Identifier("attribute", "creation_time"), ascending=False)
_EXPERIMENT_TIE_BREAK = OrderBy(Identifier("attribute", "experiment_id"), ascending=True)


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def run_matches(node: Node | None, run: Run) -> bool:
    """Whether ``run`` satisfies the filter tree (``None`` matches everything)."""
    return _matches(node, lambda c: _run_comparison(c, run))


def experiment_matches(node: Node | None, experiment: Experiment) -> bool:
    """Whether ``experiment`` satisfies the filter tree (``None`` matches everything)."""
    return _matches(node, lambda c: _experiment_comparison(c, experiment))


def _matches(node: Node | None, check: Callable[[Comparison], bool]) -> bool:
    if node is None:
        return True
    if isinstance(node, Comparison):
        return check(node)
    if isinstance(node, And):
        return all(_matches(op, check) for op in node.operands)
    if isinstance(node, Or):
        return any(_matches(op, check) for op in node.operands)
    raise TypeError(f"not a search tree node: {node!r}")


def _run_comparison(comparison: Comparison, run: Run) -> bool:
    entity, key = comparison.identifier.entity, comparison.identifier.key
    if entity == "dataset":
        return any(
            _compare(_dataset_field(d, key), comparison.operator, comparison.value)
            for d in run.inputs.dataset_inputs
        )
    return _compare(_run_value(run, comparison.identifier), comparison.operator, comparison.value)


def _experiment_comparison(comparison: Comparison, experiment: Experiment) -> bool:
    actual = _experiment_value(experiment, comparison.identifier)
    return _compare(actual, comparison.operator, comparison.value)


def _run_value(run: Run, identifier: Identifier) -> Any:
    """The value a run has for a field, or ``None`` when it has none."""
    entity, key = identifier.entity, identifier.key
    if entity == "metric":
        return run.data.metrics.get(key)
    if entity == "param":
        return run.data.params.get(key)
    if entity == "tag":
        return run.data.tags.get(key)
    if entity == "attribute":
        return getattr(run.info, key, None)
    raise ValueError(f"runs have no {entity} field {key!r}")


def _experiment_value(experiment: Experiment, identifier: Identifier) -> Any:
    if identifier.entity == "tag":
        return experiment.tags.get(identifier.key)
    if identifier.entity == "attribute":
        return getattr(experiment, identifier.key, None)
    raise ValueError(f"experiments have no {identifier.entity} field {identifier.key!r}")


def _dataset_field(dataset_input: DatasetInput, key: str) -> str | None:
    if key == "context":
        tags = {t.key: t.value for t in dataset_input.tags}
        return tags.get(DATASET_CONTEXT_TAG)
    return getattr(dataset_input.dataset, key, None)


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "LIKE": lambda a, b: _like_regex(b, False).fullmatch(a) is not None,
    "ILIKE": lambda a, b: _like_regex(b, True).fullmatch(a) is not None,
    "IN": lambda a, b: a in b,
    "NOT IN": lambda a, b: a not in b,
}


def _compare(actual: Any, operator: str, expected: Any) -> bool:
    if operator == "IS NULL":
        return actual is None
    if operator == "IS NOT NULL":
        return actual is not None
    if actual is None:
        return False  # SQL: every comparison with NULL is unknown, i.e. not a match
    return _COMPARATORS[operator](actual, expected)


@lru_cache(maxsize=256)
def _like_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


# --------------------------------------------------------------------------------------------
# Sorting
# --------------------------------------------------------------------------------------------


def sort_runs(runs: Iterable[Run], order_by: Sequence[OrderBy] = ()) -> list[Run]:
    """Runs in ``order_by`` order, ties broken by ``start_time DESC, run_id ASC``."""
    return _sort(runs, [*order_by, *_DEFAULT_RUN_ORDER], _run_value)


def sort_experiments(
    experiments: Iterable[Experiment], order_by: Sequence[OrderBy] = ()
) -> list[Experiment]:
    """Experiments in ``order_by`` order (default ``creation_time DESC``), ties broken by
    ``experiment_id ASC``."""
    keys = list(order_by) or [_EXPERIMENT_DEFAULT_ORDER]
    return _sort(experiments, [*keys, _EXPERIMENT_TIE_BREAK], _experiment_sort_value)


def _experiment_sort_value(experiment: Experiment, identifier: Identifier) -> Any:
    value = _experiment_value(experiment, identifier)
    if identifier.key == "experiment_id" and identifier.entity == "attribute":
        # Ids are numeric strings in every built-in store: order 2 before 10.
        return (0, int(value), "") if value.isdigit() else (1, 0, value)
    return value


def _sort(
    items: Iterable[T], keys: Sequence[OrderBy], value_of: Callable[[T, Identifier], Any]
) -> list[T]:
    # Stable sorts from the least to the most significant key give the combined order.
    result = list(items)
    for order in reversed(keys):
        result = _sort_by_one_key(result, value_of, order)
    return result


def _sort_by_one_key(
    items: list[T], value_of: Callable[[T, Identifier], Any], order: OrderBy
) -> list[T]:
    """Present values in the requested direction, then NaNs, then missing values — the last
    two groups do not flip with the direction (SQL stores rank them before sorting)."""
    present: list[tuple[Any, T]] = []
    nans: list[T] = []
    missing: list[T] = []
    for item in items:
        value = value_of(item, order.identifier)
        if value is None:
            missing.append(item)
        elif isinstance(value, float) and math.isnan(value):
            nans.append(item)
        else:
            present.append((value, item))
    # ``reverse=True`` keeps equal items in their current order, so earlier passes survive.
    present.sort(key=lambda pair: pair[0], reverse=not order.ascending)
    return [item for _, item in present] + nans + missing
