"""S3 bucket rules: public access, TLS, encryption, ownership, bucket policies, versioning, lifecycle, logging.

Rules about a bucket report against the bucket's URN, whichever of its sub-resources
(public access block, policy, encryption, …) is at fault; the message names that
sub-resource. Bucket settings are read from the separate pulumi-aws resources mesh's
components create; the deprecated inline forms on `aws.s3.Bucket` (`versioning=`,
`logging=`, …) are not read, so a bucket configured that way fails with "has no …".
An inline bucket `policy` is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from infra.aws import types
from infra.aws.guardrails.documents import (
    bucket_configs,
    bucket_id_of,
    covers,
    documents_of,
    public_statements,
    same_account,
    unreadable_message,
)
from infra.model.graph import Resource, ResourceGraph
from infra.model.iam import as_list, principals
from infra.rule import Finding, Guardrail, Severity, glob, label, nested

BUCKET = types.BUCKET.token
PUBLIC_ACCESS_BLOCK = types.PUBLIC_ACCESS_BLOCK.token
OWNERSHIP_CONTROLS = types.OWNERSHIP_CONTROLS.token
VERSIONING = types.VERSIONING.token
ENCRYPTION = types.ENCRYPTION.token
LIFECYCLE = types.LIFECYCLE.token
LOGGING = types.LOGGING.token
BUCKET_POLICY = types.BUCKET_POLICY.token
PUBLIC_ACCESS_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_SSE_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def _each_bucket(
    graph: ResourceGraph,
    type_: str,
    what: str,
    judge: Callable[[Resource], list[str]],
    holds: str,
) -> Iterator[Finding]:
    """One finding per bucket: its `type_` sub-resources exist and `judge` finds no problem."""
    for bucket in graph.of_type(BUCKET):
        configs = bucket_configs(graph, type_, bucket)
        if not configs:
            yield Finding(bucket.urn, False, f"{label(bucket)} has no {what}")
            continue
        problems = [problem for config in configs for problem in judge(config)]
        if problems:
            yield Finding(bucket.urn, False, f"{label(bucket)}: {'; '.join(problems)}")
        else:
            yield Finding(
                bucket.urn, True, f"{label(bucket)}: {holds} ({', '.join(c.name for c in configs)})"
            )


def check_public_access_block(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has a public access block with all four settings true."""

    def judge(block: Resource) -> list[str]:
        off = [s for s in PUBLIC_ACCESS_SETTINGS if block.inputs.get(s) is not True]
        return [f"public access block {block.name} does not set {', '.join(off)} to true"] if off else []

    return _each_bucket(
        graph,
        PUBLIC_ACCESS_BLOCK,
        "public access block",
        judge,
        "all four public access block settings are true",
    )


S3_PUBLIC_ACCESS_RULE = Guardrail(
    id="MESH-S3-PUBLIC-ACCESS",
    title="S3 buckets block all public access",
    severity=Severity.MANDATORY,
    control="S3.8",
    fix="attach an aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true",
    check=check_public_access_block,
    examines=(BUCKET, PUBLIC_ACCESS_BLOCK),
)


def _denies_insecure_transport(statement: dict[str, Any], bucket_id: str) -> bool:
    """Deny, to everyone, every S3 action on the bucket and its objects when TLS is not used."""
    if str(statement.get("Effect", "")).lower() != "deny":
        return False
    if not any(value == "*" for _, value in principals(statement)):
        return False
    actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
    if not any(glob(a, "s3:*", ignore_case=True) for a in actions):
        return False
    resources = as_list(statement.get("Resource"))
    if not (
        covers(resources, f"arn:aws:s3:::{bucket_id}") and covers(resources, f"arn:aws:s3:::{bucket_id}/*")
    ):
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if str(operator).lower() not in ("bool", "boolifexists") or not isinstance(tests, dict):
            continue
        for key, value in tests.items():
            if str(key).lower() == "aws:securetransport" and any(
                str(v).lower() == "false" for v in as_list(value)
            ):
                return True
    return False


