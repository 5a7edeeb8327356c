"""ProductStorage: the product's locked-down GCS bucket, encrypted with the product key.

Unlike the AWS counterpart there are no empty marker objects per port: GCS has no
folders (a prefix exists once an object does), and a marker would be picked up as a
data file by `gs://<bucket>/data/<port>/*` wildcards in BigQuery loads.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.model.spec import ProductSpec

NONCURRENT_VERSION_DAYS = 30
ABORT_MULTIPART_DAYS = 7


@dataclass
class ProductStorageArgs:
    """The spec, the KMS key the bucket encrypts with by default, and whether the bucket may be
    deleted with its objects (`mesh destroy --delete-data`)."""

    spec: ProductSpec
    key_id: pulumi.Input[str]
    delete_data: bool = False


def lifecycle_rules(spec: ProductSpec) -> list[gcp.storage.BucketLifecycleRuleArgsDict]:
    """Retention as the request asks, with a 30-day undo window for overwritten or deleted data.

    Retention covers the whole bucket: the promise is about everything the product keeps.
    Live objects older than `retention_days` become noncurrent (versioning is on), and
    noncurrent versions are deleted 30 days after they stopped being current.
    """
    return [
        {"action": {"type": "Delete"}, "condition": {"age": spec.retention_days, "with_state": "LIVE"}},
        {
            "action": {"type": "Delete"},
            "condition": {"days_since_noncurrent_time": NONCURRENT_VERSION_DAYS, "with_state": "ARCHIVED"},
        },
        {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": ABORT_MULTIPART_DAYS}},
    ]


class ProductStorage(pulumi.ComponentResource):
    """A bucket with uniform bucket-level access (IAM only, no ACLs, which IAM conditions
    need), public access prevention enforced, versioning, the product key as default
    encryption, access logs to the environment's log bucket, and lifecycle from retention."""

    bucket: gcp.storage.Bucket

    def __init__(
        self, name: str, args: ProductStorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:gcp:ProductStorage", name, None, opts)
        spec = args.spec
        names = spec.require_gcp()

        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=names.bucket,
            project=names.project,
            location=names.region,
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning={"enabled": True},
            encryption={"default_kms_key_name": args.key_id},
            lifecycle_rules=lifecycle_rules(spec),
            logging={"log_bucket": names.log_bucket, "log_object_prefix": names.bucket},
            labels=dict(spec.labels),
            force_destroy=args.delete_data,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"bucket": self.bucket.name, "url": self.bucket.url})
