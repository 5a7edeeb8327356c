"""Offline synthesis: run a Pulumi program under mocks and return its ResourceGraph.

No credentials, state or Pulumi CLI are involved. The mocks answer with what the
cloud would: names the program set are kept, ARNs that follow from names and the
environment's account and region are computed, and values only the cloud can assign
(a KMS key id) become stable placeholders, so a reviewer reads the real policies.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource_runtime
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from infra.errors import MeshError
from infra.graph import Resource, ResourceGraph, placeholder
from infra.spec import ProductSpec

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class CloudContext:
    """What the mocks need to compute identifiers the way AWS would."""

    account: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"


def _arn(ctx: CloudContext, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
    return f"arn:{ctx.partition}:{service}:{ctx.region if region else ''}:{ctx.account if account else ''}:{resource}"


def _identifiers(
    type_: str, name: str, inputs: dict[str, Any], ctx: CloudContext
) -> tuple[str, dict[str, Any]]:
    """The id and computed outputs AWS would return for one resource."""
    if type_ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or placeholder(name, "bucket")
        return bucket, {
            "bucket": bucket,
            "arn": f"arn:{ctx.partition}:s3:::{bucket}",
            "bucketDomainName": f"{bucket}.s3.amazonaws.com",
            "region": ctx.region,
        }
    if type_ == "aws:kms/key:Key":
        key_id = placeholder(name, "keyId")
        return key_id, {"keyId": key_id, "arn": _arn(ctx, "kms", f"key/{key_id}")}
    if type_ == "aws:kms/alias:Alias":
        alias = inputs.get("name") or placeholder(name, "name")
        return alias, {"arn": _arn(ctx, "kms", alias)}
    if type_ == "aws:iam/role:Role":
        role = inputs.get("name") or placeholder(name, "name")
        path = inputs.get("path") or "/"
        return role, {
            "name": role,
            "arn": f"arn:{ctx.partition}:iam::{ctx.account}:role{path}{role}",
            "uniqueId": placeholder(name, "uniqueId"),
        }
    if type_ == "aws:iam/policy:Policy":
        policy = inputs.get("name") or placeholder(name, "name")
        path = inputs.get("path") or "/"
        arn = f"arn:{ctx.partition}:iam::{ctx.account}:policy{path}{policy}"
        return arn, {"arn": arn, "policyId": placeholder(name, "policyId")}
    if type_ == "aws:glue/catalogDatabase:CatalogDatabase":
        database = inputs.get("name", name)
        return f"{ctx.account}:{database}", {
            "arn": _arn(ctx, "glue", f"database/{database}"),
            "catalogId": ctx.account,
        }
    if type_ == "aws:glue/catalogTable:CatalogTable":
        database, table = inputs.get("databaseName", ""), inputs.get("name", name)
        return f"{ctx.account}:{database}:{table}", {
            "arn": _arn(ctx, "glue", f"table/{database}/{table}"),
            "catalogId": ctx.account,
        }
    if type_ == "aws:athena/workgroup:Workgroup":
        group = inputs.get("name", name)
        return group, {"arn": _arn(ctx, "athena", f"workgroup/{group}")}
    if type_ == "aws:glue/job:Job":
        job = inputs.get("name", name)
        return job, {"arn": _arn(ctx, "glue", f"job/{job}")}
    if type_ == "aws:glue/trigger:Trigger":
        trigger = inputs.get("name", name)
        return trigger, {"arn": _arn(ctx, "glue", f"trigger/{trigger}")}
    if type_ == "aws:s3/bucketObjectv2:BucketObjectv2":
        return f"{inputs.get('bucket')}/{inputs.get('key')}", {
            "versionId": placeholder(name, "versionId"),
            "etag": placeholder(name, "etag"),
        }
    return _gcp_identifiers(type_, name, inputs) or (
        placeholder(name, "id"),
        {"arn": placeholder(name, "arn")},
    )


def _gcp_identifiers(type_: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The ids GCP derives from names (and placeholders for what it assigns)."""
    project = inputs.get("project") or placeholder(name, "project")
    if type_ == "gcp:kms/keyRing:KeyRing":
        return f"projects/{project}/locations/{inputs.get('location')}/keyRings/{inputs.get('name')}", {}
    if type_ == "gcp:kms/cryptoKey:CryptoKey":
        return f"{inputs.get('keyRing')}/cryptoKeys/{inputs.get('name')}", {}
    if type_ == "gcp:serviceaccount/account:Account":
        email = f"{inputs.get('accountId')}@{project}.iam.gserviceaccount.com"
        return f"projects/{project}/serviceAccounts/{email}", {
            "email": email,
            "name": f"projects/{project}/serviceAccounts/{email}",
            "member": f"serviceAccount:{email}",
            "uniqueId": placeholder(name, "uniqueId"),
        }
    if type_ == "gcp:storage/bucket:Bucket":
        return str(inputs.get("name")), {
            "url": f"gs://{inputs.get('name')}",
            "selfLink": placeholder(name, "selfLink"),
        }
    if type_ == "gcp:bigquery/dataset:Dataset":
        return f"projects/{project}/datasets/{inputs.get('datasetId')}", {}
    if type_ == "gcp:bigquery/table:Table":
        return f"projects/{project}/datasets/{inputs.get('datasetId')}/tables/{inputs.get('tableId')}", {}
    return None


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, ctx: CloudContext) -> None:
        self.ctx = ctx

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if not args.custom:
            return None, {}
        resource_id, computed = _identifiers(args.typ, args.name, args.inputs, self.ctx)
        return resource_id, {
            **args.inputs,
            **computed,
            "tags": args.inputs.get("tags"),
            "tagsAll": args.inputs.get("tags"),
        }

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.ctx.account,
                "arn": f"arn:aws:iam::{self.ctx.account}:user/mesh",
                "userId": "mesh",
            }, []
        if args.token == "aws:iam/getSessionContext:getSessionContext":
            arn = str(args.args.get("arn"))
            return {"arn": arn, "issuerArn": arn, "id": arn}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": self.ctx.region, "region": self.ctx.region}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": self.ctx.partition, "dnsSuffix": "amazonaws.com"}, []
        project = args.args.get("project") or "project"
        number = placeholder(str(project), "number")
        if args.token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            email = f"service-{number}@gs-project-accounts.iam.gserviceaccount.com"
            return {
                "emailAddress": email,
                "member": f"serviceAccount:{email}",
                "id": email,
                "project": project,
            }, []
        if args.token == "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount":
            email = f"bq-{number}@bigquery-encryption.iam.gserviceaccount.com"
            return {"email": email, "member": f"serviceAccount:{email}", "id": email, "project": project}, []
        return {}, []


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that also keeps each registration's parent, dependencies and inputs."""

    def __init__(self, mocks: _Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []
        self.stack_urn = ""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine leaves the root stack's type out of its children's URNs.
        return super().make_urn("" if parent == self.stack_urn else parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        resource_id, state = self.mocks.new_resource(
            pulumi.runtime.MockResourceArgs(
                typ=request.type, name=request.name, inputs=inputs, custom=request.custom or False
            )
        )
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id or "", state)
        parent = request.parent if request.parent and request.parent != self.stack_urn else None
        self.recorded.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=parent,
                inputs=_plain(inputs),
                dependencies=tuple(d for d in request.dependencies if d != self.stack_urn),
                custom=bool(request.custom),
            )
        )
        obj = _sync_await(rpc.serialize_properties(state, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=obj)


def _plain(value: Any) -> Any:
    """Inputs as JSON-ready data: secrets unwrapped, empty values dropped, keys sorted."""
    if isinstance(value, dict):
        if rpc._special_sig_key in value:  # a secret or asset wrapper
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in sorted(value.items()) if v is not None and k != "__defaults"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has one number type; 365 reads better than 365.0
    if isinstance(value, pulumi.FileAsset):
        return {"fileAsset": str(value.path)}
    if isinstance(value, pulumi.StringAsset):
        return {"stringAsset": value.text}
    return value


def synthesize(
    program: Callable[[], None], *, project: str, stack: str, cloud: CloudContext | None = None
) -> ResourceGraph:
    """Run `program` under mocks and return every resource it registers.

    Each call runs in a fresh context with a fresh monitor, so calls never see each
    other's resources. Exceptions raised by the program propagate unchanged.
    """
    return contextvars.Context().run(_synthesize, program, project, stack, cloud or CloudContext())


def _no_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


def _synthesize(program: Callable[[], None], project: str, stack: str, cloud: CloudContext) -> ResourceGraph:
    monitor = _RecordingMonitor(_Mocks(cloud))
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
    # Source positions serve the engine's diagnostics; offline nobody reads them, and walking
    # the (deep, component-nested) Python stack per resource is most of a synthesis's cost.
    capture = pulumi_resource_runtime._get_stack_trace
    pulumi_resource_runtime._get_stack_trace = _no_stack_trace
    try:
        _sync_await(run_pulumi_func(program))
    finally:
        pulumi_resource_runtime._get_stack_trace = capture
    return ResourceGraph(stack=stack, project=project, resources=list(monitor.recorded))


def synthesize_spec(spec: ProductSpec) -> ResourceGraph:
    """The product stack's resources, offline."""
    from stacks.product import product_program  # noqa: PLC0415 - stacks import the cloud SDKs; synth must not at import time

    cloud = (
        CloudContext(account=spec.aws.account, region=spec.aws.region, partition=spec.aws.partition)
        if spec.aws
        else CloudContext()
    )
    try:
        return synthesize(product_program(spec), project=spec.project, stack=spec.stack, cloud=cloud)
    except MeshError:
        raise
    except Exception as e:
        raise MeshError(
            f"synthesizing {spec.stack} failed: {type(e).__name__}: {e}",
            hint="This is a bug in mesh's components, not in your request; run with --debug and report it.",
        ) from e
