"""What mesh knows about one cloud resource type, in one descriptor.

Each cloud's home (`infra/aws/types.py`, `infra/gcp/types.py`) declares one
`ResourceType` per type token its components create or its guardrails read; synthesis
(mock identifiers), review (replace keys), the engine (stateful types), the guardrails
(taggable types, nouns, policy documents), the emulator (appliers) and verify (live
checkers) look the type up there instead of keeping their own tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CloudContext:
    """What the mocks need to compute identifiers the way AWS would."""

    account: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"


#: `(logical name, inputs, context) -> (id, computed outputs)`: what the cloud would return on create.
MockIdentifiers = Callable[[str, dict[str, Any], CloudContext], tuple[str, dict[str, Any]]]
#: `(arguments, context) -> result`: what a data source (an invoke) would return.
MockInvoke = Callable[[dict[str, Any], CloudContext], dict[str, Any]]


@dataclass(frozen=True)
class ResourceType:
    """One resource type: its token and what every activity needs to know about it.

    `applier` and `checker` name methods of the cloud's emulator applier and live checker
    (by name, so this descriptor stays importable without boto3); a test checks they exist.
    `converger` names the applier's method that brings a resource an earlier apply created
    to the plan's inputs; a type without one keeps what the first apply gave it.
    `documents` lists the inputs that hold a policy document and the kind of document each is.
    """

    token: str
    noun: str
    mock: MockIdentifiers | None = None
    replace_keys: tuple[str, ...] = ()
    stateful: bool = False
    taggable: bool = False
    applier: str | None = None
    converger: str | None = None
    checker: str | None = None
    documents: tuple[tuple[str, str], ...] = ()

    @property
    def cloud(self) -> str:
        """`aws` for `aws:s3/bucket:Bucket`."""
        return self.token.split(":", 1)[0]


def registry(*types: ResourceType) -> dict[str, ResourceType]:
    """Descriptors by token; `ValueError` when a token is declared twice."""
    found: dict[str, ResourceType] = {}
    for type_ in types:
        if type_.token in found:
            raise ValueError(f"resource type {type_.token} is declared twice")
        found[type_.token] = type_
    return found
