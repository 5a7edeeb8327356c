"""The access proof: who can do what to each output port, expected against observed.

The product is applied to in-process moto with IAM enforcement on. For each principal
(the producer role, each consumer domain's role, a role of an unrelated domain, an
anonymous caller) and each output port, real S3 requests are made: read an object,
list the port's prefix, write, delete. moto enforces identity policies on S3, so those
cells are *executed*. What moto does not enforce — bucket policies, key policies,
permissions boundaries, Glue resource scoping — is decided by evaluating the policy
documents, and those cells say *evaluated*. Expectations come from the request alone.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.authorization import disable_iam_authentication, enable_iam_authentication

from infra.aws import types as aws_types
from infra.aws.emulator import ApplyResult, Target, apply_graph, rewrite_account
from infra.model.graph import ResourceGraph
from infra.model.spec import ProductSpec
from infra.policy_eval import Decision, evaluate

MOTO_ACCOUNT = "123456789012"
EXECUTED = "executed"
EVALUATED = "evaluated"
S3_OPERATIONS = ("read", "list", "write", "delete")
ANONYMOUS = "anonymous"
UNRELATED = "unrelated"
PRODUCER = "producer"


@dataclass(frozen=True)
class Cell:
    """One (principal, port, operation) check."""

    principal: str
    port: str
    operation: str
    expected: bool
    observed: bool
    method: str  # executed | evaluated
    statement: str | None = None  # the statement that decided, or that is at fault
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Observed what the request implies."""
        return self.expected == self.observed


