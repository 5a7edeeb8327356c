"""The IAM, bucket and key policy documents of a product, as plain data.

Every document is built here from the resolved spec, so the components, the
guardrails and the access proof read one source. Statement ids (`Sid`) are stable:
a failed check names the statement at fault. `key_arn` (and the deployer's ARN) may be a
`pulumi.Output`; the components serialise documents with `components.json_document.json_document`.

The data perimeter: the bucket policy denies every object and list action to any
principal that is not one of the product's roles or a break-glass principal of the
platform config, by `aws:PrincipalArn` (never `NotPrincipal`, which AWS applies to every
principal that has a permissions boundary, as every mesh role has). The identity that
deploys the stack is spared only outside the data prefixes (it uploads the job script),
and is denied the data like everyone else. The platform readers of `mesh.yaml` (the
identities `mesh health` and CI run as) are spared only to list the bucket: they read a
port's freshness from the listing, never an object. The key policy names the product's roles,
the break-glass principals and, for the job's logs, CloudWatch Logs by encryption
context; the account's IAM only administers the key and cannot use it.
"""

from __future__ import annotations

from typing import Any

from infra.model.spec import (
    DATA_PREFIX,
    RESULTS_PREFIX,
    SCRIPTS_PREFIX,
    GrantSpec,
    PortSpec,
    ProductSpec,
    results_prefix,
)

VERSION = "2012-10-17"

S3_READ = ["s3:GetObject", "s3:GetObjectVersion"]
S3_WRITE = [
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
]
S3_LIST = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
# Every action on objects, and every listing of the bucket: what the data perimeter denies.
# Named by prefix so that bucket configuration actions (GetBucketObjectLockConfiguration, …),
# which the deployer needs, stay outside it.
S3_DATA_ACTIONS = [
    "s3:GetObject*",
    "s3:PutObject*",
    "s3:DeleteObject*",
    "s3:RestoreObject",
    "s3:Replicate*",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:ListBucket*",
]
# What the perimeter denies the platform readers: every data action but `s3:ListBucket`
# (the listing `mesh health` reads freshness from). `s3:ListBucket*` is spelt out so that
# its other two actions (versions, multipart uploads) stay denied.
S3_DATA_ACTIONS_BUT_LIST = [
    *(a for a in S3_DATA_ACTIONS if a != "s3:ListBucket*"),
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
]
KMS_PRODUCER = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]
KMS_CONSUMER = ["kms:Decrypt", "kms:DescribeKey"]
# Writing encrypted Athena results needs a data key; allowed only through S3.
KMS_RESULTS = ["kms:GenerateDataKey"]
KMS_ADMIN = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
    "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListResourceTags", "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]  # fmt: skip
GLUE_READ = [
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetTableVersion",
    "glue:GetTableVersions",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
]
GLUE_WRITE = [
    "glue:GetTables", "glue:UpdateTable", "glue:CreatePartition", "glue:BatchCreatePartition",
    "glue:UpdatePartition", "glue:DeletePartition", "glue:BatchDeletePartition",
]  # fmt: skip
ATHENA_QUERY = [
    "athena:StartQueryExecution", "athena:StopQueryExecution", "athena:GetQueryExecution",
    "athena:GetQueryResults", "athena:GetQueryResultsStream", "athena:GetWorkGroup",
]  # fmt: skip
LOGS_WRITE = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"]
KMS_TOPIC = ["kms:Decrypt", "kms:GenerateDataKey*"]
# Exactly the cryptographic actions CloudWatch Logs performs, each of which carries the
# encryption context the statement's condition tests (DescribeKey carries none).
KMS_LOGS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
]


def glue_log_groups(spec: ProductSpec) -> str:
    """The CloudWatch log groups Glue jobs write to (all under `/aws-glue/`)."""
    aws = spec.require_aws()
    return f"arn:{aws.partition}:logs:{aws.region}:{aws.account}:log-group:/aws-glue/*"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": list(statements)}


def _sid(text: str) -> str:
    """Statement ids allow only letters and digits."""
    return "".join(part.capitalize() for part in text.replace("-", "_").split("_"))


