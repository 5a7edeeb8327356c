"""Column types between ODCS contracts and the clouds: what a contract's column becomes in a request.

A contract states a `physicalType` in the vocabulary of whatever database it describes
(PostgreSQL, Snowflake, BigQuery, Glue…) and a `logicalType` from ODCS's small list.
`column_type` keeps the physical type when the target cloud takes it as written, else
translates it into the cloud's own spelling without losing precision (`decimal(12,2)`
becomes `NUMERIC(12,2)` on GCP, `varchar(36)` becomes `STRING(36)`), else builds one from
the logical type and nested properties. A note is returned only where the cloud has no
equivalent (Glue has no TIME and no JSON; BigQuery has no MAP) or the contract says too
little (no type at all, a number without precision).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infra.model.coltypes import check_type

_PHRASES = (
    (r"double\s+precision", "double"),
    (r"character\s+varying", "varchar"),
    (r"timestamp\s*(\(\d+\))?\s+with\s+local\s+time\s+zone", "timestamptz"),
    (r"timestamp\s*(\(\d+\))?\s+with\s+time\s+zone", "timestamptz"),
    (r"timestamp\s*(\(\d+\))?\s+without\s+time\s+zone", "timestamp_ntz"),
    (r"time\s*(\(\d+\))?\s+with\s+time\s+zone", "timetz"),
    (r"time\s*(\(\d+\))?\s+without\s+time\s+zone", "time"),
)

_FAMILIES: dict[str, tuple[str, ...]] = {
    "string": ("string", "varchar", "char", "character", "nvarchar", "nchar", "text", "clob", "uuid",
               "citext", "varchar2", "nvarchar2", "ntext", "tinytext", "mediumtext", "longtext", "enum"),
    "tinyint": ("tinyint", "byte", "int1"),
    "smallint": ("smallint", "int2", "short", "smallserial"),
    "int": ("int", "integer", "int4", "mediumint", "serial", "int32"),
    "bigint": ("bigint", "int8", "long", "int64", "bigserial"),
    "decimal": ("decimal", "numeric", "number", "dec", "bignumeric", "bigdecimal", "money"),
    "float": ("float", "real", "float4", "float32"),
    "double": ("double", "float8", "float64"),
    "boolean": ("boolean", "bool", "bit"),
    "date": ("date",),
    "timestamp": ("timestamp", "timestamptz", "timestamp_tz", "timestamp_ltz", "datetimeoffset"),
    "datetime": ("datetime", "timestamp_ntz", "datetime2", "smalldatetime"),
    "time": ("time", "timetz"),
    "binary": ("binary", "varbinary", "bytea", "bytes", "blob", "image", "raw", "longblob"),
    "json": ("json", "jsonb", "variant", "object", "super"),
    "geography": ("geography", "geometry"),
    "array": ("array", "list"),
    "map": ("map",),
    "struct": ("struct", "record", "row"),
}  # fmt: skip
_FAMILY_OF = {word: family for family, words in _FAMILIES.items() for word in words}


@dataclass
class _Node:
    """A parsed type: `decimal(12,2)`, `array<string>`, `struct<a:int,b:string>`."""

    head: str
    params: list[int] = field(default_factory=list)
    children: list[tuple[str | None, _Node]] = field(default_factory=list)
    has_children: bool = False


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),:]|\S", text)
        self.pos = 0

    def peek(self, ahead: int = 0) -> str | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ValueError(expected or "a type")
        self.pos += 1
        return token

    def node(self) -> _Node:
        node = _Node(head=self.take().lower())
        if self.peek() == "(":
            self.take("(")
            while self.peek() != ")":
                token = self.take()
                if token.isdigit():
                    node.params.append(int(token))
                elif token not in {",", "max", "MAX"}:
                    raise ValueError(token)
            self.take(")")
        if self.peek() == "<":
            self.take("<")
            node.has_children = True
            while self.peek() != ">":
                name: str | None = None
                if node.head in _FAMILIES["struct"] and self.peek(1) not in {"<", "(", ",", ">"}:
                    name = self.take()
                    if self.peek() == ":":
                        self.take(":")
                node.children.append((name, self.node()))
                if self.peek() == ",":
                    self.take(",")
            self.take(">")
        return node


def _parse(declared: str) -> _Node | None:
    text = declared.strip().lower()
    for phrase, word in _PHRASES:
        text = re.sub(phrase, word, text)
    parser = _Parser(text)
    try:
        node = parser.node()
    except (ValueError, IndexError):
        return None
    return node if parser.peek() is None else None


class _Untranslatable(Exception):
    """The type has no equivalent on the cloud; carries the reason."""


def _decimal(params: list[int], cloud: str, notes: list[str]) -> str:
    if not params:
        notes.append("a decimal without precision is read as (38,9), BigQuery NUMERIC's range")
        precision, scale = 38, 9
    else:
        precision, scale = params[0], params[1] if len(params) > 1 else 0
    if cloud == "aws":
        if precision > 38:
            notes.append(
                f"decimal({precision},{scale}) is wider than Glue's decimal(38,s): decimal(38,{min(scale, 38)})"
            )
            precision, scale = 38, min(scale, 38)
        return f"decimal({precision},{scale})"
    if scale <= 9 and precision - scale <= 29:
        return f"NUMERIC({max(precision, 1)},{scale})"
    if scale <= 38 and precision - scale <= 38:
        return f"BIGNUMERIC({precision},{scale})"
    notes.append(f"decimal({precision},{scale}) is wider than BIGNUMERIC: BIGNUMERIC")
    return "BIGNUMERIC"


def _translate(node: _Node, cloud: str, notes: list[str], *, nested: bool = False) -> str:
    family = _FAMILY_OF.get(node.head)
    aws = cloud == "aws"
    if family is None:
        raise _Untranslatable(f"'{node.head}' is no column type mesh knows")
    if family == "string":
        length = node.params[0] if node.params else None
        if aws:
            if node.head in {"char", "character", "nchar"} and length and length <= 255:
                return f"char({length})"
            return f"varchar({length})" if length and length <= 65535 else "string"
        return f"STRING({length})" if length else "STRING"
    if family in {"tinyint", "smallint", "int", "bigint"}:
        return family if aws else "INT64"
    if family == "decimal":
        if node.head == "number" and node.params[1:2] == [0] and node.params[0] <= 18:
            return "bigint" if aws else "INT64"  # Snowflake and Oracle spell integers NUMBER(p,0)
        return _decimal(node.params, cloud, notes)
    if family in {"float", "double"}:
        return family if aws else "FLOAT64"
    if family == "boolean":
        return "boolean" if aws else "BOOL"
    if family == "date":
        return "date" if aws else "DATE"
    if family == "timestamp":
        return "timestamp" if aws else "TIMESTAMP"
    if family == "datetime":
        return "timestamp" if aws else "DATETIME"
    if family == "time":
        if aws:
            notes.append("Glue has no TIME type: string (HH:MM:SS)")
            return "string"
        return "TIME"
    if family == "binary":
        return "binary" if aws else "BYTES"
    if family == "json":
        if aws:
            notes.append(f"Glue has no {node.head.upper()} type: string holding the JSON text")
            return "string"
        return "JSON"
    if family == "geography":
        if aws:
            notes.append(f"Glue has no {node.head.upper()} type: string holding WKT")
            return "string"
        if node.head == "geometry":
            notes.append("BigQuery has no planar GEOMETRY: GEOGRAPHY")
        return "GEOGRAPHY"
    if family == "array":
        if not node.children:
            notes.append("an array without an element type: array of strings")
            item = "string" if aws else "STRING"
        else:
            item = _translate(node.children[0][1], cloud, notes, nested=True)
        if not aws and item.startswith("ARRAY<"):
            raise _Untranslatable("BigQuery has no array of arrays")
        return f"array<{item}>" if aws else f"ARRAY<{item}>"
    if family == "map":
        if len(node.children) != 2:
            raise _Untranslatable("a map needs a key and a value type")
        key = _translate(node.children[0][1], cloud, notes, nested=True)
        value = _translate(node.children[1][1], cloud, notes, nested=True)
        if aws:
            return f"map<{key},{value}>"
        notes.append("BigQuery has no MAP: ARRAY<STRUCT<key, value>>")
        return f"ARRAY<STRUCT<key {key}, value {value}>>"
    # struct
    if not node.children or any(name is None for name, _ in node.children):
        raise _Untranslatable("a struct needs named fields")
    fields = [(name or "", _translate(child, cloud, notes, nested=True)) for name, child in node.children]
    if aws:
        return "struct<" + ",".join(f"{n}:{t}" for n, t in fields) + ">"
    return "STRUCT<" + ", ".join(f"{n} {t}" for n, t in fields) + ">"


def _canonical(declared: str, cloud: str) -> bool:
    """Whether a type the cloud accepts is already in its own spelling (Glue lowercase,
    BigQuery uppercase), so translating it would change nothing but case."""
    if cloud == "aws":
        return declared == declared.lower()
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", declared)
    keywords = [w for w in words if w.upper() in _BIGQUERY_WORDS]
    return all(w == w.upper() for w in keywords) and not re.match(r"NUMERIC\s*\(\s*\d+\s*,\s*\d+", declared)


_BIGQUERY_WORDS = {
    "STRING", "BYTES", "INT64", "INTEGER", "FLOAT64", "FLOAT", "NUMERIC", "BIGNUMERIC", "BOOL", "BOOLEAN",
    "DATE", "DATETIME", "TIME", "TIMESTAMP", "GEOGRAPHY", "JSON", "ARRAY", "STRUCT",
}  # fmt: skip


def translate(declared: str, cloud: str, *, verbatim: bool = False) -> tuple[str | None, list[str]]:
    """`declared` (any database's spelling) in `cloud`'s spelling, and notes on what changed.

    With `verbatim`, a type the cloud accepts is kept exactly as written. None when the
    type is unknown or has no equivalent (the notes say why)."""
    text = declared.strip()
    valid = check_type(text, cloud=cloud).ok
    if valid and (verbatim or _canonical(text, cloud)):
        return text, []
    node = _parse(text)
    if node is None:
        return (text, []) if valid else (None, [f"'{declared}' is not a type mesh can read"])
    notes: list[str] = []
    try:
        result = _translate(node, cloud, notes)
    except _Untranslatable as e:
        return (text, []) if valid else (None, [str(e)])
    if not check_type(result, cloud=cloud).ok:
        return (text, []) if valid else (None, [f"'{declared}' has no {cloud} equivalent"])
    return result, notes


# What each ODCS logical type is on each cloud when the physical type says nothing usable.
_FROM_LOGICAL = {
    "string": ("string", "STRING"), "integer": ("bigint", "INT64"), "number": ("double", "FLOAT64"),
    "boolean": ("boolean", "BOOL"), "date": ("date", "DATE"), "timestamp": ("timestamp", "TIMESTAMP"),
    "time": ("time", "TIME"), "blob": ("binary", "BYTES"),
}  # fmt: skip


def _identifier(text: str) -> str:
    word = re.sub(r"[^a-z0-9_]+", "_", text.strip().lower()).strip("_")
    return word if word[:1].isalpha() else f"c_{word}"


def _from_logical(prop: Mapping[str, Any], cloud: str, notes: list[str]) -> str:
    aws = cloud == "aws"
    logical = str(prop.get("logicalType") or "").lower()
    nested = prop.get("properties")
    if logical == "object" or (isinstance(nested, list) and nested):
        fields = []
        for child in nested if isinstance(nested, list) else []:
            if isinstance(child, Mapping) and (child.get("name") or child.get("physicalName")):
                name = _identifier(str(child.get("name") or child.get("physicalName")))
                fields.append((name, column_type(child, cloud, notes)))
        if not fields:
            if aws:
                notes.append("an object without properties: string holding the JSON text")
                return "string"
            return "JSON"
        if aws:
            return "struct<" + ",".join(f"{n}:{t}" for n, t in fields) + ">"
        return "STRUCT<" + ", ".join(f"{n} {t}" for n, t in fields) + ">"
    if logical == "array" or isinstance(prop.get("items"), Mapping):
        items = prop.get("items")
        if isinstance(items, Mapping):
            item = column_type(items, cloud, notes)
        else:
            notes.append("an array without items: array of strings")
            item = "string" if aws else "STRING"
        if not aws and item.startswith("ARRAY<"):
            notes.append("BigQuery has no array of arrays: JSON")
            return "JSON"
        return f"array<{item}>" if aws else f"ARRAY<{item}>"
    if logical == "map":
        entry = prop.get("map")
        key, value = (entry.get("key"), entry.get("value")) if isinstance(entry, Mapping) else (None, None)
        key_type = (
            column_type(key, cloud, notes) if isinstance(key, Mapping) else ("string" if aws else "STRING")
        )
        value_type = (
            column_type(value, cloud, notes)
            if isinstance(value, Mapping)
            else ("string" if aws else "STRING")
        )
        if aws:
            return f"map<{key_type},{value_type}>"
        notes.append("BigQuery has no MAP: ARRAY<STRUCT<key, value>>")
        return f"ARRAY<STRUCT<key {key_type}, value {value_type}>>"
    if logical == "time" and aws:
        notes.append("Glue has no TIME type: string (HH:MM:SS)")
        return "string"
    if logical in _FROM_LOGICAL:
        return _FROM_LOGICAL[logical][0 if aws else 1]
    notes.append("no logicalType or physicalType: string")
    return "string" if aws else "STRING"


def _with_precision(physical: str, prop: Mapping[str, Any]) -> str:
    """`decimal` with precision and scale given as custom properties (as XSD imports write them)
    → `decimal(10,2)`."""
    if "(" in physical or _FAMILY_OF.get(physical.strip().lower()) != "decimal":
        return physical
    listed = prop.get("customProperties")
    custom = {
        str(c.get("property")): c.get("value")
        for c in (listed if isinstance(listed, list) else [])
        if isinstance(c, Mapping)
    }
    precision, scale = custom.get("precision"), custom.get("scale")
    if isinstance(precision, int) and not isinstance(precision, bool):
        return f"{physical.strip()}({precision},{scale if isinstance(scale, int) else 0})"
    return physical


MAX_NESTING = 15  # levels of properties/items/map inside one column


def _nesting(prop: Mapping[str, Any]) -> int:
    """How deeply `prop` nests properties, items and map values (iteratively: input is untrusted)."""
    deepest, stack = 0, [(prop, 0)]
    while stack:
        element, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        listed = element.get("properties")
        children = [c for c in listed if isinstance(c, Mapping)] if isinstance(listed, list) else []
        entry = element.get("map")
        nested = [element.get("items")]
        if isinstance(entry, Mapping):
            nested += [entry.get("key"), entry.get("value")]
        children += [c for c in nested if isinstance(c, Mapping)]
        stack.extend((c, depth + 1) for c in children)
    return deepest


def column_type(prop: Mapping[str, Any], cloud: str, notes: list[str], *, verbatim: bool = False) -> str:
    """The request column type for one ODCS property on `cloud`; appends what was lost to `notes`.

    With `verbatim` (a contract mesh wrote), a physical type the cloud accepts is kept as written."""
    if _nesting(prop) > MAX_NESTING:
        notes.append(
            f"nested more than {MAX_NESTING} levels deep: {'string holding JSON' if cloud == 'aws' else 'JSON'}"
        )
        return "string" if cloud == "aws" else "JSON"
    physical = prop.get("physicalType")
    nested = (
        isinstance(prop.get("items"), Mapping)
        or bool(prop.get("properties"))
        or isinstance(prop.get("map"), Mapping)
    )
    if isinstance(physical, str) and physical.strip():
        physical = _with_precision(physical, prop)
        translated, why = translate(physical, cloud, verbatim=verbatim)
        if translated is not None and not (nested and "<" not in physical):
            notes.extend(why)
            return translated
        if nested:
            # `physicalType: array` (or `struct`, `MAP<STRING, STRUCT>`) with the element described
            # by `items`, `properties` or `map`: the nested description is the precise one.
            return _from_logical(prop, cloud, notes)
        fallback = _from_logical(prop, cloud, [])
        notes.append(f"physicalType '{physical.strip()}': {'; '.join(why)}; logicalType gives {fallback}")
        return fallback
    return _from_logical(prop, cloud, notes)
