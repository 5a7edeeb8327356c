"""Live checks: is what runs still what was requested?

`verify` reads the planned graph (the same synthesis `mesh plan` shows) and asks the
cloud, through boto3, whether each security-relevant property holds now. Against real
AWS it uses the normal credential chain; with an endpoint URL it talks to LocalStack
or a moto server. Every check is a line; failures are drift, grouped by resource.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from infra.aws import types
from infra.aws.emulator import PLACEHOLDER, require_loopback
from infra.aws.types import TYPES
from infra.model.errors import MeshError
from infra.model.graph import Resource, ResourceGraph
from infra.model.spec import ProductSpec

PASS, DRIFT, SKIP = "pass", "drift", "skipped"


@dataclass(frozen=True)
class Check:
    """One property of one live resource."""

    resource: str  # the physical name
    kind: str  # bucket, role, key, table, ...
    name: str  # what was checked
    status: str  # pass | drift | skipped
    detail: str = ""


@dataclass
class VerifyResult:
    """All checks of one product stack."""

    stack: str
    checks: list[Check] = field(default_factory=list)

    @property
    def drift(self) -> list[Check]:
        """Checks that found the live state differs from the plan."""
        return [c for c in self.checks if c.status == DRIFT]

    @property
    def ok(self) -> bool:
        """No drift."""
        return not self.drift

    def by_resource(self) -> dict[str, list[Check]]:
        """Checks grouped by the resource they are about, in check order."""
        groups: dict[str, list[Check]] = {}
        for check in self.checks:
            groups.setdefault(f"{check.kind} {check.resource}", []).append(check)
        return groups

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `mesh verify --output json`."""
        return {
            "stack": self.stack,
            "ok": self.ok,
            "drift": len(self.drift),
            "checks": [c.__dict__ for c in self.checks],
        }


def _policy(text: Any) -> dict[str, Any]:
    return json.loads(text) if isinstance(text, str) else dict(text)


def _normalise(document: dict[str, Any]) -> list[str]:
    """Statements as sorted canonical JSON: order and list-vs-string differences don't count."""
    out = []
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        canonical = {}
        for key, value in statement.items():
            if isinstance(value, list):
                value = sorted(value, key=json.dumps)  # noqa: PLW2901
            elif key in ("Action", "Resource") and isinstance(value, str):
                value = [value]  # noqa: PLW2901
            canonical[key] = value
        out.append(json.dumps(canonical, sort_keys=True))
    return sorted(out)


def _same_policy(planned: dict[str, Any], live: dict[str, Any]) -> tuple[bool, str]:
    want, have = set(_normalise(planned)), set(_normalise(live))
    if want == have:
        return True, "matches the plan"
    extra = [json.loads(s).get("Sid", "?") for s in have - want]
    missing = [json.loads(s).get("Sid", "?") for s in want - have]
    parts = []
    if extra:
        parts.append(f"statements not in the plan: {', '.join(extra)}")
    if missing:
        parts.append(f"planned statements changed or missing: {', '.join(missing)}")
    return False, "; ".join(parts)


