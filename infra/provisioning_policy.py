"""What the identity that runs `mesh provision` needs: IAM actions per resource type mesh creates.

One table, `AWS_ACTIONS`, maps every AWS resource type the product and platform stacks
register to the API actions the Pulumi AWS provider calls to create, read, update and
delete it, and to the resources those actions are scoped to. `GCP_ROLES` does the same
for GCP with predefined roles. `mesh doctor --print-policy` prints them for one
environment; a test checks that every type in the examples' plans and the platform
stack's plan is in the table, so a new resource type cannot ship without its permissions.

Scopes follow mesh's names (`infra/spec.py`): every bucket, alias, workgroup, job and
trigger starts with `<organization>-<environment>-`, every Glue database with
`<organization>_<environment>_`, and every role and policy lives under the `/mesh/` path.
KMS keys and Glue security configurations cannot be named before they exist, so their
actions are scoped by the `mesh:managed-by` tag or, where AWS supports no resource
scope, to `*` (listed in `UNSCOPED`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from infra.aws import types as aws_types
from infra.gcp import types as gcp_types
from infra.model.platform import EnvironmentConfig
from infra.model.spec import ROLE_PATH

MANAGED_TAG = "mesh:managed-by"

# Scope templates; {partition} {region} {account} {prefix} ({org}-{env}) {glue} ({org}_{env}).
BUCKETS = "arn:{partition}:s3:::{prefix}-*"
OBJECTS = "arn:{partition}:s3:::{prefix}-*/*"
ROLES = "arn:{partition}:iam::{account}:role" + ROLE_PATH + "*"
POLICIES = "arn:{partition}:iam::{account}:policy" + ROLE_PATH + "*"
KEYS = "arn:{partition}:kms:{region}:{account}:key/*"
ALIASES = "arn:{partition}:kms:{region}:{account}:alias/mesh/{prefix}-*"
CATALOG = "arn:{partition}:glue:{region}:{account}:catalog"
DATABASES = "arn:{partition}:glue:{region}:{account}:database/{glue}_*"
TABLES = "arn:{partition}:glue:{region}:{account}:table/{glue}_*/*"
JOBS = "arn:{partition}:glue:{region}:{account}:job/{prefix}-*"
TRIGGERS = "arn:{partition}:glue:{region}:{account}:trigger/{prefix}-*"
WORKGROUPS = "arn:{partition}:athena:{region}:{account}:workgroup/{prefix}-*"
TOPICS = "arn:{partition}:sns:{region}:{account}:{prefix}-*"
RULES = "arn:{partition}:events:{region}:{account}:rule/{prefix}-*"
ANY = "*"


@dataclass(frozen=True)
class TypeActions:
    """The actions one resource type needs, on which resources, and why when unscoped."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    note: str = ""


_BUCKET_CONFIG = (BUCKETS,)

