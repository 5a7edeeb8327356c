"""The access proof: who can do what to each output port, expected against observed.

The product is applied to in-process moto with IAM enforcement on. The callers: the
producer role, each consumer domain's role, a role of an unrelated domain, a broad
identity of the same account (`s3:*` and `kms:*` on `*`), an administrator (`*` on
`*`), each break-glass principal of the platform config, each platform reader
(`platformReaders.aws`, the identity `mesh health` and CI run as: given `s3:*` and
`kms:*` in its own IAM, so that the perimeter alone keeps it to listing), and an
anonymous caller. For
each caller and output port, real S3 requests are made: read an object, HEAD the bare
key `data/<port>` (as directory-reading clients do), list the port's prefix, write
without an encryption header (the bucket default applies), a multipart upload, delete.

moto enforces identity policies on S3 but not bucket policies' conditions, key
policies or permissions boundaries. So every request is also decided by evaluating
the documents AWS would read (`infra.model.policy_eval.authorize`: identity policies,
boundary, bucket policy, and for reads and writes the key policy), and a cell is
allowed only when both agree that it is. A cell is *executed* when moto's answer is
the verdict, *evaluated* when a document moto does not enforce decided it (its
detail says which). Expectations come from the request and the platform config alone.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.authorization import disable_iam_authentication, enable_iam_authentication

from infra.aws import types as aws_types
from infra.aws.emulator import ApplyResult, Target, apply_graph, for_moto, rewrite_account
from infra.model.graph import ResourceGraph
from infra.model.policy_eval import Decision, authorize, evaluate
from infra.model.spec import ProductSpec

MOTO_ACCOUNT = "123456789012"
EXECUTED = "executed"
EVALUATED = "evaluated"
S3_OPERATIONS = ("read", "head", "list", "write", "multipart", "delete")
READ_OPERATIONS = ("read", "head", "list", "decrypt", "catalog-read")
ANONYMOUS = "anonymous"
UNRELATED = "unrelated"
PRODUCER = "producer"
BROAD = "broad-identity"
ADMINISTRATOR = "administrator"
BREAK_GLASS = "break-glass"
PLATFORM_READER = "platform-reader"
BROAD_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "BroadData", "Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}],
}
ADMINISTRATOR_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Administrator", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


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
    """What the request and the platform config grant: the producer and the break-glass
    principals everything, consumers read their granted ports, platform readers list the
    ports (`mesh health` reads freshness from the listing) and nothing more, everyone else
    no data (an administrator still reads the catalog's table definitions)."""
    if principal == PRODUCER or principal.startswith(BREAK_GLASS):
        return True
    if principal.startswith(PLATFORM_READER):
        return operation == "list"
    if principal == ADMINISTRATOR and operation == "catalog-read":
        return True  # table definitions are metadata, outside the data perimeter (see README)
    grant = next((g for g in spec.grants if g.domain == principal), None)
    if grant is None:
        return False
    return (port in grant.ports or port == "*") and operation in READ_OPERATIONS


def stakeholder_domains(spec: ProductSpec) -> list[str]:
    """The domains a review's proof knows: the product's own, its consumers', and `outsider`
    for the unrelated row (a review reads no platform config to name a real one)."""
    return sorted({spec.domain, *(g.domain for g in spec.grants)} | {"outsider"})


def unrelated_domain(spec: ProductSpec, registered: list[str]) -> str:
    """A domain with no stake in the product, for the 'everyone else' row."""
    stakeholders = {spec.domain, *(g.domain for g in spec.grants)}
    for domain in registered:
        if domain not in stakeholders:
            return domain
    return "outsider"


def _for_moto(graph: ResourceGraph) -> tuple[ResourceGraph, list[str]]:
    """The graph with the bucket-policy statements moto would misjudge left out (`for_moto`);
    what they decide is evaluated instead, and their Sids are returned so the result says so."""
    dropped: list[str] = []
    data = copy.deepcopy(graph.as_dict())  # as_dict shares the inputs: never edit the caller's graph
    for resource in data["resources"]:
        if resource["type"] == aws_types.BUCKET_POLICY.token:
            document, left_out = for_moto(json.loads(resource["inputs"]["policy"]))
            resource["inputs"]["policy"] = json.dumps(document)
            dropped += left_out
    return ResourceGraph.from_dict(data), dropped


def _key(port_prefix: str, operation: str, principal: str) -> str:
    if operation == "read":
        return f"{port_prefix}proof-seed.txt"
    if operation == "head":
        return port_prefix.rstrip("/")
    if operation == "delete":
        return f"{port_prefix}proof-delete-{principal}.txt"
    return f"{port_prefix}proof-{operation}-by-{principal}.txt"


def _s3_request(
    client: Any, operation: str, bucket: str, port_prefix: str, principal: str
) -> tuple[bool, str]:
    """Make one request; (allowed, what came back). A 404 on HEAD is an allowed request."""
    key = _key(port_prefix, operation, principal)
    try:
        if operation == "read":
            client.get_object(Bucket=bucket, Key=key)["Body"].read()
        elif operation == "head":
            client.head_object(Bucket=bucket, Key=key)
        elif operation == "list":
            client.list_objects_v2(Bucket=bucket, Prefix=port_prefix)
        elif operation == "write":
            client.put_object(Bucket=bucket, Key=key, Body=b"x")  # no header: the bucket default applies
        elif operation == "multipart":
            upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
            part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x")
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload,
                MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
            )
        else:
            client.delete_object(Bucket=bucket, Key=key)
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if operation == "head" and code in ("404", "NoSuchKey", "NotFound"):
            return True, "not found (allowed)"
        return False, code
    return True, "allowed"


