"""Unit tests of the filter / order_by parser and the renderer."""

from __future__ import annotations

import pytest
from trackline.exceptions import TracklineException
from trackline.search import (
    And,
    Comparison,
    Identifier,
    Or,
    OrderBy,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_run_filter,
    parse_run_order_by,
    to_filter_string,
)


def cmp(entity: str, key: str, op: str, value: object) -> Comparison:
    return Comparison(Identifier(entity, key), op, value)  # type: ignore[arg-type]


def run_error(filter_string: str) -> str:
    with pytest.raises(TracklineException) as info:
        parse_run_filter(filter_string)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert info.value.get_http_status_code() == 400
    return info.value.message


# --------------------------------------------------------------------------------------------
# Empty filters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_no_filter_is_none(text):
    assert parse_run_filter(text) is None
    assert parse_experiment_filter(text) is None


def test_non_string_filter_is_rejected():
    with pytest.raises(TracklineException, match="expected a string, got int") as info:
        parse_run_filter(5)  # type: ignore[arg-type]
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "entity"),
    [
        ("metrics", "metric"),
        ("metric", "metric"),
        ("params", "param"),
        ("param", "param"),
        ("parameters", "param"),
        ("parameter", "param"),
        ("tags", "tag"),
        ("tag", "tag"),
        ("Tags", "tag"),
    ],
)
def test_entity_aliases(prefix, entity):
    value = "1" if entity == "metric" else "'1'"
    parsed = parse_run_filter(f"{prefix}.k = {value}")
    assert parsed == cmp(entity, "k", "=", 1 if entity == "metric" else "1")


@pytest.mark.parametrize("prefix", ["attributes.", "attribute.", "attr.", "run.", ""])
def test_attribute_prefixes(prefix):
    assert parse_run_filter(f"{prefix}status = 'FINISHED'") == cmp(
        "attribute", "status", "=", "FINISHED"
    )


@pytest.mark.parametrize("prefix", ["datasets", "dataset"])
@pytest.mark.parametrize("key", ["name", "digest", "context"])
def test_dataset_keys(prefix, key):
    assert parse_run_filter(f"{prefix}.{key} = 'x'") == cmp("dataset", key, "=", "x")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("`run name` = 'a'", "run_name"),
        ("`Run name` = 'a'", "run_name"),
        ("\"Run Name\" = 'a'", "run_name"),
        ("attributes.`Run name` = 'a'", "run_name"),
        ("run_name = 'a'", "run_name"),
        ("run_id = 'a'", "run_id"),
        ("user_id = 'a'", "user_id"),
        ("artifact_uri = 'a'", "artifact_uri"),
    ],
)
def test_string_attribute_keys_and_aliases(text, key):
    assert parse_run_filter(text) == cmp("attribute", key, "=", "a")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("created > 5", "start_time"),
        ("Created > 5", "start_time"),
        ("attr.created > 5", "start_time"),
        ("start_time > 5", "start_time"),
        ("end_time > 5", "end_time"),
    ],
)
def test_numeric_attribute_keys_and_aliases(text, key):
    assert parse_run_filter(text) == cmp("attribute", key, ">", 5)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("tags.`my tag` = 'x'", "my tag"),
        ("tags.\"my tag\" = 'x'", "my tag"),
        ("tags.mlflow.runName = 'x'", "mlflow.runName"),
        ("tags.`mlflow.user` = 'x'", "mlflow.user"),
        ("tags.`with``backtick` = 'x'", "with`backtick"),
        ("tags.val/loss-1:a = 'x'", "val/loss-1:a"),
        ("tags.1st = 'x'", "1st"),
        ("tags.`AND` = 'x'", "AND"),
        ("tags.and = 'x'", "and"),
    ],
)
def test_keys(text, key):
    assert parse_run_filter(text) == cmp("tag", key, "=", "x")


def test_quoted_metric_key():
    assert parse_run_filter('metrics."a b" >= 2') == cmp("metric", "a b", ">=", 2)


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'cnn'", "cnn"),
        ('"cnn"', "cnn"),
        ("''", ""),
        ("'it''s'", "it's"),
        ("'it\\'s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'C:\\\\data'", "C:\\data"),
        ("'a\\%b'", "a\\%b"),  # backslash before anything else is kept verbatim
        ("'with \"double\" inside'", 'with "double" inside'),
        ("'  spaced  '", "  spaced  "),
        ("'ünïcødé'", "ünïcødé"),
    ],
)
def test_string_literals(literal, value):
    assert parse_run_filter(f"params.p = {literal}") == cmp("param", "p", "=", value)


