"""GCS bucket rules: public access prevention, uniform access, versioning."""

from __future__ import annotations

from collections.abc import Iterable

from infra.gcp import types
from infra.model.graph import ResourceGraph
from infra.rule import Finding, Guardrail, Severity, label, nested

GCS_BUCKET = types.GCS_BUCKET.token


def check_gcs_public_access(graph: ResourceGraph) -> Iterable[Finding]:
    """Every GCS bucket enforces public access prevention and uniform bucket-level access."""
    for bucket in graph.of_type(GCS_BUCKET):
        problems = []
        if bucket.inputs.get("publicAccessPrevention") != "enforced":
            problems.append(
                f"publicAccessPrevention is {bucket.inputs.get('publicAccessPrevention') or 'unset'}"
            )
        if bucket.inputs.get("uniformBucketLevelAccess") is not True:
            problems.append("uniformBucketLevelAccess is not true (object ACLs could grant access)")
        if problems:
            yield Finding(bucket.urn, False, f"{label(bucket)}: {'; '.join(problems)}")
        else:
            yield Finding(
                bucket.urn, True, f"{label(bucket)} enforces public access prevention, uniform access"
            )


GCS_PUBLIC_ACCESS_RULE = Guardrail(
    id="MESH-GCS-PUBLIC-ACCESS",
    title="GCS buckets prevent public access and use uniform bucket-level access",
    severity=Severity.MANDATORY,
    control="CIS GCP 5.1, 5.2",
    fix='set public_access_prevention="enforced" and uniform_bucket_level_access=True on the gcp.storage.Bucket',
    check=check_gcs_public_access,
    examines=(GCS_BUCKET,),
)


def check_gcs_versioning(graph: ResourceGraph) -> Iterable[Finding]:
    """Every GCS bucket keeps noncurrent versions, so an overwrite or delete can be undone."""
    for bucket in graph.of_type(GCS_BUCKET):
        if nested(bucket.inputs.get("versioning")).get("enabled") is True:
            yield Finding(bucket.urn, True, f"{label(bucket)} keeps object versions")
        else:
            yield Finding(bucket.urn, False, f"{label(bucket)} does not enable versioning")


ADV_GCS_VERSIONING_RULE = Guardrail(
    id="MESH-ADV-GCS-VERSIONING",
    title="GCS buckets keep object versions",
    severity=Severity.ADVISORY,
    control=None,
    fix='set versioning={"enabled": True} on the gcp.storage.Bucket',
    check=check_gcs_versioning,
    examines=(GCS_BUCKET,),
)
