"""Property-based tests: render/parse round trips, junk input, sort invariants."""

from __future__ import annotations

import math
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trackline.entities import Metric, Param, Run, RunData, RunInfo
from trackline.exceptions import TracklineException
from trackline.search import (
    And,
    Comparison,
    Identifier,
    Node,
    Or,
    OrderBy,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_run_filter,
    parse_run_order_by,
    run_matches,
    sort_runs,
    to_filter_string,
)
from trackline.search.parser import render_identifier

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------------
# Strategies for valid trees
# --------------------------------------------------------------------------------------------

keys = st.text(min_size=1, max_size=12)
strings = st.text(max_size=12)
numbers = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)
string_lists = st.lists(strings, min_size=1, max_size=4).map(tuple)


def _string_comparisons(identifiers, nullable: bool):
    ops = ["=", "!=", "LIKE", "ILIKE"]
    plain = st.builds(Comparison, identifiers, st.sampled_from(ops), strings)
    listed = st.builds(Comparison, identifiers, st.sampled_from(["IN", "NOT IN"]), string_lists)
    options = [plain, listed]
    if nullable:
        null_ops = st.sampled_from(["IS NULL", "IS NOT NULL"])
        options.append(st.builds(Comparison, identifiers, null_ops, st.none()))
    return st.one_of(options)


def _numeric_comparisons(identifiers):
    ops = st.sampled_from(["=", "!=", ">", ">=", "<", "<="])
    return st.builds(Comparison, identifiers, ops, numbers)


def _ids(entity: str, key_strategy) -> st.SearchStrategy[Identifier]:
    return key_strategy.map(lambda k: Identifier(entity, k))


run_comparisons = st.one_of(
    _numeric_comparisons(_ids("metric", keys)),
    _string_comparisons(_ids("param", keys), nullable=True),
    _string_comparisons(_ids("tag", keys), nullable=True),
    _string_comparisons(
        _ids(
            "attribute",
            st.sampled_from(["run_id", "run_name", "status", "user_id", "artifact_uri"]),
        ),
        nullable=False,
    ),
    _numeric_comparisons(_ids("attribute", st.sampled_from(["start_time", "end_time"]))),
    _string_comparisons(
        _ids("dataset", st.sampled_from(["name", "digest", "context"])), nullable=False
    ),
)

experiment_comparisons = st.one_of(
    _string_comparisons(_ids("attribute", st.sampled_from(["name", "experiment_id"])), False),
    _numeric_comparisons(_ids("attribute", st.sampled_from(["creation_time", "last_update_time"]))),
    _string_comparisons(_ids("tag", keys), nullable=True),
)


def trees(leaves) -> st.SearchStrategy[Node]:
    def extend(children):
        operands = st.lists(children, min_size=2, max_size=4).map(tuple)
        return st.one_of(operands.map(And), operands.map(Or))

    return st.recursive(leaves, extend, max_leaves=10)


def canonical(node: Node) -> Node:
    """What the parser makes of a tree: same-kind nesting flattened."""
    if isinstance(node, Comparison):
        return node
    kind = type(node)
    flat: list[Node] = []
    for operand in node.operands:
        operand = canonical(operand)
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat))


def _leaves(node: Node) -> list[Comparison]:
    if isinstance(node, Comparison):
        return [node]
    return [leaf for operand in node.operands for leaf in _leaves(operand)]


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


@SETTINGS
@given(trees(run_comparisons))
def test_run_filter_round_trip(node):
    text = to_filter_string(node)
    parsed = parse_run_filter(text)
    assert parsed == canonical(node)
    # Rendering is stable once canonical.
    assert to_filter_string(parsed) == to_filter_string(canonical(node))
    # 5 stays an int and 5.0 a float: stores compare int64 columns with ints.
    for original, back in zip(_leaves(canonical(node)), _leaves(parsed), strict=True):
        assert type(original.value) is type(back.value)


@SETTINGS
@given(trees(experiment_comparisons))
def test_experiment_filter_round_trip(node):
    assert parse_experiment_filter(to_filter_string(node)) == canonical(node)


order_by_identifiers = st.one_of(
    _ids("metric", keys),
    _ids("param", keys),
    _ids("tag", keys),
    _ids(
        "attribute",
        st.sampled_from(
            ["run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time"]
        ),
    ),
)


@SETTINGS
@given(st.lists(st.builds(OrderBy, order_by_identifiers, st.booleans()), max_size=4))
def test_run_order_by_round_trip(clauses):
    unique = list({c.identifier: c for c in clauses}.values())
    texts = [render_identifier(c.identifier) + ("" if c.ascending else " DESC") for c in unique]
    assert parse_run_order_by(texts) == unique


# --------------------------------------------------------------------------------------------
# Junk never escapes as anything but INVALID_PARAMETER_VALUE
# --------------------------------------------------------------------------------------------

FRAGMENTS = [
    "metrics.a", "params.p", "tags.t", "tags.`x y`", 'tags."q"', "datasets.name", "status",
    "created", "start_time", "`Run name`", "foo.bar", "tags.", "AND", "and", "OR", "NOT", "IN",
    "NOT IN", "IS", "NULL", "IS NOT NULL", "LIKE", "ILIKE", "ASC", "DESC", "=", "!=", ">",
    ">=", "<", "<=", "==", "(", ")", ",", "'s'", '"d"', "'", '"', "`", "1", "-2.5e3", "1e",
    ".5", "-", "5abc", "'it''s'", "'\\'", "\\", "\n", " ", "", "é", ";", "%", "_",
]  # fmt: skip