@pytest.mark.parametrize(
    ("literal", "value", "kind"),
    [
        ("1", 1, int),
        ("-3", -3, int),
        ("0.5", 0.5, float),
        (".5", 0.5, float),
        ("5.", 5.0, float),
        ("-0.25", -0.25, float),
        ("1e3", 1000.0, float),
        ("1.5E-2", 0.015, float),
        ("-2e+2", -200.0, float),
        ("9223372036854775807", 2**63 - 1, int),
        ("-9223372036854775808", -(2**63), int),
        ("00012", 12, int),
        ("1e300", 1e300, float),
    ],
)
def test_numbers(literal, value, kind):
    parsed = parse_run_filter(f"metrics.m > {literal}")
    assert parsed == cmp("metric", "m", ">", value)
    assert type(parsed.value) is kind


def test_negative_number_without_spaces():
    assert parse_run_filter("metrics.m>-1") == cmp("metric", "m", ">", -1)


# --------------------------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["=", "!=", ">", ">=", "<", "<="])
def test_numeric_operators(op):
    assert parse_run_filter(f"metrics.acc {op} 0.9") == cmp("metric", "acc", op, 0.9)
    assert parse_run_filter(f"start_time {op} 10") == cmp("attribute", "start_time", op, 10)


@pytest.mark.parametrize(
    ("written", "op"),
    [("=", "="), ("!=", "!="), ("LIKE", "LIKE"), ("like", "LIKE"), ("ILike", "ILIKE")],
)
@pytest.mark.parametrize("entity", ["params", "tags", "attributes.run_name", "datasets.name"])
def test_string_operators(written, op, entity):
    field = entity if "." in entity else f"{entity}.k"
    parsed = parse_run_filter(f"{field} {written} 'v%'")
    assert parsed.operator == op
    assert parsed.value == "v%"


@pytest.mark.parametrize("written", ["IN", "in", "In"])
def test_in(written):
    assert parse_run_filter(f"params.p {written} ('a', \"b\",'c')") == cmp(
        "param", "p", "IN", ("a", "b", "c")
    )


@pytest.mark.parametrize("written", ["NOT IN", "not in", "Not  In"])
def test_not_in(written):
    assert parse_run_filter(f"tags.t {written} ('a')") == cmp("tag", "t", "NOT IN", ("a",))


@pytest.mark.parametrize(
    "field",
    [
        "params.p",
        "tags.t",
        "run_id",
        "run_name",
        "status",
        "user_id",
        "artifact_uri",
        "datasets.name",
        "datasets.digest",
        "datasets.context",
    ],
)
def test_in_on_every_string_field(field):
    parsed = parse_run_filter(f"{field} IN ('x', 'y')")
    assert parsed.operator == "IN"
    assert parsed.value == ("x", "y")


@pytest.mark.parametrize(
    ("written", "op"),
    [
        ("IS NULL", "IS NULL"),
        ("is null", "IS NULL"),
        ("IS NOT NULL", "IS NOT NULL"),
        ("is  NOT null", "IS NOT NULL"),
    ],
)
@pytest.mark.parametrize("entity", ["params", "tags"])
def test_null_tests(written, op, entity):
    parsed = parse_run_filter(f"{entity}.k {written}")
    assert parsed.operator == op
    assert parsed.value is None


# --------------------------------------------------------------------------------------------
# AND / OR / parentheses
# --------------------------------------------------------------------------------------------

A = "metrics.a > 1"
B = "params.b = 'x'"
C = "tags.c = 'y'"
D = "status = 'FINISHED'"
CA, CB, CC, CD = (
    cmp("metric", "a", ">", 1),
    cmp("param", "b", "=", "x"),
    cmp("tag", "c", "=", "y"),
    cmp("attribute", "status", "=", "FINISHED"),
)


def test_mlflow_and_chain():
    assert parse_run_filter(f"{A} and {B} AND {C}") == And((CA, CB, CC))


def test_or():
    assert parse_run_filter(f"{A} or {B} OR {C}") == Or((CA, CB, CC))


