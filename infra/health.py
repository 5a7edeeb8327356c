"""Product health: freshness, the transform's runs, undesirable access, a verdict, notifications.

`check_health` reads, for each AWS product of an environment:
- each output port's newest and oldest object under `data/<port>/` (the zero-byte folder
  marker mesh creates is not data), held against `slo.freshnessHours`: `ok`, `late`
  (newest older than the SLO) or `never` (no object yet);
- the transform's last runs (Glue `GetJobRuns`), newest first;
- the bucket's server access logs in the environment's log bucket (`s3/<bucket>/`):
  every request by a principal that is not one of the product's roles or a platform
  reader named in `mesh.yaml` is undesirable; those in the window count for the verdict,
  denied ones (HTTP 403) apart from the others. Operations S3 runs itself (`S3.*`,
  lifecycle expiry) are not requests by a principal and are skipped.

The verdict is `breach` for a successful undesirable request, a late or never-landed port
or a failed last run; `warn` for denied attempts only, or for signals that could not be
read (each named); `ok` otherwise. Nothing here prints; time comes from the caller.

The time to data's provisioned moment comes from the engine's stack history when a Pulumi
CLI is here (`engine_history`, bounded; `pulumi.automation` is imported only then), else
from `mesh emulate`'s record (`provisioned_moment`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from infra.access_log import AccessRecord, identity_key, parse_log
from infra.clouds import supports
from infra.model.capability import HEALTH_SIGNALS, Capability
from infra.model.errors import DocumentInvalid, MeshError
from infra.model.spec import ProductSpec, resolve
from infra.timetodata import (
    TimeToData,
    emulated_apply,
    hours,
    iso,
    mesh_summary,
    request_history,
)
from infra.validation import LoadedPlatform, load_platform, load_request, locate_platform, require_environment

OK, WARN, BREACH = "ok", "warn", "breach"
STACK_HISTORY, MESH_EMULATE = "stack history", "mesh emulate"
# How long one `pulumi stack history` may take before health gives up on the engine, and how
# long all of them together may take (each spawns the CLI: seconds apiece over many products).
HISTORY_TIMEOUT_S = 30.0
HISTORY_BUDGET_S = 120.0
LATE, NEVER, FRESH, UNKNOWN = "late", "never", "ok", "unknown"
FAILED_RUN_STATES = frozenset({"FAILED", "TIMEOUT", "ERROR"})
RUNS_SHOWN = 5
DEFAULT_WINDOW_HOURS = 24


class HealthUnavailable(MeshError):
    """Nothing can be read at all (no credentials, no endpoint): no verdict would mean anything."""


@dataclass(frozen=True)
class PortHealth:
    """One output port's freshness."""

    name: str
    state: str  # ok | late | never | unknown
    newest: datetime | None
    oldest: datetime | None
    objects: int
    age_hours: float | None

    def as_dict(self) -> dict[str, Any]:
        """`{"name", "state", "newest", "objects", "ageHours"}`."""
        return {
            "name": self.name,
            "state": self.state,
            "newest": iso(self.newest),
            "objects": self.objects,
            "ageHours": self.age_hours,
        }


@dataclass(frozen=True)
class RunHealth:
    """One run of the transform."""

    id: str
    state: str
    started: datetime | None
    completed: datetime | None
    error: str

    @property
    def failed(self) -> bool:
        """The run ended without producing its data."""
        return self.state in FAILED_RUN_STATES

    def as_dict(self) -> dict[str, Any]:
        """`{"id", "state", "started", "completed", "error"}`."""
        return {
            "id": self.id,
            "state": self.state,
            "started": iso(self.started),
            "completed": iso(self.completed),
            "error": self.error or None,
        }


