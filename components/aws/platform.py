"""PlatformShared: what every product stack of an AWS environment relies on.

- The access-log bucket that product buckets send server access logs to. It is
  encrypted with SSE-S3, not SSE-KMS, because S3 server access logging cannot deliver
  to a bucket whose default encryption is SSE-KMS. It is otherwise locked down like a
  product bucket (all public access blocks, owner-enforced, TLS-only, versioned,
  expired by lifecycle), and its policy lets only the S3 logging service write, only
  under `s3/`, only for buckets of this account (`aws:SourceAccount`) and environment.
- The Glue Data Catalog's encryption settings: metadata at rest and connection
  passwords under a platform KMS key with rotation. Anyone in the account who can read
  the catalog may use that key, but only through Glue (`kms:ViaService`), so product
  roles need no extra grant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.lockdown import lock_down_bucket
from components.aws.policies import KMS_ADMIN, VERSION, tls_only_statement

LOG_PREFIX = "s3/"
NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7
CATALOG_KEY_ACTIONS = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
]


@dataclass
class PlatformSharedArgs:
    """The resolved names of one environment's shared resources."""

    log_bucket: str
    account: str
    region: str
    partition: str
    #: Buckets whose logs the log bucket accepts (`arn:...:s3:::<org>-<env>-*`).
    source_bucket_pattern: str
    catalog_key_alias: str
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)


def log_bucket_policy(args: PlatformSharedArgs) -> dict[str, object]:
    """TLS only; the S3 logging service may write logs of this account's environment buckets."""
    bucket = f"arn:{args.partition}:s3:::{args.log_bucket}"
    return {
        "Version": VERSION,
        "Statement": [
            tls_only_statement(bucket),
            {
                "Sid": "S3ServerAccessLogsDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket}/{LOG_PREFIX}*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": args.account},
                    "ArnLike": {"aws:SourceArn": args.source_bucket_pattern},
                },
            },
        ],
    }


def catalog_key_policy(args: PlatformSharedArgs) -> dict[str, object]:
    """Account admins manage the key; principals of the account use it only through Glue."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AccountAdministersKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{args.partition}:iam::{args.account}:root"},
                "Action": KMS_ADMIN,
                "Resource": "*",
            },
            {
                "Sid": "AccountUsesKeyThroughGlue",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": CATALOG_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:CallerAccount": args.account,
                        "kms:ViaService": f"glue.{args.region}.amazonaws.com",
                    }
                },
            },
        ],
    }


class PlatformShared(pulumi.ComponentResource):
    """The environment's access-log bucket and Glue Data Catalog encryption."""

    log_bucket: aws.s3.Bucket
    catalog_key: aws.kms.Key

    def __init__(
        self, name: str, args: PlatformSharedArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:aws:PlatformShared", name, None, opts)
        tags = dict(args.tags)
        child = pulumi.ResourceOptions(parent=self)

        self.log_bucket = aws.s3.Bucket(
            f"{name}-access-logs", bucket=args.log_bucket, force_destroy=False, tags=tags, opts=child
        )
        on_bucket = pulumi.ResourceOptions(parent=self, depends_on=[self.log_bucket])
        public_access_block = lock_down_bucket(f"{name}-access-logs", args.log_bucket, on_bucket)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-access-logs-encryption",
            bucket=args.log_bucket,
            # SSE-S3: server access logging cannot write to SSE-KMS buckets.
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=on_bucket,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-access-logs-lifecycle",
            bucket=args.log_bucket,
            rules=[
                {
                    "id": "expire-access-logs",
                    "status": "Enabled",
                    "filter": {"prefix": LOG_PREFIX},
                    "expiration": {"days": args.log_retention_days},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
                },
                {
                    "id": "abort-incomplete-uploads",
                    "status": "Enabled",
                    "filter": {},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
                },
            ],
            opts=on_bucket,
        )
        aws.s3.BucketPolicy(
            f"{name}-access-logs-policy",
            bucket=args.log_bucket,
            policy=json.dumps(log_bucket_policy(args)),
            # A policy put before the public access block is in place can be rejected as public.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_bucket, public_access_block]),
        )

        self.catalog_key = aws.kms.Key(
            f"{name}-catalog-key",
            description=f"mesh Glue Data Catalog encryption ({args.tags.get('mesh:environment', '')})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=json.dumps(catalog_key_policy(args)),
            tags=tags,
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-catalog-key-alias",
            name=args.catalog_key_alias,
            target_key_id=self.catalog_key.key_id,
            opts=child,
        )
        self.catalog_encryption = aws.glue.DataCatalogEncryptionSettings(
            f"{name}-catalog-encryption",
            catalog_id=args.account,
            data_catalog_encryption_settings={
                "encryption_at_rest": {
                    "catalog_encryption_mode": "SSE-KMS",
                    "sse_aws_kms_key_id": self.catalog_key.arn,
                },
                "connection_password_encryption": {
                    "return_connection_password_encrypted": True,
                    "aws_kms_key_id": self.catalog_key.arn,
                },
            },
            opts=child,
        )

        self.log_bucket_name = self.log_bucket.bucket
        self.log_bucket_arn = self.log_bucket.arn
        self.catalog_key_arn = self.catalog_key.arn
        self.register_outputs(
            {
                "logBucket": self.log_bucket.bucket,
                "logBucketArn": self.log_bucket.arn,
                "catalogKeyArn": self.catalog_key.arn,
            }
        )