def _object_arns(spec: ProductSpec, prefixes: list[str]) -> list[str]:
    aws = spec.require_aws()
    return [f"{aws.bucket_arn}/{prefix}*" for prefix in prefixes]


def _port_objects(spec: ProductSpec, ports: list[PortSpec]) -> list[str]:
    """Every object of the ports, and each port's bare key `data/<port>`, which clients
    that treat a prefix as a directory (Arrow, s3fs) HEAD before they list."""
    aws = spec.require_aws()
    return [
        arn
        for port in ports
        for arn in (f"{aws.bucket_arn}/{port.prefix}*", f"{aws.bucket_arn}/{port.prefix.rstrip('/')}")
    ]


def _list_prefixes(ports: list[PortSpec]) -> list[str]:
    """What `s3:prefix` may be when a reader lists its ports (with and without the slash)."""
    return [p for port in ports for p in (port.prefix, f"{port.prefix}*", port.prefix.rstrip("/"))]


def product_principals(spec: ProductSpec) -> list[str]:
    """The ARNs of the product's roles and of the platform's break-glass principals:
    the only principals the data perimeter lets through."""
    aws = spec.require_aws()
    roles = [aws.role_arn(aws.producer_role), *(aws.role_arn(g.aws_role) for g in spec.grants)]
    return [*roles, *spec.break_glass_aws]


def data_objects(spec: ProductSpec) -> list[str]:
    """The object ARNs that hold data: the output ports and the query results."""
    aws = spec.require_aws()
    return [f"{aws.bucket_arn}/{DATA_PREFIX}/*", f"{aws.bucket_arn}/{RESULTS_PREFIX}*"]


def _granted_ports(spec: ProductSpec, grant: GrantSpec) -> list[PortSpec]:
    return [spec.port(name) for name in grant.ports]


def _glue_table_arns(spec: ProductSpec, ports: list[PortSpec]) -> list[str]:
    aws = spec.require_aws()
    return [aws.glue_catalog_arn, aws.glue_database_arn, *(aws.glue_table_arn(p.table) for p in ports)]


