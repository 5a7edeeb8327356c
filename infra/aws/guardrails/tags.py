"""The tag rule: every taggable AWS resource carries the mesh tags."""

from __future__ import annotations

from collections.abc import Iterable

from infra.aws import types
from infra.model.graph import ResourceGraph
from infra.model.spec import REQUIRED_TAGS
from infra.rule import Finding, Guardrail, Severity, carries

# The AWS types that take a `tags` input (`taggable` in their descriptors). The others mesh
# creates are attributed through their parent.
TAGGABLE_TYPES: tuple[str, ...] = tuple(t.token for t in types.TYPES.values() if t.taggable)


def check_required_tags(graph: ResourceGraph) -> Iterable[Finding]:
    """Every taggable resource carries the mesh tags cost attribution and the orphan sweep read."""
    return carries(graph, TAGGABLE_TYPES, "tags", REQUIRED_TAGS, "tag")


TAGS_RULE = Guardrail(
    id="MESH-TAGS",
    title="Taggable resources carry the mesh tags",
    severity=Severity.MANDATORY,
    control=None,
    fix=f"pass tags=dict(spec.tags) to the resource; it must carry {', '.join(REQUIRED_TAGS)}",
    check=check_required_tags,
    examines=TAGGABLE_TYPES,
)
