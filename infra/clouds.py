"""The clouds mesh supports, and what it knows about each one's resource types.

One index over the per-cloud homes (`infra/aws/`, `infra/gcp/`); services look a type
up here instead of keeping their own table of tokens.
"""

from __future__ import annotations

from infra.aws.types import TYPES as AWS_TYPES
from infra.gcp.types import TYPES as GCP_TYPES
from infra.model.resource_type import ResourceType

#: Every descriptor of every cloud, by token.
RESOURCE_TYPES: dict[str, ResourceType] = {**AWS_TYPES, **GCP_TYPES}

#: Resources whose replacement or deletion loses data, or makes data unreadable.
STATEFUL_TYPES = frozenset(t.token for t in RESOURCE_TYPES.values() if t.stateful)


def resource_type(token: str) -> ResourceType | None:
    """The descriptor of `token`, or None for a type mesh does not know."""
    return RESOURCE_TYPES.get(token)


def noun(token: str) -> str:
    """What a person calls a resource of `token` (`bucket`); the token's last part for an unknown type."""
    found = RESOURCE_TYPES.get(token)
    return found.noun if found else token.rsplit(":", 1)[-1]
