"""The platform spec of an environment: the shared resources' names, decided once.

The platform resolver sits beside the product resolver (`infra.model.spec.resolve`); the
platform stack (`stacks/platform.py`) builds its program from the spec returned here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.model import names
from infra.model.errors import MeshError
from infra.model.platform import RESERVED_DOMAIN, PlatformConfig
from infra.model.spec import (
    MANAGED_BY,
    TAG_DOMAIN,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_OWNER,
    TAG_PRODUCT,
    TAG_STACK,
    log_bucket_name,
    project_name,
)

PLATFORM_PRODUCT = "shared"
PLATFORM_OWNER = "platform-team"
LOG_RETENTION_DAYS = 365


def platform_stack_name(environment: str) -> str:
    """`platform.<env>`: cannot clash with a product stack, whose domain is never `platform`."""
    return f"{RESERVED_DOMAIN}.{environment}"


@dataclass(frozen=True)
class PlatformSpec:
    """One environment's shared resources, every name decided."""

    organization: str
    environment: str
    project: str
    stack: str
    account: str
    region: str
    partition: str
    log_bucket: str
    source_bucket_pattern: str
    catalog_key_alias: str
    log_retention_days: int = LOG_RETENTION_DAYS
    tags: dict[str, str] = field(default_factory=dict)


def resolve_platform(config: PlatformConfig, environment: str) -> PlatformSpec:
    """The platform spec of `environment`; a `MeshError` when it has no AWS target (nothing to share)."""
    env = config.environments[environment]
    if env.aws is None:
        raise MeshError(
            f"Environment {environment} has no shared platform resources: they exist for AWS only.",
            hint="GCP products need no platform stack; provision them directly.",
        )
    org = config.organization
    region = env.aws.region
    partition = "aws-us-gov" if "-gov-" in region else ("aws-cn" if region.startswith("cn-") else "aws")
    stack = platform_stack_name(environment)
    return PlatformSpec(
        organization=org,
        environment=environment,
        project=project_name(org),
        stack=stack,
        account=env.aws.account,
        region=region,
        partition=partition,
        log_bucket=log_bucket_name(org, environment),
        # Product buckets are `<org>-<env>-<domain>-<product>` (cut at the end when long).
        source_bucket_pattern=f"arn:{partition}:s3:::{org}-{environment}-*",
        catalog_key_alias=names.fit(f"alias/mesh/{org}-{environment}-glue-catalog", names.KMS_ALIAS_MAX),
        tags={
            TAG_DOMAIN: RESERVED_DOMAIN,
            TAG_PRODUCT: PLATFORM_PRODUCT,
            TAG_ENVIRONMENT: environment,
            TAG_OWNER: PLATFORM_OWNER,
            TAG_MANAGED_BY: MANAGED_BY,
            TAG_STACK: stack,
        },
    )
