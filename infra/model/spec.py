"""The resolved spec: one request in one environment, with every name and tag decided.

`resolve` is the only place physical names and tags are computed. Stacks and
components read a `ProductSpec` and never derive a name themselves, so `mesh plan`
shows exactly the names `mesh provision` will create.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.model import names
from infra.model.platform import EnvironmentConfig, PlatformConfig
from infra.model.request import DataProductRequest, OutputPort
from infra.model.schedule import parse_schedule

MANAGED_BY = "mesh"
TAG_DOMAIN = "mesh:domain"
TAG_PRODUCT = "mesh:product"
TAG_ENVIRONMENT = "mesh:environment"
TAG_OWNER = "mesh:owner"
TAG_MANAGED_BY = "mesh:managed-by"
TAG_COST_CENTER = "mesh:cost-center"
TAG_CLASSIFICATION = "mesh:classification"
TAG_STACK = "mesh:stack"
TAG_PREVIEW = "mesh:preview"  # "true" on every resource of an ephemeral preview environment
TAG_EXPIRES_AT = "mesh:expires-at"  # ISO 8601 UTC; after it the sweep may delete the resource
REQUIRED_TAGS = (TAG_DOMAIN, TAG_PRODUCT, TAG_ENVIRONMENT, TAG_OWNER, TAG_MANAGED_BY)

ROLE_PATH = "/mesh/"
DATA_PREFIX = "data"
RESULTS_PREFIX = "athena-results/"
SCRIPTS_PREFIX = "scripts/"


def results_prefix(who: str) -> str:
    """Where a reader's (`producer` or a consumer domain's) Athena query results go in the product bucket."""
    return f"{RESULTS_PREFIX}{who}/"


@dataclass(frozen=True)
class ColumnSpec:
    """A column as the catalog will hold it."""

    name: str
    type: str
    required: bool = False
    pii: bool = False
    description: str | None = None


@dataclass(frozen=True)
class PortSpec:
    """An output port: its table, its prefix in the bucket, and its columns split for the catalog."""

    name: str
    description: str | None
    format: str
    columns: tuple[ColumnSpec, ...]
    partition_keys: tuple[ColumnSpec, ...]
    prefix: str  # "data/<port>/" inside the product bucket
    table: str
    partition_column: str | None = None  # the request's first partition column (BigQuery has one)

    @property
    def all_columns(self) -> tuple[ColumnSpec, ...]:
        """Data columns then partition keys, the order a query sees them."""
        return self.columns + self.partition_keys


@dataclass(frozen=True)
class GrantSpec:
    """Read access for one consumer domain to some ports, and who may use it."""

    domain: str
    ports: tuple[str, ...]
    aws_role: str
    aws_principals: tuple[str, ...]
    athena_workgroup: str  # each reader queries in its own workgroup, so results never mix
    gcp_service_account: str
    gcp_members: tuple[str, ...]


@dataclass(frozen=True)
class TransformSpec:
    """The optional scheduled job."""

    schedule: str
    aws_schedule: str
    entrypoint: Path  # absolute path of the script on the machine that runs mesh
    script_key: str  # where the script is uploaded in the product bucket
    entrypoint_in_request: str = ""  # the path as the request writes it (relative to the request)


@dataclass(frozen=True)
class AwsNames:
    """Every AWS name of a product, and the ARNs that can be known before apply."""

    account: str
    region: str
    partition: str
    endpoints: Mapping[str, str]
    bucket: str
    log_bucket: str
    kms_alias: str
    producer_role: str
    boundary_policy: str
    glue_database: str
    athena_workgroup: str
    glue_job: str
    glue_trigger: str
    topic: str = ""  # the product's SNS topic (signals)
    failure_rule: str = ""  # the EventBridge rule that sends the transform's failed runs to the topic
    role_path: str = ROLE_PATH

    @property
    def access_log_prefix(self) -> str:
        """Where the bucket's server access logs land in the environment's log bucket."""
        return f"s3/{self.bucket}/"

    @property
    def topic_arn(self) -> str:
        """The product's notification topic."""
        return f"arn:{self.partition}:sns:{self.region}:{self.account}:{self.topic}"

    @property
    def failure_rule_arn(self) -> str:
        """The EventBridge rule (default event bus) for the transform's failed runs."""
        return f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{self.failure_rule}"

    @property
    def bucket_arn(self) -> str:
        """`arn:aws:s3:::<bucket>`."""
        return f"arn:{self.partition}:s3:::{self.bucket}"

    def role_arn(self, role: str) -> str:
        """The ARN of one of the product's roles."""
        return f"arn:{self.partition}:iam::{self.account}:role{self.role_path}{role}"

    def policy_arn(self, policy: str) -> str:
        """The ARN of a customer-managed policy of the product."""
        return f"arn:{self.partition}:iam::{self.account}:policy{self.role_path}{policy}"

    @property
    def glue_catalog_arn(self) -> str:
        """The account's Glue Data Catalog."""
        return f"arn:{self.partition}:glue:{self.region}:{self.account}:catalog"

    @property
    def glue_database_arn(self) -> str:
        """The product's Glue database."""
        return f"arn:{self.partition}:glue:{self.region}:{self.account}:database/{self.glue_database}"

    def glue_table_arn(self, table: str) -> str:
        """One of the product's Glue tables."""
        return f"arn:{self.partition}:glue:{self.region}:{self.account}:table/{self.glue_database}/{table}"

    @property
    def athena_workgroup_arn(self) -> str:
        """The product's Athena workgroup."""
        return f"arn:{self.partition}:athena:{self.region}:{self.account}:workgroup/{self.athena_workgroup}"

    @property
    def account_root(self) -> str:
        """The account principal (trust is then delegated to IAM policies in that account)."""
        return f"arn:{self.partition}:iam::{self.account}:root"


