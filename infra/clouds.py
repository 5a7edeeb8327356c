"""The clouds mesh supports: each one's resource types and capabilities.

One index over the per-cloud homes (`infra/aws/`, `infra/gcp/`); services look a type
or a capability up here instead of keeping their own tables or `cloud == "aws"` tests.
"""

from __future__ import annotations

from typing import Any

from infra.aws.capabilities import CAPABILITIES as AWS_CAPABILITIES
from infra.aws.invokes import INVOKES as AWS_INVOKES
from infra.aws.types import TYPES as AWS_TYPES
from infra.gcp.capabilities import CAPABILITIES as GCP_CAPABILITIES
from infra.gcp.invokes import INVOKES as GCP_INVOKES
from infra.gcp.types import TYPES as GCP_TYPES
from infra.model.capability import REQUEST_FIELDS, Capability
from infra.model.document import FieldPath
from infra.model.resource_type import MockInvoke, ResourceType

#: What each cloud implements (declared in `infra/<cloud>/capabilities.py`).
CAPABILITIES: dict[str, frozenset[Capability]] = {"aws": AWS_CAPABILITIES, "gcp": GCP_CAPABILITIES}

#: Every descriptor of every cloud, by token.
RESOURCE_TYPES: dict[str, ResourceType] = {**AWS_TYPES, **GCP_TYPES}

#: What offline synthesis answers for each data source (invoke) token.
INVOKES: dict[str, MockInvoke] = {**AWS_INVOKES, **GCP_INVOKES}

#: Resources whose replacement or deletion loses data, or makes data unreadable.
STATEFUL_TYPES = frozenset(t.token for t in RESOURCE_TYPES.values() if t.stateful)


def resource_type(token: str) -> ResourceType | None:
    """The descriptor of `token`, or None for a type mesh does not know."""
    return RESOURCE_TYPES.get(token)


def noun(token: str) -> str:
    """What a person calls a resource of `token` (`bucket`); the token's last part for an unknown type."""
    found = RESOURCE_TYPES.get(token)
    return found.noun if found else token.rsplit(":", 1)[-1]


def supports(cloud: str, capability: Capability) -> bool:
    """Whether mesh implements `capability` on `cloud`."""
    return capability in CAPABILITIES.get(cloud, frozenset())


def clouds_with(capability: Capability) -> list[str]:
    """The clouds that implement `capability`, sorted."""
    return sorted(cloud for cloud, declared in CAPABILITIES.items() if capability in declared)


def unsupported_fields(cloud: str, request: Any) -> list[tuple[FieldPath, str]]:
    """`(field path, message)` for each feature `request` (a parsed request document) asks of
    `cloud` that mesh does not implement there."""
    found = []
    for capability, (path, what) in REQUEST_FIELDS.items():
        if supports(cloud, capability) or not _present(request, path):
            continue
        others = ", ".join(clouds_with(capability)) or "none yet"
        found.append(
            (
                path,
                f"mesh does not implement {what} on {cloud}, so nothing would be created for it — remove this field (implemented on: {others})",
            )
        )
    return found


def _present(document: Any, path: FieldPath) -> bool:
    for key in path:
        if not isinstance(document, dict) or key not in document or document[key] is None:
            return False
        document = document[key]
    return True
