"""Glue job rules: a security configuration that KMS-encrypts output, bookmarks and logs."""

from __future__ import annotations

from collections.abc import Iterable

from infra.aws import types
from infra.model.graph import ResourceGraph
from infra.rule import Finding, Guardrail, Severity, label, nested

ENCRYPTION = types.ENCRYPTION.token
GLUE_SECURITY_CONFIGURATION = types.GLUE_SECURITY_CONFIGURATION.token
GLUE_JOB = types.GLUE_JOB.token
GLUE_ENCRYPTION = (  # (block, mode key, the mode mesh requires, what it protects)
    ("s3Encryption", "s3EncryptionMode", "SSE-KMS", "S3 output"),
    ("jobBookmarksEncryption", "jobBookmarksEncryptionMode", "CSE-KMS", "job bookmarks"),
    ("cloudwatchEncryption", "cloudwatchEncryptionMode", "SSE-KMS", "CloudWatch logs"),
)


def check_glue_job_encryption(graph: ResourceGraph) -> Iterable[Finding]:
    """Every Glue job runs under a security configuration that encrypts its S3 output, its job
    bookmarks and its CloudWatch logs with a KMS key."""
    configurations = {r.inputs.get("name"): r for r in graph.of_type(GLUE_SECURITY_CONFIGURATION)}
    for job in graph.of_type(GLUE_JOB):
        name = job.inputs.get("securityConfiguration")
        configuration = configurations.get(name) if name else None
        if not name:
            yield Finding(
                job.urn,
                False,
                f"{label(job)} runs without a security configuration, so its S3 output, bookmarks and logs are not KMS-encrypted",
            )
            continue
        if configuration is None:
            yield Finding(
                job.urn,
                False,
                f"{label(job)} names security configuration {name}, which this stack does not create, so its encryption cannot be checked",
            )
            continue
        encryption = nested(configuration.inputs.get("encryptionConfiguration"))
        gaps = []
        for block, key, wanted, what in GLUE_ENCRYPTION:
            settings = nested(encryption.get(block))
            mode = settings.get(key)
            if mode != wanted or not settings.get("kmsKeyArn"):
                key_note = "" if settings.get("kmsKeyArn") else " without kmsKeyArn"
                gaps.append(f"{what}: {key} {mode or 'unset'}{key_note} instead of {wanted} with a key")
        if gaps:
            yield Finding(
                job.urn,
                False,
                f"{label(job)}: security configuration {configuration.name} leaves " + "; ".join(gaps),
            )
        else:
            yield Finding(
                job.urn,
                True,
                f"{label(job)} encrypts its S3 output, bookmarks and logs with KMS ({configuration.name})",
            )


ADV_GLUE_ENCRYPTION_RULE = Guardrail(
    id="MESH-ADV-GLUE-ENCRYPTION",
    title="Glue jobs encrypt their S3 output, bookmarks and logs with KMS",
    severity=Severity.ADVISORY,
    control=None,
    fix="create an aws.glue.SecurityConfiguration with s3Encryption SSE-KMS, jobBookmarksEncryption CSE-KMS and cloudwatchEncryption SSE-KMS, each with the product's key, and name it in the job's securityConfiguration",
    check=check_glue_job_encryption,
    examines=(GLUE_JOB, GLUE_SECURITY_CONFIGURATION),
)