@dataclass(frozen=True)
class GcpNames:
    """Every GCP name of a product."""

    project: str
    region: str
    bucket: str
    log_bucket: str
    dataset: str
    key_ring: str
    crypto_key: str
    producer_service_account: str
    topic: str = ""  # the product's Pub/Sub topic (signals)


@dataclass(frozen=True)
class ProductSpec:
    """One data product in one environment, fully resolved. Built by `resolve` only."""

    organization: str
    domain: str
    product: str
    environment: str
    cloud: str
    owner: str
    description: str
    version: str
    classification: str
    retention_days: int
    cost_center: str
    stack: str
    project: str
    ports: tuple[PortSpec, ...]
    grants: tuple[GrantSpec, ...]
    inputs: tuple[str, ...]
    producer_aws_principals: tuple[str, ...]
    producer_gcp_members: tuple[str, ...]
    query_limit_bytes: int
    freshness_hours: int | None
    transform: TransformSpec | None
    tags: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    aws: AwsNames | None = None
    gcp: GcpNames | None = None
    platform_environment: str = ""  # the mesh.yaml environment (differs from `environment` when ephemeral)
    expires_at: str | None = None  # set for ephemeral environments
    platform_readers: tuple[str, ...] = ()  # mesh.yaml platformReaders.aws: `mesh health` and CI identities
    break_glass_aws: tuple[str, ...] = ()  # mesh.yaml `breakGlass.aws`: exempt from the data perimeter
    break_glass_gcp: tuple[str, ...] = ()  # mesh.yaml `breakGlass.gcp`

    def contract(self) -> dict[str, Any]:
        """What consumers depend on: version, ports with columns and partitioning, and grants."""
        return {
            "version": self.version,
            "classification": self.classification,
            "ports": {
                port.name: {
                    "format": port.format,
                    "columns": [
                        {"name": c.name, "type": c.type, "required": c.required, "pii": c.pii}
                        for c in sorted(port.all_columns, key=lambda c: c.name)
                    ],
                    "partitionedBy": [k.name for k in port.partition_keys]
                    or ([port.partition_column] if port.partition_column else []),
                }
                for port in self.ports
            },
            "consumers": {grant.domain: list(grant.ports) for grant in self.grants},
        }

    def port(self, name: str) -> PortSpec:
        """The output port called `name`."""
        for port in self.ports:
            if port.name == name:
                return port
        raise KeyError(name)

    def require_aws(self) -> AwsNames:
        """The AWS names; a `ValueError` when the product is not on AWS (a programming error)."""
        if self.aws is None:
            raise ValueError(f"{self.stack} is not an AWS product")
        return self.aws

    def require_gcp(self) -> GcpNames:
        """The GCP names; a `ValueError` when the product is not on GCP (a programming error)."""
        if self.gcp is None:
            raise ValueError(f"{self.stack} is not a GCP product")
        return self.gcp


def product_base(organization: str, environment: str, domain: str, product: str) -> str:
    """`<org>-<env>-<domain>-<product>`: the stem of the product's physical names."""
    return f"{organization}-{environment}-{domain}-{product}"


def stack_name(domain: str, product: str, environment: str) -> str:
    """The Pulumi stack of a product in an environment."""
    return names.fit(f"{domain}.{product}.{environment}", names.PULUMI_STACK_MAX, sep=".")


def project_name(organization: str) -> str:
    """The Pulumi project that holds every product stack of an organisation."""
    return f"mesh-{organization}"