def check_tls_only(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has a policy denying `s3:*` to `*` on the bucket and its objects without TLS."""
    for bucket in graph.of_type(BUCKET):
        bucket_id = bucket_id_of(bucket)
        documents = [
            d for r in (bucket, *bucket_configs(graph, BUCKET_POLICY, bucket)) for d in documents_of(r)
        ]
        if not documents:
            yield Finding(
                bucket.urn,
                False,
                f"{label(bucket)} has no bucket policy, so it accepts requests without TLS",
            )
            continue
        unreadable = [unreadable_message(d) for d in documents if d.statements is None]
        if unreadable:
            yield Finding(bucket.urn, False, f"{label(bucket)}: {'; '.join(unreadable)}")
            continue
        names = ", ".join(d.resource.name for d in documents)
        if any(_denies_insecure_transport(s, bucket_id) for d in documents for s in d.statements or ()):
            yield Finding(bucket.urn, True, f"{label(bucket)}: requests without TLS are denied ({names})")
        else:
            yield Finding(
                bucket.urn,
                False,
                f"{label(bucket)}: bucket policy {names} has no statement denying s3:* to Principal * on the bucket and its objects when aws:SecureTransport is false",
            )


S3_TLS_ONLY_RULE = Guardrail(
    id="MESH-S3-TLS-ONLY",
    title="S3 buckets deny requests without TLS",
    severity=Severity.MANDATORY,
    control="S3.5",
    fix='add a bucket policy statement {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [bucket ARN, bucket ARN + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}',
    check=check_tls_only,
    examines=(BUCKET, BUCKET_POLICY),
)


def check_kms_encryption(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket encrypts by default with SSE-KMS and a named customer managed key."""

    def judge(encryption: Resource) -> list[str]:
        rules = [r for r in as_list(encryption.inputs.get("rules")) if isinstance(r, dict)]
        if not rules:
            return [f"encryption configuration {encryption.name} has no rule"]
        problems = []
        for rule_ in rules:
            default = nested(rule_.get("applyServerSideEncryptionByDefault"))
            algorithm = default.get("sseAlgorithm")
            if algorithm not in KMS_SSE_ALGORITHMS:
                problems.append(
                    f"encryption configuration {encryption.name} uses {algorithm or 'no algorithm'} instead of aws:kms"
                )
            elif not default.get("kmsMasterKeyId"):
                problems.append(
                    f"encryption configuration {encryption.name} uses aws:kms without kmsMasterKeyId, so S3 falls back to the AWS managed key"
                )
        return problems

    return _each_bucket(
        graph,
        ENCRYPTION,
        "default encryption configuration",
        judge,
        "default encryption is SSE-KMS with a customer managed key",
    )


S3_KMS_ENCRYPTION_RULE = Guardrail(
    id="MESH-S3-KMS-ENCRYPTION",
    title="S3 buckets encrypt by default with a KMS key",
    severity=Severity.MANDATORY,
    control="S3.17",
    fix="attach an aws.s3.BucketServerSideEncryptionConfiguration whose rule sets sseAlgorithm aws:kms and kmsMasterKeyId to the product's key ARN",
    check=check_kms_encryption,
    examines=(BUCKET, ENCRYPTION),
)


def check_ownership_controls(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has ownership controls `BucketOwnerEnforced` (ACLs disabled)."""

    def judge(controls: Resource) -> list[str]:
        ownership = nested(controls.inputs.get("rule")).get("objectOwnership")
        if ownership == "BucketOwnerEnforced":
            return []
        return [
            f"ownership controls {controls.name} set objectOwnership to {ownership or 'nothing'}, which leaves ACLs enabled"
        ]

    return _each_bucket(
        graph, OWNERSHIP_CONTROLS, "ownership controls", judge, "ACLs are disabled (BucketOwnerEnforced)"
    )


S3_OWNER_ENFORCED_RULE = Guardrail(
    id="MESH-S3-OWNER-ENFORCED",
    title="S3 buckets disable ACLs",
    severity=Severity.MANDATORY,
    control="S3.12",
    fix="attach an aws.s3.BucketOwnershipControls with rule objectOwnership BucketOwnerEnforced",
    check=check_ownership_controls,
    examines=(BUCKET, OWNERSHIP_CONTROLS),
)


S3_PUBLIC_POLICY_RULE = Guardrail(
    id="MESH-S3-PUBLIC-POLICY",
    title="Bucket policies grant nothing to everyone unconditionally",
    severity=Severity.MANDATORY,
    control="S3.2",
    fix="name the principals (role ARNs) in the Allow statement, or add a Condition that restricts who matches",
    check=public_statements("bucket policy", "no Allow reaches a wildcard principal without a Condition"),
    examines=(BUCKET, BUCKET_POLICY),
)


S3_CROSS_ACCOUNT_RULE = Guardrail(
    id="MESH-S3-CROSS-ACCOUNT",
    title="Bucket policies grant only principals of the product's account",
    severity=Severity.MANDATORY,
    control="S3.6",
    fix="grant only roles of the product's own account; other domains read through their consumer role in this account",
    check=same_account("bucket policy"),
    examines=(BUCKET, BUCKET_POLICY),
)


def check_versioning(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has versioning enabled."""

    def judge(versioning: Resource) -> list[str]:
        status = versioning.input("versioningConfiguration", "status")
        return [] if status == "Enabled" else [f"versioning {versioning.name} has status {status or 'unset'}"]

    return _each_bucket(graph, VERSIONING, "versioning configuration", judge, "versioning is enabled")


ADV_VERSIONING_RULE = Guardrail(
    id="MESH-ADV-VERSIONING",
    title="S3 buckets keep object versions",
    severity=Severity.ADVISORY,
    control="S3.14",
    fix="attach an aws.s3.BucketVersioning with versioningConfiguration status Enabled",
    check=check_versioning,
    examines=(BUCKET, VERSIONING),
)


def check_lifecycle(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has a lifecycle configuration with at least one enabled rule."""

    def judge(lifecycle: Resource) -> list[str]:
        rules = [r for r in as_list(lifecycle.inputs.get("rules")) if isinstance(r, dict)]
        if any(r.get("status") == "Enabled" for r in rules):
            return []
        return [f"lifecycle configuration {lifecycle.name} has no enabled rule"]

    return _each_bucket(
        graph, LIFECYCLE, "lifecycle configuration", judge, "a lifecycle configuration expires data"
    )


ADV_LIFECYCLE_RULE = Guardrail(
    id="MESH-ADV-LIFECYCLE",
    title="S3 buckets expire data by lifecycle rules",
    severity=Severity.ADVISORY,
    control="S3.13",
    fix="attach an aws.s3.BucketLifecycleConfiguration with an enabled rule (mesh derives expiry from retentionDays)",
    check=check_lifecycle,
    examines=(BUCKET, LIFECYCLE),
)


def check_access_logging(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket logs server access to another bucket."""

    def judge(logging: Resource) -> list[str]:
        target = logging.inputs.get("targetBucket")
        if not target:
            return [f"access logging {logging.name} names no target bucket"]
        if target == logging.inputs.get("bucket"):
            return [
                f"access logging {logging.name} logs into the bucket itself, which feeds its own logs back"
            ]
        return []

    return _each_bucket(
        graph, LOGGING, "server access logging", judge, "server access logs go to another bucket"
    )


ADV_LOGGING_RULE = Guardrail(
    id="MESH-ADV-LOGGING",
    title="S3 buckets log server access",
    severity=Severity.ADVISORY,
    control="S3.9",
    fix="attach an aws.s3.BucketLogging whose targetBucket is the environment's access-log bucket",
    check=check_access_logging,
    examines=(BUCKET, LOGGING),
)