class _Checker:
    def __init__(
        self, spec: ProductSpec, graph: ResourceGraph, session: boto3.Session, endpoint_url: str | None
    ) -> None:
        self.spec = spec
        self.graph = graph
        self.session = session
        self.endpoint_url = endpoint_url
        self.region = spec.require_aws().region
        self.checks: list[Check] = []
        self.values: dict[str, str] = {}

    def client(
        self, service: str
    ) -> Any:  # boto3 clients are typed per service; mesh picks the service at run time
        return cast(Any, self.session).client(
            service, endpoint_url=self.endpoint_url, region_name=self.region
        )

    def add(self, kind: str, resource: str, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(resource, kind, name, PASS if ok else DRIFT, detail))

    def resolved(self, value: Any) -> Any:
        """Planned values with placeholders replaced by what the cloud assigned."""
        text = json.dumps(value)
        text = PLACEHOLDER.sub(lambda m: self.values.get(m.group(0), m.group(0)), text)
        return json.loads(text)

    def run(self, kind: str, resource: str, service: str, check: Callable[[], None]) -> None:
        try:
            check()
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if (
                code
                in (
                    "NoSuchBucket",
                    "NoSuchEntity",
                    "EntityNotFoundException",
                    "NotFoundException",
                    "InvalidRequestException",
                )
                or "NotFound" in code
            ):
                self.add(kind, resource, "exists", False, f"not found ({code})")
            elif (
                code in ("InternalFailure", "NotImplemented", "UnknownOperationException")
                or "not yet implemented" in str(e)
                or "not included" in str(e)
            ):
                self.checks.append(
                    Check(resource, kind, "exists", SKIP, f"{service} is not available at this endpoint")
                )
            else:
                raise MeshError(
                    f"checking {kind} {resource} failed: {e}", hint="Check the credentials and the endpoint."
                ) from e
        except EndpointConnectionError as e:
            emulator = "Is the emulator running? `python3 localstack/mesh_localstack.py status`"
            real = (
                "Check the network and the environment's region in mesh.yaml (and any proxy or VPC endpoint)."
            )
            raise MeshError(
                f"cannot reach the {service} endpoint: {e}", hint=emulator if self.endpoint_url else real
            ) from e

    # --- KMS --------------------------------------------------------------------------
    def key(self, resource: Resource) -> None:
        alias = next(
            (
                a.inputs["name"]
                for a in self.graph.of_type(types.KMS_ALIAS.token)
                if a.inputs.get("targetKeyId", "").startswith(f"<{resource.name}.")
            ),
            None,
        )
        if alias is None:
            return
        kms = self.client("kms")

        def check() -> None:
            meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
            self.values[f"<{resource.name}.keyId>"] = meta["KeyId"]
            self.values[f"<{resource.name}.arn>"] = meta["Arn"]
            self.add("key", alias, "exists", True, meta["KeyId"])
            self.add("key", alias, "enabled", meta.get("KeyState") == "Enabled", meta.get("KeyState", ""))
            rotation = kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"]
            self.add(
                "key", alias, "rotation on", bool(rotation), "" if rotation else "automatic rotation is off"
            )

        self.run("key", alias, "kms", check)

    # --- S3 ---------------------------------------------------------------------------
    def bucket(self, resource: Resource) -> None:
        name = resource.inputs["bucket"]
        s3 = self.client("s3")
        planned_tags = resource.inputs.get("tags") or {}

        def config(type_: str) -> Resource | None:
            return next((r for r in self.graph.of_type(type_) if r.inputs.get("bucket") == name), None)

        def check() -> None:
            s3.head_bucket(Bucket=name)
            self.add("bucket", name, "exists", True)
            try:
                rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"].get(
                    "Rules"
                ) or [{}]
                default = rules[0].get("ApplyServerSideEncryptionByDefault", {})
            except ClientError:
                default = {}
            planned = config(types.ENCRYPTION.token)
            want_key = (
                self.resolved(
                    planned.input("rules", 0, "applyServerSideEncryptionByDefault", "kmsMasterKeyId")
                )
                if planned
                else None
            )
            algorithm = default.get("SSEAlgorithm", "none")
            key_ok = want_key is None or default.get("KMSMasterKeyID") in (
                want_key,
                want_key.rsplit("/", 1)[-1],
            )
            self.add(
                "bucket",
                name,
                "encryption SSE-KMS with the product key",
                algorithm == "aws:kms" and key_ok,
                f"{algorithm} {default.get('KMSMasterKeyID', '')}".strip(),
            )
            status = s3.get_bucket_versioning(Bucket=name).get("Status", "Disabled")
            self.add("bucket", name, "versioning enabled", status == "Enabled", status)
            try:
                block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
            except ClientError:
                block = {}
            off = [
                k
                for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
                if not block.get(k)
            ]
            self.add(
                "bucket",
                name,
                "all four public access blocks on",
                not off,
                f"off: {', '.join(off)}" if off else "",
            )
            try:
                live_policy = _policy(s3.get_bucket_policy(Bucket=name)["Policy"])
            except ClientError:
                live_policy = {"Statement": []}
            tls = any(
                s.get("Effect") == "Deny"
                and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
                for s in live_policy.get("Statement", [])
            )
            self.add(
                "bucket",
                name,
                "TLS-only bucket policy",
                tls,
                "" if tls else "no statement denies aws:SecureTransport=false",
            )
            planned_policy = config(types.BUCKET_POLICY.token)
            if planned_policy is not None:
                same, detail = _same_policy(self.resolved(planned_policy.policy() or {}), live_policy)
                self.add("bucket", name, "bucket policy as planned", same, detail)
            try:
                live_tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
            except ClientError:
                live_tags = {}
            missing = sorted(k for k, v in planned_tags.items() if live_tags.get(k) != v)
            self.add(
                "bucket",
                name,
                "tags",
                not missing,
                f"missing or changed: {', '.join(missing)}" if missing else "",
            )

        self.run("bucket", name, "s3", check)

    # --- IAM --------------------------------------------------------------------------
    def role(self, resource: Resource) -> None:
        name = resource.inputs["name"]
        iam = self.client("iam")

        def check() -> None:
            role = iam.get_role(RoleName=name)["Role"]
            self.add("role", name, "exists", True)
            same, detail = _same_policy(
                _policy(resource.inputs["assumeRolePolicy"]), _policy(role["AssumeRolePolicyDocument"])
            )
            self.add("role", name, "trust policy as planned", same, detail)
            boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
            self.add(
                "role",
                name,
                "permissions boundary attached",
                boundary == resource.inputs.get("permissionsBoundary"),
                str(boundary or "none"),
            )
            for planned in self.graph.of_type(types.ROLE_POLICY.token):
                if planned.inputs.get("role") != name:
                    continue
                live = iam.get_role_policy(RoleName=name, PolicyName=planned.inputs["name"])["PolicyDocument"]
                same, detail = _same_policy(self.resolved(planned.policy() or {}), _policy(live))
                self.add("role", name, f"policy {planned.inputs['name']} as planned", same, detail)
            extra = sorted(
                set(iam.list_role_policies(RoleName=name)["PolicyNames"])
                - {
                    p.inputs["name"]
                    for p in self.graph.of_type(types.ROLE_POLICY.token)
                    if p.inputs.get("role") == name
                }
            )
            self.add(
                "role",
                name,
                "no unplanned inline policies",
                not extra,
                f"extra: {', '.join(extra)}" if extra else "",
            )
            attached = [
                p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
            ]
            self.add("role", name, "no attached managed policies", not attached, ", ".join(attached))
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
            missing = sorted(k for k, v in (resource.inputs.get("tags") or {}).items() if tags.get(k) != v)
            self.add(
                "role",
                name,
                "tags",
                not missing,
                f"missing or changed: {', '.join(missing)}" if missing else "",
            )

        self.run("role", name, "iam", check)

    # --- Glue and Athena -------------------------------------------------------------------
    def table(self, resource: Resource) -> None:
        database, name = resource.inputs["databaseName"], resource.inputs["name"]
        glue = self.client("glue")
        label = f"{database}.{name}"

        def check() -> None:
            table = glue.get_table(DatabaseName=database, Name=name)["Table"]
            self.add("table", label, "exists", True)
            want = [
                (c["name"], c["type"])
                for c in resource.inputs.get("storageDescriptor", {}).get("columns", [])
            ]
            have = [(c["Name"], c["Type"]) for c in table.get("StorageDescriptor", {}).get("Columns", [])]
            missing = [n for n, t in want if (n, t) not in have]
            extra = [n for n, t in have if (n, t) not in want]
            detail = "; ".join(
                filter(
                    None,
                    [
                        f"missing or retyped: {', '.join(missing)}" if missing else "",
                        f"not in the request: {', '.join(extra)}" if extra else "",
                    ],
                )
            )
            self.add("table", label, "columns match the request", not missing and not extra, detail)
            want_keys = [(k["name"], k["type"]) for k in resource.inputs.get("partitionKeys", [])]
            have_keys = [(k["Name"], k["Type"]) for k in table.get("PartitionKeys", [])]
            self.add(
                "table",
                label,
                "partition keys match the request",
                want_keys == have_keys,
                f"live: {have_keys}" if want_keys != have_keys else "",
            )

        self.run("table", label, "glue", check)

    def workgroup(self, resource: Resource) -> None:
        name = resource.inputs["name"]
        athena = self.client("athena")
        planned = resource.inputs.get("configuration") or {}

        def check() -> None:
            config = athena.get_work_group(WorkGroup=name)["WorkGroup"]["Configuration"]
            self.add("workgroup", name, "exists", True)
            self.add(
                "workgroup", name, "configuration enforced", bool(config.get("EnforceWorkGroupConfiguration"))
            )
            option = (
                config.get("ResultConfiguration", {})
                .get("EncryptionConfiguration", {})
                .get("EncryptionOption", "none")
            )
            self.add(
                "workgroup", name, "results encrypted with KMS", option in ("SSE_KMS", "CSE_KMS"), option
            )
            cutoff = config.get("BytesScannedCutoffPerQuery")
            want = planned.get("bytesScannedCutoffPerQuery")
            self.add(
                "workgroup",
                name,
                "scan limit as requested",
                cutoff == want,
                f"live {cutoff}, requested {want}",
            )

        self.run("workgroup", name, "athena", check)

    # --- SNS and EventBridge (signals) -------------------------------------------------
    def topic(self, resource: Resource) -> None:
        arn = self.spec.require_aws().topic_arn
        name = resource.inputs["name"]
        sns = self.client("sns")

        def check() -> None:
            attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
            self.add("topic", name, "exists", True)
            planned_key = self.resolved(resource.inputs.get("kmsMasterKeyId"))
            live_key = attributes.get("KmsMasterKeyId", "")
            self.add(
                "topic", name, "encrypted with the product key", live_key == planned_key, live_key or "none"
            )
            planned_policy = next(
                (p for p in self.graph.of_type(types.SNS_TOPIC_POLICY.token) if p.inputs.get("arn") == arn),
                None,
            )
            if planned_policy is not None:
                same, detail = _same_policy(
                    _policy(planned_policy.inputs["policy"]), _policy(attributes.get("Policy", "{}"))
                )
                self.add("topic", name, "policy as planned", same, detail)
            subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", [])
            owner = self.spec.owner
            subscribed = any(
                s.get("Protocol") == "email" and s.get("Endpoint") == owner for s in subscriptions
            )
            self.add("topic", name, "owner subscribed", subscribed, owner)

        self.run("topic", name, "sns", check)

    def event_rule(self, resource: Resource) -> None:
        name = resource.inputs["name"]
        events = self.client("events")
        topic_arn = self.spec.require_aws().topic_arn

        def check() -> None:
            live = events.describe_rule(Name=name)
            self.add("rule", name, "exists", True)
            same = json.loads(live.get("EventPattern") or "{}") == json.loads(resource.inputs["eventPattern"])
            self.add("rule", name, "pattern as planned", same, "" if same else live.get("EventPattern", ""))
            self.add("rule", name, "enabled", live.get("State") == "ENABLED", live.get("State", ""))
            targets = events.list_targets_by_rule(Rule=name).get("Targets", [])
            self.add(
                "rule", name, "targets the product topic", any(t.get("Arn") == topic_arn for t in targets)
            )

        self.run("rule", name, "events", check)


def verify(
    spec: ProductSpec,
    graph: ResourceGraph,
    *,
    endpoint_url: str | None = None,
    session: boto3.Session | None = None,
) -> VerifyResult:
    """Check the live resources of `spec`'s product against its planned graph."""
    if endpoint_url is not None:
        require_loopback(endpoint_url)
    session = session or (
        boto3.Session(aws_access_key_id="test", aws_secret_access_key="test")
        if endpoint_url
        else boto3.Session()
    )
    checker = _Checker(spec, graph, session, endpoint_url)
    try:
        for descriptor in TYPES.values():
            if descriptor.checker:
                for resource in graph.of_type(descriptor.token):
                    getattr(checker, descriptor.checker)(resource)
    except BotoCoreError as e:
        raise MeshError(
            f"cannot check {spec.stack}: {e}",
            hint="Check your AWS credentials (aws sts get-caller-identity) or --endpoint-url.",
        ) from e
    return VerifyResult(stack=spec.stack, checks=checker.checks)
