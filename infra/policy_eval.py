"""A small IAM policy evaluator for the cells an emulator cannot enforce.

It decides one request (principal, action, resource, context) against one policy
document the way AWS does for a single policy: an explicit Deny wins, else any Allow,
else an implicit deny. It supports what mesh's documents use: `*`/`?` wildcards in
actions and resources, principal matching for resource policies, and the condition
operators StringEquals, StringNotEquals, StringLike, StringNotLike, Bool (with
`IfExists` and `ForAnyValue:`/`ForAllValues:` forms). An unsupported operator makes its
statement not match, which errs towards denying — and is reported as such.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.model.iam import as_list as _as_list
from infra.model.iam import principals, statements

Context = Mapping[str, str | list[str]]


@dataclass(frozen=True)
class Decision:
    """The verdict and the statement that decided it (None for an implicit deny)."""

    allowed: bool
    statement: str | None
    explicit_deny: bool = False


def _matches(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _principal_matches(statement: dict[str, Any], principal: str | None) -> bool:
    if "Principal" not in statement:
        return True  # an identity policy: the principal is whoever holds it
    declared = principals(statement)
    if ("*", "*") in declared:
        return True
    if principal is None:
        return False
    for kind in ("AWS", "Service"):
        for candidate in (value for declared_kind, value in declared if declared_kind == kind):
            if candidate in ("*", principal):
                return True
            account_root = (
                candidate.endswith(":root") and principal.split(":")[4:5] == candidate.split(":")[4:5]
            )
            if account_root:
                return True
    return False


def _condition_holds(conditions: dict[str, Any], context: Context) -> bool:
    for operator, entries in conditions.items():
        qualifier, _, op = operator.rpartition(":")
        if_exists = op.endswith("IfExists")
        op = op.removesuffix("IfExists")
        for key, expected in entries.items():
            present = key in context
            if not present:
                if if_exists:
                    continue
                return False
            actual = _as_list(context[key])
            wanted = [str(v) for v in _as_list(expected)]
            if op in ("StringEquals", "Bool"):
                hits = [a for a in actual if str(a) in wanted]
            elif op == "StringLike":
                hits = [a for a in actual if any(_matches(w, str(a)) for w in wanted)]
            elif op == "StringNotEquals":
                hits = [a for a in actual if str(a) not in wanted]
            elif op == "StringNotLike":
                hits = [a for a in actual if not any(_matches(w, str(a)) for w in wanted)]
            else:
                return False
            holds = len(hits) == len(actual) if qualifier == "ForAllValues" else bool(hits)
            if not holds:
                return False
    return True


def evaluate(
    document: dict[str, Any],
    *,
    action: str,
    resource: str,
    principal: str | None = None,
    context: Context | None = None,
) -> Decision:
    """Decide one request against one policy document."""
    allow: str | None = None
    for index, statement in enumerate(statements(document)):
        sid = statement.get("Sid") or f"Statement[{index}]"
        if not _principal_matches(statement, principal):
            continue
        if not any(_matches(a, action, case=False) for a in _as_list(statement.get("Action"))):
            continue
        if not any(_matches(r, resource) for r in _as_list(statement.get("Resource"))):
            continue
        if not _condition_holds(statement.get("Condition") or {}, context or {}):
            continue
        if statement.get("Effect") == "Deny":
            return Decision(False, sid, explicit_deny=True)
        allow = allow or sid
    return Decision(allow is not None, allow)