def tls_only_statement(bucket_arn: str) -> dict[str, Any]:
    """Deny every request that does not use TLS, for the bucket and its objects (FSBP S3.5)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def trust_policy(principals: tuple[str, ...], *, services: tuple[str, ...] = ()) -> dict[str, Any]:
    """Who may assume a role: named principals of the platform config, and services."""
    statements = [
        {
            "Sid": "AssumeByDomainPrincipals",
            "Effect": "Allow",
            "Principal": {"AWS": list(principals)},
            "Action": "sts:AssumeRole",
        }
    ]
    if services:
        statements.append(
            {
                "Sid": "AssumeByServices",
                "Effect": "Allow",
                "Principal": {"Service": list(services)},
                "Action": "sts:AssumeRole",
            }
        )
    return _doc(*statements)


def producer_services(spec: ProductSpec) -> tuple[str, ...]:
    """Services that run as the producer role (Glue, when the product has a transform)."""
    return ("glue.amazonaws.com",) if spec.transform else ()


def boundary_policy(spec: ProductSpec) -> dict[str, Any]:
    """The permissions boundary: the most any role of the product can ever do, whatever is attached."""
    aws = spec.require_aws()
    workgroups = [aws.athena_workgroup, *(g.athena_workgroup for g in spec.grants)]
    statements: list[dict[str, Any]] = [
        {"Sid": "ProductBucket", "Effect": "Allow", "Action": S3_LIST, "Resource": [aws.bucket_arn]},
        {
            "Sid": "ProductObjects",
            "Effect": "Allow",
            "Action": S3_READ + S3_WRITE,
            "Resource": [f"{aws.bucket_arn}/*"],
        },
        {
            "Sid": "ProductKey",
            "Effect": "Allow",
            "Action": KMS_PRODUCER,
            "Resource": [f"arn:{aws.partition}:kms:{aws.region}:{aws.account}:key/*"],
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [aws.kms_alias]}},
        },
        {
            "Sid": "ProductCatalog",
            "Effect": "Allow",
            "Action": GLUE_READ + GLUE_WRITE,
            "Resource": [
                aws.glue_catalog_arn,
                aws.glue_database_arn,
                f"arn:{aws.partition}:glue:{aws.region}:{aws.account}:table/{aws.glue_database}/*",
            ],
        },
        {
            "Sid": "ProductWorkgroups",
            "Effect": "Allow",
            "Action": ATHENA_QUERY,
            "Resource": [
                f"arn:{aws.partition}:athena:{aws.region}:{aws.account}:workgroup/{w}" for w in workgroups
            ],
        },
    ]
    if spec.transform:
        statements.append(
            {
                "Sid": "GlueJobLogs",
                "Effect": "Allow",
                "Action": LOGS_WRITE,
                "Resource": [glue_log_groups(spec)],
            }
        )
    return _doc(*statements)


def producer_policy(spec: ProductSpec, key_arn: Any) -> dict[str, Any]:
    """The producer: read and write its bucket, its catalog entries, and use its key."""
    aws = spec.require_aws()
    ports = list(spec.ports)
    statements: list[dict[str, Any]] = [
        {"Sid": "ListProductBucket", "Effect": "Allow", "Action": S3_LIST, "Resource": [aws.bucket_arn]},
        {
            "Sid": "ReadWritePorts",
            "Effect": "Allow",
            "Action": S3_READ + S3_WRITE,
            "Resource": [*_port_objects(spec, ports), *_object_arns(spec, [results_prefix("producer")])],
        },
        {"Sid": "UseProductKey", "Effect": "Allow", "Action": KMS_PRODUCER, "Resource": [key_arn]},
        {
            "Sid": "ReadWriteCatalog",
            "Effect": "Allow",
            "Action": GLUE_READ + GLUE_WRITE,
            "Resource": _glue_table_arns(spec, ports),
        },
        {
            "Sid": "QueryInWorkgroup",
            "Effect": "Allow",
            "Action": ATHENA_QUERY,
            "Resource": [aws.athena_workgroup_arn],
        },
    ]
    if spec.transform:
        statements.append(
            {
                "Sid": "ReadJobScripts",
                "Effect": "Allow",
                "Action": S3_READ,
                "Resource": _object_arns(spec, [SCRIPTS_PREFIX]),
            }
        )
        statements.append(
            {
                "Sid": "GlueJobLogs",
                "Effect": "Allow",
                "Action": LOGS_WRITE,
                "Resource": [glue_log_groups(spec)],
            }
        )
    return _doc(*statements)


def consumer_policy(spec: ProductSpec, grant: GrantSpec, key_arn: Any) -> dict[str, Any]:
    """A consumer domain: read only its granted ports and tables, decrypt only, query in its own workgroup."""
    aws = spec.require_aws()
    ports = _granted_ports(spec, grant)
    results = results_prefix(grant.domain)
    return _doc(
        {
            "Sid": "ListGrantedPorts",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [aws.bucket_arn],
            "Condition": {"StringLike": {"s3:prefix": [*_list_prefixes(ports), results, f"{results}*"]}},
        },
        {
            "Sid": "LocateBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation"],
            "Resource": [aws.bucket_arn],
        },
        {
            "Sid": "ReadGrantedPorts",
            "Effect": "Allow",
            "Action": S3_READ,
            "Resource": _port_objects(spec, ports),
        },
        {
            "Sid": "OwnQueryResults",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": _object_arns(spec, [results]),
        },
        {"Sid": "DecryptProductKey", "Effect": "Allow", "Action": KMS_CONSUMER, "Resource": [key_arn]},
        {
            "Sid": "EncryptQueryResults",
            "Effect": "Allow",
            "Action": KMS_RESULTS,
            "Resource": [key_arn],
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{aws.region}.amazonaws.com"}},
        },
        {
            "Sid": "ReadGrantedTables",
            "Effect": "Allow",
            "Action": GLUE_READ,
            "Resource": _glue_table_arns(spec, ports),
        },
        {
            "Sid": "QueryInOwnWorkgroup",
            "Effect": "Allow",
            "Action": ATHENA_QUERY,
            "Resource": [
                f"arn:{aws.partition}:athena:{aws.region}:{aws.account}:workgroup/{grant.athena_workgroup}"
            ],
        },
    )


def encryption_statements(spec: ProductSpec, key_arn: Any) -> list[dict[str, Any]]:
    """Uploads of data that name an encryption must name the product key.

    An upload with no encryption header gets the bucket default (SSE-KMS under the
    product key), so clients that send none work. Refused: another algorithm
    (`AES256`, `aws:kms:dsse`), customer-provided keys (SSE-C), another KMS key, and
    `aws:kms` without a key id (S3 would then use the AWS managed key `aws/s3`).
    """
    objects = data_objects(spec)
    return [
        {
            "Sid": "DenyUploadsWithOtherEncryption",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            # A negated operator (and its IfExists form) is true when the header is missing,
            # so the header's presence is tested on its own.
            "Condition": {
                "Null": {"s3:x-amz-server-side-encryption": "false"},
                "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
            },
        },
        {
            "Sid": "DenyUploadsWithCustomerKeys",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
        },
        {
            "Sid": "DenyUploadsWithOtherKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn},
            },
        },
        {
            "Sid": "DenyUploadsWithManagedKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": objects,
            "Condition": {
                "StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "true"},
            },
        },
    ]


def perimeter_statements(spec: ProductSpec, deployer_arn: Any) -> list[dict[str, Any]]:
    """The data perimeter: only the product's roles and break-glass principals reach objects.

    The deploying identity is spared outside the data (it uploads the job script) and
    denied the data prefixes and listings like every other principal. The platform
    readers (`spec.platform_readers`) are spared by the first statement and denied every
    data action but `s3:ListBucket` by their own (`DenyDataAccessByPlatformReaders`): no
    object, no version listing, and no key use but publishing through SNS (key policy).
    A reader that is also a break-glass principal keeps its break-glass access.

    The bucket policy grants the readers nothing: they list with their own identity
    policy, which suffices in the product's account (where mesh expects them; a grant to
    another account would fail MESH-S3-CROSS-ACCOUNT), and a bucket-policy Allow would
    hand listing to a reader whose own IAM does not give it.
    """
    aws = spec.require_aws()
    bucket = aws.bucket_arn
    allowed = product_principals(spec)
    readers = list(spec.platform_readers)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyDataAccessOutsideProduct",
            "Effect": "Deny",
            "Principal": "*",
            "Action": S3_DATA_ACTIONS,
            "Resource": [bucket, f"{bucket}/*"],
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": [*allowed, deployer_arn, *readers]}},
        },
        {
            "Sid": "DenyDataAccessByDeployer",
            "Effect": "Deny",
            "Principal": "*",
            "Action": S3_DATA_ACTIONS,
            "Resource": [bucket, *data_objects(spec)],
            "Condition": {
                "ArnLike": {"aws:PrincipalArn": deployer_arn},
                "ArnNotLike": {"aws:PrincipalArn": allowed},
            },
        },
    ]
    if readers:
        statements.append(
            {
                "Sid": "DenyDataAccessByPlatformReaders",
                "Effect": "Deny",
                "Principal": "*",
                "Action": S3_DATA_ACTIONS_BUT_LIST,
                "Resource": [bucket, f"{bucket}/*"],
                "Condition": {
                    "ArnLike": {"aws:PrincipalArn": readers},
                    "ArnNotLike": {"aws:PrincipalArn": allowed},
                },
            }
        )
    return statements


def bucket_policy(spec: ProductSpec, key_arn: Any, deployer_arn: Any) -> dict[str, Any]:
    """TLS only; the data perimeter; uploads encrypted under the product key; allows that
    mirror the roles' identity policies (break-glass principals get theirs from IAM)."""
    aws = spec.require_aws()
    bucket = aws.bucket_arn
    statements: list[dict[str, Any]] = [
        tls_only_statement(bucket),
        *perimeter_statements(spec, deployer_arn),
        *encryption_statements(spec, key_arn),
        {
            "Sid": "ProducerList",
            "Effect": "Allow",
            "Principal": {"AWS": aws.role_arn(aws.producer_role)},
            "Action": S3_LIST,
            "Resource": [bucket],
        },
        {
            "Sid": "ProducerReadWrite",
            "Effect": "Allow",
            "Principal": {"AWS": aws.role_arn(aws.producer_role)},
            "Action": S3_READ + S3_WRITE,
            "Resource": [
                *_port_objects(spec, list(spec.ports)),
                *_object_arns(
                    spec, [results_prefix("producer"), *([SCRIPTS_PREFIX] if spec.transform else [])]
                ),
            ],
        },
    ]
    for grant in spec.grants:
        ports = _granted_ports(spec, grant)
        principal = {"AWS": aws.role_arn(grant.aws_role)}
        tag = _sid(grant.domain)
        statements += [
            {
                "Sid": f"Consumer{tag}Read",
                "Effect": "Allow",
                "Principal": principal,
                "Action": S3_READ,
                "Resource": _port_objects(spec, ports),
            },
            {
                "Sid": f"Consumer{tag}List",
                "Effect": "Allow",
                "Principal": principal,
                "Action": ["s3:ListBucket"],
                "Resource": [bucket],
                "Condition": {"StringLike": {"s3:prefix": _list_prefixes(ports)}},
            },
        ]
    return _doc(*statements)