@dataclass(frozen=True)
class AccessEvent:
    """One undesirable request."""

    time: datetime
    principal: str
    requester: str
    operation: str
    key: str
    status: int | None
    request_id: str

    @property
    def outcome(self) -> str:
        """`succeeded` (2xx/3xx), `denied` (403) or `failed` (any other error)."""
        if self.status is not None and 200 <= self.status < 400:
            return "succeeded"
        return "denied" if self.status == 403 else "failed"

    def as_dict(self) -> dict[str, Any]:
        """`{"time", "principal", "requester", "operation", "key", "status", "outcome", "requestId"}`."""
        return {
            "time": iso(self.time),
            "principal": self.principal,
            "requester": self.requester,
            "operation": self.operation,
            "key": self.key,
            "status": self.status,
            "outcome": self.outcome,
            "requestId": self.request_id,
        }


@dataclass(frozen=True)
class AccessHealth:
    """What the access logs say about a product: undesirable requests in the window, and first reads."""

    undesirable: tuple[AccessEvent, ...]
    records: int
    log_objects: int
    malformed: int
    first_reads: Mapping[str, datetime | None]  # consumer domain -> first successful request (all time)

    @property
    def denied(self) -> int:
        """Undesirable requests refused with 403."""
        return sum(1 for e in self.undesirable if e.outcome == "denied")

    @property
    def succeeded(self) -> tuple[AccessEvent, ...]:
        """Undesirable requests that did what they asked."""
        return tuple(e for e in self.undesirable if e.outcome == "succeeded")

    def as_dict(self) -> dict[str, Any]:
        """`{"undesirable": [...], "succeeded", "denied", "records", "malformed"}` (`records`: the bucket's
        requests up to the clock; how many log objects held them is left out, as reading them adds more)."""
        return {
            "undesirable": [e.as_dict() for e in self.undesirable],
            "succeeded": len(self.succeeded),
            "denied": self.denied,
            "records": self.records,
            "malformed": self.malformed,
        }


