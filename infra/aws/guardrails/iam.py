"""IAM rules: no `*` on `*`, no role everyone may assume, a permissions boundary on every role."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from infra.aws import types
from infra.aws.guardrails.documents import (
    POLICY_HOLDERS,
    allows,
    documents_of,
    iam_path,
    public_statements,
    statement_label,
    unreadable_message,
)
from infra.model.graph import Resource, ResourceGraph
from infra.model.iam import as_list
from infra.rule import Finding, Guardrail, Severity, label

IAM_POLICY = types.IAM_POLICY.token
IAM_ROLE = types.IAM_ROLE.token
ROLE_POLICY_ATTACHMENT = types.ROLE_POLICY_ATTACHMENT.token
# AWS managed policies that amount to `*` on `*` when attached.
ADMIN_MANAGED_POLICIES = ("AdministratorAccess",)


def _is_admin(statement: dict[str, Any]) -> bool:
    actions = as_list(statement.get("Action"))
    resources = as_list(statement.get("Resource"))
    return allows(statement) and any(a in ("*", "*:*") for a in actions) and "*" in resources


def _attached_admin_policies(resource: Resource) -> list[str]:
    if resource.type == IAM_ROLE:
        arns = as_list(resource.inputs.get("managedPolicyArns"))
    elif resource.type == ROLE_POLICY_ATTACHMENT:
        arns = as_list(resource.inputs.get("policyArn"))
    else:
        return []
    return [
        a
        for a in arns
        if isinstance(a, str) and a.rsplit("/", 1)[-1] in ADMIN_MANAGED_POLICIES and ":iam::aws:policy/" in a
    ]


def check_no_admin_statements(graph: ResourceGraph) -> Iterable[Finding]:
    """No document allows action `*` on resource `*`, and no role gets AdministratorAccess attached."""
    for resource in graph.cloud_resources():
        documents = documents_of(resource)
        if not documents and resource.type not in (IAM_ROLE, ROLE_POLICY_ATTACHMENT):
            continue
        problems = [f"{label(resource)} attaches {arn}" for arn in _attached_admin_policies(resource)]
        for document in documents:
            if document.statements is None:
                problems.append(unreadable_message(document))
                continue
            problems += [
                f"{statement_label(s, i)} of the {document.label} allows action * on resource *"
                for i, s in enumerate(document.statements)
                if _is_admin(s)
            ]
        if problems:
            yield Finding(resource.urn, False, "; ".join(problems))
        else:
            yield Finding(resource.urn, True, f"{label(resource)} grants no action * on resource *")


IAM_NO_ADMIN_RULE = Guardrail(
    id="MESH-IAM-NO-ADMIN",
    title="No policy allows action * on resource *",
    severity=Severity.MANDATORY,
    control="IAM.1",
    fix="list the exact actions and resource ARNs the principal needs (see components/aws/policies.py) instead of * on *",
    check=check_no_admin_statements,
    examines=(*POLICY_HOLDERS, ROLE_POLICY_ATTACHMENT),
)


IAM_PUBLIC_TRUST_RULE = Guardrail(
    id="MESH-IAM-PUBLIC-TRUST",
    title="Roles cannot be assumed by everyone",
    severity=Severity.MANDATORY,
    control=None,
    fix="trust only the named principals of the platform config (and AWS services) in assumeRolePolicy, or add a Condition",
    check=public_statements("trust policy", "only named principals may assume it"),
    examines=(IAM_ROLE,),
)


def check_permissions_boundary(graph: ResourceGraph) -> Iterable[Finding]:
    """Every role is confined by a permissions boundary."""
    boundaries = {f"policy{iam_path(p)}{p.inputs.get('name')}": p for p in graph.of_type(IAM_POLICY)}
    for role in graph.of_type(IAM_ROLE):
        boundary = role.inputs.get("permissionsBoundary")
        if not isinstance(boundary, str) or not boundary:
            yield Finding(role.urn, False, f"{label(role)} has no permissions boundary")
            continue
        policy = boundaries.get(boundary.split(":", 5)[-1])
        yield Finding(
            role.urn, True, f"{label(role)} is confined by boundary {policy.name if policy else boundary}"
        )


IAM_BOUNDARY_RULE = Guardrail(
    id="MESH-IAM-BOUNDARY",
    title="Roles have a permissions boundary",
    severity=Severity.MANDATORY,
    control=None,
    fix="set permissionsBoundary on the aws.iam.Role to the product's boundary policy ARN",
    check=check_permissions_boundary,
    examines=(IAM_ROLE, IAM_POLICY),
)
