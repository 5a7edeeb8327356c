"""The platform stack under Pulumi mocks: a locked-down log bucket, scoped log delivery, catalog encryption."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.model.graph import Resource, ResourceGraph
from infra.model.platform_spec import PlatformSpec, resolve_platform
from infra.model.spec import REQUIRED_TAGS, log_bucket_name
from infra.synth import CloudContext, synthesize
from infra.validation import load_platform
from stacks.platform import PLATFORM_RESOURCES, platform_program

COMPONENT = "mesh:aws:PlatformShared"
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
CATALOG = "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings"


@pytest.fixture(scope="module", params=["dev", "local"])
def platform(request: pytest.FixtureRequest) -> tuple[PlatformSpec, ResourceGraph]:
    config = load_platform(Path(__file__).resolve().parents[2] / "examples" / "mesh.yaml").config
    spec = resolve_platform(config, request.param)
    graph = synthesize(
        platform_program(spec),
        project=spec.project,
        stack=spec.stack,
        cloud=CloudContext(account=spec.account, region=spec.region, partition=spec.partition),
    )
    return spec, graph


def only(graph: ResourceGraph, type_: str, **inputs: Any) -> Resource:
    found = [r for r in graph.of_type(type_) if all(r.inputs.get(k) == v for k, v in inputs.items())]
    assert len(found) == 1, f"expected one {type_} with {inputs}, found {[r.urn for r in found]}"
    return found[0]


def statements(resource: Resource) -> dict[str, dict[str, Any]]:
    document = resource.policy()
    assert document is not None, f"{resource.urn}: policy is not JSON"
    return {s["Sid"]: s for s in document["Statement"]}


def test_one_component_parents_every_resource(platform: tuple[PlatformSpec, ResourceGraph]) -> None:
    spec, graph = platform
    (component,) = graph.of_type(COMPONENT)
    assert spec.stack == f"platform.{spec.environment}"
    for resource in graph.cloud_resources():
        assert resource.parent == component.urn, f"{resource.urn}: parent is {resource.parent}"
    assert len(graph.cloud_resources()) == PLATFORM_RESOURCES, [r.type for r in graph.cloud_resources()]


def test_the_log_bucket_is_locked_down(platform: tuple[PlatformSpec, ResourceGraph]) -> None:
    spec, graph = platform
    name = log_bucket_name(spec.organization, spec.environment)
    bucket = only(graph, BUCKET, bucket=name)
    assert bucket.inputs.get("forceDestroy") is False, bucket.urn
    for tag in REQUIRED_TAGS:
        assert tag in bucket.inputs["tags"], f"{bucket.urn}: tag {tag} missing"

    block = only(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket=name)
    for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
        assert block.inputs.get(flag) is True, f"{block.urn}: {flag}"
    ownership = only(graph, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket=name)
    assert ownership.input("rule", "objectOwnership") == "BucketOwnerEnforced", ownership.urn
    versioning = only(graph, "aws:s3/bucketVersioning:BucketVersioning", bucket=name)
    assert versioning.input("versioningConfiguration", "status") == "Enabled", versioning.urn
    encryption = only(
        graph,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        bucket=name,
    )
    default = encryption.input("rules", 0, "applyServerSideEncryptionByDefault")
    assert default == {"sseAlgorithm": "AES256"}, f"{encryption.urn}: log delivery needs SSE-S3"
    lifecycle = only(graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket=name)
    expiring = [r for r in lifecycle.inputs["rules"] if r.get("expiration")]
    assert expiring and expiring[0]["expiration"]["days"] == spec.log_retention_days, lifecycle.urn
    assert not graph.of_type("aws:s3/bucketLogging:BucketLogging"), "the log bucket does not log into itself"

    policy = only(graph, "aws:s3/bucketPolicy:BucketPolicy", bucket=name)
    tls = statements(policy)["DenyInsecureTransport"]
    assert tls["Effect"] == "Deny" and tls["Principal"] == "*" and tls["Action"] == "s3:*", policy.urn
    assert tls["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"], policy.urn
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, policy.urn
    assert block.urn in policy.dependencies, f"{policy.urn}: put after the public access block"


def test_only_the_logging_service_may_write_and_only_for_this_account(
    platform: tuple[PlatformSpec, ResourceGraph],
) -> None:
    spec, graph = platform
    name = log_bucket_name(spec.organization, spec.environment)
    policy = only(graph, "aws:s3/bucketPolicy:BucketPolicy", bucket=name)
    allows = [s for s in statements(policy).values() if s["Effect"] == "Allow"]

    assert len(allows) == 1, policy.urn
    (delivery,) = allows
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}, policy.urn
    assert delivery["Action"] == "s3:PutObject", policy.urn
    assert delivery["Resource"] == f"arn:aws:s3:::{name}/s3/*", policy.urn
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": spec.account}, policy.urn
    assert delivery["Condition"]["ArnLike"] == {
        "aws:SourceArn": f"arn:aws:s3:::{spec.organization}-{spec.environment}-*"
    }, policy.urn


def test_the_catalog_is_encrypted_under_a_rotating_platform_key(
    platform: tuple[PlatformSpec, ResourceGraph],
) -> None:
    spec, graph = platform
    (key,) = graph.of_type(KEY)
    assert key.inputs.get("enableKeyRotation") is True, key.urn
    catalog = only(graph, CATALOG)
    assert catalog.inputs["catalogId"] == spec.account, catalog.urn
    at_rest = catalog.input("dataCatalogEncryptionSettings", "encryptionAtRest")
    assert at_rest["catalogEncryptionMode"] == "SSE-KMS", catalog.urn
    assert at_rest["sseAwsKmsKeyId"].startswith(f"arn:aws:kms:{spec.region}:{spec.account}:key/"), catalog.urn
    passwords = catalog.input("dataCatalogEncryptionSettings", "connectionPasswordEncryption")
    assert passwords["returnConnectionPasswordEncrypted"] is True, catalog.urn
    assert passwords["awsKmsKeyId"] == at_rest["sseAwsKmsKeyId"], catalog.urn
    assert key.urn in catalog.dependencies, catalog.urn

    key_policy = statements(key)
    use = key_policy["AccountUsesKeyThroughGlue"]
    assert use["Principal"] == {"AWS": "*"}, key.urn
    assert use["Condition"]["StringEquals"] == {
        "kms:CallerAccount": spec.account,
        "kms:ViaService": f"glue.{spec.region}.amazonaws.com",
    }, f"{key.urn}: a wildcard principal only with account and service conditions"
    assert "kms:*" not in json.dumps(key_policy), f"{key.urn}: no kms:* for anyone"
    alias = only(graph, "aws:kms/alias:Alias")
    assert alias.inputs["name"] == spec.catalog_key_alias, alias.urn