@st.composite
def mutated_filters(draw) -> str:
    """A valid filter with one edit: a cut, a deleted span or an inserted fragment. These
    reach the deep error paths that random text never gets past the first token for."""
    text = to_filter_string(draw(trees(run_comparisons)))
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 6)))
    edit = draw(st.sampled_from(["cut", "delete", "insert"]))
    if edit == "cut":
        return text[:start]
    if edit == "delete":
        return text[:start] + text[end:]
    return text[:start] + draw(st.sampled_from(FRAGMENTS)) + text[start:]


junk = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
    mutated_filters(),
)


def _parse_or_invalid(parse, text):
    try:
        return parse(text)
    except TracklineException as exc:
        assert exc.error_code == "INVALID_PARAMETER_VALUE"
        assert exc.message.startswith("Invalid ")
        return None


@SETTINGS
@given(junk)
def test_junk_run_filter(text):
    node = _parse_or_invalid(parse_run_filter, text)
    if node is not None:  # whatever parses renders back to the same tree
        assert parse_run_filter(to_filter_string(node)) == node


@SETTINGS
@given(junk)
def test_junk_experiment_filter(text):
    node = _parse_or_invalid(parse_experiment_filter, text)
    if node is not None:
        assert parse_experiment_filter(to_filter_string(node)) == node


order_by_junk = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(FRAGMENTS), max_size=4).map(" ".join),
)


@SETTINGS
@given(st.lists(order_by_junk, max_size=3))
def test_junk_order_by(clauses):
    _parse_or_invalid(parse_run_order_by, clauses)
    _parse_or_invalid(parse_experiment_order_by, clauses)


# --------------------------------------------------------------------------------------------
# Evaluator invariants
# --------------------------------------------------------------------------------------------

metric_values = st.one_of(st.none(), st.floats(allow_infinity=False), st.integers(-5, 5))


def _run(i: int, value: float | None, start: int | None) -> Run:
    metrics = () if value is None else (Metric("m", float(value), timestamp=0),)
    return Run(RunInfo(f"r{i:03d}", "0", start_time=start), RunData(metric_list=metrics))


runs_strategy = st.lists(
    st.tuples(metric_values, st.one_of(st.none(), st.integers(0, 5))), max_size=12
).map(lambda rows: [_run(i, v, s) for i, (v, s) in enumerate(rows)])


def _rank(run: Run) -> int:
    value = run.data.metrics.get("m")
    return 2 if value is None else 1 if math.isnan(value) else 0


@SETTINGS
@given(runs_strategy, st.booleans())
def test_sort_by_metric_invariants(runs, ascending):
    order = [OrderBy(Identifier("metric", "m"), ascending)]
    ordered = sort_runs(runs, order)
    assert sorted(r.info.run_id for r in ordered) == [r.info.run_id for r in runs]
    for before, after in pairwise(ordered):
        assert _rank(before) <= _rank(after)  # real, then NaN, then missing
        if _rank(before) == _rank(after) == 0:
            a, b = before.data.metrics["m"], after.data.metrics["m"]
            assert (a <= b) if ascending else (a >= b)
            if a == b:  # ties: start_time DESC (missing last), then run_id
                sa, sb = before.info.start_time, after.info.start_time
                assert sa is not None or sb is None
                if sa is not None and sb is not None:
                    assert sa >= sb
                    if sa == sb:
                        assert before.info.run_id < after.info.run_id


param_runs = st.dictionaries(st.sampled_from(["a", "b"]), st.text(max_size=3), max_size=2).map(
    lambda params: Run(
        RunInfo("r", "0"), RunData(param_list=tuple(Param(k, v) for k, v in params.items()))
    )
)
complementary = [("=", "!="), ("IN", "NOT IN"), ("IS NULL", "IS NOT NULL")]


@SETTINGS
@given(
    param_runs,
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(complementary),
    st.text(max_size=3),
)
def test_complementary_operators(run, key, ops, value):
    """On a present key, each operator and its negation disagree; on a missing key both are
    false (SQL NULL semantics) except the IS tests, which are exactly presence."""
    positive, negative = ops
    ident = Identifier("param", key)
    wrap = (
        (lambda v: (v,)) if positive == "IN" else (lambda v: None if positive == "IS NULL" else v)
    )
    yes = run_matches(Comparison(ident, positive, wrap(value)), run)
    no = run_matches(Comparison(ident, negative, wrap(value)), run)
    present = key in run.data.params
    if present or positive == "IS NULL":
        assert yes != no
    else:
        assert not yes and not no
    if positive == "=" and present:
        assert yes == (run.data.params[key] == value)


@SETTINGS
@given(st.text(max_size=8), st.text(alphabet="ab%_", max_size=6))
def test_like_agrees_with_ilike_on_lowercase(value, pattern):
    run = Run(RunInfo("r", "0"), RunData(param_list=(Param("p", value.lower()),)))
    like = run_matches(Comparison(Identifier("param", "p"), "LIKE", pattern), run)
    ilike = run_matches(Comparison(Identifier("param", "p"), "ILIKE", pattern.upper()), run)
    assert like == ilike
    if "%" not in pattern and "_" not in pattern:
        assert like == (value.lower() == pattern)
