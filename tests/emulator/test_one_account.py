"""Every AWS example in one moto account: each product's data reaches only the roles its request names.

Both products are applied to one in-process moto account with IAM enforcement on. Each
role of either product, a broad identity (`s3:*`, `kms:*` on `*`) and an administrator
(`*` on `*`) read, list and write every port of both products. A request is allowed
only when moto executes it and the documents moto does not enforce (bucket policy, key
policy, permissions boundary) allow it too. Expectations come from the requests alone.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.authorization import disable_iam_authentication, enable_iam_authentication

from infra.aws.emulator import Target, apply_graph, for_moto, rewrite_account
from infra.model.graph import ResourceGraph
from infra.model.policy_eval import authorize
from infra.model.spec import ProductSpec
from infra.synth import synthesize_spec
from infra.validation import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AWS_EXAMPLES = ["sales-orders", "finance-payroll"]
ACCOUNT = "123456789012"
OUTSIDERS = {
    "broad-identity": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}]},
    "administrator": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
}  # fmt: skip


@dataclass(frozen=True)
class Caller:
    name: str
    arn: str
    identity: list[dict[str, Any]]
    boundary: dict[str, Any] | None


def _product(example: str) -> tuple[ProductSpec, ResourceGraph]:
    spec, _, _ = load_spec(EXAMPLES / "products" / f"{example}.yaml", platform_path=None, environment=None)
    return spec, rewrite_account(synthesize_spec(spec), spec.require_aws().account, ACCOUNT)


def _moto_graph(graph: ResourceGraph) -> ResourceGraph:
    data = copy.deepcopy(graph.as_dict())  # as_dict shares the inputs
    for resource in data["resources"]:
        if resource["type"] == "aws:s3/bucketPolicy:BucketPolicy":
            resource["inputs"]["policy"] = json.dumps(for_moto(json.loads(resource["inputs"]["policy"]))[0])
    return ResourceGraph.from_dict(data)


def _product_callers(graph: ResourceGraph) -> list[Caller]:
    boundaries = {f"arn:aws:iam::{ACCOUNT}:policy{p.inputs.get('path', '/')}{p.inputs['name']}": p.policy() for p in graph.of_type("aws:iam/policy:Policy")}  # fmt: skip
    callers = []
    for role in graph.of_type("aws:iam/role:Role"):
        name = role.inputs["name"]
        inline = [
            p.policy() for p in graph.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == name
        ]
        arn = f"arn:aws:iam::{ACCOUNT}:role{role.inputs.get('path', '/')}{name}"
        callers.append(
            Caller(
                name,
                arn,
                [d for d in inline if d],
                boundaries.get(role.inputs.get("permissionsBoundary", "")),
            )
        )
    return callers


def _expected(spec: ProductSpec, caller: str, port: str, operation: str) -> bool:
    aws = spec.require_aws()
    if caller == aws.producer_role:
        return True
    grant = next((g for g in spec.grants if g.aws_role == caller), None)
    return grant is not None and port in grant.ports and operation in ("read", "list")


def _execute(client: Any, bucket: str, prefix: str, operation: str) -> bool:
    try:
        if operation == "read":
            client.get_object(Bucket=bucket, Key=f"{prefix}seed.txt")
        elif operation == "list":
            client.list_objects_v2(Bucket=bucket, Prefix=prefix)
        else:
            client.put_object(Bucket=bucket, Key=f"{prefix}new.txt", Body=b"x")
    except ClientError:
        return False
    return True


@pytest.fixture(scope="module")
def matrix() -> list[tuple[str, str, str, str, bool, bool]]:
    products = [_product(e) for e in AWS_EXAMPLES]
    rows: list[tuple[str, str, str, str, bool, bool]] = []
    with mock_aws():
        target = Target(region="eu-west-1")
        with disable_iam_authentication():
            keys: dict[str, str] = {}
            for spec, graph in products:
                applied = apply_graph(_moto_graph(graph), target)
                keys[spec.stack] = next(v for k, v in applied.values.items() if k.endswith("-key.arn>"))
            session = target.session()
            iam, sts, s3 = (target.client(s, session) for s in ("iam", "sts", "s3"))
            trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})  # fmt: skip
            callers = [c for _, graph in products for c in _product_callers(graph)]
            for name, policy in OUTSIDERS.items():
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
                iam.put_role_policy(RoleName=name, PolicyName="own", PolicyDocument=json.dumps(policy))
                callers.append(Caller(name, f"arn:aws:iam::{ACCOUNT}:role/{name}", [policy], None))
            for spec, _ in products:
                for port in spec.ports:
                    s3.put_object(
                        Bucket=spec.require_aws().bucket, Key=f"{port.prefix}seed.txt", Body=b"seed"
                    )
            clients = {}
            for caller in callers:
                c = sts.assume_role(RoleArn=caller.arn, RoleSessionName="one-account")["Credentials"]
                clients[caller.name] = boto3.client(
                    "s3", region_name="eu-west-1", aws_access_key_id=c["AccessKeyId"],
                    aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"],
                )  # fmt: skip
        with enable_iam_authentication():
            for spec, graph in products:
                aws = spec.require_aws()
                bucket_policy = next(r.policy() for r in graph.of_type("aws:s3/bucketPolicy:BucketPolicy"))
                key_policy = next(r.policy() for r in graph.of_type("aws:kms/keyPolicy:KeyPolicy"))
                for caller in callers:
                    for port in spec.ports:
                        for operation in ("read", "list", "write"):
                            executed = _execute(clients[caller.name], aws.bucket, port.prefix, operation)
                            action, resource, context = {
                                "read": ("s3:GetObject", f"{aws.bucket_arn}/{port.prefix}seed.txt", {}),
                                "list": ("s3:ListBucket", aws.bucket_arn, {"s3:prefix": port.prefix}),
                                "write": ("s3:PutObject", f"{aws.bucket_arn}/{port.prefix}new.txt", {}),
                            }[operation]
                            context |= {"aws:SecureTransport": "true"}
                            allowed = authorize(
                                action=action, resource=resource, principal=caller.arn, identity=caller.identity,
                                boundary=caller.boundary, resource_policy=bucket_policy, context=context,
                            ).allowed  # fmt: skip
                            if operation != "list":
                                allowed = allowed and authorize(
                                    action="kms:Decrypt" if operation == "read" else "kms:GenerateDataKey",
                                    resource=keys[spec.stack], principal=caller.arn, identity=caller.identity,
                                    boundary=caller.boundary, resource_policy=key_policy, key_policy=True,
                                    context={"kms:ViaService": f"s3.{aws.region}.amazonaws.com", "kms:ResourceAliases": [aws.kms_alias]},
                                ).allowed  # fmt: skip
                            observed = executed and allowed
                            expected = _expected(spec, caller.name, port.name, operation)
                            rows.append((spec.stack, caller.name, port.name, operation, expected, observed))
    return rows


def test_every_cell_matches_the_requests_in_one_account(
    matrix: list[tuple[str, str, str, str, bool, bool]],
) -> None:
    mismatches = [row for row in matrix if row[4] != row[5]]
    assert mismatches == []
    # 4 product roles (sales: producer and two consumers; payroll: its producer) and 2
    # outsiders, over the 3 ports of both products, 3 operations each.
    assert len(matrix) == 6 * 3 * 3


def test_the_broad_identity_and_the_administrator_reach_nothing(
    matrix: list[tuple[str, str, str, str, bool, bool]],
) -> None:
    outsiders = [row for row in matrix if row[1] in OUTSIDERS]
    assert outsiders and not any(row[5] for row in outsiders)


def test_one_products_roles_reach_nothing_of_the_other(
    matrix: list[tuple[str, str, str, str, bool, bool]],
) -> None:
    stacks = {
        "sales.orders.dev": "acme-dev-sales-orders-",
        "finance.payroll.dev": "acme-dev-finance-payroll-",
    }
    crossing = [row for row in matrix if row[5] and not row[1].startswith(stacks[row[0]])]
    assert crossing == []
