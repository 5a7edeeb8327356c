"""One reader for IAM policy documents, used by the guardrails, review and the policy evaluator.

IAM lets a document say the same thing several ways: `Statement` is one object or a list,
`Action`, `Resource` and each principal kind are one string or a list, and `Principal` is
`"*"` or an object of kinds. This module turns each into one shape; what the statements
mean is left to its callers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def as_list(value: Any) -> list[Any]:
    """`value` as a list: None is empty, a single value is a one-element list."""
    if value is None:
        return []
    if isinstance(value, tuple):
        return list(value)
    return value if isinstance(value, list) else [value]


def statements(document: Mapping[str, Any]) -> list[Any]:
    """A document's statements as a list (empty when it has none)."""
    return as_list(document.get("Statement"))


def read_statements(raw: Any) -> tuple[dict[str, Any], ...] | None:
    """The statements of a document given as a dict or a JSON string; None when it is not a
    readable policy document (not JSON, no `Statement`, or a statement that is not an object)."""
    document = raw
    if isinstance(raw, str):
        try:
            document = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(document, dict) or document.get("Statement") is None:
        return None
    found = statements(document)
    if not all(isinstance(s, dict) for s in found):
        return None
    return tuple(found)


def principals(statement: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(kind, value)` pairs of a statement's `Principal`: `("*", "*")` for a bare `"*"`,
    `("AWS", value)` for another bare string, `("?", text)` for a shape IAM does not accept."""
    principal = statement.get("Principal")
    if principal is None:
        return []
    if isinstance(principal, str):
        return [("*", principal)] if principal == "*" else [("AWS", principal)]
    if isinstance(principal, dict):
        return [(str(kind), str(value)) for kind, values in principal.items() for value in as_list(values)]
    return [("?", str(principal))]