def topic_policy(spec: ProductSpec) -> dict[str, Any]:
    """The signals topic: only TLS; with a transform, EventBridge may publish for the failed-runs
    rule and no other (`aws:SourceArn`). Account principals publish through their IAM policies."""
    aws = spec.require_aws()
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": aws.topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if spec.transform:
        statements.append(
            {
                "Sid": "EventBridgePublishesFailedRuns",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": aws.topic_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": aws.failure_rule_arn}},
            }
        )
    return _doc(*statements)


def key_policy(spec: ProductSpec) -> dict[str, Any]:
    """The account administers the key but cannot use it; the product's roles and the
    break-glass principals use it; with a transform, CloudWatch Logs may encrypt the Glue
    job's log groups (and nothing else) and EventBridge may publish the failed-runs rule's
    events to the encrypted topic; the platform readers may publish to the topic (through SNS only)."""
    aws = spec.require_aws()
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministersKey",
            "Effect": "Allow",
            "Principal": {"AWS": aws.account_root},
            "Action": KMS_ADMIN,
            "Resource": "*",
        },
        {
            "Sid": "ProducerUsesKey",
            "Effect": "Allow",
            "Principal": {"AWS": aws.role_arn(aws.producer_role)},
            "Action": KMS_PRODUCER,
            "Resource": "*",
        },
    ]
    if spec.break_glass_aws:
        statements.append(
            {
                "Sid": "BreakGlassUsesKey",
                "Effect": "Allow",
                "Principal": {"AWS": list(spec.break_glass_aws)},
                "Action": KMS_PRODUCER,
                "Resource": "*",
            }
        )
    if spec.transform:
        statements.append(
            {
                "Sid": "CloudWatchLogsEncryptGlueJobLogs",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{aws.region}.amazonaws.com"},
                "Action": KMS_LOGS,
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": glue_log_groups(spec)}},
            }
        )
    if spec.transform:
        statements.append(
            {
                "Sid": "EventBridgePublishesFailedRuns",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": KMS_TOPIC,
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:SourceArn": aws.failure_rule_arn}},
            }
        )
    if spec.platform_readers:
        statements.append(
            {
                "Sid": "PlatformReadersPublishSignals",
                "Effect": "Allow",
                "Principal": {"AWS": list(spec.platform_readers)},
                "Action": KMS_TOPIC,
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"sns.{aws.region}.amazonaws.com"}},
            }
        )
    if spec.grants:
        consumers = {"AWS": [aws.role_arn(g.aws_role) for g in spec.grants]}
        statements += [
            {
                "Sid": "ConsumersDecrypt",
                "Effect": "Allow",
                "Principal": consumers,
                "Action": KMS_CONSUMER,
                "Resource": "*",
            },
            {
                "Sid": "ConsumersEncryptQueryResults",
                "Effect": "Allow",
                "Principal": consumers,
                "Action": KMS_RESULTS,
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{aws.region}.amazonaws.com"}},
            },
        ]
    return _doc(*statements)
