"""Offline synthesis: run a Pulumi program under mocks and return its ResourceGraph.

No credentials, state or Pulumi CLI are involved. The mocks answer with what the
cloud would: names the program set are kept, ARNs that follow from names and the
environment's account and region are computed, and values only the cloud can assign
(a KMS key id) become stable placeholders, so a reviewer reads the real policies.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import pulumi

from infra.clouds import INVOKES, resource_type
from infra.model.errors import MeshError
from infra.model.graph import Resource, ResourceGraph, dependency_order, placeholder
from infra.model.resource_type import CloudContext
from infra.model.spec import ProductSpec
from infra.pulumi_sdk import (
    SECRET_OR_ASSET_KEY,
    MockMonitor,
    deserialize,
    register_response,
    run_program,
    serialize,
)

STACK_TYPE = "pulumi:pulumi:Stack"
__all__ = ["CloudContext", "synthesize", "synthesize_spec"]


def _identifiers(
    type_: str, name: str, inputs: dict[str, Any], ctx: CloudContext
) -> tuple[str, dict[str, Any]]:
    """The id and computed outputs the cloud would return for one resource (its descriptor's mock)."""
    descriptor = resource_type(type_)
    if descriptor is not None and descriptor.mock is not None:
        return descriptor.mock(name, inputs, ctx)
    return placeholder(name, "id"), {"arn": placeholder(name, "arn")}


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
        answer = INVOKES.get(args.token)
        return (answer(args.args, self.ctx) if answer else {}), []


class _RecordingMonitor(MockMonitor):
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
            return register_response(urn)
        return self._register(urn, request)

    def _register(self, urn: str, request: Any) -> Any:
        inputs = deserialize(request.object)
        resource_id, state = self.mocks.new_resource(
            pulumi.runtime.MockResourceArgs(
                typ=request.type, name=request.name, inputs=inputs, custom=request.custom or False
            )
        )
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id or "", state)
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
        # Only what the cloud adds travels back: outside a preview the SDK resolves every
        # output the response leaves out from the resource's own inputs, so serializing the
        # inputs again (most of a registration's cost) would change nothing.
        added = {key: value for key, value in state.items() if key not in inputs or value is not inputs[key]}
        return register_response(urn, resource_id or "", serialize(added))


def _plain(value: Any) -> Any:
    """Inputs as JSON-ready data: secrets unwrapped, empty values dropped, keys sorted."""
    if isinstance(value, dict):
        if SECRET_OR_ASSET_KEY in value:  # a secret or asset wrapper
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


def _synthesize(program: Callable[[], None], project: str, stack: str, cloud: CloudContext) -> ResourceGraph:
    monitor = _RecordingMonitor(_Mocks(cloud))
    run_program(program, mocks=monitor.mocks, monitor=monitor, project=project, stack=stack)
    return ResourceGraph(stack=stack, project=project, resources=dependency_order(monitor.recorded))


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
