"""The orphan sweep for preview environments: delete what a dead or expired preview left behind.

Only resources tagged `mesh:preview=true` are ever considered — the tag filter is part of
the request to AWS *and* re-checked on every resource before anything is deleted. Of
those, a resource is deleted when its `mesh:expires-at` has passed, or when the stack it
names in `mesh:stack` is not among the live preview stacks the caller passes in.

Regional resources are found through the Resource Groups Tagging API; IAM roles and
policies (global, and not in that API) through IAM under mesh's role path.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.model.errors import MeshError
from infra.model.spec import ROLE_PATH, TAG_EXPIRES_AT, TAG_PREVIEW, TAG_STACK


@dataclass(frozen=True)
class Candidate:
    """A preview-tagged resource and the verdict on it."""

    arn: str
    stack: str
    expires_at: str
    reason: str  # why it is an orphan ("" when it is kept)

    @property
    def orphan(self) -> bool:
        """Whether it is to be deleted."""
        return bool(self.reason)


@dataclass
class SweepResult:
    """What was found, deleted (or would be, in a dry run) and what failed."""

    dry_run: bool
    candidates: list[Candidate] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def orphans(self) -> list[Candidate]:
        """Candidates that are (or would be) deleted."""
        return [c for c in self.candidates if c.orphan]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the sweep part of `mesh env gc --output json`."""
        return {
            "dryRun": self.dry_run,
            "candidates": [c.__dict__ | {"orphan": c.orphan} for c in self.candidates],
            "deleted": self.deleted,
            "failed": self.failed,
        }


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def judge(arn: str, tags: dict[str, str], *, live_stacks: Collection[str], now: datetime) -> Candidate | None:
    """The verdict on one resource; None when it is not a preview resource at all."""
    if tags.get(TAG_PREVIEW) != "true":
        return None
    stack, expires = tags.get(TAG_STACK, ""), tags.get(TAG_EXPIRES_AT, "")
    reason = ""
    deadline = _parse_time(expires) if expires else None
    if deadline is not None and deadline <= now:
        reason = f"expired at {expires}"
    elif stack not in live_stacks:
        reason = f"its stack {stack or '(none)'} no longer exists"
    return Candidate(arn=arn, stack=stack, expires_at=expires, reason=reason)


class _Deleter:
    def __init__(self, session: boto3.Session, region: str, endpoint_url: str | None) -> None:
        self.session: Any = session
        self.region = region
        self.endpoint_url = endpoint_url

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url)

    def delete(self, arn: str) -> None:
        service, resource = arn.split(":")[2], arn.split(":", 5)[5]
        if service in ("sns", "events"):
            self.signal(service, arn, resource)
            return
        handler: Callable[[str], None] | None = {
            "s3": self.bucket,
            "kms": self.key,
            "glue": self.glue,
            "athena": self.workgroup,
            "iam": self.iam,
        }.get(service)
        if handler is None:
            raise ValueError(f"mesh does not sweep {service} resources")
        handler(resource)

    def signal(self, service: str, arn: str, resource: str) -> None:
        """A product's topic (its subscriptions go with it) or its rule (targets first, as AWS requires)."""
        if service == "sns":
            self.client("sns").delete_topic(TopicArn=arn)
            return
        kind, _, name = resource.partition("/")
        if kind != "rule" or "/" in name:
            raise ValueError(f"mesh sweeps only rules of the default event bus, not {resource}")
        events = self.client("events")
        targets = [t["Id"] for t in events.list_targets_by_rule(Rule=name).get("Targets", [])]
        if targets:
            events.remove_targets(Rule=name, Ids=targets)
        events.delete_rule(Name=name)

    def bucket(self, name: str) -> None:
        s3 = self.client("s3")
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if doomed:
                s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=name)

    def key(self, resource: str) -> None:
        kms = self.client("kms")
        key_id = resource.split("/", 1)[1]
        for alias in kms.list_aliases(KeyId=key_id).get("Aliases", []):
            kms.delete_alias(AliasName=alias["AliasName"])
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)

    def glue(self, resource: str) -> None:
        glue = self.client("glue")
        kind, name = resource.split("/", 1)
        if kind == "database":
            glue.delete_database(Name=name)
        elif kind == "job":
            security = glue.get_job(JobName=name)["Job"].get("SecurityConfiguration")
            glue.delete_job(JobName=name)
            if security:
                glue.delete_security_configuration(Name=security)
        elif kind == "trigger":
            glue.delete_trigger(Name=name)
        else:
            raise ValueError(f"mesh does not sweep glue {kind} resources")

    def workgroup(self, resource: str) -> None:
        self.client("athena").delete_work_group(
            WorkGroup=resource.split("/", 1)[1], RecursiveDeleteOption=True
        )

    def iam(self, resource: str) -> None:
        iam = self.client("iam")
        kind, _, rest = resource.partition("/")
        name = rest.rsplit("/", 1)[-1]
        if kind == "role":
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=policy)
            for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
            iam.delete_role(RoleName=name)
        elif kind == "policy":
            arn = f"arn:aws:iam::{self._account(iam)}:{resource}"
            for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
                if not version["IsDefaultVersion"]:
                    iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
            iam.delete_policy(PolicyArn=arn)

    def _account(self, iam: Any) -> str:
        return str(self.client("sts").get_caller_identity()["Account"])


