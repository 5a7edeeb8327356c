"""What offline synthesis answers for the AWS data sources mesh's programs call."""

from __future__ import annotations

from typing import Any

from infra.model.resource_type import CloudContext, MockInvoke


def _caller_identity(args: dict[str, Any], ctx: CloudContext) -> dict[str, Any]:
    return {"accountId": ctx.account, "arn": f"arn:aws:iam::{ctx.account}:user/mesh", "userId": "mesh"}


def _session_context(args: dict[str, Any], ctx: CloudContext) -> dict[str, Any]:
    # Offline the deployer is the caller identity itself, not an assumed-role session.
    arn = str(args.get("arn"))
    return {"arn": arn, "issuerArn": arn, "id": arn}


def _region(args: dict[str, Any], ctx: CloudContext) -> dict[str, Any]:
    return {"name": ctx.region, "region": ctx.region}


def _partition(args: dict[str, Any], ctx: CloudContext) -> dict[str, Any]:
    return {"partition": ctx.partition, "dnsSuffix": "amazonaws.com"}


INVOKES: dict[str, MockInvoke] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:iam/getSessionContext:getSessionContext": _session_context,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
}