@dataclass(frozen=True)
class Reason:
    """Why a product is not ok. `key` names the breach for the notification ledger."""

    level: str  # breach | warn
    kind: str  # late | never | failed-run | undesirable-access | denied-access | unreadable
    message: str
    key: str = ""

    def as_dict(self) -> dict[str, str]:
        """`{"level", "kind", "message"}`."""
        return {"level": self.level, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class ProductHealth:
    """One product's health in one environment."""

    product: str  # domain/name
    stack: str
    owner: str
    topic: str
    ports: tuple[PortHealth, ...]
    job: str | None
    runs: tuple[RunHealth, ...]
    access: AccessHealth | None
    reasons: tuple[Reason, ...]
    unreadable: tuple[str, ...]
    time_to_data: TimeToData
    freshness_hours: int | None

    @property
    def verdict(self) -> str:
        """`breach` if any reason is a breach, else `warn` if any reason, else `ok`."""
        levels = {r.level for r in self.reasons}
        return BREACH if BREACH in levels else (WARN if levels else OK)

    @property
    def breaches(self) -> tuple[Reason, ...]:
        """The reasons that are breaches."""
        return tuple(r for r in self.reasons if r.level == BREACH)

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of one product in `mesh health --output json`."""
        return {
            "verdict": self.verdict,
            "reasons": [r.as_dict() for r in self.reasons],
            "stack": self.stack,
            "owner": self.owner,
            "topic": self.topic,
            "freshnessHours": self.freshness_hours,
            "ports": [p.as_dict() for p in self.ports],
            "runs": {"job": self.job, "last": [r.as_dict() for r in self.runs]},
            "access": self.access.as_dict() if self.access else None,
            "unreadable": list(self.unreadable),
            "timeToData": self.time_to_data.as_dict(),
        }


# --- reading signals ------------------------------------------------------------------------


class _Unreadable(Exception):
    """A signal could not be read; the message says which and why."""


def _guard(what: str, read: Callable[[], Any]) -> Any:
    from botocore.exceptions import (  # noqa: PLC0415 - botocore is heavy; only health reads the cloud
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    try:
        return read()
    except (NoCredentialsError, EndpointConnectionError) as e:
        raise HealthUnavailable(
            f"cannot read {what}: {e}",
            hint="Check your AWS credentials (aws sts get-caller-identity), or pass --endpoint-url for an emulator.",
        ) from e
    except ClientError as e:
        error = e.response.get("Error", {})
        raise _Unreadable(
            f"{what}: {error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
        ) from e


def _objects(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o for page in pages for o in page.get("Contents", [])]


def _body(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def read_ports(s3: Any, spec: ProductSpec, now: datetime) -> list[PortHealth]:
    """Each port's newest and oldest data object (folder markers and future objects ignored)."""
    aws = spec.require_aws()
    ports = []
    for port in spec.ports:
        listed = _guard(
            f"objects under s3://{aws.bucket}/{port.prefix}",
            partial(_objects, s3, aws.bucket, port.prefix),
        )
        times = [o["LastModified"] for o in listed if not o["Key"].endswith("/") and o["LastModified"] <= now]
        newest, oldest = (max(times), min(times)) if times else (None, None)
        age = hours(newest, now)
        if newest is None:
            state = NEVER
        elif spec.freshness_hours is None:
            state = UNKNOWN
        else:
            state = LATE if now - newest > timedelta(hours=spec.freshness_hours) else FRESH
        ports.append(PortHealth(port.name, state, newest, oldest, len(times), age))
    return ports


def read_runs(glue: Any, job: str, now: datetime) -> list[RunHealth]:
    """The transform's last runs, newest first (runs started after `now` ignored)."""
    listed = _guard(
        f"runs of Glue job {job}", lambda: glue.get_job_runs(JobName=job, MaxResults=50).get("JobRuns", [])
    )
    runs = [
        RunHealth(
            id=r["Id"],
            state=str(r.get("JobRunState", "")),
            started=r.get("StartedOn"),
            completed=r.get("CompletedOn"),
            error=str(r.get("ErrorMessage", "")),
        )
        for r in listed
        if r.get("StartedOn") is None or r["StartedOn"] <= now
    ]
    runs.sort(key=lambda r: (r.started.timestamp() if r.started else 0.0, r.id), reverse=True)
    return runs[:RUNS_SHOWN]


def read_log_records(s3: Any, log_bucket: str, prefix: str) -> tuple[list[AccessRecord], int, int]:
    """Every record of every log object under `prefix`: (records, objects read, malformed lines)."""
    listed = _guard(f"access logs under s3://{log_bucket}/{prefix}", lambda: _objects(s3, log_bucket, prefix))
    records: list[AccessRecord] = []
    malformed = 0
    for item in sorted(listed, key=lambda o: o["Key"]):
        body = _guard(
            f"access log s3://{log_bucket}/{item['Key']}",
            partial(_body, s3, log_bucket, item["Key"]),
        )
        parsed = parse_log(body.decode("utf-8", errors="replace"))
        records += parsed.records
        malformed += len(parsed.malformed)
    return records, len(listed), malformed


def allowed_identities(spec: ProductSpec, *, extra: Iterable[str] = ()) -> dict[tuple[str, str, str], str]:
    """The identities whose access is expected: `(account, kind, name)` → who (`producer`, a
    consumer domain, `platform`)."""
    aws = spec.require_aws()
    allowed: dict[tuple[str, str, str], str] = {(aws.account, "role", aws.producer_role): "producer"}
    for grant in spec.grants:
        allowed[(aws.account, "role", grant.aws_role)] = grant.domain
    for arn in (*spec.platform_readers, *extra):
        key = identity_key(arn)
        if key is not None:
            allowed.setdefault(key, "platform")
    return allowed


def assess_access(
    records: Iterable[AccessRecord],
    spec: ProductSpec,
    *,
    now: datetime,
    window: timedelta,
    log_objects: int = 0,
    malformed: int = 0,
    extra_allowed: Iterable[str] = (),
) -> AccessHealth:
    """Undesirable requests within `window` before `now`, and each consumer domain's first read."""
    aws = spec.require_aws()
    allowed = allowed_identities(spec, extra=extra_allowed)
    consumers = {g.domain for g in spec.grants}
    first_reads: dict[str, datetime | None] = dict.fromkeys(sorted(consumers))
    undesirable: list[AccessEvent] = []
    counted = 0
    for record in records:
        if record.bucket != aws.bucket or record.time > now or record.by_s3:
            continue
        counted += 1
        key = identity_key(record.requester)
        who = allowed.get(key) if key else None
        if who is None:
            if record.time > now - window:
                undesirable.append(
                    AccessEvent(
                        record.time,
                        record.principal,
                        record.requester,
                        record.operation,
                        record.key,
                        record.http_status,
                        record.request_id,
                    )
                )
            continue
        if who in consumers and record.succeeded:
            seen = first_reads.get(who)
            if seen is None or record.time < seen:
                first_reads[who] = record.time
    undesirable.sort(key=lambda e: (e.time, e.request_id))
    return AccessHealth(tuple(undesirable), counted, log_objects, malformed, first_reads)


# --- the verdict --------------------------------------------------------------------------------


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def reasons_for(
    spec: ProductSpec,
    ports: Iterable[PortHealth],
    runs: Iterable[RunHealth],
    access: AccessHealth | None,
    unreadable: Iterable[str],
    *,
    not_read: Iterable[str] = (),
) -> tuple[Reason, ...]:
    """The breaches and warnings of one product, in a stable order. `unreadable`: signals whose
    reading failed; `not_read`: signals mesh does not read on the product's cloud yet."""
    stack = spec.stack
    reasons: list[Reason] = []
    for port in ports:
        if port.state == NEVER:
            reasons.append(
                Reason(
                    BREACH,
                    "never",
                    f"port {port.name} has never landed (no object under data/{port.name}/)",
                    _key(stack, "never", port.name),
                )
            )
        elif port.state == LATE:
            reasons.append(
                Reason(
                    BREACH,
                    "late",
                    f"port {port.name} is late: newest object {iso(port.newest)} is {port.age_hours} h old, "
                    f"the SLO is {spec.freshness_hours} h",
                    _key(stack, "late", port.name, iso(port.newest) or ""),
                )
            )
    last = next(iter(runs), None)
    if last is not None and last.failed:
        detail = f": {last.error}" if last.error else ""
        reasons.append(
            Reason(
                BREACH,
                "failed-run",
                f"the last run {last.id} of the transform {last.state}{detail}",
                _key(stack, "run", last.id),
            )
        )
    if access is not None:
        for event in access.succeeded:
            reasons.append(
                Reason(
                    BREACH,
                    "undesirable-access",
                    f"{event.principal} {event.operation} {event.key or '(bucket)'} at {iso(event.time)} "
                    f"succeeded (HTTP {event.status}); it is not one of the product's roles or a platform reader",
                    _key(stack, "access", event.request_id),
                )
            )
        if access.denied:
            principals = sorted({e.principal for e in access.undesirable if e.outcome == "denied"})
            reasons.append(
                Reason(
                    WARN,
                    "denied-access",
                    f"{access.denied} denied attempt(s) by {', '.join(principals)}",
                )
            )
        if access.malformed:
            reasons.append(
                Reason(WARN, "unreadable", f"{access.malformed} access log line(s) could not be parsed")
            )
    for what in unreadable:
        reasons.append(Reason(WARN, "unreadable", f"could not read {what}"))
    for what in not_read:
        reasons.append(
            Reason(
                WARN,
                "unreadable",
                f"{what}: not read — mesh does not read {spec.cloud.upper()} health signals yet",
            )
        )
    return tuple(reasons)


@dataclass
class HealthReport:
    """Every product's health in one environment at one moment."""

    environment: str
    now: datetime
    window_hours: int
    products: list[ProductHealth]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (request file, why)
    notified: list[dict[str, str]] = field(default_factory=list)

    @property
    def in_breach(self) -> bool:
        """Any product in breach (the command exits 1)."""
        return any(p.verdict == BREACH for p in self.products)

    def counts(self) -> dict[str, int]:
        """Products per verdict."""
        return {v: sum(1 for p in self.products if p.verdict == v) for v in (OK, WARN, BREACH)}

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `mesh health --output json` (deterministic for a given `now`)."""
        ordered = sorted(self.products, key=lambda p: p.product)
        return {
            "environment": self.environment,
            "now": iso(self.now),
            "windowHours": self.window_hours,
            "summary": self.counts(),
            "products": {p.product: p.as_dict() for p in ordered},
            "timeToData": mesh_summary({p.product: p.time_to_data for p in ordered}),
            "skipped": [{"file": f, "reason": r} for f, r in sorted(self.skipped)],
            "notified": sorted(self.notified, key=lambda n: (n["product"], n["key"])),
        }


def message_for(product: ProductHealth, reason: Reason, environment: str) -> tuple[str, str]:
    """The subject (≤100 characters, as SNS requires) and body of one breach notification."""
    subject = f"mesh breach: {product.product} ({environment}) {reason.kind}"[:100]
    body = json.dumps(
        {
            "product": product.product,
            "environment": environment,
            "stack": product.stack,
            "kind": reason.kind,
            "message": reason.message,
            "breachKey": reason.key,
        },
        indent=2,
        sort_keys=True,
    )
    return subject, body


# --- running a check -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthClients:
    """The boto3 clients a health check uses (S3 for data and logs, Glue for runs, SNS to notify)."""

    s3: Any
    glue: Any
    sns: Any


def open_clients(config: Any, environment: str, *, endpoint_url: str | None = None) -> HealthClients:
    """Clients for `environment` of a `PlatformConfig`: real AWS through the normal credential
    chain, or a loopback emulator through `endpoint_url` or the environment's endpoints.

    On an emulator the clients sign with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`
    (and `AWS_SESSION_TOKEN`) when they are set, so a check can run as a platform reader's
    session on an emulator that enforces IAM; otherwise with the emulator's test keys."""
    import boto3  # noqa: PLC0415 - boto3 is heavy; only commands that read the cloud load it

    from infra.aws.emulator import require_loopback  # noqa: PLC0415 - as above

    env = config.environments[environment]
    if env.aws is None:
        raise MeshError(
            f"environment {environment} has no AWS account; mesh health reads AWS signals",
            hint="GCP products publish to their Pub/Sub topic; see the README's observability section.",
        )
    endpoints = dict(env.aws.endpoints)

    def endpoint(service: str) -> str | None:
        chosen = endpoint_url or endpoints.get(service)
        if chosen:
            require_loopback(chosen)
        return chosen

    emulated = bool(endpoint_url or endpoints)
    if emulated and os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY"):
        session = boto3.Session(
            aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None,
        )
    elif emulated:
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test")  # emulator keys
    else:
        session = boto3.Session()
    region = env.aws.region
    return HealthClients(
        s3=session.client("s3", region_name=region, endpoint_url=endpoint("s3")),
        glue=session.client("glue", region_name=region, endpoint_url=endpoint("glue")),
        sns=session.client("sns", region_name=region, endpoint_url=endpoint("sns")),
    )


@dataclass(frozen=True)
class ProductToCheck:
    """A resolved product, the request it comes from, and when its stack was first provisioned."""

    spec: ProductSpec
    request: str  # the request file, as given (for messages)
    committed: datetime | None = None
    grants: Mapping[str, datetime] = field(default_factory=dict)
    provisioned: datetime | None = None
    provisioned_source: str = ""
    history_problem: str | None = None
    provisioned_problem: str | None = None  # why the engine's stack history gave no moment


def signals_read(spec: ProductSpec) -> tuple[Capability, ...]:
    """The health signals mesh reads on the product's cloud (declared in `infra/<cloud>/capabilities.py`)."""
    return tuple(signal for signal in HEALTH_SIGNALS if supports(spec.cloud, signal))


def needs_clients(products: Iterable[ProductToCheck]) -> bool:
    """Whether any product's cloud has a signal to read (else no client is opened, no call made)."""
    return any(signals_read(p.spec) for p in products)


def not_read(spec: ProductSpec) -> list[str]:
    """Each signal mesh does not read on the product's cloud yet, named: the freshness of each
    port, the transform runs, the access logs."""
    missing = set(HEALTH_SIGNALS) - set(signals_read(spec))
    named: list[str] = []
    if Capability.FRESHNESS in missing:
        named += [f"freshness of port {port.name}" for port in spec.ports]
    if Capability.TRANSFORM_RUNS in missing:
        named.append("transform runs")
    if Capability.ACCESS_LOGS in missing:
        named.append("access logs")
    return named


def check_product(
    product: ProductToCheck,
    clients: HealthClients | None,
    *,
    now: datetime,
    window: timedelta,
) -> ProductHealth:
    """Read one product's signals and judge it.

    Only the signals its cloud supports are read (with `clients`, which may be None when no
    product has any); each other one is named as not read yet, a warning. The readers
    below are AWS's, the only cloud that supports a signal today.
    """
    spec = product.spec
    signals = signals_read(spec)
    if signals and clients is None:
        raise ValueError(f"{spec.stack}: clients are needed to read {', '.join(signals)}")
    unreadable: list[str] = []
    ports = [PortHealth(p.name, UNKNOWN, None, None, 0, None) for p in spec.ports]
    if Capability.FRESHNESS in signals and clients is not None:
        try:
            ports = read_ports(clients.s3, spec, now)
        except _Unreadable as e:
            unreadable.append(f"freshness ({e})")
    runs: list[RunHealth] = []
    if Capability.TRANSFORM_RUNS in signals and clients is not None and spec.transform is not None:
        try:
            runs = read_runs(clients.glue, spec.require_aws().glue_job, now)
        except _Unreadable as e:
            unreadable.append(f"transform runs ({e})")
    access: AccessHealth | None = None
    if Capability.ACCESS_LOGS in signals and clients is not None:
        names = spec.require_aws()
        try:
            records, objects, malformed = read_log_records(
                clients.s3, names.log_bucket, names.access_log_prefix
            )
            access = assess_access(
                records, spec, now=now, window=window, log_objects=objects, malformed=malformed
            )
        except _Unreadable as e:
            unreadable.append(f"access logs ({e})")
    unread = not_read(spec)
    cloud_note = (
        f"first data and first reads are not read on {spec.cloud} yet (mesh does not read its health signals)"
        if unread
        else None
    )
    ttd = TimeToData(
        committed=product.committed,
        provisioned=product.provisioned,
        first_data={p.name: p.oldest for p in ports},
        grants={g.domain: product.grants.get(g.domain) for g in spec.grants},
        first_reads=dict(access.first_reads) if access else dict.fromkeys(g.domain for g in spec.grants),
        provisioned_source=product.provisioned_source,
        notes=tuple(
            n
            for n in (
                product.history_problem,
                product.provisioned_problem,
                None
                if product.provisioned
                else f"no first successful update of {spec.stack} is recorded (stack history or mesh emulate)",
                cloud_note,
            )
            if n
        ),
    )
    aws = spec.aws
    return ProductHealth(
        product=f"{spec.domain}/{spec.product}",
        stack=spec.stack,
        owner=spec.owner,
        topic=aws.topic_arn if aws else (spec.gcp.topic if spec.gcp else ""),
        ports=tuple(ports),
        job=aws.glue_job if aws and spec.transform else None,
        runs=tuple(runs),
        access=access,
        reasons=reasons_for(spec, ports, runs, access, unreadable, not_read=unread),
        unreadable=(*unreadable, *(f"{what} (not read on {spec.cloud} yet)" for what in unread)),
        time_to_data=ttd,
        freshness_hours=spec.freshness_hours,
    )


def notify(
    report: HealthReport,
    clients: HealthClients | None,
    *,
    seen: Callable[[str], bool],
    record: Callable[[list[str]], None],
) -> None:
    """Publish one message per breach not yet published to the product's topic; remember those sent.

    A publication that fails is reported in `report.notified` with its error and tried again
    on the next run (it is not remembered)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - botocore is heavy

    sent: list[str] = []
    for product in sorted(report.products, key=lambda p: p.product):
        for reason in product.breaches:
            if seen(reason.key):
                continue
            subject, body = message_for(product, reason, report.environment)
            if clients is None:  # only a product whose signals were read can be in breach
                raise ValueError(f"{product.product}: a breach to publish, and no client to publish it with")
            try:
                clients.sns.publish(
                    TopicArn=product.topic,
                    Subject=subject,
                    Message=body,
                    MessageAttributes={"mesh-breach-key": {"DataType": "String", "StringValue": reason.key}},
                )
                status = "published"
                sent.append(reason.key)
            except (ClientError, BotoCoreError) as e:
                status = f"failed: {e}"
            report.notified.append(
                {"product": product.product, "kind": reason.kind, "key": reason.key, "status": status}
            )
    if sent:
        record(sent)


StackHistory = Callable[[str], Sequence[Any]]  # stack name -> its `UpdateInfo`s, newest first


def engine_history(
    platform: LoadedPlatform,
    environment: str,
    *,
    engine: Any | None = None,
    timeout: float = HISTORY_TIMEOUT_S,
    budget: float = HISTORY_BUDGET_S,
) -> StackHistory | None:
    """A bounded reader of the engine's stack history in `environment`, or None when there is no
    engine to ask (no Pulumi CLI, or a `file://` backend that holds nothing).

    Without a CLI nothing of Pulumi is imported. Each read is bounded by `timeout`; after one
    read times out, the others fail at once with the same reason instead of waiting again;
    once the reads together have taken `budget` seconds, the rest fail at once too.
    `engine` (an `infra.engine.Engine`) replaces the real one in tests.
    """
    from infra.pulumi_cli import bounded, find_cli  # noqa: PLC0415 - only health asks the engine

    if engine is None:
        if find_cli() is None:
            return None
        from infra.engine import Engine, backend_url  # noqa: PLC0415 - imports pulumi.automation: only with a CLI
        from infra.engine.target import file_backend_path  # noqa: PLC0415 - as above

        backend = platform.config.environments[environment].backend
        state = file_backend_path(backend_url(backend, platform.path.parent))
        if state is not None and not state.is_dir():
            return None  # a `file://` backend whose folder does not exist: nothing was provisioned there
        engine = Engine()
    from infra.engine import stack_history_reader  # noqa: PLC0415 - as above

    read = stack_history_reader(platform, environment, engine=engine)
    stalled: list[str] = []
    spent = [0.0]

    def read_bounded(stack: str) -> Sequence[Any]:
        if stalled:
            raise TimeoutError(stalled[0])
        if spent[0] >= budget:
            raise TimeoutError(
                f"the stack histories of {environment} took {budget:.0f} s; the rest are not read"
            )
        started = time.monotonic()
        try:
            return bounded(lambda: read(stack), timeout=timeout, what=f"pulumi stack history of {stack}")
        except TimeoutError as e:
            stalled.append(str(e))
            raise
        finally:
            spent[0] += time.monotonic() - started

    return read_bounded


@dataclass(frozen=True)
class Provisioned:
    """When a product's stack was first provisioned, where that was read, and why it is missing."""

    at: datetime | None
    source: str  # "stack history" | "mesh emulate" | ""
    problem: str | None = None


def provisioned_moment(
    stack: str, *, history: StackHistory | None, platform_dir: Path, environment: str
) -> Provisioned:
    """The stack's first successful update from the engine's history; else the first apply
    recorded by `mesh emulate`; else missing. An engine that fails (or stalls) never fails the
    check: what went wrong becomes the reason, and the emulate record is still read."""
    problem = None
    if history is not None:
        try:
            updates = history(stack)
        except Exception as e:  # any engine failure is a stated reason, never a failed check
            message = e.message if isinstance(e, MeshError) else str(e) or type(e).__name__
            problem = f"the stack history of {stack} could not be read: {message}"
        else:
            from infra.engine.history import provisioned_at  # noqa: PLC0415 - the engine is loaded when there is a history

            moment = provisioned_at(updates)
            if moment is not None:
                return Provisioned(moment, STACK_HISTORY)
            problem = f"the stack history of {stack} has no successful update"
    emulated = emulated_apply(platform_dir, environment, stack)
    if emulated is not None:
        return Provisioned(emulated, MESH_EMULATE, problem)
    return Provisioned(None, "", problem)


def products_to_check(
    files: Iterable[Path],
    *,
    platform_path: Path | None,
    environment: str,
    strict: bool,
    engine: Any | None = None,
) -> tuple[list[ProductToCheck], list[tuple[str, str]], LoadedPlatform]:
    """Resolve each request in `environment` with its history: (products, skipped, loaded platform).

    The provisioned moment comes from the engine's stack history when a Pulumi CLI is
    here (`engine_history`; `engine` replaces the real one in tests), else from `mesh
    emulate`'s record (`provisioned_moment`).

    With `strict` (files named by the user) an invalid request raises; otherwise (every request
    of the repository) it is skipped with the reason. Requests on a cloud the environment
    lacks are skipped with the reason. A product whose cloud has no health signal mesh reads
    (GCP today) is checked all the same: each signal is reported as not read.
    """
    files = list(files)
    platform_file = locate_platform(platform_path, near=files[0] if files else Path.cwd())
    platform = load_platform(platform_file)
    require_environment(platform.config, environment, source=platform_file)
    env = platform.config.environments[environment]
    history = engine_history(platform, environment, engine=engine)
    products: list[ProductToCheck] = []
    skipped: list[tuple[str, str]] = []
    for path in files:
        try:
            loaded = load_request(path, platform)
        except DocumentInvalid as e:
            if strict:
                raise
            skipped.append((str(path), f"invalid request: {e.message.splitlines()[0]}"))
            continue
        cloud = str(loaded.request.spec.cloud)
        if cloud not in env.clouds():
            if strict:
                raise MeshError(
                    f"{path}: the product is on {cloud}; environment {environment} has no {cloud} section"
                )
            skipped.append((str(path), f"on {cloud}; environment {environment} has no {cloud} section"))
            continue
        spec = resolve(loaded.request, platform.config, environment, request_dir=path.parent)
        committed = request_history(path)
        provisioned = provisioned_moment(
            spec.stack, history=history, platform_dir=platform_file.parent, environment=environment
        )
        products.append(
            ProductToCheck(
                spec=spec,
                request=str(path),
                committed=committed.committed,
                grants=dict(committed.grants),
                provisioned=provisioned.at,
                provisioned_source=provisioned.source,
                history_problem=committed.problem,
                provisioned_problem=provisioned.problem,
            )
        )
    return products, skipped, platform


def check_health(
    products: Iterable[ProductToCheck],
    clients: HealthClients | None,
    *,
    environment: str,
    now: datetime,
    window_hours: int = DEFAULT_WINDOW_HOURS,
    skipped: Iterable[tuple[str, str]] = (),
) -> HealthReport:
    """Every product's health at `now`; undesirable access counts within `window_hours` before it."""
    window = timedelta(hours=window_hours)
    checked = [check_product(p, clients, now=now, window=window) for p in products]
    return HealthReport(
        environment=environment,
        now=now,
        window_hours=window_hours,
        products=sorted(checked, key=lambda p: p.product),
        skipped=list(skipped),
    )
