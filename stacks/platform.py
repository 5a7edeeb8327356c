"""The platform stack of an environment: the shared resources product stacks rely on.

One stack per environment, `platform.<env>`, in the same Pulumi project as the
product stacks. `mesh platform up --env ENV` applies it; product buckets log to its
access-log bucket, so it goes first in a new environment. Only AWS has shared
resources today; a GCP-only environment has no platform stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from infra.aws import types as aws_types
from infra.model.graph import ResourceGraph
from infra.model.platform_spec import (
    PlatformSpec,
)

LOG_BUCKET = "logBucket"
LOG_BUCKET_ARN = "logBucketArn"
CATALOG_KEY_ARN = "catalogKeyArn"
OUTPUTS = (LOG_BUCKET, LOG_BUCKET_ARN, CATALOG_KEY_ARN)

#: The cloud resources of the program (the planned total shown while it runs).
PLATFORM_RESOURCES = 10


def platform_program(spec: PlatformSpec) -> Callable[[], None]:
    """A Pulumi program that creates `spec`'s shared resources."""

    def program() -> None:
        from components.aws.platform import PlatformShared, PlatformSharedArgs  # noqa: PLC0415 - the AWS SDK is slow to import; only when the program runs

        shared = PlatformShared(
            f"{spec.organization}-{spec.environment}-platform",
            PlatformSharedArgs(
                log_bucket=spec.log_bucket,
                account=spec.account,
                region=spec.region,
                partition=spec.partition,
                source_bucket_pattern=spec.source_bucket_pattern,
                catalog_key_alias=spec.catalog_key_alias,
                log_retention_days=spec.log_retention_days,
                tags=spec.tags,
            ),
        )
        exported: dict[str, Any] = {
            LOG_BUCKET: shared.log_bucket_name,
            LOG_BUCKET_ARN: shared.log_bucket_arn,
            CATALOG_KEY_ARN: shared.catalog_key_arn,
        }
        for key, value in exported.items():
            pulumi.export(key, value)

    return program


# Guardrail failures the platform stack's log bucket has by necessity, and why.
LOG_BUCKET_EXEMPTIONS = {
    "MESH-S3-KMS-ENCRYPTION": "S3 server access logs can only be delivered to a bucket encrypted with SSE-S3 "
    "(AES256); SSE-KMS is not supported for log target buckets",
    "MESH-ADV-LOGGING": "the access-log bucket does not log to itself (that would loop)",
}
_ENCRYPTION = aws_types.ENCRYPTION.token


def platform_exemptions(spec: PlatformSpec, graph: ResourceGraph) -> dict[tuple[str, str], str]:
    """The `(rule id, URN) → reason` exemptions of `spec`'s log bucket for `infra.guardrails.evaluate`.

    The encryption exemption holds only while the bucket really has SSE-S3: a log bucket
    with no default encryption at all still fails.
    """
    buckets = [r for r in graph.of_type(aws_types.BUCKET.token) if r.inputs.get("bucket") == spec.log_bucket]
    if not buckets:
        return {}
    algorithms = {
        rule.get("applyServerSideEncryptionByDefault", {}).get("sseAlgorithm")
        for config in graph.of_type(_ENCRYPTION)
        if config.inputs.get("bucket") == spec.log_bucket
        for rule in config.inputs.get("rules", [])
    }
    accepted = dict(LOG_BUCKET_EXEMPTIONS)
    if algorithms != {"AES256"}:
        del accepted["MESH-S3-KMS-ENCRYPTION"]
    return {(rule_id, buckets[0].urn): reason for rule_id, reason in accepted.items()}