AWS_ACTIONS: dict[str, TypeActions] = {
    aws_types.BUCKET.token: TypeActions(
        (
            "s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:ListBucketVersions",
            "s3:GetBucketLocation", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite",
            "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment", "s3:GetReplicationConfiguration",
            "s3:GetBucketObjectLockConfiguration", "s3:GetBucketTagging", "s3:PutBucketTagging",
        ),
        _BUCKET_CONFIG,
    ),
    aws_types.VERSIONING.token: TypeActions(
        ("s3:GetBucketVersioning", "s3:PutBucketVersioning"), _BUCKET_CONFIG
    ),
    aws_types.ENCRYPTION.token: TypeActions(
        ("s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"), _BUCKET_CONFIG
    ),
    aws_types.PUBLIC_ACCESS_BLOCK.token: TypeActions(
        ("s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"), _BUCKET_CONFIG
    ),
    aws_types.OWNERSHIP_CONTROLS.token: TypeActions(
        ("s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls"), _BUCKET_CONFIG
    ),
    aws_types.BUCKET_POLICY.token: TypeActions(
        ("s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"), _BUCKET_CONFIG
    ),
    aws_types.LIFECYCLE.token: TypeActions(
        ("s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"), _BUCKET_CONFIG
    ),
    aws_types.LOGGING.token: TypeActions(("s3:GetBucketLogging", "s3:PutBucketLogging"), _BUCKET_CONFIG),
    aws_types.BUCKET_OBJECT.token: TypeActions(
        (
            "s3:PutObject", "s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging",
            "s3:DeleteObject", "s3:DeleteObjectVersion",
        ),
        (OBJECTS,),
        "port prefixes and the transform's script; SSE-KMS uploads also need kms:GenerateDataKey (below)",
    ),
    aws_types.KMS_KEY.token: TypeActions(
        (
            "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation",
            "kms:ListResourceTags", "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
            "kms:ScheduleKeyDeletion", "kms:GenerateDataKey", "kms:Decrypt",
        ),
        (KEYS,),
        "scoped to keys tagged mesh:managed-by=mesh",
    ),
    aws_types.KEY_POLICY.token: TypeActions(("kms:GetKeyPolicy", "kms:PutKeyPolicy"), (KEYS,)),
    aws_types.KMS_ALIAS.token: TypeActions(
        ("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"), (ALIASES, KEYS)
    ),
    aws_types.IAM_ROLE.token: TypeActions(
        (
            "iam:CreateRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:DeleteRole",
            "iam:TagRole", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary",
            "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
            "iam:PassRole",
        ),
        (ROLES,),
        "iam:PassRole: the Glue job runs as the product's producer role",
    ),
    aws_types.ROLE_POLICY.token: TypeActions(
        ("iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"), (ROLES,)
    ),
    aws_types.IAM_POLICY.token: TypeActions(
        (
            "iam:CreatePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions",
            "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy", "iam:TagPolicy",
            "iam:UntagPolicy",
        ),
        (POLICIES,),
    ),
    aws_types.GLUE_DATABASE.token: TypeActions(
        ("glue:CreateDatabase", "glue:GetDatabase", "glue:UpdateDatabase", "glue:DeleteDatabase",
         "glue:GetTags", "glue:TagResource", "glue:UntagResource"),
        (CATALOG, DATABASES, TABLES),
    ),
    aws_types.GLUE_TABLE.token: TypeActions(
        ("glue:CreateTable", "glue:GetTable", "glue:UpdateTable", "glue:DeleteTable"), (CATALOG, DATABASES, TABLES)
    ),
    aws_types.GLUE_CATALOG_ENCRYPTION.token: TypeActions(
        ("glue:GetDataCatalogEncryptionSettings", "glue:PutDataCatalogEncryptionSettings"), (CATALOG,)
    ),
    aws_types.GLUE_SECURITY_CONFIGURATION.token: TypeActions(
        ("glue:CreateSecurityConfiguration", "glue:GetSecurityConfiguration", "glue:DeleteSecurityConfiguration"),
        (ANY,),
        "Glue security configurations support no resource-level scope",
    ),
    aws_types.GLUE_JOB.token: TypeActions(
        ("glue:CreateJob", "glue:GetJob", "glue:UpdateJob", "glue:DeleteJob", "glue:GetTags",
         "glue:TagResource", "glue:UntagResource"),
        (JOBS,),
    ),
    aws_types.GLUE_TRIGGER.token: TypeActions(
        ("glue:CreateTrigger", "glue:GetTrigger", "glue:UpdateTrigger", "glue:DeleteTrigger",
         "glue:StartTrigger", "glue:StopTrigger", "glue:GetTags", "glue:TagResource", "glue:UntagResource"),
        (TRIGGERS, JOBS),
    ),
    aws_types.ATHENA_WORKGROUP.token: TypeActions(
        ("athena:CreateWorkGroup", "athena:GetWorkGroup", "athena:UpdateWorkGroup", "athena:DeleteWorkGroup",
         "athena:ListTagsForResource", "athena:TagResource", "athena:UntagResource"),
        (WORKGROUPS,),
    ),
    aws_types.SNS_TOPIC.token: TypeActions(
        ("sns:CreateTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:DeleteTopic",
         "sns:ListTagsForResource", "sns:TagResource", "sns:UntagResource"),
        (TOPICS,),
    ),
    aws_types.SNS_TOPIC_POLICY.token: TypeActions(
        ("sns:GetTopicAttributes", "sns:SetTopicAttributes"), (TOPICS,)
    ),
    aws_types.SNS_SUBSCRIPTION.token: TypeActions(
        ("sns:Subscribe", "sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes"),
        (TOPICS,),
    ),
    aws_types.EVENT_RULE.token: TypeActions(
        ("events:PutRule", "events:DescribeRule", "events:DeleteRule", "events:ListTagsForResource",
         "events:TagResource", "events:UntagResource"),
        (RULES,),
    ),
    aws_types.EVENT_TARGET.token: TypeActions(
        ("events:PutTargets", "events:ListTargetsByRule", "events:RemoveTargets"), (RULES,)
    ),
}  # fmt: skip

# Actions AWS allows on no narrower resource, each with the reason.
UNSCOPED: dict[str, str] = {
    "kms:CreateKey": "a key has no ARN before it exists; the request must tag it mesh:managed-by=mesh",
    "kms:ListAliases": "listing has no resource",
    "sts:GetCallerIdentity": "the provider asks who it runs as",
}

