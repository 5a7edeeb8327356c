"""The official JSON Schemas of ODCS and ODPS, kept in `infra/standards/`, and checks against them.

Which schema checks a document follows its declared `apiVersion`: a contract is judged by
the version it claims, not by whatever the models package happens to ship. The patch
releases of ODCS v3.0 share the v3.0.2 schema (as datacontract-cli does); a later v3 minor
than mesh keeps is read with the newest schema mesh has, and the caller says so.
`infra/standards/SOURCE.md` says where each file comes from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from infra.model.document import FieldPath

STANDARDS_DIR = Path(__file__).resolve().parent / "standards"

# apiVersion → the schema file that judges it.
ODCS_SCHEMAS = {
    "v3.0.0": "odcs-json-schema-v3.0.2.json",
    "v3.0.1": "odcs-json-schema-v3.0.2.json",
    "v3.0.2": "odcs-json-schema-v3.0.2.json",
    "v3.1.0": "odcs-json-schema-v3.1.0.json",
    "v3.2.0": "odcs-json-schema-v3.2.0.json",
}
ODPS_SCHEMAS = {"v1.1.0": "odps-json-schema-v1.1.0.json"}
NEWEST_ODCS = "v3.2.0"

_LONG = 160  # a value longer than this is described, not quoted, in a message


@dataclass(frozen=True)
class SchemaViolation:
    """One place where a document breaks its schema."""

    path: FieldPath
    message: str


@cache
def load_schema(file_name: str) -> dict[str, Any]:
    """One of the kept schema files, parsed (cached: they are read-only)."""
    schema: dict[str, Any] = json.loads((STANDARDS_DIR / file_name).read_text(encoding="utf-8"))
    return schema


@cache
def _checking_schema(file_name: str) -> dict[str, Any]:
    """The schema without `unevaluatedProperties`: jsonschema evaluates that keyword in time
    exponential in the nesting of properties (6 s for a 4 KB contract with three levels),
    so an import checks everything else, as datacontract-cli's linter does. The tests check
    mesh's own exports against the complete schema."""
    text = (STANDARDS_DIR / file_name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(
        text, object_hook=lambda o: {k: v for k, v in o.items() if k != "unevaluatedProperties"}
    )
    return schema


def odcs_schema_file(api_version: str) -> str | None:
    """The schema file for an ODCS `apiVersion`; None when it is not an ODCS v3 version.

    A later v3 minor than the newest kept (`v3.3.0`) gets the newest schema."""
    if api_version in ODCS_SCHEMAS:
        return ODCS_SCHEMAS[api_version]
    if re.fullmatch(r"v3\.\d+\.\d+", api_version):
        return ODCS_SCHEMAS[NEWEST_ODCS]
    return None


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    if len(text) <= _LONG:
        return text
    return "this mapping" if isinstance(value, dict) else f"this {type(value).__name__}"


def _message(error: jsonschema.ValidationError) -> str:
    validator = error.validator
    if validator == "required":
        missing = re.match(r"'([^']+)' is a required property", error.message)
        return f"'{missing.group(1)}' is required" if missing else error.message
    if validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message.split("(")[-1])
        return f"field{'s' if len(extra) > 1 else ''} {', '.join(repr(e) for e in extra)} not allowed here"
    if validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{_describe(error.instance)} is not one of: {allowed}"
    if validator == "type":
        return f"{_describe(error.instance)} is not of type {error.validator_value}"
    if validator in {"anyOf", "oneOf", "if", "then", "allOf"} and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return _message(best) if best is not None else f"does not match the schema ({validator})"
    if len(error.message) <= _LONG * 2:
        return error.message
    return f"{_describe(error.instance)} breaks the schema's '{validator}' rule"


def violations(document: Any, file_name: str, *, complete: bool = False) -> list[SchemaViolation]:
    """Every violation of `file_name`'s schema in `document`, in document order.

    Unknown fields inside nested elements are not reported unless `complete` (slow on deep
    documents; see `_checking_schema`)."""
    # No format checker: which formats get checked would depend on optional packages.
    schema = load_schema(file_name) if complete else _checking_schema(file_name)
    validator = jsonschema.Draft201909Validator(schema)
    found = []
    for error in validator.iter_errors(document):
        found.append(SchemaViolation(path=tuple(error.absolute_path), message=_message(error)))
    unique = {(v.path, v.message): v for v in found}
    return sorted(unique.values(), key=lambda v: ([str(p).zfill(9) for p in v.path], v.message))
