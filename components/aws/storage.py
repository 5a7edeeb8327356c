"""ProductStorage: the product's KMS key and its locked-down bucket with one prefix per port."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.lockdown import lock_down_bucket
from infra.model.spec import DATA_PREFIX, RESULTS_PREFIX, ProductSpec

NONCURRENT_VERSION_DAYS = 30
RESULTS_EXPIRY_DAYS = 30
ABORT_MULTIPART_DAYS = 7


def deletes_data(spec: ProductSpec, delete_data: bool) -> bool:
    """Whether a destroy deletes the product's data: `mesh destroy --delete-data`, or an
    ephemeral environment (whose data is disposable by definition)."""
    return spec.expires_at is not None or delete_data


@dataclass
class ProductStorageArgs:
    """What the storage of one product needs: its resolved spec, and whether the bucket may be
    deleted with its objects (`mesh destroy --delete-data`, an operation flag, not desired state)."""

    spec: ProductSpec
    delete_data: bool = False


class ProductStorage(pulumi.ComponentResource):
    """A customer-managed key with rotation, and a bucket that is versioned, encrypted with it,
    private by every public access block, owner-enforced, logged, and expired by retention."""

    key: aws.kms.Key
    bucket: aws.s3.Bucket

    def __init__(
        self, name: str, args: ProductStorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:aws:ProductStorage", name, None, opts)
        spec = args.spec
        names = spec.require_aws()
        tags = dict(spec.tags)
        child = pulumi.ResourceOptions(parent=self)

        # The key outlives a destroy unless the data goes too: a bucket that still holds
        # objects stops the destroy, and its data must stay readable. Only when the bucket
        # is deleted with its data (`--delete-data`, ephemeral environments) is the key
        # scheduled for deletion, and the bucket's dependency on it puts that after the bucket.
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"mesh data product {spec.domain}/{spec.product} ({spec.environment})",
            enable_key_rotation=True,
            deletion_window_in_days=7 if spec.expires_at else 30,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self, retain_on_delete=not deletes_data(spec, args.delete_data)
            ),
        )
        self.alias = aws.kms.Alias(
            f"{name}-key-alias", name=names.kms_alias, target_key_id=self.key.key_id, opts=child
        )

        # Ephemeral environments, and an explicit `mesh destroy --delete-data`, delete the data
        # with the bucket; otherwise a bucket that holds objects stops the destroy.
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=names.bucket,
            force_destroy=deletes_data(spec, args.delete_data),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.key]),
        )
        on_bucket = pulumi.ResourceOptions(parent=self, depends_on=[self.bucket])
        self.public_access_block = lock_down_bucket(name, names.bucket, on_bucket)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=names.bucket,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": self.key.arn,
                    },
                    "bucket_key_enabled": True,
                }
            ],
            opts=on_bucket,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=names.bucket,
            rules=[
                {
                    "id": "retention",
                    "status": "Enabled",
                    "filter": {"prefix": f"{DATA_PREFIX}/"},
                    "expiration": {"days": spec.retention_days},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
                },
                {
                    "id": "query-results",
                    "status": "Enabled",
                    "filter": {"prefix": RESULTS_PREFIX},
                    "expiration": {"days": min(RESULTS_EXPIRY_DAYS, spec.retention_days)},
                    "noncurrent_version_expiration": {"noncurrent_days": 1},
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
        aws.s3.BucketLogging(
            f"{name}-access-logging",
            bucket=names.bucket,
            target_bucket=names.log_bucket,
            target_prefix=names.access_log_prefix,
            opts=on_bucket,
        )
        # No "folder" objects: the data perimeter keeps the deployer out of the data
        # prefixes, and each port's prefix appears with its first object.

        self.bucket_name = self.bucket.bucket
        self.key_arn = self.key.arn
        self.register_outputs(
            {"bucket": self.bucket.bucket, "bucketArn": self.bucket.arn, "keyArn": self.key.arn}
        )
