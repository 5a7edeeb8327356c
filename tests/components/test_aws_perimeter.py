"""The data perimeter of an AWS product, its break-glass exception, and a key that outlives its bucket."""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import synth
from infra.aws import types
from infra.model.graph import ResourceGraph
from infra.model.policy_eval import authorize, evaluate
from infra.model.spec import ProductSpec
from infra.pulumi_sdk import run_program
from infra.validation import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AWS_EXAMPLES = ["sales-orders", "finance-payroll"]
Graphs = Callable[[str], tuple[ProductSpec, ResourceGraph]]
DEPLOYER = "arn:aws:iam::111122223333:user/mesh"  # who the synthesis mocks say deploys
BREAK_GLASS = "arn:aws:iam::111122223333:role/data-break-glass"
BROAD = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}],
}


def _documents(graph: ResourceGraph) -> tuple[dict[str, Any], dict[str, Any]]:
    (bucket_policy,) = [r.policy() for r in graph.of_type("aws:s3/bucketPolicy:BucketPolicy")]
    (key_policy,) = [r.policy() for r in graph.of_type("aws:kms/keyPolicy:KeyPolicy")]
    assert bucket_policy is not None and key_policy is not None
    return bucket_policy, key_policy


def _by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


@pytest.mark.parametrize("example", AWS_EXAMPLES)
def test_bucket_policy_denies_every_principal_but_the_products_roles(
    example: str, example_graph: Graphs
) -> None:
    spec, graph = example_graph(example)
    aws = spec.require_aws()
    bucket_policy, _ = _documents(graph)
    assert not any("NotPrincipal" in s for s in bucket_policy["Statement"]), (
        "NotPrincipal denies bounded roles"
    )
    perimeter = _by_sid(bucket_policy)["DenyDataAccessOutsideProduct"]
    roles = [aws.role_arn(aws.producer_role), *(aws.role_arn(g.aws_role) for g in spec.grants)]
    assert perimeter["Effect"] == "Deny" and perimeter["Principal"] == "*"
    assert perimeter["Resource"] == [aws.bucket_arn, f"{aws.bucket_arn}/*"]
    assert perimeter["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": [*roles, DEPLOYER]}}
    for action in (
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObjectVersion",
        "s3:ListBucket",
        "s3:ListBucketVersions",
    ):
        assert (
            evaluate({"Statement": [perimeter]}, action=action, resource=f"{aws.bucket_arn}/data/x").allowed
            is False
        )
    # The deployer uploads the job script, but the data and its listing are closed to it too.
    by_deployer = _by_sid(bucket_policy)["DenyDataAccessByDeployer"]
    assert by_deployer["Resource"] == [
        aws.bucket_arn,
        f"{aws.bucket_arn}/data/*",
        f"{aws.bucket_arn}/athena-results/*",
    ]


@pytest.mark.parametrize("example", AWS_EXAMPLES)
def test_key_policy_never_delegates_key_use_to_the_account(example: str, example_graph: Graphs) -> None:
    spec, graph = example_graph(example)
    aws = spec.require_aws()
    _, key_policy = _documents(graph)
    use = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"}
    for statement in key_policy["Statement"]:
        principals = statement["Principal"].get("AWS", [])
        principals = principals if isinstance(principals, list) else [principals]
        if aws.account_root in principals:
            assert not use & set(statement["Action"]), f"{statement['Sid']} delegates key use to the account"
    assert "AccountEncryptsViaS3" not in _by_sid(key_policy)
    # A broad identity of the same account (kms:* on *) cannot use the key.
    for action in sorted(use):
        decision = authorize(
            action=action,
            resource="arn:aws:kms:eu-west-1:111122223333:key/k",
            principal="arn:aws:iam::111122223333:role/Admin",
            identity=[BROAD],
            resource_policy=key_policy,
            key_policy=True,
        )
        assert decision.allowed is False, action


