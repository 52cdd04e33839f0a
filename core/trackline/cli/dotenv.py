"""A small reader for dotenv files (``trackline --env-file PATH``).

Supported, as in the usual ``.env`` conventions: ``KEY=VALUE`` lines, blank lines and
``#`` comments, an optional ``export`` prefix, single-quoted values (taken literally),
double-quoted values (with ``\\n``, ``\\t``, ``\\"`` and ``\\\\`` escapes), inline comments after
unquoted values, and ``${NAME}`` references in unquoted and double-quoted values. It is
written here so that the core needs no extra dependency for one option.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


class DotenvError(ValueError):
    """A line of the file that cannot be read; the message names the line."""


def parse_dotenv(text: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a dotenv text defines, in file order.

    ``${NAME}`` is looked up in ``environ`` (default ``os.environ``) first, so that a value
    already set wins, as it does when the file is loaded; then in the lines above.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, value = _parse_line(line, number)
        values[key] = _expand(value, environ, values)
    return values


def _parse_line(line: str, number: int) -> tuple[str, str]:
    if line.startswith("export "):
        line = line[len("export ") :].lstrip()
    key, sep, rest = line.partition("=")
    key = key.strip()
    if not sep or not _KEY.match(key):
        raise DotenvError(f"line {number}: expected KEY=VALUE, got {line!r}")
    rest = rest.strip()
    if rest[:1] in ("'", '"'):
        return key, _quoted(rest, number)
    # An unquoted value ends at a comment, which must follow whitespace ("a#b" is a value).
    comment = re.search(r"\s#", rest)
    return key, (rest[: comment.start()] if comment else rest).strip()


def _quoted(rest: str, number: int) -> str:
    quote = rest[0]
    chars: list[str] = []
    index = 1
    while index < len(rest):
        char = rest[index]
        if char == quote:
            tail = rest[index + 1 :].strip()
            if tail and not tail.startswith("#"):
                raise DotenvError(f"line {number}: unexpected text after the closing quote")
            value = "".join(chars)
            # Single-quoted values are literal: mark them so that ${...} is not expanded.
            return value if quote == '"' else _Literal(value)
        if char == "\\" and quote == '"' and index + 1 < len(rest):
            following = rest[index + 1]
            chars.append(_ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        chars.append(char)
        index += 1
    raise DotenvError(f"line {number}: missing closing {quote}")


class _Literal(str):
    """A value read between single quotes: never expanded."""


def _expand(value: str, environ: Mapping[str, str], earlier: Mapping[str, str]) -> str:
    if isinstance(value, _Literal):
        return str(value)

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        return environ.get(name, earlier.get(name, ""))

    return _REFERENCE.sub(lookup, value)


def load_env_file(path: str | Path, override: bool = False) -> dict[str, str]:
    """Put the file's variables into ``os.environ`` and return those that were set.

    Variables already in the environment keep their value unless ``override``: the shell
    (or CI) is the more specific source.
    """
    text = Path(path).read_text(encoding="utf-8")
    applied = {}
    for key, value in parse_dotenv(text).items():
        if override or key not in os.environ:
            os.environ[key] = value
            applied[key] = value
    return applied
