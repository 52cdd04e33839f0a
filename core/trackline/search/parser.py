"""The one parser for search filters and order_by clauses, and its inverse renderer.

Grammar (MLflow's, plus ``OR``, parentheses and ``IN``/``NOT IN`` on every string field)::

    filter      := or_expr
    or_expr     := and_expr ("OR" and_expr)*          -- AND binds tighter than OR
    and_expr    := primary ("AND" primary)*
    primary     := "(" or_expr ")" | comparison
    comparison  := identifier operator [value]
    identifier  := [entity "."] key                    -- key may be `quoted` or "quoted"
    operator    := = | != | > | >= | < | <= | LIKE | ILIKE | IN | NOT IN | IS NULL | IS NOT NULL
    value       := 'string' | "string" | number | "(" string ("," string)* ")"
    order_by    := identifier ["ASC" | "DESC"]

Keywords are case-insensitive. The parser is hand written (a tokenizer plus recursive descent)
so that every error can say exactly what is wrong and where.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from trackline.exceptions import TracklineException
from trackline.search.ast import And, Comparison, Identifier, Node, Or, OrderBy

__all__ = [
    "LoggedModelOrderBy",
    "parse_experiment_filter",
    "parse_experiment_order_by",
    "parse_logged_model_filter",
    "parse_logged_model_order_by",
    "parse_run_filter",
    "parse_run_order_by",
    "to_filter_string",
]

# --------------------------------------------------------------------------------------------
# Field schemas: which entities and keys a search accepts, and what type each field has.
# --------------------------------------------------------------------------------------------

# A field's type decides its operators and the type of its value.
FieldType = Literal["numeric", "string", "nullable_string"]

_NUMERIC_OPS: tuple[str, ...] = ("=", "!=", ">", ">=", "<", "<=")
_STRING_OPS: tuple[str, ...] = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_NULLABLE_OPS: tuple[str, ...] = _STRING_OPS + ("IS NULL", "IS NOT NULL")
_OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "numeric": _NUMERIC_OPS,
    "string": _STRING_OPS,
    "nullable_string": _NULLABLE_OPS,
}

_ENTITY_ALIASES: dict[str, str] = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "parameters": "param",
    "parameter": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "datasets": "dataset",
    "dataset": "dataset",
}

# How each entity is spelled in messages and by the renderer.
_ENTITY_PREFIX = {
    "metric": "metrics",
    "param": "params",
    "tag": "tags",
    "attribute": "attributes",
    "dataset": "datasets",
}


@dataclass(frozen=True, eq=False)  # identity hash: schemas are singletons, used as cache keys
class _Schema:
    """The fields one search API understands."""

    name: str  # "run" or "experiment", for messages
    entity_aliases: frozenset[str]  # prefixes accepted before the dot (lower case)
    attributes: dict[str, FieldType]  # canonical attribute key -> type
    attribute_aliases: dict[str, str]  # alternative spelling -> canonical key
    order_by_entities: frozenset[str]
    dataset_keys: tuple[str, ...] = ()

    def field_type(self, entity: str) -> FieldType:
        if entity == "metric":
            return "numeric"
        if entity in ("param", "tag"):
            return "nullable_string"
        return "string"  # datasets; attributes are looked up in ``attributes``


_RUN_SCHEMA = _Schema(
    name="run",
    entity_aliases=frozenset(_ENTITY_ALIASES),
    attributes={
        "run_id": "string",
        "run_name": "string",
        "status": "string",
        "user_id": "string",
        "artifact_uri": "string",
        "start_time": "numeric",
        "end_time": "numeric",
    },
    attribute_aliases={
        "run name": "run_name",
        "Run name": "run_name",
        "Run Name": "run_name",
        "created": "start_time",
        "Created": "start_time",
    },
    order_by_entities=frozenset({"attribute", "metric", "param", "tag"}),
    dataset_keys=("name", "digest", "context"),
)

_EXPERIMENT_SCHEMA = _Schema(
    name="experiment",
    entity_aliases=frozenset({"attributes", "attribute", "attr", "tags", "tag"}),
    attributes={
        "name": "string",
        "experiment_id": "string",
        "creation_time": "numeric",
        "last_update_time": "numeric",
    },
    attribute_aliases={},
    order_by_entities=frozenset({"attribute"}),
)

_LOGGED_MODEL_SCHEMA = _Schema(
    name="logged model",
    entity_aliases=frozenset(
        {
            "attributes",
            "attribute",
            "attr",
            "metrics",
            "metric",
            "params",
            "param",
            "parameters",
            "parameter",
            "tags",
            "tag",
        }
    ),
    attributes={
        "name": "string",
        "model_id": "string",
        "model_type": "string",
        "status": "string",
        "source_run_id": "string",
        "experiment_id": "string",
        "creation_timestamp": "numeric",
        "last_updated_timestamp": "numeric",
    },
    attribute_aliases={
        "creation_time": "creation_timestamp",
        "last_updated_time": "last_updated_timestamp",
    },
    order_by_entities=frozenset({"attribute", "metric", "param", "tag"}),
)

# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------

TokenKind = Literal["WORD", "NUMBER", "STRING", "BACKTICK", "OP", "(", ")", ",", "EOF"]

_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "ASC", "DESC"})
_COMPARISON_OPS = frozenset(_NUMERIC_OPS)
_OP_CHARS = "=!<>"
# Unquoted identifiers: a letter or underscore, then key-ish characters. Dots separate the
# entity from the key; later dots belong to the key (``tags.mlflow.runName``).
_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/:]*")
_NUMBER_RE = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_TAIL_RE = re.compile(r"[A-Za-z0-9_.]*")
# A key the renderer may write without quotes: what ``_WORD_RE`` reads after the dot.
_PLAIN_KEY_RE = re.compile(r"[A-Za-z0-9_\-/:][A-Za-z0-9_.\-/:]*")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MAX_DEPTH = 100  # parentheses deeper than this are rejected instead of hitting RecursionError


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str  # the source text of the token
    pos: int  # offset of its first character
    end: int  # offset just past its last character
    value: str | int | float | None = None  # decoded string / number

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "WORD" else ""

    def describe(self) -> str:
        if self.kind == "EOF":
            return "the end of the input"
        return f"{self.text!r} at position {self.pos}"


class _Source:
    """The text being parsed; builds every error so they all read the same way."""

    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.what = what  # "filter string" or "order_by clause"

    def error(self, message: str) -> TracklineException:
        # Echo the input so the message stands alone in logs, but not a megabyte of it.
        shown = self.text if len(self.text) <= 300 else self.text[:300] + "..."
        return TracklineException.invalid_parameter_value(
            f"Invalid {self.what} {shown!r}: {message}"
        )


def _tokenize(src: _Source) -> list[_Token]:
    text = src.text
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            tokens.append(_Token(ch, ch, i, i + 1))  # type: ignore[arg-type]
            i += 1
        elif ch in "'\"":
            tokens.append(_read_string(src, i))
            i = tokens[-1].end
        elif ch == "`":
            tokens.append(_read_backticks(src, i))
            i = tokens[-1].end
        elif ch in _OP_CHARS:
            tokens.append(_read_operator(src, i))
            i = tokens[-1].end
        elif ch.isascii() and (ch.isdigit() or ch in "-."):
            tokens.append(_read_number(src, i))
            i = tokens[-1].end
        elif (match := _WORD_RE.match(text, i)) is not None:
            tokens.append(_Token("WORD", match.group(), i, match.end()))
            i = match.end()
        else:
            raise src.error(f"unexpected character {ch!r} at position {i}.")
    tokens.append(_Token("EOF", "", len(text), len(text)))
    return tokens


def _read_string(src: _Source, start: int) -> _Token:
    """A quoted string. A quote inside is escaped by doubling it or with a backslash;
    ``\\\\`` is a backslash; any other backslash is kept as written (LIKE patterns, paths)."""
    text, quote = src.text, src.text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch == "\\" and nxt in ("\\", "'", '"'):
            chars.append(nxt)
            i += 2
        elif ch == quote and nxt == quote:
            chars.append(quote)
            i += 2
        elif ch == quote:
            return _Token("STRING", text[start : i + 1], start, i + 1, "".join(chars))
        else:
            chars.append(ch)
            i += 1
    raise src.error(f"unterminated string starting at position {start}: add the closing {quote}.")


def _read_backticks(src: _Source, start: int) -> _Token:
    """A backtick-quoted key; a doubled backtick stands for one backtick."""
    text = src.text
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        if text[i] == "`":
            if text[i + 1 : i + 2] == "`":
                chars.append("`")
                i += 2
                continue
            return _Token("BACKTICK", text[start : i + 1], start, i + 1, "".join(chars))
        chars.append(text[i])
        i += 1
    raise src.error(f"unterminated backtick quote starting at position {start}.")


def _read_operator(src: _Source, start: int) -> _Token:
    end = start
    while end < len(src.text) and src.text[end] in _OP_CHARS:
        end += 1
    op = src.text[start:end]
    if op not in _COMPARISON_OPS:
        raise src.error(
            f"invalid operator {op!r} at position {start}; use one of {', '.join(_NUMERIC_OPS)}."
        )
    return _Token("OP", op, start, end)


def _read_number(src: _Source, start: int) -> _Token:
    match = _NUMBER_RE.match(src.text, start)
    if match is None:
        raise src.error(f"unexpected character {src.text[start]!r} at position {start}.")
    end, raw = match.end(), match.group()
    # "5abc" or "1.2.3" is one bad token, not a number followed by garbage.
    tail_end = _NUMBER_TAIL_RE.match(src.text, end).end()  # type: ignore[union-attr]
    if tail_end > end:
        raise src.error(f"invalid number {src.text[start:tail_end]!r} at position {start}.")
    if any(c in raw for c in ".eE"):
        value: int | float = float(raw)
        if not math.isfinite(value):
            raise src.error(f"number {raw!r} at position {start} is out of range.")
    else:
        # Stores keep times as int64; larger integers would overflow them (and Python
        # refuses to convert very long digit strings at all).
        if len(raw.lstrip("-").lstrip("0")) > 19 or not _INT64_MIN <= int(raw) <= _INT64_MAX:
            raise src.error(
                f"integer {raw[:30]!r} at position {start} is out of range;"
                " write large numbers in exponent form (1e20)."
            )
        value = int(raw)
    return _Token("NUMBER", raw, start, end, value)


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, src: _Source, schema: _Schema) -> None:
        self.src = src
        self.schema = schema
        self.tokens = _tokenize(src)
        self.i = 0
        self.depth = 0

    # -- token helpers --

    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def at_keyword(self, keyword: str) -> bool:
        return self.peek().upper == keyword

    def error(self, message: str) -> TracklineException:
        return self.src.error(message)

    # -- filters --

    def parse_filter(self) -> Node:
        node = self.parse_or()
        token = self.peek()
        if token.kind == ")":
            raise self.error(f"unbalanced parenthesis: unexpected ')' at position {token.pos}.")
        if token.kind != "EOF":
            raise self.error(
                f"unexpected {token.describe()}; expected AND, OR or the end of the filter."
            )
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.at_keyword("OR"):
            self.advance()
            operands.append(self.parse_and())
        return _combine(Or, operands)

    def parse_and(self) -> Node:
        operands = [self.parse_primary()]
        while self.at_keyword("AND"):
            self.advance()
            operands.append(self.parse_primary())
        return _combine(And, operands)

    def parse_primary(self) -> Node:
        token = self.peek()
        if token.kind == "(":
            return self.parse_group()
        if token.kind == ")":
            raise self.error(
                f"unbalanced parenthesis: unexpected ')' at position {token.pos}"
                " where a comparison was expected."
            )
        if token.kind == "EOF":
            raise self.error("missing comparison at the end of the filter.")
        if token.upper == "NOT":
            raise self.error(
                f"NOT at position {token.pos} is only supported in 'NOT IN' and 'IS NOT NULL'."
            )
        return self.parse_comparison()

    def parse_group(self) -> Node:
        opening = self.advance()
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error(f"parentheses nested deeper than {_MAX_DEPTH} levels.")
        if self.peek().kind == ")":
            raise self.error(f"empty parentheses at position {opening.pos}.")
        node = self.parse_or()
        if self.peek().kind != ")":
            raise self.error(
                f"unbalanced parenthesis: '(' at position {opening.pos} is never closed"
                f" (found {self.peek().describe()})."
            )
        self.advance()
        self.depth -= 1
        return node

    def parse_comparison(self) -> Comparison:
        start = self.peek()
        identifier, field_type = self.parse_identifier(for_order_by=False)
        label = self.src.text[start.pos : self.peek(-1).end]
        operator = self.parse_operator(label)
        allowed = _OPS_BY_TYPE[field_type]
        if operator not in allowed:
            raise self.error(
                f"invalid operator {operator!r} for {_describe_field(identifier)} "
                f"(at position {start.pos}); it supports {', '.join(allowed)}."
            )
        value = self.parse_value(identifier, field_type, operator)
        return Comparison(identifier, operator, value)  # type: ignore[arg-type]

    # -- identifiers --

    def parse_identifier(self, for_order_by: bool) -> tuple[Identifier, FieldType]:
        token = self.advance()
        if token.kind == "BACKTICK" or (token.kind == "STRING" and token.text[0] == '"'):
            # A quoted bare key is an attribute: `Run name`, "start_time".
            return self.resolve("attribute", str(token.value), token, for_order_by)
        if token.kind != "WORD" or token.upper in _KEYWORDS:
            raise self.error(f"expected an identifier but found {token.describe()}.")
        prefix, dot, key = token.text.partition(".")
        if not dot:
            return self.resolve("attribute", prefix, token, for_order_by)
        entity = _ENTITY_ALIASES.get(prefix.lower())
        if entity is None or prefix.lower() not in self.schema.entity_aliases:
            raise self.error(self.unknown_entity_message(prefix, token))
        if not key:
            key = self.quoted_key_after(token)
        return self.resolve(entity, key, token, for_order_by)

    def quoted_key_after(self, prefix_token: _Token) -> str:
        """The key of ``tags.`my key``` / ``tags."my key"``: a quote right after the dot."""
        token = self.peek()
        quoted = token.kind == "BACKTICK" or (token.kind == "STRING" and token.text[0] == '"')
        if not quoted or token.pos != prefix_token.end:
            raise self.error(
                f"missing key after {prefix_token.text!r} at position {prefix_token.pos}."
            )
        self.advance()
        return str(token.value)

    def unknown_entity_message(self, prefix: str, token: _Token) -> str:
        if self.schema is _EXPERIMENT_SCHEMA:
            hint = "experiment filters accept attributes (name, experiment_id, creation_time, "
            hint += "last_update_time) and tags."
        elif self.schema is _LOGGED_MODEL_SCHEMA:
            hint = "logged model filters accept attributes, metrics., params. and tags."
        elif self.schema.name in ("registered model", "model version"):  # trackline.registry
            hint = f"{self.schema.name} filters accept attributes"
            hint += f" ({', '.join(self.schema.attributes)}) and tags."
        else:
            hint = "use metrics., params., tags., attributes. or datasets."
        return f"unknown entity {prefix!r} in {token.text!r} at position {token.pos}; {hint}"

    def resolve(
        self, entity: str, key: str, token: _Token, for_order_by: bool
    ) -> tuple[Identifier, FieldType]:
        """Check an entity/key pair against the schema and canonicalise it."""
        where = f"at position {token.pos}"
        if not key:
            raise self.error(f"empty key {where}.")
        if for_order_by and entity not in self.schema.order_by_entities:
            allowed = ", ".join(sorted(_ENTITY_PREFIX[e] for e in self.schema.order_by_entities))
            raise self.error(
                f"cannot order {self.schema.name}s by {_ENTITY_PREFIX[entity]} ({where});"
                f" order by {allowed}."
            )
        if entity == "attribute":
            canonical = self.schema.attribute_aliases.get(key, key)
            if canonical not in self.schema.attributes:
                valid = ", ".join(self.schema.attributes)
                hint = (
                    f" Prefix other keys with their entity (e.g. tags.{key})."
                    if "." not in key
                    else ""
                )
                raise self.error(
                    f"invalid attribute key {key!r} {where}; {self.schema.name} attributes are"
                    f" {valid}.{hint}"
                )
            return Identifier("attribute", canonical), self.schema.attributes[canonical]
        if entity == "dataset" and key not in self.schema.dataset_keys:
            valid = ", ".join(self.schema.dataset_keys)
            raise self.error(f"invalid dataset key {key!r} {where}; use {valid}.")
        return Identifier(entity, key), self.schema.field_type(entity)  # type: ignore[arg-type]

    # -- operators and values --

    def parse_operator(self, label: str) -> str:
        token = self.advance()
        if token.kind == "OP":
            return token.text
        word = token.upper
        if word in ("LIKE", "ILIKE", "IN"):
            return word
        if word == "NOT":
            if self.at_keyword("IN"):
                self.advance()
                return "NOT IN"
            raise self.error(
                f"expected IN after NOT at position {token.pos} but found"
                f" {self.peek().describe()}; only 'NOT IN' and 'IS NOT NULL' use NOT."
            )
        if word == "IS":
            negated = self.at_keyword("NOT")
            if negated:
                self.advance()
            if not self.at_keyword("NULL"):
                raise self.error(
                    f"expected {'NULL' if negated else 'NULL or NOT NULL'} after"
                    f" {'IS NOT' if negated else 'IS'} at position {token.pos}, found"
                    f" {self.peek().describe()}."
                )
            self.advance()
            return "IS NOT NULL" if negated else "IS NULL"
        if token.kind == "EOF":
            raise self.error(f"missing operator after {label!r} at the end of the filter.")
        raise self.error(
            f"expected an operator after {label!r} but found {token.describe()};"
            " use =, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN, IS NULL or IS NOT NULL."
        )

    def parse_value(
        self, identifier: Identifier, field_type: FieldType, operator: str
    ) -> str | int | float | tuple[str, ...] | None:
        if operator in ("IS NULL", "IS NOT NULL"):
            return None
        if operator in ("IN", "NOT IN"):
            return self.parse_in_list(identifier, operator)
        token = self.advance()
        if token.kind == "EOF":
            raise self.error(
                f"missing value after {operator!r} for {_describe_field(identifier)}"
                " at the end of the filter."
            )
        if field_type == "numeric":
            return self.numeric_value(identifier, token)
        return self.string_value(identifier, token)

    def numeric_value(self, identifier: Identifier, token: _Token) -> int | float:
        if token.kind == "NUMBER":
            return token.value  # type: ignore[return-value]
        if token.kind == "STRING" and identifier.entity == "metric":
            # MLflow's exact wording, which clients and tests match on.
            raise self.error(
                f"Expected numeric value type for metric. Found {token.text}"
                f" (at position {token.pos}); write the number without quotes."
            )
        raise self.error(
            f"expected a numeric value for {_describe_field(identifier)} but found"
            f" {token.describe()}; write the number without quotes."
        )

    def string_value(self, identifier: Identifier, token: _Token) -> str:
        if token.kind == "STRING":
            return str(token.value)
        hint = ""
        if token.kind in ("NUMBER", "WORD") and token.upper != "NULL":
            hint = f" (write '{token.text}')"
        elif token.upper == "NULL":
            hint = " (use IS NULL / IS NOT NULL)"
        raise self.error(
            f"expected a quoted string value for {_describe_field(identifier)} but found"
            f" {token.describe()}{hint}."
        )

    def parse_in_list(self, identifier: Identifier, operator: str) -> tuple[str, ...]:
        opening = self.advance()
        if opening.kind != "(":
            raise self.error(
                f"expected '(' after {operator} but found {opening.describe()};"
                f" write {operator} ('a', 'b')."
            )
        if self.peek().kind == ")":
            raise self.error(
                f"empty {operator} list at position {opening.pos}; it needs at least one value."
            )
        values: list[str] = []
        while True:
            token = self.advance()
            if token.kind == "EOF":
                raise self.error(
                    f"unbalanced parenthesis: the {operator} list at position {opening.pos}"
                    " is never closed."
                )
            if token.kind == ")":
                raise self.error(f"trailing comma before ')' at position {token.pos}.")
            values.append(self.string_value(identifier, token))
            separator = self.advance()
            if separator.kind == ")":
                return tuple(values)
            if separator.kind == "EOF":
                raise self.error(
                    f"unbalanced parenthesis: the {operator} list at position {opening.pos}"
                    " is never closed."
                )
            if separator.kind != ",":
                raise self.error(
                    f"expected ',' or ')' in the {operator} list but found {separator.describe()}."
                )

    # -- order_by --

    def parse_order_by(self) -> OrderBy:
        if self.peek().kind == "EOF":
            raise self.error("empty order_by clause; write '<field> [ASC|DESC]'.")
        identifier, _ = self.parse_identifier(for_order_by=True)
        ascending = True
        if self.peek().upper in ("ASC", "DESC"):
            ascending = self.advance().upper == "ASC"
        token = self.peek()
        if token.kind != "EOF":
            raise self.error(
                f"unexpected {token.describe()}; an order_by clause is '<field> [ASC|DESC]'."
            )
        return OrderBy(identifier, ascending)


def _combine(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    """One node for a chain of operands; nested chains of the same kind are flattened, so
    ``a AND (b AND c)`` and ``a AND b AND c`` give the same tree."""
    if len(operands) == 1:
        return operands[0]
    flat: list[Node] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    return kind(tuple(flat))


def _describe_field(identifier: Identifier) -> str:
    return f"{identifier.entity} {identifier.key!r}"


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TracklineException.invalid_parameter_value(
            f"Invalid {what} {value!r}: expected a string, got {type(value).__name__}."
        )
    return value


@lru_cache(maxsize=512)
def _parse_filter(text: str, schema: _Schema) -> Node | None:
    # Trees are immutable, so caching repeated filters (UI polling, paging) is safe.
    if not text.strip():
        return None
    return _Parser(_Source(text, "filter string"), schema).parse_filter()


def _parse_order_by(order_by: Sequence[str] | None, schema: _Schema) -> list[OrderBy]:
    if order_by is None:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]  # a lone clause is a common slip; it is unambiguous
    clauses = [
        _Parser(
            _Source(_check_text(c, "order_by clause"), "order_by clause"), schema
        ).parse_order_by()
        for c in order_by
    ]
    seen: set[Identifier] = set()
    for clause in clauses:
        if clause.identifier in seen:
            raise TracklineException.invalid_parameter_value(
                f"Invalid order_by {list(order_by)!r}: it orders by"
                f" {_ENTITY_PREFIX[clause.identifier.entity]}.{clause.identifier.key}"
                " more than once."
            )
        seen.add(clause.identifier)
    return clauses


def parse_run_filter(filter_string: str | None) -> Node | None:
    """Parse a ``search_runs`` filter; ``None`` for no filter (None, empty or blank)."""
    if filter_string is None:
        return None
    return _parse_filter(_check_text(filter_string, "filter string"), _RUN_SCHEMA)


def parse_experiment_filter(filter_string: str | None) -> Node | None:
    """Parse a ``search_experiments`` filter; ``None`` for no filter."""
    if filter_string is None:
        return None
    return _parse_filter(_check_text(filter_string, "filter string"), _EXPERIMENT_SCHEMA)


def parse_run_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    """Parse ``search_runs`` order_by clauses (``"metrics.acc DESC"``), in order."""
    return _parse_order_by(order_by, _RUN_SCHEMA)


def parse_experiment_order_by(order_by: Sequence[str] | None) -> list[OrderBy]:
    """Parse ``search_experiments`` order_by clauses (``"name ASC"``), in order."""
    return _parse_order_by(order_by, _EXPERIMENT_SCHEMA)


def parse_logged_model_filter(filter_string: str | None) -> Node | None:
    """Parse a ``search_logged_models`` filter; ``None`` for no filter.

    Attributes: name, model_id, model_type, status, source_run_id, experiment_id (strings),
    creation_timestamp / creation_time and last_updated_timestamp / last_updated_time
    (numbers); plus ``metrics.<key>`` (numbers), ``params.<key>`` and ``tags.<key>``.
    """
    if filter_string is None:
        return None
    return _parse_filter(_check_text(filter_string, "filter string"), _LOGGED_MODEL_SCHEMA)


@dataclass(frozen=True)
class LoggedModelOrderBy:
    """One structured order_by entry of ``search_logged_models``.

    ``dataset_name``/``dataset_digest`` limit a metric ordering to the points logged
    against that dataset.
    """

    order: OrderBy
    dataset_name: str | None = None
    dataset_digest: str | None = None


def parse_logged_model_order_by(
    order_by: Sequence[dict[str, object] | str] | None,
) -> list[LoggedModelOrderBy]:
    """Parse ``[{"field_name": "metrics.acc", "ascending": False, "dataset_name": ...}]``.

    A plain string entry (``"name DESC"``) is accepted too, as trackline's extension.
    """
    if not order_by:
        return []
    if isinstance(order_by, (str, dict)):
        order_by = [order_by]
    out: list[LoggedModelOrderBy] = []
    for entry in order_by:
        if isinstance(entry, str):
            (clause,) = _parse_order_by([entry], _LOGGED_MODEL_SCHEMA)
            out.append(LoggedModelOrderBy(clause))
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("field_name"), str):
            raise TracklineException.invalid_parameter_value(
                f"Invalid order_by entry {entry!r}: expected a dict with a 'field_name' string "
                "(and optional 'ascending', 'dataset_name', 'dataset_digest')."
            )
        ascending = entry.get("ascending", True)
        if not isinstance(ascending, bool):
            raise TracklineException.invalid_parameter_value(
                f"Invalid order_by entry {entry!r}: 'ascending' must be true or false."
            )
        (clause,) = _parse_order_by([entry["field_name"]], _LOGGED_MODEL_SCHEMA)
        if clause.ascending is False or entry["field_name"].strip().upper().endswith(" ASC"):
            raise TracklineException.invalid_parameter_value(
                f"Invalid order_by field_name {entry['field_name']!r}: give the direction in "
                "'ascending', not in the field name."
            )
        dataset_name = entry.get("dataset_name") or None
        dataset_digest = entry.get("dataset_digest") or None
        if (dataset_name or dataset_digest) and clause.identifier.entity != "metric":
            raise TracklineException.invalid_parameter_value(
                f"Invalid order_by entry {entry!r}: dataset_name and dataset_digest apply only "
                "to metrics."
            )
        if dataset_digest and not dataset_name:
            raise TracklineException.invalid_parameter_value(
                f"Invalid order_by entry {entry!r}: dataset_digest needs dataset_name."
            )
        out.append(
            LoggedModelOrderBy(
                OrderBy(clause.identifier, ascending),
                None if dataset_name is None else str(dataset_name),
                None if dataset_digest is None else str(dataset_digest),
            )
        )
    seen = [o.order.identifier for o in out]
    if len(set(seen)) != len(seen):
        raise TracklineException.invalid_parameter_value(
            f"Invalid order_by {list(order_by)!r}: a field appears more than once."
        )
    return out


# --------------------------------------------------------------------------------------------
# Renderer: tree -> filter string (for stores that forward filters to a remote server)
# --------------------------------------------------------------------------------------------


def to_filter_string(node: Node | None) -> str:
    """Render a tree as a filter string that parses back to the same tree.

    Uses only MLflow's syntax when the tree allows it (a chain of ANDs, IN on run_id…); OR,
    parentheses and other IN lists are written with trackline's extensions.
    """
    if node is None:
        return ""
    if isinstance(node, Comparison):
        return _render_comparison(node)
    if isinstance(node, And):
        # OR binds looser than AND, so OR operands need parentheses; nested ANDs get them too
        # so a hand-built tree keeps its shape visibly (the parser flattens it anyway).
        return " AND ".join(_render_operand(op, (Comparison,)) for op in node.operands)
    if isinstance(node, Or):
        return " OR ".join(_render_operand(op, (Comparison, And)) for op in node.operands)
    raise TypeError(f"not a search tree node: {node!r}")


def _render_operand(node: Node, bare: tuple[type, ...]) -> str:
    text = to_filter_string(node)
    return text if isinstance(node, bare) else f"({text})"


def render_identifier(identifier: Identifier) -> str:
    """``entity.key`` with the key quoted when it would not read back as written."""
    key = identifier.key
    if not _PLAIN_KEY_RE.fullmatch(key):
        key = "`" + key.replace("`", "``") + "`"
    return f"{_ENTITY_PREFIX[identifier.entity]}.{key}"


def _render_comparison(node: Comparison) -> str:
    left = render_identifier(node.identifier)
    if node.operator in ("IS NULL", "IS NOT NULL"):
        return f"{left} {node.operator}"
    if node.operator in ("IN", "NOT IN"):
        values = node.value if isinstance(node.value, tuple) else (node.value,)
        return f"{left} {node.operator} ({', '.join(_render_value(v) for v in values)})"
    return f"{left} {node.operator} {_render_value(node.value)}"


def _render_value(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"cannot render search value {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise TracklineException.invalid_parameter_value(
            f"Cannot write {value!r} in a filter string: only finite numbers can be compared."
        )
    return repr(value)