def test_and_binds_tighter_than_or():
    assert parse_run_filter(f"{A} OR {B} AND {C}") == Or((CA, And((CB, CC))))
    assert parse_run_filter(f"{A} AND {B} OR {C}") == Or((And((CA, CB)), CC))
    assert parse_run_filter(f"{A} AND {B} OR {C} AND {D}") == Or((And((CA, CB)), And((CC, CD))))


def test_parentheses_group():
    assert parse_run_filter(f"({A} OR {B}) AND {C}") == And((Or((CA, CB)), CC))
    assert parse_run_filter(f"{A} AND ({B} OR ({C} AND {D}))") == And((CA, Or((CB, And((CC, CD))))))


def test_redundant_parentheses_and_same_kind_nesting_flatten():
    assert parse_run_filter(f"(({A}))") == CA
    assert parse_run_filter(f"{A} AND ({B} AND {C})") == And((CA, CB, CC))
    assert parse_run_filter(f"({A} OR {B}) OR ({C} OR {D})") == Or((CA, CB, CC, CD))


def test_no_whitespace_needed_around_parentheses():
    assert parse_run_filter("(metrics.a>1)OR(tags.c='y')") == Or((CA, CC))


def test_deep_nesting_within_the_limit():
    assert parse_run_filter("(" * 90 + A + ")" * 90) == CA


# --------------------------------------------------------------------------------------------
# Experiments
# --------------------------------------------------------------------------------------------


def test_experiment_filter_fields():
    parsed = parse_experiment_filter(
        "name LIKE 'exp%' AND attributes.experiment_id IN ('1', '2') "
        "AND creation_time > 10 AND attr.last_update_time <= 20 AND tags.team IS NOT NULL"
    )
    assert parsed == And(
        (
            cmp("attribute", "name", "LIKE", "exp%"),
            cmp("attribute", "experiment_id", "IN", ("1", "2")),
            cmp("attribute", "creation_time", ">", 10),
            cmp("attribute", "last_update_time", "<=", 20),
            cmp("tag", "team", "IS NOT NULL", None),
        )
    )


def test_experiment_filter_or_and_not_in():
    assert parse_experiment_filter("name = 'a' OR name NOT IN ('b')") == Or(
        (cmp("attribute", "name", "=", "a"), cmp("attribute", "name", "NOT IN", ("b",)))
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("metrics.a > 1", "unknown entity 'metrics'"),
        ("params.a = 'x'", "unknown entity 'params'"),
        ("run.name = 'x'", "unknown entity 'run'"),
        ("datasets.name = 'x'", "unknown entity 'datasets'"),
        ("run_id = 'x'", "invalid attribute key 'run_id'"),
        ("name > 'x'", "invalid operator '>' for attribute 'name'"),
        ("name IS NULL", "invalid operator 'IS NULL' for attribute 'name'"),
        ("creation_time = '5'", "expected a numeric value for attribute 'creation_time'"),
        ("creation_time LIKE 5", "invalid operator 'LIKE'"),
    ],
)
def test_experiment_filter_errors(text, fragment):
    with pytest.raises(TracklineException) as info:
        parse_experiment_filter(text)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert fragment in info.value.message