def _s3_requests(
    operation: str, bucket_arn: str, prefix: str, principal: str
) -> list[tuple[str, str, dict[str, Any]]]:
    """The (action, resource, context) AWS authorizes for one operation (a multipart upload is several)."""
    secure: dict[str, Any] = {"aws:SecureTransport": "true"}
    key = f"{bucket_arn}/{_key(prefix, operation, principal)}"
    if operation in ("read", "head"):
        return [("s3:GetObject", key, secure)]
    if operation == "list":
        return [("s3:ListBucket", bucket_arn, secure | {"s3:prefix": prefix})]
    if operation == "write":
        return [("s3:PutObject", key, secure)]
    if operation == "multipart":
        return [("s3:PutObject", key, secure), ("s3:ListMultipartUploadParts", key, secure)]
    return [("s3:DeleteObject", key, secure)]


Documents = tuple[list[dict[str, Any]], dict[str, Any] | None]


def _identity_documents(graph: ResourceGraph, role_name: str) -> Documents:
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


def _only(graph: ResourceGraph, type_: str) -> dict[str, Any] | None:
    found = [r.policy() for r in graph.of_type(type_)]
    return found[0] if found else None


@dataclass(frozen=True)
class _Caller:
    name: str
    arn: str | None  # None: unsigned
    role: str | None  # the role created in moto for callers outside the product
    documents: Documents


def _callers(spec: ProductSpec, graph: ResourceGraph, registered: list[str]) -> list[_Caller]:
    aws = spec.require_aws()
    arn = {PRODUCER: aws.role_arn(aws.producer_role)} | {
        g.domain: aws.role_arn(g.aws_role) for g in spec.grants
    }
    callers = [_Caller(PRODUCER, arn[PRODUCER], None, _identity_documents(graph, aws.producer_role))]
    callers += [
        _Caller(g.domain, arn[g.domain], None, _identity_documents(graph, g.aws_role)) for g in spec.grants
    ]
    other = unrelated_domain(spec, registered)
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

    def outside(name: str, role: str, policy: dict[str, Any]) -> _Caller:
        return _Caller(name, f"arn:aws:iam::{MOTO_ACCOUNT}:role/{role}", role, ([policy], None))

    base = f"{spec.organization}-{spec.environment}"
    callers += [
        outside(other, f"{base}-{other}-unrelated-reader", unrelated_policy),
        outside(BROAD, f"{base}-broad-data-engineer", BROAD_POLICY),
        outside(ADMINISTRATOR, f"{base}-administrator", ADMINISTRATOR_POLICY),
    ]
    for index, glass in enumerate((a for a in spec.break_glass_aws if ":role/" in a), start=1):
        name = f"{BREAK_GLASS}-{index}" if len(spec.break_glass_aws) > 1 else BREAK_GLASS
        callers.append(_Caller(name, glass, None, ([ADMINISTRATOR_POLICY], None)))
    readers = platform_readers(spec)
    for index, reader in enumerate(readers, start=1):
        name = f"{PLATFORM_READER}-{index}" if len(readers) > 1 else PLATFORM_READER
        callers.append(_Caller(name, reader, reader.rpartition("/")[2], ([BROAD_POLICY], None)))
    callers.append(_Caller(ANONYMOUS, None, None, ([], None)))
    return callers


def platform_readers(spec: ProductSpec) -> list[str]:
    """The platform readers the proof calls as: roles of the product's account that are not
    also break-glass principals (those are proven in their break-glass row)."""
    account = spec.require_aws().account
    return [
        arn
        for arn in spec.platform_readers
        if ":role/" in arn and f":{account}:" in arn and arn not in spec.break_glass_aws
    ]


