"""GCP IAM rules: no public members, no basic roles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from infra.gcp import types
from infra.model.graph import Resource, ResourceGraph
from infra.model.iam import as_list
from infra.rule import Finding, Guardrail, Severity, label

GCP_PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
GCP_BASIC_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
# The IAM member types mesh's components create (a rule reads any `gcp:*IamMember` or `*IamBinding`).
GRANT_TYPES = tuple(
    t.token for t in types.TYPES.values() if t.token.lower().endswith(("iammember", "iambinding"))
)


def _gcp_grants(graph: ResourceGraph) -> Iterator[tuple[Resource, list[str], str]]:
    """Every GCP IAM member or binding resource: its members and its role."""
    for resource in graph.cloud_resources():
        kind = resource.type.rsplit(":", 1)[-1].lower()
        if resource.type.startswith("gcp:") and kind.endswith(("iammember", "iambinding")):
            members = [
                str(m)
                for m in as_list(resource.inputs.get("member")) + as_list(resource.inputs.get("members"))
            ]
            yield resource, members, str(resource.inputs.get("role", ""))


def check_gcp_public_members(graph: ResourceGraph) -> Iterable[Finding]:
    """No IAM grant reaches allUsers or allAuthenticatedUsers."""
    for resource, members, role in _gcp_grants(graph):
        public = [m for m in members if m in GCP_PUBLIC_MEMBERS]
        if public:
            yield Finding(resource.urn, False, f"{label(resource)} grants {role} to {', '.join(public)}")
        else:
            yield Finding(resource.urn, True, f"{label(resource)} grants {role} to named principals only")


GCP_PUBLIC_MEMBER_RULE = Guardrail(
    id="MESH-GCP-PUBLIC-MEMBER",
    title="No IAM grant reaches allUsers or allAuthenticatedUsers",
    severity=Severity.MANDATORY,
    control="CIS GCP 5.1, 7.1",
    fix="grant to named service accounts or groups; mesh grants consumers through their own service accounts",
    check=check_gcp_public_members,
    examines=GRANT_TYPES,
)


def check_gcp_basic_roles(graph: ResourceGraph) -> Iterable[Finding]:
    """No IAM grant uses a basic role (owner, editor, viewer), which spans every service."""
    for resource, _, role in _gcp_grants(graph):
        if role in GCP_BASIC_ROLES:
            yield Finding(resource.urn, False, f"{label(resource)} grants the basic role {role}")
        else:
            yield Finding(resource.urn, True, f"{label(resource)} grants {role}")


GCP_BASIC_ROLES_RULE = Guardrail(
    id="MESH-GCP-BASIC-ROLES",
    title="No IAM grant uses a basic role (owner, editor, viewer)",
    severity=Severity.MANDATORY,
    control=None,
    fix="use a predefined role scoped to the resource, such as roles/storage.objectViewer or roles/bigquery.dataViewer",
    check=check_gcp_basic_roles,
    examines=GRANT_TYPES,
)