# --------------------------------------------------------------------------------------------
# Errors: every path says what is wrong and where
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        # tokenizer
        ("tags.x = 'abc", ["unterminated string starting at position 9"]),
        ('tags.x = "abc', ["unterminated string starting at position 9"]),
        ("tags.`abc = 'x'", ["unterminated backtick quote starting at position 5"]),
        ("tags.x ~ 'a'", ["unexpected character '~' at position 7"]),
        ("tags.x = 'a' ; drop", ["unexpected character ';' at position 13"]),
        ("metrics.a == 1", ["invalid operator '==' at position 10"]),
        ("metrics.a <> 1", ["invalid operator '<>'"]),
        ("metrics.a =! 1", ["invalid operator '=!'"]),
        ("metrics.a > 5abc", ["invalid number '5abc' at position 12"]),
        ("metrics.a > 1.2.3", ["invalid number '1.2.3'"]),
        ("metrics.a > - 1", ["unexpected character '-' at position 12"]),
        ("metrics.a > 5é", ["unexpected character 'é' at position 13"]),
        ("metrics.a > 1e999", ["number '1e999' at position 12 is out of range"]),
        ("metrics.a > -1e999", ["number '-1e999' at position 12 is out of range"]),
        ("start_time > 9223372036854775808", ["integer '9223372036854775808' at position 13"]),
        ("start_time > " + "9" * 5000, ["is out of range", "exponent form"]),
        # identifiers
        ("foo.bar = 'x'", ["unknown entity 'foo'", "position 0", "metrics., params."]),
        ("metricz.a > 1", ["unknown entity 'metricz'"]),
        ("tags. = 'x'", ["missing key after 'tags.'"]),
        ("tags. `x` = 'x'", ["missing key after 'tags.'"]),
        ("tags.`` = 'x'", ["empty key at position 0"]),
        ("`` = 'x'", ["empty key"]),
        ("foo = 'x'", ["invalid attribute key 'foo' at position 0", "run_id", "tags.foo"]),
        ("attributes.lifecycle = 'x'", ["invalid attribute key 'lifecycle'"]),
        ("datasets.source = 'x'", ["invalid dataset key 'source'", "name, digest, context"]),
        ("'run_id' = 'x'", ["expected an identifier but found \"'run_id'\" at position 0"]),
        ("5 = metrics.a", ["expected an identifier but found '5' at position 0"]),
        ("AND metrics.a > 1", ["expected an identifier but found 'AND'"]),
        ("= 'x'", ["expected an identifier but found '='"]),
        # operators
        ("metrics.a", ["missing operator after 'metrics.a' at the end"]),
        ("metrics.a 1", ["expected an operator after 'metrics.a' but found '1'"]),
        ("tags.`a b` 'x'", ["expected an operator after 'tags.`a b`'"]),
        ("metrics.a LIKE 1", ["invalid operator 'LIKE' for metric 'a'", "=, !=, >, >=, <, <="]),
        ("metrics.a IN (1)", ["invalid operator 'IN' for metric 'a'"]),
        ("metrics.a IS NULL", ["invalid operator 'IS NULL' for metric 'a'"]),
        ("params.a > 'x'", ["invalid operator '>' for param 'a'", "LIKE, ILIKE, IN"]),
        ("tags.a <= 'x'", ["invalid operator '<=' for tag 'a'"]),
        ("status >= 'x'", ["invalid operator '>=' for attribute 'status'"]),
        ("run_id IS NULL", ["invalid operator 'IS NULL' for attribute 'run_id'"]),
        ("start_time LIKE '1'", ["invalid operator 'LIKE' for attribute 'start_time'"]),
        ("end_time IN ('1')", ["invalid operator 'IN' for attribute 'end_time'"]),
        ("datasets.name > 'x'", ["invalid operator '>' for dataset 'name'"]),
        ("datasets.name IS NULL", ["invalid operator 'IS NULL' for dataset 'name'"]),
        ("tags.a NOT LIKE 'x'", ["expected IN after NOT at position 7", "'LIKE'"]),
        ("tags.a NOT", ["expected IN after NOT", "the end of the input"]),
        ("tags.a IS 'x'", ["expected NULL or NOT NULL after IS at position 7"]),
        ("tags.a IS NOT 'x'", ["expected NULL after IS NOT"]),
        ("tags.a IS", ["expected NULL or NOT NULL after IS"]),
        ("NOT tags.a = 'x'", ["NOT at position 0 is only supported in 'NOT IN' and 'IS NOT NULL'"]),
        # values
        ("metrics.acc = '0.9'", ["Expected numeric value type for metric. Found '0.9'"]),
        ('metrics.acc = "0.9"', ['Expected numeric value type for metric. Found "0.9"']),
        ("metrics.acc > x", ["expected a numeric value for metric 'acc' but found 'x'"]),
        ("start_time > '5'", ["expected a numeric value for attribute 'start_time'"]),
        ("metrics.acc >", ["missing value after '>' for metric 'acc' at the end"]),
        ("params.p = 5", ["expected a quoted string value for param 'p'", "(write '5')"]),
        ("params.p = cnn", ["found 'cnn' at position 11 (write 'cnn')"]),
        ("tags.t = NULL", ["use IS NULL / IS NOT NULL"]),
        ("tags.t = `x`", ["expected a quoted string value for tag 't' but found '`x`'"]),
        ("tags.t =", ["missing value after '=' for tag 't'"]),
        ("status = (", ["expected a quoted string value for attribute 'status'"]),
        # IN lists
        ("tags.t IN ()", ["empty IN list at position 10"]),
        ("tags.t NOT IN ( )", ["empty NOT IN list"]),
        ("tags.t IN 'a'", ["expected '(' after IN but found \"'a'\""]),
        ("tags.t IN", ["expected '(' after IN but found the end of the input"]),
        ("tags.t IN ('a',)", ["trailing comma before ')' at position 15"]),
        ("tags.t IN ('a' 'b')", ["expected ',' or ')' in the IN list but found \"'b'\""]),
        ("tags.t IN ('a', 1)", ["expected a quoted string value for tag 't' but found '1'"]),
        ("tags.t IN ('a'", ["the IN list at position 10 is never closed"]),
        ("tags.t IN ('a',", ["the IN list at position 10 is never closed"]),
        # structure
        ("(metrics.a > 1", ["unbalanced parenthesis: '(' at position 0 is never closed"]),
        ("((metrics.a > 1)", ["'(' at position 0 is never closed"]),
        ("metrics.a > 1)", ["unbalanced parenthesis: unexpected ')' at position 13"]),
        (")metrics.a > 1", ["unexpected ')' at position 0"]),
        ("()", ["empty parentheses at position 0"]),
        ("metrics.a > 1 AND ()", ["empty parentheses at position 18"]),
        ("metrics.a > 1 AND", ["missing comparison at the end of the filter"]),
        ("metrics.a > 1 OR", ["missing comparison at the end"]),
        ("metrics.a > 1 AND AND metrics.b > 1", ["expected an identifier but found 'AND'"]),
        ("metrics.a > 1 metrics.b > 2", ["unexpected 'metrics.b' at position 14", "AND, OR"]),
        ("metrics.a > 1 2", ["unexpected '2' at position 14"]),
        ("tags.a IS NULL 'x'", ["unexpected \"'x'\" at position 15"]),
        ("(" * 101 + "metrics.a > 1" + ")" * 101, ["nested deeper than 100 levels"]),
    ],
)
def test_errors(text, fragments):
    message = run_error(text)
    assert message.startswith("Invalid filter string ")
    for fragment in fragments:
        assert fragment in message, message


