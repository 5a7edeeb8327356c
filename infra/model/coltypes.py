"""Column types per cloud: Glue/Hive types for AWS, BigQuery types for GCP.

A request declares types in the vocabulary of its cloud's catalog, so what the user
writes is what the catalog shows. Near misses get a suggestion, including the usual
crossover (`int64` in an AWS request suggests `bigint`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

HIVE_PRIMITIVES = (
    "boolean", "tinyint", "smallint", "int", "integer", "bigint", "float", "double",
    "string", "date", "timestamp", "binary",
)  # fmt: skip
HIVE_PARAMETRIC = ("decimal", "char", "varchar")
HIVE_COMPLEX = ("array", "map", "struct")

BIGQUERY_PRIMITIVES = (
    "STRING", "BYTES", "INT64", "INTEGER", "FLOAT64", "FLOAT", "NUMERIC", "BIGNUMERIC",
    "BOOL", "BOOLEAN", "DATE", "DATETIME", "TIME", "TIMESTAMP", "GEOGRAPHY", "JSON",
)  # fmt: skip
BIGQUERY_PARAMETRIC = ("NUMERIC", "BIGNUMERIC", "STRING", "BYTES")
BIGQUERY_COMPLEX = ("ARRAY", "STRUCT")

# What a user of the other cloud (or of SQL in general) tends to write.
_AWS_CROSSOVER = {
    "int64": "bigint", "long": "bigint", "integer64": "bigint", "float64": "double",
    "numeric": "decimal(38,9)", "bool": "boolean", "text": "string", "str": "string",
    "bytes": "binary", "datetime": "timestamp", "json": "string", "varchar": "varchar(255)",
}  # fmt: skip
_GCP_CROSSOVER = {
    "BIGINT": "INT64", "INT": "INT64", "LONG": "INT64", "SMALLINT": "INT64", "TINYINT": "INT64",
    "DOUBLE": "FLOAT64", "DECIMAL": "NUMERIC", "VARCHAR": "STRING", "CHAR": "STRING",
    "TEXT": "STRING", "STR": "STRING", "BINARY": "BYTES",
}  # fmt: skip

# BigQuery allows partitioning by one column of these types.
BIGQUERY_PARTITION_TYPES = ("DATE", "TIMESTAMP", "DATETIME", "INT64", "INTEGER")


@dataclass(frozen=True)
class TypeCheck:
    """The verdict on one declared type: `ok`, or a message with an optional suggestion."""

    ok: bool
    message: str = ""


class _Parser:
    """A tiny recursive-descent parser for nested type expressions."""

    def __init__(self, text: str) -> None:
        self.tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:]|\S", text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(f"expected '{expected or 'a type'}'")
        self.pos += 1
        return token

    def done(self) -> bool:
        return self.pos == len(self.tokens)

    def number(self, what: str) -> int:
        token = self.peek()
        if token is None or not token.isdigit():
            raise ValueError(f"{what} must be a number" + (f", not '{token}'" if token else ""))
        self.pos += 1
        return int(token)


def _hive(p: _Parser) -> None:
    name = p.take().lower()
    if name in HIVE_PRIMITIVES:
        return
    if name in HIVE_PARAMETRIC:
        p.take("(")
        precision = int(p.take()) if (p.peek() or "").isdigit() else -1
        if precision < 1:
            raise ValueError(f"{name} needs a length, e.g. {name}(10)")
        if name == "decimal" and p.peek() == ",":
            p.take(",")
            scale = p.number("decimal scale")
            if scale > precision:
                raise ValueError("decimal scale cannot exceed its precision")
        if name == "decimal" and precision > 38:
            raise ValueError("decimal precision is at most 38")
        p.take(")")
        return
    if name == "array":
        p.take("<")
        _hive(p)
        p.take(">")
        return
    if name == "map":
        p.take("<")
        _hive(p)
        p.take(",")
        _hive(p)
        p.take(">")
        return
    if name == "struct":
        p.take("<")
        while True:
            p.take()
            p.take(":")
            _hive(p)
            if p.peek() != ",":
                break
            p.take(",")
        p.take(">")
        return
    raise LookupError(name)


def _bigquery(p: _Parser) -> None:
    name = p.take().upper()
    if name in BIGQUERY_PARAMETRIC and p.peek() == "(":
        p.take("(")
        p.number(f"{name} {'length' if name in ('STRING', 'BYTES') else 'precision'}")
        if p.peek() == ",":
            p.take(",")
            p.number(f"{name} scale")
        p.take(")")
        return
    if name in BIGQUERY_PRIMITIVES:
        return
    if name == "ARRAY":
        p.take("<")
        _bigquery(p)
        p.take(">")
        return
    if name == "STRUCT":
        p.take("<")
        while True:
            p.take()
            _bigquery(p)
            if p.peek() != ",":
                break
            p.take(",")
        p.take(">")
        return
    raise LookupError(name)


def _suggest(word: str, vocabulary: tuple[str, ...], crossover: dict[str, str]) -> str | None:
    if word in crossover:
        return crossover[word]
    close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.6)
    return close[0] if close else None


def check_type(declared: str, *, cloud: str) -> TypeCheck:
    """Check one column type for `cloud` ("aws" or "gcp")."""
    text = declared.strip()
    parser = _Parser(text)
    aws = cloud == "aws"
    try:
        (_hive if aws else _bigquery)(parser)
        if not parser.done():
            raise ValueError(f"unexpected '{parser.peek()}'")
    except LookupError as e:
        word = str(e.args[0])
        word = word.lower() if aws else word.upper()
        vocabulary = (
            HIVE_PRIMITIVES + HIVE_PARAMETRIC + HIVE_COMPLEX
            if aws
            else BIGQUERY_PRIMITIVES + BIGQUERY_COMPLEX
        )
        hint = _suggest(word, vocabulary, _AWS_CROSSOVER if aws else _GCP_CROSSOVER)
        catalog = "a Glue/Hive" if aws else "a BigQuery"
        message = f"'{declared}' is not {catalog} column type"
        if hint:
            message += f" — did you mean '{hint}'?"
        else:
            message += f" (use one of: {', '.join(vocabulary)})"
        return TypeCheck(ok=False, message=message)
    except (ValueError, IndexError) as e:
        return TypeCheck(ok=False, message=f"'{declared}' is not a well-formed column type: {e}")
    return TypeCheck(ok=True)


def is_primitive(declared: str, *, cloud: str) -> bool:
    """Whether a (valid) type is scalar, as partition columns must be."""
    head = re.split(r"[<(\s]", declared.strip(), maxsplit=1)[0]
    if cloud == "aws":
        return head.lower() in HIVE_PRIMITIVES + HIVE_PARAMETRIC
    return head.upper() in BIGQUERY_PRIMITIVES
