"""The search compiler: the SQL it writes, and the same answers on every backend."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from trackline.entities import Metric, Param, RunTag
from trackline.exceptions import TracklineException
from trackline.search import (
    Comparison,
    Identifier,
    parse_experiment_filter,
    parse_run_filter,
    parse_run_order_by,
)
from trackline_sql.models import experiments, runs
from trackline_sql.search import SearchCompiler, like_to_glob
from trackline_sql.store import SqlTrackingStore

DIALECTS = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(),
    "mysql": mysql.dialect(),
}


def run_sql(dialect: str, filter_string: str) -> str:
    condition = SearchCompiler(dialect).run_filter(parse_run_filter(filter_string))
    stmt = select(runs.c.run_uuid).where(condition)
    return str(stmt.compile(dialect=DIALECTS[dialect], compile_kwargs={"literal_binds": True}))


@pytest.mark.parametrize(
    ("like", "glob"),
    [
        ("abc", "abc"),
        ("a%", "a*"),
        ("_b%", "?b*"),
        ("100\\%", "100%"),
        ("a\\_b", "a_b"),
        ("star*", "star[*]"),
        ("what?", "what[?]"),
        ("[x]", "[[]x]"),
        ("end\\", "end\\"),
    ],
)
def test_like_to_glob(like: str, glob: str) -> None:
    assert like_to_glob(like) == glob


def test_sqlite_like_becomes_glob_and_ilike_stays_like() -> None:
    sql = run_sql("sqlite", "params.model LIKE 'c%' AND tags.t ILIKE 'A_'")
    assert "GLOB 'c*'" in sql
    assert "lower(tags.value) LIKE lower('A_') ESCAPE '\\'" in sql


def test_postgresql_uses_like_and_ilike() -> None:
    sql = run_sql("postgresql", "params.model LIKE 'c%' OR params.model ILIKE 'x'")
    assert "params.value LIKE 'c%%'" in sql  # %% is psycopg's escape for a literal %
    assert "params.value ILIKE 'x'" in sql
    assert " OR " in sql


def test_mysql_relies_on_binary_collation_for_like() -> None:
    sql = run_sql("mysql", "params.model LIKE 'c%' AND params.model ILIKE 'x'")
    assert "params.value LIKE 'c%%'" in sql
    assert "lower(params.value) LIKE lower('x')" in sql


def test_every_comparison_is_its_own_exists() -> None:
    sql = run_sql(
        "postgresql",
        "(params.a = '1' OR tags.b IN ('x', 'y')) AND metrics.m > 0.5 AND params.c IS NULL",
    )
    assert sql.count("EXISTS") == 4
    assert "NOT (EXISTS" in sql
    assert "IN ('x', 'y')" in sql
    assert "latest_metrics.is_nan = false" in sql


def test_in_works_for_every_string_field() -> None:
    for filter_string in (
        "attributes.status IN ('FINISHED', 'FAILED')",
        "attributes.run_id NOT IN ('a', 'b')",
        "params.p IN ('1')",
        "tags.t NOT IN ('1', '2')",
        "datasets.digest IN ('d1')",
    ):
        assert " IN (" in run_sql("sqlite", filter_string)


def test_order_by_puts_missing_keys_last() -> None:
    joins, clauses = SearchCompiler("postgresql").run_order_by(
        parse_run_order_by(["metrics.acc DESC", "params.p"])
    )
    assert len(joins) == 2
    text = " ".join(
        str(c.compile(dialect=DIALECTS["postgresql"], compile_kwargs={"literal_binds": True}))
        for c in clauses
    )
    assert "CASE WHEN (latest_metrics_1.run_uuid IS NULL) THEN 2" in text
    assert 'COLLATE "C"' in text  # binary order whatever the server locale
    assert text.endswith("runs.run_uuid ASC")


def test_experiment_ids_compare_as_integers() -> None:
    condition = SearchCompiler("sqlite").experiment_filter(
        parse_experiment_filter("experiment_id IN ('1', '2', 'x')")
    )
    sql = str(
        select(experiments.c.experiment_id)
        .where(condition)
        .compile(dialect=DIALECTS["sqlite"], compile_kwargs={"literal_binds": True})
    )
    assert "IN (1, 2)" in sql


def test_compiler_checks_value_types_itself() -> None:
    # Trees built by hand (not by the parser) are checked too.
    compiler = SearchCompiler("sqlite")
    with pytest.raises(TracklineException, match="numeric"):
        compiler.run_filter(Comparison(Identifier("metric", "m"), ">", "0.9"))
    with pytest.raises(TracklineException, match="quoted string"):
        compiler.run_filter(Comparison(Identifier("param", "p"), "=", 3))
    with pytest.raises(TracklineException, match="comparator"):
        compiler.run_filter(Comparison(Identifier("metric", "m"), "LIKE", "x"))


# -- the same answers on every backend ----------------------------------------------------------

VALUES = ["cnn", "CNN", "Cnn", "c_n", "c%n", "a*b", "a?b", "[x]", "ünï", "ÜNÏ"]


@pytest.fixture
def named_runs(store: SqlTrackingStore) -> tuple[SqlTrackingStore, str, dict[str, str]]:
    exp_id = store.create_experiment("case")
    ids = {}
    for i, value in enumerate(VALUES):
        run_id = store.create_run(exp_id, "u", 1000 + i, [], f"run-{i}").info.run_id
        store.log_batch(run_id, params=[Param("p", value)], tags=[RunTag("t", value)])
        ids[value] = run_id
    return store, exp_id, ids


def _found(store: SqlTrackingStore, exp_id: str, filter_string: str) -> set[str]:
    return {
        r.data.params["p"] for r in store.search_runs([exp_id], filter_string, max_results=1000)
    }


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("params.p = 'cnn'", {"cnn"}),
        ("params.p != 'cnn'", set(VALUES) - {"cnn"}),
        ("params.p LIKE 'c%'", {"cnn", "c_n", "c%n"}),
        ("params.p LIKE 'C%'", {"CNN", "Cnn"}),
        ("params.p LIKE '_NN'", {"CNN"}),
        ("params.p LIKE 'c\\_n'", {"c_n"}),
        ("params.p LIKE 'c\\%n'", {"c%n"}),
        ("params.p LIKE 'a*b'", {"a*b"}),
        ("params.p LIKE 'a?b'", {"a?b"}),
        ("params.p LIKE '[x]'", {"[x]"}),
        ("params.p LIKE 'ü%'", {"ünï"}),
        ("params.p ILIKE 'cnn'", {"cnn", "CNN", "Cnn"}),
        ("params.p ILIKE 'c_n'", {"cnn", "CNN", "Cnn", "c_n", "c%n"}),
        ("params.p ILIKE 'C\\_N'", {"c_n"}),
        ("params.p IN ('cnn', 'Cnn')", {"cnn", "Cnn"}),
        ("params.p NOT IN ('cnn', 'Cnn')", set(VALUES) - {"cnn", "Cnn"}),
        ("tags.t LIKE '%N'", {"CNN"}),
        ("tags.t = 'CNN' OR tags.t = 'cnn'", {"CNN", "cnn"}),
    ],
)
def test_string_matching_rules(named_runs, filter_string: str, expected: set[str]) -> None:
    store, exp_id, _ = named_runs
    assert _found(store, exp_id, filter_string) == expected


def test_attribute_like_is_case_sensitive(named_runs) -> None:
    store, exp_id, _ = named_runs
    assert len(store.search_runs([exp_id], "attributes.run_name LIKE 'run-%'")) == len(VALUES)
    assert len(store.search_runs([exp_id], "attributes.run_name LIKE 'RUN-%'")) == 0
    assert len(store.search_runs([exp_id], "attributes.run_name ILIKE 'RUN-%'")) == len(VALUES)


def test_experiment_name_like_is_case_sensitive(store: SqlTrackingStore) -> None:
    store.create_experiment("Alpha")
    store.create_experiment("alpha-2")
    names = lambda f: sorted(e.name for e in store.search_experiments(filter_string=f))  # noqa: E731
    assert names("name LIKE 'a%'") == ["alpha-2"]
    assert names("name ILIKE 'a%'") == ["Alpha", "alpha-2"]
    assert names("name = 'Alpha'") == ["Alpha"]


def test_param_order_is_binary_and_missing_last(named_runs) -> None:
    store, exp_id, ids = named_runs
    bare = store.create_run(exp_id, "u", 1, [], "bare").info.run_id
    ascending = [r.info.run_id for r in store.search_runs([exp_id], order_by=["params.p ASC"])]
    descending = [r.info.run_id for r in store.search_runs([exp_id], order_by=["params.p DESC"])]
    by_code_point = sorted(VALUES)  # 'CNN' < 'Cnn' < '[x]' < 'a*b' < ... < 'ÜNÏ' < 'ünï'
    assert ascending == [ids[v] for v in by_code_point] + [bare]
    assert descending == [ids[v] for v in reversed(by_code_point)] + [bare]


def test_metric_order_numbers_then_nan_then_missing(store: SqlTrackingStore) -> None:
    exp_id = store.create_experiment("nan-order")
    values = {"low": -1.0, "high": 2.0, "nan": math.nan, "inf": math.inf, "none": None}
    ids = {}
    for i, (name, value) in enumerate(values.items()):
        run_id = store.create_run(exp_id, "u", i, [], name).info.run_id
        if value is not None:
            store.log_batch(run_id, metrics=[Metric("m", value, 1, 0)])
        ids[name] = run_id

    def order(direction: str) -> list[str]:
        found = store.search_runs([exp_id], order_by=[f"metrics.m {direction}"])
        return [r.info.run_name for r in found]

    assert order("ASC") == ["low", "high", "inf", "nan", "none"]
    assert order("DESC") == ["inf", "high", "low", "nan", "none"]


def test_metric_filters_never_match_nan_except_not_equal(store: SqlTrackingStore) -> None:
    exp_id = store.create_experiment("nan-filter")
    for name, value in (("zero", 0.0), ("nan", math.nan)):
        run_id = store.create_run(exp_id, "u", 1, [], name).info.run_id
        store.log_batch(run_id, metrics=[Metric("m", value, 1, 0)])

    def names(filter_string: str) -> set[str]:
        return {r.info.run_name for r in store.search_runs([exp_id], filter_string)}

    assert names("metrics.m = 0") == {"zero"}
    assert names("metrics.m <= 0") == {"zero"}
    assert names("metrics.m != 1") == {"zero", "nan"}
    assert names("metrics.m != 0") == {"nan"}