def log_bucket_name(organization: str, environment: str) -> str:
    """The environment's shared access-log bucket (domain `platform` is reserved for it)."""
    return names.s3_bucket(f"{organization}-{environment}-platform-access-logs")


def _principals(templates: list[str], account: str) -> tuple[str, ...]:
    if not account:
        return ()  # not an AWS product: an ARN without its account would name nobody
    return tuple(sorted({t.replace("{account}", account) for t in templates}))


def _aws_names(base: str, org: str, env_name: str, env: EnvironmentConfig) -> AwsNames:
    assert env.aws is not None
    partition = (
        "aws-us-gov"
        if "-gov-" in env.aws.region
        else ("aws-cn" if env.aws.region.startswith("cn-") else "aws")
    )
    return AwsNames(
        account=env.aws.account,
        region=env.aws.region,
        partition=partition,
        endpoints={str(k): v for k, v in env.aws.endpoints.items()},
        bucket=names.s3_bucket(base),
        log_bucket=log_bucket_name(org, env_name),
        kms_alias=names.fit(f"alias/mesh/{base}", names.KMS_ALIAS_MAX),
        producer_role=names.fit(base, names.IAM_ROLE_MAX, suffix="-producer"),
        boundary_policy=names.fit(base, names.IAM_POLICY_MAX, suffix="-boundary"),
        glue_database=names.fit(names.catalog_identifier(*base.split("-", 3)), names.GLUE_NAME_MAX, sep="_"),
        athena_workgroup=names.fit(base, names.ATHENA_WORKGROUP_MAX, suffix="-producer"),
        glue_job=names.fit(base, 255, suffix="-transform"),
        glue_trigger=names.fit(base, 255, suffix="-schedule"),
        topic=names.fit(base, names.SNS_TOPIC_MAX, suffix="-signals"),
        failure_rule=names.fit(base, names.EVENTBRIDGE_RULE_MAX, suffix="-failed-runs"),
    )


def _gcp_names(
    base: str, org: str, env_name: str, env: EnvironmentConfig, domain: str, product: str, label: str
) -> GcpNames:
    assert env.gcp is not None
    sa_base = f"{label}-{domain}-{product}"
    return GcpNames(
        project=env.gcp.project,
        region=env.gcp.region,
        bucket=names.fit(base, names.GCS_BUCKET_MAX),
        log_bucket=names.fit(f"{org}-{env_name}-platform-access-logs", names.GCS_BUCKET_MAX),
        dataset=names.fit(names.catalog_identifier(*base.split("-", 3)), names.BIGQUERY_DATASET_MAX, sep="_"),
        key_ring=names.fit(base, names.GCP_KEY_RING_MAX),
        crypto_key="data",
        producer_service_account=names.gcp_service_account_id(sa_base, "-p"),
        topic=names.fit(base, names.PUBSUB_TOPIC_MAX, suffix="-signals"),
    )


def _port(port: OutputPort, cloud: str) -> PortSpec:
    by_name = {c.name: c for c in port.columns}
    partition = tuple(
        ColumnSpec(
            name=n,
            type=by_name[n].type,
            required=by_name[n].required,
            pii=by_name[n].pii,
            description=by_name[n].description,
        )
        for n in port.partitioned_by
    )
    # Glue keeps partition keys apart from columns; BigQuery keeps them in the schema.
    keep = (lambda c: c.name not in port.partitioned_by) if cloud == "aws" else (lambda c: True)
    columns = tuple(
        ColumnSpec(name=c.name, type=c.type, required=c.required, pii=c.pii, description=c.description)
        for c in port.columns
        if keep(c)
    )
    return PortSpec(
        name=port.name,
        description=port.description,
        format=str(port.format),
        columns=columns,
        partition_keys=partition if cloud == "aws" else (),
        prefix=f"{DATA_PREFIX}/{port.name}/",
        table=port.name,
        partition_column=port.partitioned_by[0] if port.partitioned_by else None,
    )


@dataclass(frozen=True)
class Ephemeral:
    """A short-lived environment inside a preview environment (one per pull request)."""

    name: str  # [a-z0-9]{1,12}
    expires_at: str  # ISO 8601 UTC


EPHEMERAL_NAME = re.compile(r"^[a-z0-9]{1,12}$")


def environment_label(environment: str, ephemeral: Ephemeral | None) -> str:
    """The environment part of physical names: `preview` + `pr123` for an ephemeral one.

    The platform config forbids other environment names that start with a preview
    environment's name, so an ephemeral label never equals a regular environment."""
    return f"{environment}{ephemeral.name}" if ephemeral else environment