def _trust_account() -> str:
    return json.dumps(
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
    )


def _create_outside_role(iam: Any, arn: str, policy: dict[str, Any]) -> None:
    """A role outside the product (unrelated, broad, administrator, break-glass) in moto."""
    path_and_name = arn.split(":role", 1)[1]
    path, _, name = path_and_name.rpartition("/")
    iam.create_role(RoleName=name, Path=f"{path}/", AssumeRolePolicyDocument=_trust_account())
    iam.put_role_policy(RoleName=name, PolicyName="own-access", PolicyDocument=json.dumps(policy))


def _evaluate(
    caller: _Caller,
    operation: str,
    *,
    bucket_arn: str,
    prefix: str,
    bucket_policy: dict[str, Any] | None,
    key_policy: dict[str, Any] | None,
    key: _Key,
) -> Decision:
    """What AWS would decide from the documents: S3 authorization, then the key for the data."""
    identity, boundary = caller.documents
    granted = Decision(False, None)
    for action, resource, context in _s3_requests(operation, bucket_arn, prefix, caller.name):
        if caller.arn is None:
            decision = evaluate(bucket_policy or {}, action=action, resource=resource, context=context)
        else:
            decision = authorize(
                action=action,
                resource=resource,
                principal=caller.arn,
                identity=identity,
                boundary=boundary,
                resource_policy=bucket_policy,
                context=context,
            )
        if not decision.allowed:
            return decision
        granted = granted if granted.allowed else decision
    if operation in ("read", "write", "multipart") and key_policy is not None:
        # S3 decrypts and encrypts the object's data key as the caller, through S3.
        kms_action = "kms:Decrypt" if operation == "read" else "kms:GenerateDataKey"
        decision = _key_decision(caller, kms_action, key_policy, key, via_s3=True)
        if not decision.allowed:
            return decision
    return granted


def _key_decision(
    caller: _Caller, action: str, key_policy: dict[str, Any], key: _Key, *, via_s3: bool
) -> Decision:
    if caller.arn is None:
        return Decision(False, "unsigned callers cannot use a KMS key")
    identity, boundary = caller.documents
    context: dict[str, Any] = {"kms:ResourceAliases": [key.alias]}
    if via_s3:
        context["kms:ViaService"] = key.via
    return authorize(
        action=action,
        resource=key.arn,
        principal=caller.arn,
        identity=identity,
        boundary=boundary,
        resource_policy=key_policy,
        key_policy=True,
        context=context,
    )


@dataclass(frozen=True)
class _Key:
    arn: str
    alias: str
    via: str  # kms:ViaService when S3 uses the key for the caller