@dataclass
class ProofResult:
    """The matrix and its verdict."""

    product: str
    stack: str
    cells: list[Cell] = field(default_factory=list)
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> list[Cell]:
        """Cells where observed differs from expected."""
        return [c for c in self.cells if not c.ok]

    @property
    def passed(self) -> bool:
        """Every cell as expected."""
        return not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `mesh prove --output json`.

        The run's duration is left out, so the same request always gives the same bytes;
        the table view shows it.
        """
        return {
            "product": self.product,
            "stack": self.stack,
            "passed": self.passed,
            "cells": [asdict(c) | {"ok": c.ok} for c in self.cells],
            "mismatches": len(self.mismatches),
            "notes": self.notes,
            "skipped": self.skipped,
        }


def expected_access(spec: ProductSpec, principal: str, port: str, operation: str) -> bool:
    """What the request grants: the producer everything, consumers read and list their ports."""
    if principal == PRODUCER:
        return True
    grant = next((g for g in spec.grants if g.domain == principal), None)
    if grant is None:
        return False
    return port in grant.ports and operation in (
        "read",
        "list",
        "decrypt",
        "catalog-read",
        "bucket-policy-read",
    )


def unrelated_domain(spec: ProductSpec, registered: list[str]) -> str:
    """A domain with no stake in the product, for the 'everyone else' row."""
    stakeholders = {spec.domain, *(g.domain for g in spec.grants)}
    for domain in registered:
        if domain not in stakeholders:
            return domain
    return "outsider"


def _for_moto(graph: ResourceGraph) -> tuple[ResourceGraph, list[str]]:
    """The graph with the bucket-policy statements moto would misjudge left out.

    moto evaluates a bucket policy's conditions without the request's context (headers,
    transport), so a conditional Deny such as "uploads must use the product key" matches
    every upload. Those statements are decided by evaluation instead; their Sids are
    returned so the result can say so.
    """
    dropped: list[str] = []
    data = graph.as_dict()
    for resource in data["resources"]:
        if resource["type"] != aws_types.BUCKET_POLICY.token:
            continue
        document = json.loads(resource["inputs"]["policy"])
        keep = []
        for statement in document["Statement"]:
            if statement.get("Effect") == "Deny" and statement.get("Condition"):
                dropped.append(statement.get("Sid", "?"))
            else:
                keep.append(statement)
        resource["inputs"]["policy"] = json.dumps({**document, "Statement": keep})
    return ResourceGraph.from_dict(data), dropped


def _s3_request(
    client: Any, operation: str, bucket: str, port_prefix: str, principal: str
) -> tuple[bool, str]:
    key = f"{port_prefix}proof-seed.txt"
    try:
        if operation == "read":
            client.get_object(Bucket=bucket, Key=key)["Body"].read()
        elif operation == "list":
            client.list_objects_v2(Bucket=bucket, Prefix=port_prefix)
        elif operation == "write":
            client.put_object(
                Bucket=bucket,
                Key=f"{port_prefix}proof-by-{principal}.txt",
                Body=b"x",
                ServerSideEncryption="aws:kms",
            )
        else:
            client.delete_object(Bucket=bucket, Key=f"{port_prefix}proof-delete-{principal}.txt")
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        return False, code
    return True, "allowed"


def _identity_documents(
    graph: ResourceGraph, role_name: str
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    inline = [
        r.policy() for r in graph.of_type(aws_types.ROLE_POLICY.token) if r.inputs.get("role") == role_name
    ]
    role = next(
        (r for r in graph.of_type(aws_types.IAM_ROLE.token) if r.inputs.get("name") == role_name), None
    )
    boundary = None
    if role is not None and role.inputs.get("permissionsBoundary"):
        arn = role.inputs["permissionsBoundary"]
        for policy in graph.of_type(aws_types.IAM_POLICY.token):
            if arn.endswith(f"/{policy.inputs.get('name')}"):
                boundary = policy.policy()
    return [d for d in inline if d is not None], boundary


def _effective(
    documents: list[dict[str, Any]],
    boundary: dict[str, Any] | None,
    *,
    action: str,
    resource: str,
    context: dict[str, Any],
) -> Decision:
    """Identity policies intersected with the boundary."""
    verdicts = [evaluate(d, action=action, resource=resource, context=context) for d in documents]
    denied = next((v for v in verdicts if v.explicit_deny), None)
    if denied:
        return denied
    allowed = next((v for v in verdicts if v.allowed), None)
    if allowed is None:
        return Decision(False, None)
    if (
        boundary is not None
        and not evaluate(boundary, action=action, resource=resource, context=context).allowed
    ):
        return Decision(False, "permissions boundary")
    return allowed


def prove(spec: ProductSpec, graph: ResourceGraph, *, registered_domains: list[str]) -> ProofResult:
    """Apply the product to in-process moto and fill the access matrix."""
    started = time.perf_counter()
    aws = spec.require_aws()
    region = aws.region
    graph = rewrite_account(graph, aws.account, MOTO_ACCOUNT)
    bucket = aws.bucket
    bucket_arn = f"arn:aws:s3:::{bucket}"
    result = ProofResult(product=f"{spec.domain}/{spec.product}", stack=spec.stack)
    other = unrelated_domain(spec, registered_domains)
    role_arn = {PRODUCER: f"arn:aws:iam::{MOTO_ACCOUNT}:role{aws.role_path}{aws.producer_role}"} | {
        g.domain: f"arn:aws:iam::{MOTO_ACCOUNT}:role{aws.role_path}{g.aws_role}" for g in spec.grants
    }
    role_name = {PRODUCER: aws.producer_role} | {g.domain: g.aws_role for g in spec.grants}
    role_name[other] = f"{spec.organization}-{spec.environment}-{other}-unrelated-reader"
    role_arn[other] = f"arn:aws:iam::{MOTO_ACCOUNT}:role/{role_name[other]}"
    principals = [PRODUCER, *(g.domain for g in spec.grants), other, ANONYMOUS]
    target = Target(region=region)
    own = f"arn:aws:s3:::{spec.organization}-{spec.environment}-{other}-*"
    unrelated_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadOwnDomain",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [own, f"{own}/*"],
            }
        ],
    }

    moto_graph, evaluated_only = _for_moto(graph)
    full_bucket_policy = next((r.policy() for r in graph.of_type(aws_types.BUCKET_POLICY.token)), None) or {
        "Statement": []
    }
    result.notes = [
        f"bucket policy statement {sid} is evaluated, not executed: moto judges bucket-policy conditions without the request's context"
        for sid in evaluated_only
    ]
    with mock_aws():
        with disable_iam_authentication():
            applied: ApplyResult = apply_graph(moto_graph, target)
            result.skipped = [f"{a.name}: {a.reason}" for a in applied.skipped]
            session = target.session()
            iam, s3, sts = (target.client(s, session) for s in ("iam", "s3", "sts"))
            # A role of an unrelated domain: it reads its own domain's data, nothing of ours.
            iam.create_role(
                RoleName=role_name[other],
                AssumeRolePolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws:iam::{MOTO_ACCOUNT}:root"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                ),
            )
            iam.put_role_policy(
                RoleName=role_name[other],
                PolicyName="own-domain",
                PolicyDocument=json.dumps(unrelated_policy),
            )
            for port in spec.ports:
                s3.put_object(
                    Bucket=bucket,
                    Key=f"{port.prefix}proof-seed.txt",
                    Body=b"seed",
                    ServerSideEncryption="aws:kms",
                )
                for principal in principals:
                    s3.put_object(
                        Bucket=bucket,
                        Key=f"{port.prefix}proof-delete-{principal}.txt",
                        Body=b"seed",
                        ServerSideEncryption="aws:kms",
                    )
            clients: dict[str, Any] = {}
            for principal in principals:
                if principal == ANONYMOUS:
                    continue
                creds = sts.assume_role(
                    RoleArn=role_arn[principal], RoleSessionName=f"mesh-proof-{principal}"
                )["Credentials"]
                clients[principal] = boto3.client(
                    "s3",
                    region_name=region,
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                )
        documents = {
            p: _identity_documents(graph, role_name[p]) for p in principals if p not in (ANONYMOUS, other)
        }
        documents[other] = ([unrelated_policy], None)

        with enable_iam_authentication():
            for principal in principals:
                for port in spec.ports:
                    for operation in S3_OPERATIONS:
                        if operation == "list" and principal != ANONYMOUS:
                            # moto does not judge the s3:prefix condition of ListBucket; evaluate it.
                            action, resource, context = _s3_action(
                                operation, bucket_arn, port.prefix, principal
                            )
                            decision = _effective(
                                *documents[principal], action=action, resource=resource, context=context
                            )
                            result.cells.append(
                                Cell(
                                    principal,
                                    port.name,
                                    operation,
                                    expected_access(spec, principal, port.name, operation),
                                    decision.allowed,
                                    EVALUATED,
                                    decision.statement,
                                    "identity policy ∩ boundary (moto ignores s3:prefix conditions)",
                                )
                            )
                            continue
                        if principal == ANONYMOUS:
                            # moto cannot serve unsigned requests in-process; decide them on the bucket policy.
                            action, resource, context = _s3_action(
                                operation, bucket_arn, port.prefix, principal
                            )
                            decision = evaluate(
                                full_bucket_policy,
                                action=action,
                                resource=resource,
                                principal=None,
                                context=context | {"aws:SecureTransport": "true"},
                            )
                            result.cells.append(
                                Cell(
                                    principal,
                                    port.name,
                                    operation,
                                    False,
                                    decision.allowed,
                                    EVALUATED,
                                    decision.statement,
                                    "unsigned request against the bucket policy",
                                )
                            )
                            continue
                        observed, code = _s3_request(
                            clients[principal], operation, bucket, port.prefix, principal
                        )
                        statement = None
                        if principal in documents:
                            action, resource, context = _s3_action(
                                operation, bucket_arn, port.prefix, principal
                            )
                            statement = _effective(
                                *documents[principal], action=action, resource=resource, context=context
                            ).statement
                        result.cells.append(
                            Cell(
                                principal,
                                port.name,
                                operation,
                                expected_access(spec, principal, port.name, operation),
                                observed,
                                EXECUTED,
                                statement,
                                code,
                            )
                        )

    result.cells += _evaluated_cells(spec, graph, principals, role_arn, documents, bucket_arn)
    result.seconds = time.perf_counter() - started
    return result


def _s3_action(
    operation: str, bucket_arn: str, prefix: str, principal: str
) -> tuple[str, str, dict[str, Any]]:
    if operation == "read":
        return "s3:GetObject", f"{bucket_arn}/{prefix}proof-seed.txt", {}
    if operation == "list":
        return "s3:ListBucket", bucket_arn, {"s3:prefix": prefix}
    if operation == "write":
        return (
            "s3:PutObject",
            f"{bucket_arn}/{prefix}proof-by-{principal}.txt",
            {"s3:x-amz-server-side-encryption": "aws:kms"},
        )
    return "s3:DeleteObject", f"{bucket_arn}/{prefix}proof-delete-{principal}.txt", {}


def _evaluated_cells(
    spec: ProductSpec,
    graph: ResourceGraph,
    principals: list[str],
    role_arn: dict[str, str],
    documents: dict[str, tuple[list[dict[str, Any]], dict[str, Any] | None]],
    bucket_arn: str,
) -> list[Cell]:
    aws = spec.require_aws()
    (bucket_policy,) = [r.policy() for r in graph.of_type(aws_types.BUCKET_POLICY.token)] or [None]
    (key_policy,) = [r.policy() for r in graph.of_type(aws_types.KEY_POLICY.token)] or [None]
    key_arn = (
        next((r.inputs.get("kmsKeyId") for r in graph.of_type(aws_types.BUCKET_OBJECT.token)), "*") or "*"
    )
    secure = {"aws:SecureTransport": "true"}
    cells: list[Cell] = []
    for principal in principals:
        arn = None if principal == ANONYMOUS else role_arn[principal]
        for port in spec.ports:
            expected = expected_access(spec, principal, port.name, "read")
            resource = f"{bucket_arn}/{port.prefix}part-0000.parquet"
            if bucket_policy is not None:
                decision = evaluate(
                    bucket_policy, action="s3:GetObject", resource=resource, principal=arn, context=secure
                )
                cells.append(
                    Cell(
                        principal,
                        port.name,
                        "bucket-policy-read",
                        expected,
                        decision.allowed,
                        EVALUATED,
                        decision.statement,
                        "bucket policy",
                    )
                )
            if principal in documents:
                table = f"arn:aws:glue:{aws.region}:{MOTO_ACCOUNT}:table/{aws.glue_database}/{port.table}"
                decision = _effective(
                    *documents[principal], action="glue:GetTable", resource=table, context={}
                )
                cells.append(
                    Cell(
                        principal,
                        port.name,
                        "catalog-read",
                        expected,
                        decision.allowed,
                        EVALUATED,
                        decision.statement,
                        "identity policy ∩ boundary",
                    )
                )
            else:
                cells.append(
                    Cell(
                        principal,
                        port.name,
                        "catalog-read",
                        expected,
                        False,
                        EVALUATED,
                        None,
                        "unsigned callers have no identity policy",
                    )
                )
        if key_policy is not None:
            decision = evaluate(key_policy, action="kms:Decrypt", resource="*", principal=arn, context={})
            aliases = {"kms:ResourceAliases": [aws.kms_alias]}
            identity = (
                _effective(*documents[principal], action="kms:Decrypt", resource=key_arn, context=aliases)
                if principal in documents
                else Decision(False, None)
            )
            allowed = decision.allowed and identity.allowed
            expected = principal == PRODUCER or any(g.domain == principal for g in spec.grants)
            statement = decision.statement if not decision.allowed else identity.statement
            cells.append(
                Cell(
                    principal,
                    "*",
                    "decrypt",
                    expected,
                    allowed,
                    EVALUATED,
                    statement,
                    "key policy and identity policy",
                )
            )
    return cells