def _tagged(session: Any, region: str, endpoint_url: str | None) -> list[tuple[str, dict[str, str]]]:
    found: list[tuple[str, dict[str, str]]] = []
    tagging = session.client("resourcegroupstaggingapi", region_name=region, endpoint_url=endpoint_url)
    for page in tagging.get_paginator("get_resources").paginate(
        TagFilters=[{"Key": TAG_PREVIEW, "Values": ["true"]}]
    ):
        for mapping in page.get("ResourceTagMappingList", []):
            found.append(
                (mapping["ResourceARN"], {t["Key"]: t.get("Value", "") for t in mapping.get("Tags", [])})
            )
    iam = session.client("iam", region_name=region, endpoint_url=endpoint_url)
    for page in iam.get_paginator("list_roles").paginate(PathPrefix=ROLE_PATH):
        for role in page["Roles"]:
            tags = {
                t["Key"]: t.get("Value", "") for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]
            }
            found.append((role["Arn"], tags))
    for page in iam.get_paginator("list_policies").paginate(Scope="Local", PathPrefix=ROLE_PATH):
        for policy in page["Policies"]:
            tags = {
                t["Key"]: t.get("Value", "") for t in iam.list_policy_tags(PolicyArn=policy["Arn"])["Tags"]
            }
            found.append((policy["Arn"], tags))
    return found


def _rank(arn: str) -> tuple[int, str]:
    service = arn.split(":")[2]
    # Rules before the topics they target; everything before the key it is encrypted with.
    order = {"events": 0, "glue": 1, "athena": 2, "sns": 3, "iam": 4, "s3": 5, "kms": 6}
    within = 0 if ":trigger/" in arn or ":role/" in arn else 1
    return order.get(service, 9) * 2 + within, arn


def sweep(
    *,
    live_stacks: Collection[str],
    region: str,
    dry_run: bool,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    now: datetime | None = None,
) -> SweepResult:
    """Find preview-tagged resources and delete the orphans (or list them, with `dry_run`)."""
    session = session or boto3.Session()
    moment = now or datetime.now(UTC)
    result = SweepResult(dry_run=dry_run)
    try:
        found = _tagged(session, region, endpoint_url)
    except (ClientError, BotoCoreError) as e:
        raise MeshError(
            f"cannot list preview resources: {e}",
            hint="The sweep needs tag:GetResources and iam:ListRoles/ListPolicies.",
        ) from e
    for arn, tags in sorted(found, key=lambda item: _rank(item[0])):
        candidate = judge(arn, tags, live_stacks=live_stacks, now=moment)
        if candidate is None:
            continue  # never touch anything that is not tagged as a preview resource
        result.candidates.append(candidate)
        if not candidate.orphan or dry_run:
            continue
        try:
            _Deleter(session, region, endpoint_url).delete(arn)
            result.deleted.append(arn)
        except (ClientError, BotoCoreError, ValueError) as e:
            result.failed[arn] = str(e)
    return result