def test_uploads_without_a_header_pass_and_other_encryption_is_refused(example_graph: Graphs) -> None:
    spec, graph = example_graph("sales-orders")
    aws = spec.require_aws()
    bucket_policy, _ = _documents(graph)
    key = _by_sid(bucket_policy)["DenyUploadsWithOtherKey"]["Condition"]["StringNotEquals"][
        "s3:x-amz-server-side-encryption-aws-kms-key-id"
    ]
    producer = aws.role_arn(aws.producer_role)
    cases = [
        ("no header: the bucket default applies", {}, True),
        ("the product key by ARN", {"s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": key}, True),
        ("SSE-S3", {"s3:x-amz-server-side-encryption": "AES256"}, False),
        ("DSSE", {"s3:x-amz-server-side-encryption": "aws:kms:dsse", "s3:x-amz-server-side-encryption-aws-kms-key-id": key}, False),
        ("aws:kms without a key id (the AWS managed key)", {"s3:x-amz-server-side-encryption": "aws:kms"}, False),
        ("another key", {"s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:eu-west-1:111122223333:key/other"}, False),
        ("a customer-provided key", {"s3:x-amz-server-side-encryption-customer-algorithm": "AES256"}, False),
    ]  # fmt: skip
    for reason, headers, want in cases:
        decision = evaluate(
            bucket_policy,
            action="s3:PutObject",
            resource=f"{aws.bucket_arn}/data/order_lines/part-0.parquet",
            principal=producer,
            context={"aws:SecureTransport": "true", **headers},
        )
        assert decision.allowed is want, f"{reason}: {decision}"


def _synth_with(
    tmp_path: Path, platform_change: Callable[[dict[str, Any]], None], **replace: Any
) -> tuple[ProductSpec, ResourceGraph]:
    platform = yaml.safe_load((EXAMPLES / "mesh.yaml").read_text())
    platform_change(platform)
    (tmp_path / "mesh.yaml").write_text(yaml.safe_dump(platform))
    (tmp_path / "products").mkdir(exist_ok=True)
    for file in (EXAMPLES / "products").glob("*.yaml"):
        (tmp_path / "products" / file.name).write_text(file.read_text())
    (tmp_path / "products" / "jobs").mkdir(exist_ok=True)
    (tmp_path / "products" / "jobs" / "orders.py").write_text("")
    spec, _, _ = load_spec(tmp_path / "products" / "sales-orders.yaml", platform_path=None, environment=None)
    spec = dataclasses.replace(spec, **replace)
    return spec, synth.synthesize_spec(spec)


def test_break_glass_principals_of_mesh_yaml_pass_the_perimeter_and_use_the_key(tmp_path: Path) -> None:
    def add(platform: dict[str, Any]) -> None:
        platform["breakGlass"] = {"aws": ["arn:aws:iam::{account}:role/data-break-glass"]}

    spec, graph = _synth_with(tmp_path, add)
    assert spec.break_glass_aws == (BREAK_GLASS,)
    bucket_policy, key_policy = _documents(graph)
    exempt = _by_sid(bucket_policy)["DenyDataAccessOutsideProduct"]["Condition"]["ArnNotLike"][
        "aws:PrincipalArn"
    ]
    assert BREAK_GLASS in exempt
    assert _by_sid(key_policy)["BreakGlassUsesKey"]["Principal"] == {"AWS": [BREAK_GLASS]}
    aws = spec.require_aws()
    read = authorize(
        action="s3:GetObject",
        resource=f"{aws.bucket_arn}/data/order_lines/x",
        principal=BREAK_GLASS,
        identity=[BROAD],
        resource_policy=bucket_policy,
        context={"aws:SecureTransport": "true"},
    )
    assert read.allowed, read


class _OptionsMonitor(synth._RecordingMonitor):
    """Also keeps each resource's retainOnDelete and protect options."""

    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.options: dict[str, tuple[bool, bool]] = {}

    def RegisterResource(self, request: Any) -> Any:
        self.options[request.name] = (bool(request.retainOnDelete), bool(request.protect))
        return super().RegisterResource(request)