GCP_ROLES: dict[str, str] = {
    gcp_types.GCS_BUCKET.token: "roles/storage.admin",
    gcp_types.BUCKET_IAM_MEMBER.token: "roles/storage.admin",
    gcp_types.BQ_DATASET.token: "roles/bigquery.dataOwner",
    gcp_types.BQ_TABLE.token: "roles/bigquery.dataOwner",
    gcp_types.DATASET_IAM_MEMBER.token: "roles/bigquery.dataOwner",
    gcp_types.TABLE_IAM_MEMBER.token: "roles/bigquery.dataOwner",
    gcp_types.KEY_RING.token: "roles/cloudkms.admin",
    gcp_types.CRYPTO_KEY.token: "roles/cloudkms.admin",
    gcp_types.CRYPTO_KEY_IAM_MEMBER.token: "roles/cloudkms.admin",
    gcp_types.SERVICE_ACCOUNT.token: "roles/iam.serviceAccountAdmin",
    gcp_types.SERVICE_ACCOUNT_IAM_MEMBER.token: "roles/iam.serviceAccountAdmin",
    gcp_types.SERVICE_IDENTITY.token: "roles/serviceusage.serviceUsageAdmin",
    gcp_types.PUBSUB_TOPIC.token: "roles/pubsub.admin",
}


@dataclass(frozen=True)
class Scope:
    """Where the policy applies: one environment of one organisation, and its state backend."""

    organization: str = "ORG"
    environment: str = "ENV"
    account: str = "ACCOUNT"
    region: str = "REGION"
    partition: str = "aws"
    state_bucket: str | None = None  # from `backend: s3://…`
    secrets_key: str | None = None  # the alias of `secretsProvider: awskms://alias/…`

    def fill(self, template: str) -> str:
        """A scope template with this environment's values."""
        return template.format(
            partition=self.partition,
            region=self.region,
            account=self.account,
            prefix=f"{self.organization}-{self.environment}",
            glue=f"{self.organization}_{self.environment}",
        )


def aws_policy(scope: Scope) -> dict[str, Any]:
    """The provisioning identity's IAM policy document for `scope`, one statement per scope.

    Actions of every type that share the same resources are merged and sorted, so the
    document is stable and short enough to review.
    """
    by_resources: dict[tuple[str, ...], set[str]] = {}
    for entry in AWS_ACTIONS.values():
        if entry.resources == (KEYS,):
            continue  # keys: tag-conditioned statement below
        by_resources.setdefault(entry.resources, set()).update(entry.actions)
    statements: list[dict[str, Any]] = []
    for index, (resources, actions) in enumerate(sorted(by_resources.items(), key=lambda item: item[0])):
        statements.append(
            {
                "Sid": f"MeshResources{index + 1}",
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": [scope.fill(r) for r in resources] if resources != (ANY,) else "*",
            }
        )
    key_actions = sorted({a for e in AWS_ACTIONS.values() if e.resources == (KEYS,) for a in e.actions})
    statements.append(
        {
            "Sid": "MeshKeys",
            "Effect": "Allow",
            "Action": key_actions,
            "Resource": scope.fill(KEYS),
            "Condition": {"StringEquals": {f"aws:ResourceTag/{MANAGED_TAG}": "mesh"}},
        }
    )
    statements.append(
        {
            "Sid": "MeshCreateKeys",
            "Effect": "Allow",
            "Action": ["kms:CreateKey", "kms:TagResource"],
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:RequestTag/{MANAGED_TAG}": "mesh"}},
        }
    )
    statements.append(
        {
            "Sid": "MeshUnscoped",
            "Effect": "Allow",
            "Action": sorted(a for a in UNSCOPED if a != "kms:CreateKey"),
            "Resource": "*",
        }
    )
    bucket = scope.state_bucket or "STATE-BUCKET"
    statements.append(
        {
            "Sid": "PulumiState",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:ListBucket",
                "s3:GetBucketLocation",
            ],
            "Resource": [f"arn:{scope.partition}:s3:::{bucket}", f"arn:{scope.partition}:s3:::{bucket}/*"],
        }
    )
    if scope.secrets_key:
        statements.append(
            {
                "Sid": "PulumiSecrets",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": scope.fill(KEYS),
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": scope.secrets_key}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def scope_of(organization: str, environment: str, env: EnvironmentConfig) -> Scope:
    """The scope of one environment of `mesh.yaml` (`env` is its `EnvironmentConfig`)."""
    aws = env.aws
    backend = str(env.backend)
    secrets = str(env.secrets_provider)
    alias = secrets.removeprefix("awskms://").split("?")[0] if secrets.startswith("awskms://alias/") else None
    return Scope(
        organization=organization,
        environment=environment,
        account=aws.account if aws else "ACCOUNT",
        region=aws.region if aws else "REGION",
        state_bucket=backend.removeprefix("s3://").split("/")[0] if backend.startswith("s3://") else None,
        secrets_key=alias,
    )


def gcp_roles() -> list[tuple[str, list[str]]]:
    """Each predefined role the provisioning service account needs, with the types that need it."""
    roles: dict[str, list[str]] = {}
    for resource_type, role in sorted(GCP_ROLES.items()):
        roles.setdefault(role, []).append(resource_type)
    return sorted(roles.items())


def aws_policy_json(scope: Scope) -> str:
    """`aws_policy` as indented JSON, ready for `aws iam create-policy --policy-document`."""
    return json.dumps(aws_policy(scope), indent=2)