def resolve(
    request: DataProductRequest,
    platform: PlatformConfig,
    environment: str,
    *,
    request_dir: Path,
    ephemeral: Ephemeral | None = None,
) -> ProductSpec:
    """Resolve a validated request in one environment of a validated platform config.

    The request must already have passed `infra.validation` (domains registered, ports
    existing); violations here are programming errors and raise `ValueError`/`KeyError`.
    With `ephemeral`, `environment` must be a preview environment; names and the stack
    carry the ephemeral environment's label and every resource its expiry.
    """
    env = platform.environments[environment]
    if ephemeral is not None and not env.preview:
        raise ValueError(f"ephemeral environments live in preview environments, not {environment}")
    meta, spec = request.metadata, request.spec
    cloud = str(spec.cloud)
    org = platform.organization
    domain = platform.domains[meta.domain]
    label = environment_label(environment, ephemeral)
    base = product_base(org, label, meta.domain, meta.name)
    stack = stack_name(meta.domain, meta.name, label)

    aws = _aws_names(base, org, environment, env) if cloud == "aws" else None
    gcp = (
        _gcp_names(base, org, environment, env, domain=meta.domain, product=meta.name, label=label)
        if cloud == "gcp"
        else None
    )
    account = aws.account if aws else ""

    grants = []
    for consumer in spec.access.consumers:
        cfg = platform.domains[consumer.domain]
        grants.append(
            GrantSpec(
                domain=consumer.domain,
                ports=tuple(dict.fromkeys(consumer.ports)),
                aws_role=names.fit(base, names.IAM_ROLE_MAX, suffix=f"-{consumer.domain}-consumer"),
                aws_principals=_principals(cfg.principals.aws, account)
                or ((aws.account_root,) if aws else ()),
                athena_workgroup=names.fit(
                    base, names.ATHENA_WORKGROUP_MAX, suffix=f"-{consumer.domain}-consumer"
                ),
                gcp_service_account=names.gcp_service_account_id(
                    f"{label}-{meta.domain}-{meta.name}", f"-{consumer.domain}-c"
                ),
                gcp_members=tuple(sorted(cfg.principals.gcp)),
            )
        )

    transform = None
    if spec.compute.transform is not None:
        schedule = parse_schedule(spec.compute.transform.schedule)
        entry = (request_dir / spec.compute.transform.entrypoint).resolve()
        transform = TransformSpec(
            schedule=schedule.expression,
            aws_schedule=schedule.aws(),
            entrypoint=entry,
            script_key=f"{SCRIPTS_PREFIX}{entry.name}",
            entrypoint_in_request=spec.compute.transform.entrypoint,
        )

    tags = {
        TAG_DOMAIN: meta.domain,
        TAG_PRODUCT: meta.name,
        TAG_ENVIRONMENT: label,
        TAG_OWNER: meta.owner,
        TAG_MANAGED_BY: MANAGED_BY,
        TAG_COST_CENTER: domain.cost_center,
        TAG_CLASSIFICATION: str(spec.classification),
        TAG_STACK: stack,
    }
    if env.preview:
        tags[TAG_PREVIEW] = "true"
    if ephemeral is not None:
        tags[TAG_EXPIRES_AT] = ephemeral.expires_at
    labels = {k.replace(":", "-"): names.gcp_label_value(v) for k, v in tags.items()}

    return ProductSpec(
        organization=org,
        domain=meta.domain,
        product=meta.name,
        environment=label,
        cloud=cloud,
        owner=meta.owner,
        description=meta.description,
        version=meta.version,
        classification=str(spec.classification),
        retention_days=spec.retention_days,
        cost_center=domain.cost_center,
        stack=stack,
        project=project_name(org),
        ports=tuple(_port(p, cloud) for p in spec.output_ports),
        grants=tuple(grants),
        inputs=tuple(f"{i.product}:{i.port}" for i in spec.input_ports),
        producer_aws_principals=_principals(domain.principals.aws, account)
        or ((aws.account_root,) if aws else ()),
        producer_gcp_members=tuple(sorted(domain.principals.gcp)),
        query_limit_bytes=spec.compute.query.bytes_scanned_limit_gb * 1024**3,
        freshness_hours=spec.slo.freshness_hours if spec.slo else None,
        transform=transform,
        tags=tags,
        labels=labels,
        aws=aws,
        gcp=gcp,
        platform_environment=environment,
        expires_at=ephemeral.expires_at if ephemeral else None,
        platform_readers=_principals(platform.platform_readers.aws, account),
        break_glass_aws=_principals(platform.break_glass.aws, account),
        break_glass_gcp=tuple(sorted(platform.break_glass.gcp)),
    )
