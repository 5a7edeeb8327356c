"""The controls every mesh bucket gets, whatever it holds: shared by product and platform storage.

These build child resources of the calling component (pass `opts` with `parent=`), so
a bucket is private, ACL-free and versioned the same way everywhere. The TLS-only policy
statement every bucket policy starts with is `policies.tls_only_statement`.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def lock_down_bucket(name: str, bucket: str, opts: pulumi.ResourceOptions) -> aws.s3.BucketPublicAccessBlock:
    """All four public access blocks, BucketOwnerEnforced ownership and versioning on `bucket`.

    `name` prefixes the children's logical names; returns the public access block, which
    a bucket policy should wait for.
    """
    block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership", bucket=bucket, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )
    aws.s3.BucketVersioning(
        f"{name}-versioning", bucket=bucket, versioning_configuration={"status": "Enabled"}, opts=opts
    )
    return block