def test_error_quotes_the_input():
    assert repr("foo.bar = 'x'") in run_error("foo.bar = 'x'")


def test_error_truncates_huge_inputs():
    message = run_error("metrics.a > 1 AND " * 200 + "bogus")
    assert len(message) < 600
    assert "..." in message


def test_errors_do_not_depend_on_cache():
    for _ in range(2):
        run_error("metrics.a > 'x'")


# --------------------------------------------------------------------------------------------
# order_by
# --------------------------------------------------------------------------------------------


def ob(entity: str, key: str, ascending: bool = True) -> OrderBy:
    return OrderBy(Identifier(entity, key), ascending)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, []])
def test_no_order_by(value):
    assert parse_run_order_by(value) == []
    assert parse_experiment_order_by(value) == []


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.acc", ob("metric", "acc")),
        ("metrics.acc DESC", ob("metric", "acc", False)),
        ("metric.acc desc", ob("metric", "acc", False)),
        ("metrics.acc ASC", ob("metric", "acc")),
        ("metrics.acc asc", ob("metric", "acc")),
        ("  params.lr   Desc  ", ob("param", "lr", False)),
        ("tags.`my tag` DESC", ob("tag", "my tag", False)),
        ('tags."my tag"', ob("tag", "my tag")),
        ("tags.mlflow.runName", ob("tag", "mlflow.runName")),
        ("start_time", ob("attribute", "start_time")),
        ("attributes.end_time DESC", ob("attribute", "end_time", False)),
        ("created DESC", ob("attribute", "start_time", False)),
        ("`Run name`", ob("attribute", "run_name")),
        ("run_id", ob("attribute", "run_id")),
        ("status", ob("attribute", "status")),
        ("user_id", ob("attribute", "user_id")),
        ("artifact_uri", ob("attribute", "artifact_uri")),
    ],
)
def test_run_order_by(clause, expected):
    assert parse_run_order_by([clause]) == [expected]


def test_run_order_by_keeps_order():
    assert parse_run_order_by(["metrics.a DESC", "params.b", "run_name DESC"]) == [
        ob("metric", "a", False),
        ob("param", "b"),
        ob("attribute", "run_name", False),
    ]


