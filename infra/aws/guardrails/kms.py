"""KMS key rules: rotation, and key policies that reach everyone or another account."""

from __future__ import annotations

from collections.abc import Iterable

from infra.aws import types
from infra.aws.guardrails.documents import public_statements, same_account
from infra.model.graph import ResourceGraph
from infra.rule import Finding, Guardrail, Severity, label

KMS_KEY = types.KMS_KEY.token
KEY_POLICY = types.KEY_POLICY.token


def check_key_rotation(graph: ResourceGraph) -> Iterable[Finding]:
    """Every symmetric KMS key has automatic rotation on (AWS cannot rotate other key specs)."""
    for key in graph.of_type(KMS_KEY):
        spec = key.inputs.get("customerMasterKeySpec") or key.inputs.get("keySpec") or "SYMMETRIC_DEFAULT"
        if spec != "SYMMETRIC_DEFAULT":
            yield Finding(
                key.urn, True, f"{label(key)} is a {spec} key, which AWS cannot rotate automatically"
            )
        elif key.inputs.get("enableKeyRotation") is True:
            yield Finding(key.urn, True, f"{label(key)} rotates automatically")
        else:
            yield Finding(key.urn, False, f"{label(key)} does not set enableKeyRotation to true")


KMS_ROTATION_RULE = Guardrail(
    id="MESH-KMS-ROTATION",
    title="KMS keys rotate automatically",
    severity=Severity.MANDATORY,
    control="KMS.4",
    fix="set enableKeyRotation=True on the aws.kms.Key",
    check=check_key_rotation,
    examines=(KMS_KEY,),
)


KMS_PUBLIC_POLICY_RULE = Guardrail(
    id="MESH-KMS-PUBLIC-POLICY",
    title="Key policies grant nothing to everyone unconditionally",
    severity=Severity.MANDATORY,
    control="KMS.5",
    fix="name the principals (role ARNs or the account root) in the Allow statement, or add a Condition that restricts who matches",
    check=public_statements("key policy", "no Allow reaches a wildcard principal without a Condition"),
    examines=(KMS_KEY, KEY_POLICY),
)


KMS_CROSS_ACCOUNT_RULE = Guardrail(
    id="MESH-KMS-CROSS-ACCOUNT",
    title="Key policies grant only principals of the product's account",
    severity=Severity.MANDATORY,
    control=None,
    fix="grant only the product's account root and its own roles in the key policy",
    check=same_account("key policy"),
    examines=(KMS_KEY, KEY_POLICY),
)
