"""What a guardrail rule is, and how rules read resources.

A rule is a plain function over a `ResourceGraph` with its metadata beside it (id,
severity, control, fix, the resource types it examines); the rule modules live in each
cloud's home (`infra/aws/guardrails/`, `infra/gcp/guardrails/`) and `infra.guardrails`
discovers and evaluates them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from infra.clouds import noun
from infra.model.graph import Resource, ResourceGraph


class Severity(StrEnum):
    """Mandatory failures block provisioning; advisory failures warn and may be disabled."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"


class Finding(NamedTuple):
    """What one rule concluded about one resource."""

    urn: str
    passed: bool
    message: str


@dataclass(frozen=True)
class Guardrail:
    """One rule: its id, what it enforces, how to fix a failure, and the check itself.

    `control` is the control the rule enforces where one exists: an AWS Foundational
    Security Best Practices id (`"S3.8"`) for AWS rules, a CIS Google Cloud Platform
    Foundations Benchmark recommendation for GCP rules. `check` yields one `Finding` per
    resource examined; `examines` names the resource types it reads (each has a descriptor).
    """

    id: str
    title: str
    severity: Severity
    control: str | None
    fix: str
    check: Callable[[ResourceGraph], Iterable[Finding]]
    examines: tuple[str, ...] = ()


def label(resource: Resource) -> str:
    """`bucket sales-orders-storage-bucket`: the type's noun and the logical name."""
    return f"{noun(resource.type)} {resource.name}"


def first(value: Any) -> Any:
    """A nested block pulumi may send as an object or a one-element list."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def nested(value: Any) -> dict[str, Any]:
    """A nested input block as a dict (empty when absent or malformed)."""
    value = first(value)
    return value if isinstance(value, dict) else {}


def glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard matching: `*` any run of characters, `?` one character."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def carries(
    graph: ResourceGraph, types: tuple[str, ...], key: str, required: tuple[str, ...], noun: str
) -> Iterator[Finding]:
    """One finding per resource of `types`: its `key` map (tags, labels) has every `required` entry."""
    for resource in graph.of_type(*types):
        given = resource.inputs.get(key)
        given = given if isinstance(given, dict) else {}
        missing = [name for name in required if not given.get(name)]
        if missing:
            yield Finding(resource.urn, False, f"{label(resource)} lacks the {key} {', '.join(missing)}")
        else:
            yield Finding(resource.urn, True, f"{label(resource)} carries every required mesh {noun}")