def prove(spec: ProductSpec, graph: ResourceGraph, *, registered_domains: list[str]) -> ProofResult:
    """Apply the product to in-process moto and fill the access matrix."""
    started = time.perf_counter()
    graph = rewrite_account(graph, spec.require_aws().account, MOTO_ACCOUNT)
    spec = _in_moto_account(spec)
    aws = spec.require_aws()
    region = aws.region
    bucket = aws.bucket
    bucket_arn = f"arn:aws:s3:::{bucket}"
    result = ProofResult(product=f"{spec.domain}/{spec.product}", stack=spec.stack)
    callers = _callers(spec, graph, registered_domains)
    target = Target(region=region)
    bucket_policy = _only(graph, aws_types.BUCKET_POLICY.token)
    key_policy = _only(graph, aws_types.KEY_POLICY.token)

    bucket_grants = {
        st.get("Sid") for st in (bucket_policy or {}).get("Statement", []) if st.get("Effect") == "Allow"
    }
    moto_graph, evaluated_only = _for_moto(graph)
    result.notes = [
        f"bucket policy statement {sid} is evaluated, not executed: moto applies Deny statements without their conditions"
        for sid in evaluated_only
    ]
    called = platform_readers(spec)
    result.notes += [
        f"platform reader {arn} is not a role of the product's account: the proof does not call as it"
        for arn in spec.platform_readers
        if arn not in spec.break_glass_aws and arn not in called
    ]
    with mock_aws():
        with disable_iam_authentication():
            applied: ApplyResult = apply_graph(moto_graph, target)
            result.skipped = [f"{a.name}: {a.reason}" for a in applied.skipped]
            key = _Key(
                arn=next((v for k, v in applied.values.items() if k.endswith(".arn>")), "*"),
                alias=aws.kms_alias,
                via=f"s3.{region}.amazonaws.com",
            )
            session = target.session()
            iam, s3, sts = (target.client(s, session) for s in ("iam", "s3", "sts"))
            for caller in callers:
                if caller.arn is not None and (caller.role or caller.name.startswith(BREAK_GLASS)):
                    _create_outside_role(iam, caller.arn, caller.documents[0][0])
            for port in spec.ports:
                s3.put_object(Bucket=bucket, Key=f"{port.prefix}proof-seed.txt", Body=b"seed")
                for caller in callers:
                    s3.put_object(Bucket=bucket, Key=_key(port.prefix, "delete", caller.name), Body=b"seed")
            clients: dict[str, Any] = {}
            for caller in callers:
                if caller.arn is None:
                    continue
                creds = sts.assume_role(RoleArn=caller.arn, RoleSessionName=f"mesh-proof-{caller.name}")[
                    "Credentials"
                ]
                clients[caller.name] = boto3.client(
                    "s3",
                    region_name=region,
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                )

        with enable_iam_authentication():
            for caller in callers:
                for port in spec.ports:
                    for operation in S3_OPERATIONS:
                        expected = expected_access(spec, caller.name, port.name, operation)
                        decision = _evaluate(
                            caller,
                            operation,
                            bucket_arn=bucket_arn,
                            prefix=port.prefix,
                            bucket_policy=bucket_policy,
                            key_policy=key_policy,
                            key=key,
                        )
                        if caller.arn is None:
                            # moto cannot serve unsigned requests in-process: decided on the bucket policy.
                            result.cells.append(
                                Cell(caller.name, port.name, operation, expected, decision.allowed, EVALUATED,
                                     decision.statement, "unsigned request against the bucket policy")
                            )  # fmt: skip
                            continue
                        executed, code = _s3_request(
                            clients[caller.name], operation, bucket, port.prefix, caller.name
                        )
                        if executed and not decision.allowed:
                            result.cells.append(
                                Cell(caller.name, port.name, operation, expected, False, EVALUATED,
                                     decision.statement, f"moto allowed it; denied by {decision.statement or 'no statement granting it'}, which moto does not enforce")
                            )  # fmt: skip
                        elif not executed and decision.allowed and decision.statement in bucket_grants:
                            result.cells.append(
                                Cell(caller.name, port.name, operation, expected, True, EVALUATED,
                                     decision.statement, f"moto refused it ({code}); the bucket policy's {decision.statement} grants it, which moto does not apply")
                            )  # fmt: skip
                        else:
                            result.cells.append(
                                Cell(caller.name, port.name, operation, expected, executed, EXECUTED,
                                     decision.statement, code)
                            )  # fmt: skip

    result.cells += _evaluated_cells(spec, callers, key_policy, key)
    result.seconds = time.perf_counter() - started
    return result


def _in_moto_account(spec: ProductSpec) -> ProductSpec:
    """The spec in moto's account (its role, break-glass and platform reader ARNs), as the
    rewritten graph has them."""
    aws = spec.require_aws()
    return dataclasses.replace(
        spec,
        aws=dataclasses.replace(aws, account=MOTO_ACCOUNT),
        break_glass_aws=tuple(
            a.replace(f":{aws.account}:", f":{MOTO_ACCOUNT}:") for a in spec.break_glass_aws
        ),
        platform_readers=tuple(
            a.replace(f":{aws.account}:", f":{MOTO_ACCOUNT}:") for a in spec.platform_readers
        ),
    )


def _evaluated_cells(
    spec: ProductSpec, callers: list[_Caller], key_policy: dict[str, Any] | None, key: _Key
) -> list[Cell]:
    aws = spec.require_aws()
    cells: list[Cell] = []
    for caller in callers:
        for port in spec.ports:
            expected = expected_access(spec, caller.name, port.name, "catalog-read")
            table = f"arn:aws:glue:{aws.region}:{MOTO_ACCOUNT}:table/{aws.glue_database}/{port.table}"
            if caller.arn is None:
                decision = Decision(False, None)
                detail = "unsigned callers have no identity policy"
            else:
                identity, boundary = caller.documents
                decision = authorize(
                    action="glue:GetTable",
                    resource=table,
                    principal=caller.arn,
                    identity=identity,
                    boundary=boundary,
                )
                detail = "identity policy ∩ boundary (moto compares Glue resources against *)"
            cells.append(
                Cell(caller.name, port.name, "catalog-read", expected, decision.allowed, EVALUATED, decision.statement, detail)
            )  # fmt: skip
        if key_policy is not None:
            decision = _key_decision(caller, "kms:Decrypt", key_policy, key, via_s3=False)
            cells.append(
                Cell(caller.name, "*", "decrypt", expected_access(spec, caller.name, "*", "decrypt"),
                     decision.allowed, EVALUATED, decision.statement, "key policy, identity policy and boundary")
            )  # fmt: skip
    return cells