def test_order_by_lone_string_is_one_clause():
    assert parse_run_order_by("metrics.a DESC") == [ob("metric", "a", False)]


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("name", ob("attribute", "name")),
        ("name DESC", ob("attribute", "name", False)),
        ("experiment_id", ob("attribute", "experiment_id")),
        ("attributes.creation_time DESC", ob("attribute", "creation_time", False)),
        ("last_update_time asc", ob("attribute", "last_update_time")),
    ],
)
def test_experiment_order_by(clause, expected):
    assert parse_experiment_order_by([clause]) == [expected]


@pytest.mark.parametrize(
    ("clauses", "fragment"),
    [
        ([""], "empty order_by clause"),
        (["   "], "empty order_by clause"),
        (["metrics.a DESC extra"], "unexpected 'extra' at position 15"),
        (["metrics.a DOWN"], "unexpected 'DOWN' at position 10"),
        (["metrics.a ASC DESC"], "unexpected 'DESC'"),
        (["datasets.name"], "cannot order runs by datasets"),
        (["foo"], "invalid attribute key 'foo'"),
        (["foo.bar"], "unknown entity 'foo'"),
        (["DESC"], "expected an identifier but found 'DESC'"),
        (["'metrics.a'"], "expected an identifier"),
        (["tags.`x"], "unterminated backtick quote"),
        (["metrics.a", "metric.a DESC"], "orders by metrics.a more than once"),
        (["created", "start_time"], "orders by attributes.start_time more than once"),
        ([5], "expected a string, got int"),
    ],
)
def test_run_order_by_errors(clauses, fragment):
    with pytest.raises(TracklineException) as info:
        parse_run_order_by(clauses)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert fragment in info.value.message, info.value.message


@pytest.mark.parametrize(
    ("clause", "fragment"),
    [
        ("tags.team", "cannot order experiments by tags"),
        ("metrics.a", "unknown entity 'metrics'"),
        ("run_id", "invalid attribute key 'run_id'"),
        ("name sideways", "unexpected 'sideways'"),
    ],
)
def test_experiment_order_by_errors(clause, fragment):
    with pytest.raises(TracklineException) as info:
        parse_experiment_order_by([clause])
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert fragment in info.value.message


# --------------------------------------------------------------------------------------------
# Renderer
# --------------------------------------------------------------------------------------------


def test_render_none_is_empty():
    assert to_filter_string(None) == ""


@pytest.mark.parametrize(
    ("node", "text"),
    [
        (cmp("metric", "acc", ">", 0.9), "metrics.acc > 0.9"),
        (cmp("metric", "a b", "<=", -3), "metrics.`a b` <= -3"),
        (cmp("param", "p", "=", "it's"), "params.p = 'it''s'"),
        (cmp("tag", "path", "=", "C:\\x"), "tags.path = 'C:\\\\x'"),
        (cmp("tag", "mlflow.runName", "LIKE", "a%"), "tags.mlflow.runName LIKE 'a%'"),
        (cmp("tag", "a`b", "IS NULL", None), "tags.`a``b` IS NULL"),
        (cmp("tag", ".hidden", "IS NOT NULL", None), "tags.`.hidden` IS NOT NULL"),
        (cmp("attribute", "run_id", "IN", ("a", "b")), "attributes.run_id IN ('a', 'b')"),
        (cmp("dataset", "context", "NOT IN", ("x",)), "datasets.context NOT IN ('x')"),
        (cmp("attribute", "start_time", ">=", 10), "attributes.start_time >= 10"),
    ],
)
def test_render_comparison(node, text):
    assert to_filter_string(node) == text
    assert parse_run_filter(text) == node


def test_render_precedence():
    assert to_filter_string(Or((CA, And((CB, CC))))) == (
        "metrics.a > 1 OR params.b = 'x' AND tags.c = 'y'"
    )
    assert to_filter_string(And((Or((CA, CB)), CC))) == (
        "(metrics.a > 1 OR params.b = 'x') AND tags.c = 'y'"
    )


def test_render_nested_same_kind_parses_flattened():
    node = And((CA, And((CB, CC))))
    assert to_filter_string(node) == "metrics.a > 1 AND (params.b = 'x' AND tags.c = 'y')"
    assert parse_run_filter(to_filter_string(node)) == And((CA, CB, CC))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_render_rejects_non_finite_numbers(value):
    with pytest.raises(TracklineException, match="only finite numbers"):
        to_filter_string(cmp("metric", "a", ">", value))


def test_render_rejects_non_nodes():
    with pytest.raises(TypeError):
        to_filter_string("metrics.a > 1")  # type: ignore[arg-type]
