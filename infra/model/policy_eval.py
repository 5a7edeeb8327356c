"""An IAM policy evaluator for the cells an emulator cannot enforce.

`evaluate` decides one request against one policy document the way AWS does: an
explicit Deny wins, else any Allow, else an implicit deny. `authorize` combines the
documents AWS reads for one same-account request (identity policies, the permissions
boundary, the resource's policy) following AWS's policy evaluation logic, with the
KMS rule that a key policy must grant the caller (directly, or by delegating to the
account's IAM).

Semantics follow the IAM User Guide ("Condition operators", "Single-valued vs.
multivalued context keys", "Policy evaluation logic"):

- `Action`/`NotAction` match case-insensitively; `Resource`/`NotResource` case-sensitively;
  both take `*` and `?` wildcards. `Principal`/`NotPrincipal` in resource policies.
- Condition keys are case-insensitive. Operators of one statement, and keys of one
  operator, are ANDed; the values listed for one key are ORed.
- A key missing from the request makes a condition false, except that negated
  operators (`StringNotEquals`, `StringNotLike`, `ArnNotLike`, `NotIpAddress`, …) are
  true, `…IfExists` is true, and `Null` tests exactly that. With a set operator,
  `ForAllValues` is true for a missing key or an empty set and `ForAnyValue` false.
- A negated operator with several values is true only when the request's value
  matches none of them.

An operator this module does not know raises `ValueError`: guessing would err towards
allowing whenever the statement is a Deny.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infra.model.iam import as_list, statements

Context = Mapping[str, Any]

_STRING_OPERATORS = {
    "StringEquals": (False, False, False),  # (negated, like, ignore case)
    "StringNotEquals": (True, False, False),
    "StringEqualsIgnoreCase": (False, False, True),
    "StringNotEqualsIgnoreCase": (True, False, True),
    "StringLike": (False, True, False),
    "StringNotLike": (True, True, False),
    "ArnEquals": (False, True, False),
    "ArnLike": (False, True, False),
    "ArnNotEquals": (True, True, False),
    "ArnNotLike": (True, True, False),
}
_NUMERIC = {
    "Equals": lambda a, b: a == b,
    "NotEquals": lambda a, b: a == b,  # negated below
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Decision:
    """The verdict and the statement that decided it (None for an implicit deny).

    `through_account` is set when the allowing statement named the caller only through
    its account (`arn:aws:iam::111122223333:root`): a delegation to the account's IAM,
    which then has to allow the request too.
    """

    allowed: bool
    statement: str | None
    explicit_deny: bool = False
    through_account: bool = False


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    # fnmatch treats `[` as a character class; IAM knows only `*` and `?`.
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _lookup(context: Context, key: str) -> tuple[bool, list[Any]]:
    """Whether the request carries `key` (names are case-insensitive), and its values."""
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return True, as_list(value)
    return False, []


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    text = _text(value)
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text)).astimezone()
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _one_value_matches(base: str, actual: Any, wanted: list[Any]) -> bool:
    """Whether one request value satisfies the positive form of `base` for any wanted value."""
    if base in _STRING_OPERATORS:
        _, like, ignore_case = _STRING_OPERATORS[base]
        text = _text(actual)
        if like:
            return any(_glob(_text(w), text, ignore_case=ignore_case) for w in wanted)
        if ignore_case:
            return any(_text(w).lower() == text.lower() for w in wanted)
        return any(_text(w) == text for w in wanted)
    if base == "Bool":
        return any(_text(w).lower() == _text(actual).lower() for w in wanted)
    if base in ("IpAddress", "NotIpAddress"):
        try:
            address = ipaddress.ip_address(_text(actual))
            return any(address in ipaddress.ip_network(_text(w), strict=False) for w in wanted)
        except ValueError:
            return False
    for family, parse in (("Numeric", _number), ("Date", _date)):
        if base.startswith(family):
            compare = _NUMERIC.get(base.removeprefix(family))
            if compare is None:
                break
            left = parse(actual)
            rights = [parse(w) for w in wanted]
            return left is not None and any(r is not None and compare(left, r) for r in rights)
    raise ValueError(f"condition operator {base!r} is not supported by mesh's policy evaluator")


def _negated(base: str) -> bool:
    if base in _STRING_OPERATORS:
        return _STRING_OPERATORS[base][0]
    return base in ("NotIpAddress", "NumericNotEquals", "DateNotEquals")


def condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    """One `operator: {key: expected}` entry of a Condition block, against the request."""
    qualifier, _, base = operator.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise ValueError(f"condition set operator {qualifier!r} is not known")
    present, actual = _lookup(context, key)
    wanted = as_list(expected)
    if base == "Null":
        # "true": the key must be absent (or empty); "false": present with a value.
        missing = not present or actual == []
        return any((_text(w).lower() == "true") == missing for w in wanted)
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    negated = _negated(base)
    if qualifier == "ForAllValues":
        if not present or not actual:
            return True
        return all(_one_value_matches(base, a, wanted) != negated for a in actual)
    if qualifier == "ForAnyValue":
        if not present or not actual:
            return False
        return any(_one_value_matches(base, a, wanted) != negated for a in actual)
    if not present:
        return if_exists or negated
    matches = any(_one_value_matches(base, a, wanted) for a in actual)
    return not matches if negated else matches


def _conditions_hold(conditions: Mapping[str, Any], context: Context) -> bool:
    return all(
        condition_holds(operator, key, expected, context)
        for operator, entries in conditions.items()
        for key, expected in entries.items()
    )


def _account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else None


def _principal_listed(declared: Any, principal: str | None) -> tuple[bool, bool]:
    """(listed, only through its account) for a `Principal`/`NotPrincipal` value."""
    if declared == "*":
        return True, False
    if principal is None or not isinstance(declared, dict):
        return False, False
    through_account = False
    for kind in ("AWS", "Service", "Federated", "CanonicalUser"):
        for value in as_list(declared.get(kind)):
            candidate = _text(value)
            if candidate in ("*", principal):
                return True, False
            account = candidate if candidate.isdigit() else None
            if candidate.endswith(":root"):
                account = _account_of(candidate)
            if account is not None and _account_of(principal) == account:
                through_account = True
    return through_account, through_account


def _matches_any(patterns: Any, value: str, *, ignore_case: bool) -> bool:
    return any(_glob(_text(p), value, ignore_case=ignore_case) for p in as_list(patterns))


def _applies(statement: Mapping[str, Any], *, action: str, resource: str) -> bool:
    if "Action" in statement:
        if not _matches_any(statement["Action"], action, ignore_case=True):
            return False
    elif _matches_any(statement.get("NotAction"), action, ignore_case=True):
        return False
    if "Resource" in statement:
        return _matches_any(statement["Resource"], resource, ignore_case=False)
    if "NotResource" in statement:
        return not _matches_any(statement["NotResource"], resource, ignore_case=False)
    return True  # a key policy or trust policy statement without Resource covers its own resource


def evaluate(
    document: Mapping[str, Any],
    *,
    action: str,
    resource: str,
    principal: str | None = None,
    context: Context | None = None,
) -> Decision:
    """Decide one request against one policy document.

    `principal` is the caller's ARN (a role ARN for a role session), or None for an
    unsigned request; statements without `Principal` (identity policies) apply to any
    caller. The context gets `aws:PrincipalArn` from `principal` unless it has one.
    """
    request: dict[str, Any] = dict(context or {})
    if principal is not None and not _lookup(request, "aws:PrincipalArn")[0]:
        request["aws:PrincipalArn"] = principal
    allow: Decision | None = None
    for index, statement in enumerate(statements(document)):
        sid = statement.get("Sid") or f"Statement[{index}]"
        through_account = False
        if "Principal" in statement:
            listed, through_account = _principal_listed(statement["Principal"], principal)
            if not listed:
                continue
        elif "NotPrincipal" in statement:
            listed, _ = _principal_listed(statement["NotPrincipal"], principal)
            if listed:
                continue
        if not _applies(statement, action=action, resource=resource):
            continue
        if not _conditions_hold(statement.get("Condition") or {}, request):
            continue
        if statement.get("Effect") == "Deny":
            return Decision(False, sid, explicit_deny=True)
        if allow is None or (allow.through_account and not through_account):
            allow = Decision(True, sid, through_account=through_account)
    return allow or Decision(False, None)


def authorize(
    *,
    action: str,
    resource: str,
    principal: str,
    identity: Sequence[Mapping[str, Any]],
    boundary: Mapping[str, Any] | None = None,
    resource_policy: Mapping[str, Any] | None = None,
    key_policy: bool = False,
    context: Context | None = None,
) -> Decision:
    """Whether a same-account caller may make a request, by AWS's policy evaluation logic.

    - An explicit Deny in any document decides.
    - With `key_policy` (KMS), the resource policy must allow the caller: directly, or
      through the account, in which case an identity policy must allow too.
    - Otherwise an Allow in the resource policy naming the caller, or in an identity
      policy, is enough.
    - A permissions boundary must allow whatever identity policies grant, and what a
      resource policy grants to the role ARN (AWS applies the boundary to a role's
      grants unless the resource policy names the role session itself).
    """
    documents = [
        *identity,
        *([boundary] if boundary else []),
        *([resource_policy] if resource_policy else []),
    ]
    verdicts = [
        evaluate(d, action=action, resource=resource, principal=principal, context=context) for d in documents
    ]
    denied = next((v for v in verdicts if v.explicit_deny), None)
    if denied is not None:
        return denied
    by_identity = next(
        (
            v
            for v in (evaluate(d, action=action, resource=resource, context=context) for d in identity)
            if v.allowed
        ),
        None,
    )
    by_resource = (
        evaluate(resource_policy, action=action, resource=resource, principal=principal, context=context)
        if resource_policy
        else Decision(False, None)
    )
    if key_policy:
        if not by_resource.allowed:
            return Decision(False, by_resource.statement or "key policy grants nothing to the caller")
        if by_resource.through_account and by_identity is None:
            return Decision(False, None)
        granted = by_resource if not by_resource.through_account else by_identity
    elif by_resource.allowed and not by_resource.through_account:
        granted = by_resource
    else:
        granted = by_identity
    if granted is None or not granted.allowed:
        return Decision(False, None)
    if boundary is not None:
        limit = evaluate(boundary, action=action, resource=resource, context=context)
        if not limit.allowed:
            return Decision(False, "permissions boundary")
    return granted