def _options(
    spec: ProductSpec, *, delete_data: bool = False
) -> tuple[dict[str, tuple[bool, bool]], ResourceGraph]:
    from stacks.product import product_program

    def run() -> tuple[dict[str, tuple[bool, bool]], ResourceGraph]:
        aws = spec.require_aws()
        monitor = _OptionsMonitor(synth._Mocks(synth.CloudContext(account=aws.account, region=aws.region)))
        run_program(
            product_program(spec, delete_data=delete_data),
            mocks=monitor.mocks,
            monitor=monitor,
            project=spec.project,
            stack=spec.stack,
        )
        return monitor.options, ResourceGraph(
            stack=spec.stack, project=spec.project, resources=monitor.recorded
        )

    return contextvars.Context().run(run)


@pytest.mark.parametrize(("delete_data", "retained"), [(False, True), (True, False)])
def test_the_key_outlives_its_bucket_unless_the_data_is_deleted(
    delete_data: bool, retained: bool, example_graph: Graphs
) -> None:
    spec, _ = example_graph("finance-payroll")
    options, graph = _options(spec, delete_data=delete_data)
    (key,) = graph.of_type(types.KMS_KEY.token)
    (bucket,) = graph.of_type(types.BUCKET.token)
    assert options[key.name][0] is retained, f"{key.urn}: retainOnDelete"
    assert bucket.inputs["forceDestroy"] is delete_data, bucket.urn
    # The bucket depends on the key, so a destroy deletes the bucket first and the key only after it.
    assert key.urn in bucket.dependencies, bucket.urn


READER = "arn:aws:iam::111122223333:role/platform/mesh-health"


@pytest.mark.parametrize(
    ("break_glass", "reads"), [(False, False), (True, True)], ids=["reader", "reader-and-break-glass"]
)
def test_platform_readers_may_list_the_bucket_and_nothing_more(
    tmp_path: Path, break_glass: bool, reads: bool
) -> None:
    def add(platform: dict[str, Any]) -> None:
        platform["platformReaders"] = {"aws": ["arn:aws:iam::{account}:role/platform/mesh-health"]}
        if break_glass:
            platform["breakGlass"] = {"aws": ["arn:aws:iam::{account}:role/platform/mesh-health"]}

    spec, graph = _synth_with(tmp_path, add)
    aws = spec.require_aws()
    bucket_policy, key_policy = _documents(graph)
    by_sid = _by_sid(bucket_policy)
    assert READER in by_sid["DenyDataAccessOutsideProduct"]["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert "PlatformReadersList" not in by_sid, "readers list with their own identity policy"
    data = f"{aws.bucket_arn}/data/order_lines/part-0.parquet"
    cases = [
        ("s3:ListBucket", aws.bucket_arn, True),
        ("s3:ListBucketVersions", aws.bucket_arn, reads),
        ("s3:ListBucketMultipartUploads", aws.bucket_arn, reads),
        ("s3:GetObject", data, reads),
        ("s3:GetObjectVersion", data, reads),
        ("s3:PutObject", data, reads),
        ("s3:DeleteObject", data, reads),
        ("s3:GetObject", f"{aws.bucket_arn}/jobs/orders.py", reads),
    ]
    for action, resource, want in cases:
        decision = authorize(
            action=action,
            resource=resource,
            principal=READER,
            identity=[BROAD],
            resource_policy=bucket_policy,
            context={"aws:SecureTransport": "true"},
        )
        assert decision.allowed is want, f"{action} on {resource}: {decision}"
    key = "arn:aws:kms:eu-west-1:111122223333:key/k"
    for via, want in (
        (None, reads),
        ("s3.eu-west-1.amazonaws.com", reads),
        ("sns.eu-west-1.amazonaws.com", True),
    ):
        decision = authorize(
            action="kms:Decrypt",
            resource=key,
            principal=READER,
            identity=[BROAD],
            resource_policy=key_policy,
            key_policy=True,
            context={"kms:ViaService": via} if via else {},
        )
        assert decision.allowed is want, f"kms:Decrypt via {via}: {decision}"
