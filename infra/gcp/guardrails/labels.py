"""The label rule: every labelled GCP resource carries the mesh labels."""

from __future__ import annotations

from collections.abc import Iterable

from infra.gcp import types
from infra.model.graph import ResourceGraph
from infra.model.spec import REQUIRED_TAGS
from infra.rule import Finding, Guardrail, Severity, carries

# GCP resources that carry labels; the mesh tags become labels with `-` for `:`.
GCP_LABELLED_TYPES: tuple[str, ...] = tuple(t.token for t in types.TYPES.values() if t.taggable)
GCP_REQUIRED_LABELS = tuple(tag.replace(":", "-") for tag in REQUIRED_TAGS)


def check_gcp_labels(graph: ResourceGraph) -> Iterable[Finding]:
    """Every labelled GCP resource carries the mesh labels cost attribution and the sweep read."""
    return carries(graph, GCP_LABELLED_TYPES, "labels", GCP_REQUIRED_LABELS, "label")


GCP_LABELS_RULE = Guardrail(
    id="MESH-GCP-LABELS",
    title="GCP resources carry the mesh labels",
    severity=Severity.MANDATORY,
    control=None,
    fix="label the resource with the product's labels (spec.labels): mesh-domain, mesh-product, mesh-environment, mesh-owner, mesh-managed-by",
    check=check_gcp_labels,
    examines=GCP_LABELLED_TYPES,
)
