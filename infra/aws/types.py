"""Every AWS resource type mesh creates or reads, one descriptor each (pulumi-aws v7 tokens).

A new type is a component change plus one entry here; `tests/infra/test_resource_types.py`
fails when a type in an example graph, or one a component can create, has none.
"""

from __future__ import annotations

from typing import Any

from infra.model.graph import placeholder
from infra.model.resource_type import CloudContext, ResourceType, registry


def _arn(ctx: CloudContext, service: str, resource: str) -> str:
    return f"arn:{ctx.partition}:{service}:{ctx.region}:{ctx.account}:{resource}"


def _bucket(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    bucket = inputs.get("bucket") or placeholder(name, "bucket")
    return bucket, {
        "bucket": bucket,
        "arn": f"arn:{ctx.partition}:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "region": ctx.region,
    }


def _bucket_object(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    return f"{inputs.get('bucket')}/{inputs.get('key')}", {
        "versionId": placeholder(name, "versionId"),
        "etag": placeholder(name, "etag"),
    }


def _key(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    key_id = placeholder(name, "keyId")
    return key_id, {"keyId": key_id, "arn": _arn(ctx, "kms", f"key/{key_id}")}


def _alias(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    alias = inputs.get("name") or placeholder(name, "name")
    return alias, {"arn": _arn(ctx, "kms", alias)}


def _role(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    role = inputs.get("name") or placeholder(name, "name")
    path = inputs.get("path") or "/"
    return role, {
        "name": role,
        "arn": f"arn:{ctx.partition}:iam::{ctx.account}:role{path}{role}",
        "uniqueId": placeholder(name, "uniqueId"),
    }


def _policy(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    policy = inputs.get("name") or placeholder(name, "name")
    path = inputs.get("path") or "/"
    arn = f"arn:{ctx.partition}:iam::{ctx.account}:policy{path}{policy}"
    return arn, {"arn": arn, "policyId": placeholder(name, "policyId")}


def _database(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    database = inputs.get("name", name)
    return f"{ctx.account}:{database}", {
        "arn": _arn(ctx, "glue", f"database/{database}"),
        "catalogId": ctx.account,
    }


def _table(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    database, table = inputs.get("databaseName", ""), inputs.get("name", name)
    return f"{ctx.account}:{database}:{table}", {
        "arn": _arn(ctx, "glue", f"table/{database}/{table}"),
        "catalogId": ctx.account,
    }


def _named(service: str, kind: str) -> Any:
    """Mock identifiers for a resource whose id is its name and whose ARN is `<kind>/<name>`."""

    def identifiers(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
        value = inputs.get("name", name)
        return value, {"arn": _arn(ctx, service, f"{kind}/{value}")}

    return identifiers


# --- S3 ---------------------------------------------------------------------------------
BUCKET = ResourceType(
    "aws:s3/bucket:Bucket",
    "bucket",
    mock=_bucket,
    replace_keys=("bucket",),
    stateful=True,
    taggable=True,
    applier="bucket",
    converger="converge_bucket",
    checker="bucket",
    documents=(("policy", "bucket policy"),),
)
# Listed so the engine guards it against replacement in stacks created before the v7 `Bucket`.
BUCKET_V2 = ResourceType("aws:s3/bucketV2:BucketV2", "bucket", stateful=True)
PUBLIC_ACCESS_BLOCK = ResourceType(
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "public access block",
    applier="public_access_block",
)
OWNERSHIP_CONTROLS = ResourceType(
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls", "ownership controls", applier="ownership"
)
VERSIONING = ResourceType("aws:s3/bucketVersioning:BucketVersioning", "versioning", applier="versioning")
ENCRYPTION = ResourceType(
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "encryption configuration",
    applier="encryption",
)
LIFECYCLE = ResourceType(
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "lifecycle configuration",
    applier="lifecycle",
)
LOGGING = ResourceType("aws:s3/bucketLogging:BucketLogging", "access logging", applier="logging")
BUCKET_POLICY = ResourceType(
    "aws:s3/bucketPolicy:BucketPolicy",
    "bucket policy",
    applier="bucket_policy",
    documents=(("policy", "bucket policy"),),
)
BUCKET_OBJECT = ResourceType(
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "bucket object",
    mock=_bucket_object,
    replace_keys=("bucket", "key"),
    taggable=True,
    applier="bucket_object",
)
# --- KMS --------------------------------------------------------------------------------
KMS_KEY = ResourceType(
    "aws:kms/key:Key",
    "KMS key",
    mock=_key,
    replace_keys=("customerMasterKeySpec", "keyUsage"),
    stateful=True,
    taggable=True,
    applier="key",
    checker="key",
    documents=(("policy", "key policy"),),
)
KMS_ALIAS = ResourceType(
    "aws:kms/alias:Alias",
    "KMS alias",
    mock=_alias,
    replace_keys=("name",),
    applier="alias",
    converger="converge_alias",
)
KEY_POLICY = ResourceType(
    "aws:kms/keyPolicy:KeyPolicy", "key policy", applier="key_policy", documents=(("policy", "key policy"),)
)
# --- IAM --------------------------------------------------------------------------------
IAM_POLICY = ResourceType(
    "aws:iam/policy:Policy",
    "IAM policy",
    mock=_policy,
    replace_keys=("name", "path"),
    taggable=True,
    applier="policy",
    converger="converge_policy",
    documents=(("policy", "identity policy"),),
)
IAM_ROLE = ResourceType(
    "aws:iam/role:Role",
    "role",
    mock=_role,
    replace_keys=("name", "path"),
    taggable=True,
    applier="role",
    converger="converge_role",
    checker="role",
    documents=(("assumeRolePolicy", "trust policy"),),
)
ROLE_POLICY = ResourceType(
    "aws:iam/rolePolicy:RolePolicy",
    "role policy",
    replace_keys=("name", "role"),
    applier="role_policy",
    documents=(("policy", "identity policy"),),
)
# Not created by mesh's components; read by the guardrails so a hand-written stack is judged too.
USER_POLICY = ResourceType(
    "aws:iam/userPolicy:UserPolicy", "user policy", documents=(("policy", "identity policy"),)
)
GROUP_POLICY = ResourceType(
    "aws:iam/groupPolicy:GroupPolicy", "group policy", documents=(("policy", "identity policy"),)
)
ROLE_POLICY_ATTACHMENT = ResourceType(
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "role policy attachment"
)
# --- Glue and Athena ----------------------------------------------------------------------
GLUE_DATABASE = ResourceType(
    "aws:glue/catalogDatabase:CatalogDatabase",
    "Glue database",
    mock=_database,
    replace_keys=("name",),
    stateful=True,
    taggable=True,
    applier="database",
)
GLUE_TABLE = ResourceType(
    "aws:glue/catalogTable:CatalogTable",
    "Glue table",
    mock=_table,
    replace_keys=("name", "databaseName"),
    stateful=True,
    applier="table",
    converger="converge_table",
    checker="table",
)
GLUE_SECURITY_CONFIGURATION = ResourceType(
    "aws:glue/securityConfiguration:SecurityConfiguration",
    "Glue security configuration",
    replace_keys=("name", "encryptionConfiguration"),
    applier="security_configuration",
)
# The platform stack's account-wide Data Catalog encryption (no emulator applier: moto lacks it).
GLUE_CATALOG_ENCRYPTION = ResourceType(
    "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings",
    "Glue Data Catalog encryption settings",
    replace_keys=("catalogId",),
)
GLUE_JOB = ResourceType(
    "aws:glue/job:Job",
    "Glue job",
    mock=_named("glue", "job"),
    replace_keys=("name",),
    taggable=True,
    applier="job",
)
GLUE_TRIGGER = ResourceType(
    "aws:glue/trigger:Trigger",
    "Glue trigger",
    mock=_named("glue", "trigger"),
    replace_keys=("name",),
    taggable=True,
    applier="trigger",
)
ATHENA_WORKGROUP = ResourceType(
    "aws:athena/workgroup:Workgroup",
    "Athena workgroup",
    mock=_named("athena", "workgroup"),
    replace_keys=("name",),
    taggable=True,
    applier="workgroup",
    checker="workgroup",
)


# --- SNS and EventBridge (signals) ---------------------------------------------------------
def _topic(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    arn = _arn(ctx, "sns", inputs.get("name") or placeholder(name, "name"))
    return arn, {"arn": arn}


def _topic_policy(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    return str(inputs.get("arn")), {}


def _subscription(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    arn = f"{inputs.get('topic')}:{placeholder(name, 'subscriptionId')}"
    return arn, {"arn": arn}


def _event_target(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    return f"{inputs.get('rule')}-{inputs.get('targetId')}", {}


# A topic and its email subscription hold the owner's confirmation: replaced, alerts stop
# reaching the owner until someone confirms again, so both count as stateful.
SNS_TOPIC = ResourceType(
    "aws:sns/topic:Topic",
    "SNS topic",
    mock=_topic,
    replace_keys=("name",),
    stateful=True,
    taggable=True,
    applier="topic",
    checker="topic",
    documents=(("policy", "topic policy"),),
)
SNS_TOPIC_POLICY = ResourceType(
    "aws:sns/topicPolicy:TopicPolicy",
    "topic policy",
    mock=_topic_policy,
    replace_keys=("arn",),
    applier="topic_policy",
    documents=(("policy", "topic policy"),),
)
SNS_SUBSCRIPTION = ResourceType(
    "aws:sns/topicSubscription:TopicSubscription",
    "topic subscription",
    mock=_subscription,
    replace_keys=("topic", "protocol", "endpoint"),
    stateful=True,
    applier="subscription",
)
EVENT_RULE = ResourceType(
    "aws:cloudwatch/eventRule:EventRule",
    "EventBridge rule",
    mock=_named("events", "rule"),
    replace_keys=("name",),
    taggable=True,
    applier="event_rule",
    checker="event_rule",
)
EVENT_TARGET = ResourceType(
    "aws:cloudwatch/eventTarget:EventTarget",
    "EventBridge target",
    mock=_event_target,
    replace_keys=("rule", "targetId"),
    applier="event_target",
)

# The order is the order `mesh verify` checks types in: a key's live id is needed by its bucket's checks.
TYPES = registry(
    KMS_KEY,
    BUCKET,
    IAM_ROLE,
    GLUE_TABLE,
    ATHENA_WORKGROUP,
    SNS_TOPIC,
    EVENT_RULE,
    BUCKET_V2,
    PUBLIC_ACCESS_BLOCK,
    OWNERSHIP_CONTROLS,
    VERSIONING,
    ENCRYPTION,
    LIFECYCLE,
    LOGGING,
    BUCKET_POLICY,
    BUCKET_OBJECT,
    KMS_ALIAS,
    KEY_POLICY,
    IAM_POLICY,
    ROLE_POLICY,
    USER_POLICY,
    GROUP_POLICY,
    ROLE_POLICY_ATTACHMENT,
    GLUE_DATABASE,
    GLUE_SECURITY_CONFIGURATION,
    GLUE_CATALOG_ENCRYPTION,
    GLUE_JOB,
    GLUE_TRIGGER,
    SNS_TOPIC_POLICY,
    SNS_SUBSCRIPTION,
    EVENT_TARGET,
)
