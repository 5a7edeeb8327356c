"""`mesh health` on a moto server: the AWS examples applied, data, Glue runs and access logs
scripted against a fixed clock, and what a user sees (JSON, table, exit code, notifications).

The scenario, at NOW = 2026-03-02T06:00Z:
- sales/orders (SLO 24 h): order_lines last landed 28 h ago (late); daily_revenue never
  landed; the transform's last run FAILED; in the window, an outsider role read a key,
  a user was denied, the consumer roles and the platform reader read normally.
- finance/payroll (SLO 744 h): fresh; one denied attempt only (warn).

moto cannot do three things this needs, so the test does them in-process and says so:
it applies a bucket policy's conditional Denies to everyone (the policies are removed after
`mesh emulate`, as the data perimeter is proven elsewhere); it stamps objects and job runs
with the real time and only ever succeeds a run (objects and runs are back-dated and the
run failed through moto's backend); it writes its own access-log lines naming a bucket
`originbucket` (mesh reads and ignores those: they are not about the product's bucket).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from cli.app import app
from infra.access_log import format_record
from infra.aws.emulator import Target, apply_graph
from infra.synth import synthesize_spec
from infra.timetodata import record_emulated_apply
from infra.validation import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ACCOUNT = "123456789012"
REGION = "us-east-1"
ENV = "moto"
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
SALES = "acme-moto-sales-orders"
PAYROLL = "acme-moto-finance-payroll"
LOGS = "acme-moto-platform-access-logs"
JOB = "acme-moto-sales-orders-transform"
OUTSIDER_KEY = "data/order_lines/order_date=2026-03-01/part-0.parquet"
SERVICES = frozenset({"s3", "iam", "sts", "kms", "glue", "athena", "sns", "events"})

runner = CliRunner()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _git(folder: Path, *args: str, when: str | None = None) -> None:
    env = dict(os.environ)
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    env |= {"GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com"}
    env |= {"GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
    subprocess.run(["git", *args], cwd=folder, env=env, check=True, capture_output=True)


@dataclass
class Scenario:
    folder: Path
    url: str
    s3: Any

    def health(self, *args: str) -> tuple[int, str, str]:
        result = runner.invoke(
            app,
            ["health", "--env", ENV, "--endpoint-url", self.url, "--now", "2026-03-02T06:00:00Z", *args],
            catch_exceptions=False,
        )
        return result.exit_code, result.stdout, result.stderr

    def report(self, *args: str) -> tuple[int, dict[str, Any]]:
        code, stdout, _ = self.health("--output", "json", *args)
        return code, json.loads(stdout)


def _put(s3: Any, bucket: str, key: str, when: datetime) -> None:
    """An object whose LastModified is `when` (moto stamps the real time; the backend is rewritten)."""
    from moto.s3.models import s3_backends

    s3.put_object(Bucket=bucket, Key=key, Body=b"PAR1")
    stored = s3_backends[ACCOUNT]["global"].buckets[bucket].keys.getlist(key)[-1]
    stored.last_modified = when.astimezone(UTC).replace(tzinfo=None)


def _run(glue: Any, state: str, started: datetime) -> None:
    """A run of the transform that ended in `state` (moto only succeeds runs; the backend is rewritten)."""
    from moto.glue.models import glue_backends

    run_id = glue.start_job_run(JobName=JOB)["JobRunId"]
    run = next(r for r in glue_backends[ACCOUNT][REGION].jobs[JOB].job_runs if r.job_run_id == run_id)
    run.status = state
    run.started_on = run.modified_on = started.astimezone(UTC).replace(tzinfo=None)
    run.completed_on = (started + timedelta(minutes=20)).astimezone(UTC).replace(tzinfo=None)


def _session(role: str, session: str = "s") -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"


def _log(s3: Any, bucket: str, name: str, lines: list[str]) -> None:
    s3.put_object(Bucket=LOGS, Key=f"s3/{bucket}/{name}", Body=("\n".join(lines) + "\n").encode())


def build(folder: Path, url: str) -> Scenario:
    """The repository, its history, the applied examples, data, runs and logs (see the module docstring)."""
    platform = yaml.safe_load((EXAMPLES / "mesh.yaml").read_text())
    platform["environments"][ENV] = {"aws": {"account": ACCOUNT, "region": REGION}}
    platform["platformReaders"] = {"aws": ["arn:aws:iam::{account}:role/platform/mesh-health"]}
    folder.mkdir(parents=True)
    (folder / "mesh.yaml").write_text(yaml.safe_dump(platform, sort_keys=False))
    (folder / "products").mkdir()
    shutil.copytree(EXAMPLES / "products" / "jobs", folder / "products" / "jobs")
    orders = (EXAMPLES / "products" / "sales-orders.yaml").read_text()
    finance_grant = "      - {domain: finance, ports: [order_lines, daily_revenue]}\n"
    assert finance_grant in orders
    _git(folder, "init", "-q")
    # Commit 1: both requests, sales/orders granting marketing only; commit 2 grants finance.
    (folder / "products" / "sales-orders.yaml").write_text(orders.replace(finance_grant, ""))
    shutil.copy(EXAMPLES / "products" / "finance-payroll.yaml", folder / "products" / "finance-payroll.yaml")
    _git(
        folder,
        "add",
        "mesh.yaml",
        "products/sales-orders.yaml",
        "products/finance-payroll.yaml",
        "products/jobs",
    )
    _git(folder, "commit", "-qm", "sales/orders and finance/payroll", when="2026-02-01T09:00:00Z")
    (folder / "products" / "sales-orders.yaml").write_text(orders)
    _git(folder, "commit", "-qam", "finance reads sales/orders", when="2026-02-03T09:00:00Z")

    target = Target(endpoint_url=url, region=REGION, services=SERVICES)
    for example, applied in (
        ("sales-orders", "2026-02-01T12:00:00Z"),
        ("finance-payroll", "2026-02-01T10:00:00Z"),
    ):
        spec, _, _ = load_spec(folder / "products" / f"{example}.yaml", platform_path=None, environment=ENV)
        apply_graph(synthesize_spec(spec), target)
        record_emulated_apply(folder, ENV, spec.stack, at(applied))
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    for bucket in (SALES, PAYROLL):
        s3.delete_bucket_policy(Bucket=bucket)  # moto applies conditional Denies to everyone

    _put(s3, SALES, "data/order_lines/order_date=2026-02-01/part-0.parquet", at("2026-02-02T00:00:00Z"))
    _put(s3, SALES, OUTSIDER_KEY, at("2026-03-01T02:00:00Z"))  # 28 h before NOW: late
    _put(s3, PAYROLL, "data/payslips/pay_month=2026-02/country=fr/part-0.csv", at("2026-02-05T10:00:00Z"))
    _put(s3, PAYROLL, "data/payslips/pay_month=2026-03/country=fr/part-0.csv", at("2026-03-01T10:00:00Z"))
    glue = boto3.client(
        "glue", endpoint_url=url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    _run(glue, "SUCCEEDED", at("2026-02-28T02:00:00Z"))
    _run(glue, "FAILED", at("2026-03-01T02:00:00Z"))

    def line(bucket: str, when: str, requester: str, key: str, status: int, request_id: str) -> str:
        return format_record(
            bucket=bucket,
            time=at(when),
            requester=requester,
            operation="REST.GET.OBJECT",
            key=key,
            status=status,
            request_id=request_id,
            error_code="AccessDenied" if status == 403 else "-",
        )

    marketing = _session("acme-moto-sales-orders-marketing-consumer", "athena")
    finance = _session("acme-moto-sales-orders-finance-consumer", "athena")
    _log(s3, SALES, "2026-02-04-09-10-00-HISTORY", [
        line(SALES, "2026-02-02T10:00:00Z", marketing, OUTSIDER_KEY, 200, "HIST1"),
        line(SALES, "2026-02-04T09:00:00Z", finance, OUTSIDER_KEY, 200, "HIST2"),
        line(SALES, "2026-02-03T09:00:00Z", finance, OUTSIDER_KEY, 403, "HIST3"),  # before its grant applied
    ])  # fmt: skip
    _log(s3, SALES, "2026-03-02-05-10-00-RECENT", [
        line(SALES, "2026-03-02T03:00:00Z", _session("outsider", "laptop"), OUTSIDER_KEY, 200, "OUTSIDER1"),
        line(SALES, "2026-03-02T04:00:00Z", f"arn:aws:iam::{ACCOUNT}:user/mallory", OUTSIDER_KEY, 403, "DENIED1"),
        line(SALES, "2026-03-02T05:00:00Z", marketing, OUTSIDER_KEY, 200, "CONSUMER1"),
        line(SALES, "2026-03-02T05:01:00Z", _session("acme-moto-sales-orders-producer", "glue"), OUTSIDER_KEY, 200, "PRODUCER1"),
        line(SALES, "2026-03-02T05:02:00Z", _session("mesh-health", "ci"), OUTSIDER_KEY, 200, "PLATFORM1"),
        line(SALES, "2026-03-02T07:00:00Z", _session("outsider", "later"), OUTSIDER_KEY, 200, "FUTURE1"),  # after NOW
    ])  # fmt: skip
    _log(s3, PAYROLL, "2026-03-02-05-10-00-RECENT", [
        line(PAYROLL, "2026-03-02T04:30:00Z", f"arn:aws:iam::{ACCOUNT}:user/mallory", "data/payslips/x.csv", 403, "DENIED2"),
    ])  # fmt: skip
    return Scenario(folder, url, s3)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()


@pytest.fixture(scope="module")
def scenario(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    import requests

    requests.post(f"{server}/moto-api/reset", timeout=10)
    folder = tmp_path_factory.mktemp("health") / "repo"
    built = build(folder, server)
    cwd = Path.cwd()
    os.chdir(folder)  # `mesh health` with no request reads every request under the nearest mesh.yaml
    try:
        yield built
    finally:
        os.chdir(cwd)


def test_breach_names_the_outsider_the_late_and_never_landed_ports_and_the_failed_run(
    scenario: Scenario,
) -> None:
    code, report = scenario.report()

    assert code == 1
    orders = report["products"]["sales/orders"]
    assert orders["verdict"] == "breach"
    assert orders["ports"] == [
        {
            "name": "order_lines",
            "state": "late",
            "newest": "2026-03-01T02:00:00Z",
            "objects": 2,
            "ageHours": 28.0,
        },
        {"name": "daily_revenue", "state": "never", "newest": None, "objects": 0, "ageHours": None},
    ]
    assert [r["state"] for r in orders["runs"]["last"]] == ["FAILED", "SUCCEEDED"]
    assert orders["runs"]["job"] == JOB
    undesirable = orders["access"]["undesirable"]
    assert [(e["principal"], e["key"], e["status"], e["outcome"]) for e in undesirable] == [
        (f"arn:aws:iam::{ACCOUNT}:role/outsider", OUTSIDER_KEY, 200, "succeeded"),
        (f"arn:aws:iam::{ACCOUNT}:user/mallory", OUTSIDER_KEY, 403, "denied"),
    ], "consumer, producer and platform-reader requests are not flagged; requests after --now are not read"
    assert (
        undesirable[0]["time"] == "2026-03-02T03:00:00Z" and undesirable[0]["operation"] == "REST.GET.OBJECT"
    )
    assert undesirable[0]["requester"] == _session("outsider", "laptop")
    assert (orders["access"]["succeeded"], orders["access"]["denied"]) == (1, 1)
    kinds = [(r["level"], r["kind"]) for r in orders["reasons"]]
    assert kinds == [
        ("breach", "late"),
        ("breach", "never"),
        ("breach", "failed-run"),
        ("breach", "undesirable-access"),
        ("warn", "denied-access"),
    ]
    assert orders["topic"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:acme-moto-sales-orders-signals"


def test_denied_attempts_alone_are_a_warning(scenario: Scenario) -> None:
    _, report = scenario.report()

    payroll = report["products"]["finance/payroll"]
    assert payroll["verdict"] == "warn"
    assert payroll["reasons"] == [
        {
            "level": "warn",
            "kind": "denied-access",
            "message": f"1 denied attempt(s) by arn:aws:iam::{ACCOUNT}:user/mallory",
        }
    ]
    assert payroll["ports"][0]["state"] == "ok" and payroll["runs"] == {"job": None, "last": []}
    assert report["summary"] == {"ok": 0, "warn": 1, "breach": 1}
    assert report["skipped"] == []


def test_the_engines_stack_history_dates_the_provisioning_and_its_failure_is_a_note(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra import health
    from infra.engine import UpdateInfo

    stack = "sales.orders.moto"

    def history(stack_name: str) -> list[UpdateInfo]:
        if stack_name != stack:
            raise RuntimeError("error: failed to open bucket: NoCredentialProviders")
        return [
            UpdateInfo("update", "succeeded", at("2026-02-01T11:00:00Z"), at("2026-02-01T11:30:00Z"), 2),
            UpdateInfo("update", "failed", at("2026-02-01T10:00:00Z"), at("2026-02-01T10:10:00Z"), 1),
        ]

    monkeypatch.setattr(health, "engine_history", lambda *a, **k: history)
    code, report = scenario.report()

    assert code == 1
    orders = report["products"]["sales/orders"]["timeToData"]
    assert (orders["events"]["provisioned"], orders["events"]["provisionedFrom"]) == (
        "2026-02-01T11:30:00Z",
        "stack history",
    )
    assert orders["spans"]["requestToProvisioned"] == 2.5
    payroll = report["products"]["finance/payroll"]["timeToData"]
    assert payroll["events"]["provisionedFrom"] == "mesh emulate", "the emulate record is the fallback"
    assert any(
        "stack history of finance.payroll.moto could not be read" in n and "NoCredentialProviders" in n
        for n in payroll["notes"]
    ), payroll["notes"]


def test_time_to_data_from_the_scripted_history(scenario: Scenario) -> None:
    _, report = scenario.report()

    orders = report["products"]["sales/orders"]["timeToData"]
    assert orders["events"] == {
        "committed": "2026-02-01T09:00:00Z",
        "provisioned": "2026-02-01T12:00:00Z",
        "provisionedFrom": "mesh emulate",
        "firstData": {"daily_revenue": None, "order_lines": "2026-02-02T00:00:00Z"},
        "grantMerged": {"finance": "2026-02-03T09:00:00Z", "marketing": "2026-02-01T09:00:00Z"},
        "firstRead": {"finance": "2026-02-04T09:00:00Z", "marketing": "2026-02-02T10:00:00Z"},
    }
    assert orders["spans"] == {
        "requestToProvisioned": 3.0,
        "provisionedToFirstData": 12.0,
        "requestToFirstData": 15.0,
        "requestToFirstRead": 25.0,
    }
    assert orders["consumers"] == {
        "finance": {"grantToFirstRead": 24.0, "requestToFirstRead": 72.0},
        "marketing": {"grantToFirstRead": 25.0, "requestToFirstRead": 25.0},
    }
    assert orders["missing"] == ["firstData.daily_revenue"], "missing events are shown, never guessed"
    payroll = report["products"]["finance/payroll"]["timeToData"]
    assert payroll["spans"] == {
        "requestToProvisioned": 1.0,
        "provisionedToFirstData": 96.0,
        "requestToFirstData": 97.0,
        "requestToFirstRead": None,
    }
    mesh = report["timeToData"]
    assert mesh["requestToProvisioned"] == {"median": 2.0, "p90": 3.0, "measured": 2, "of": 2}
    assert mesh["requestToFirstData"] == {"median": 56.0, "p90": 97.0, "measured": 2, "of": 2}
    assert mesh["grantToFirstRead"] == {"median": 24.5, "p90": 25.0, "measured": 2, "of": 2}
    assert mesh["requestToFirstRead"] == {"median": 25.0, "p90": 25.0, "measured": 1, "of": 2}


def test_the_table_shows_verdicts_the_outsider_and_time_to_data(scenario: Scenario) -> None:
    code, stdout, _ = scenario.health()

    assert code == 1
    flat = " ".join(stdout.split())
    assert "sales/orders" in flat and "breach" in flat and "finance/payroll" in flat and "warn" in flat
    assert f"arn:aws:iam::{ACCOUNT}:role/outsider REST.GET.OBJECT {OUTSIDER_KEY} HTTP 200 succeeded" in flat
    assert "breach sales/orders: port daily_revenue has never landed" in flat
    assert "warn finance/payroll: 1 denied attempt(s) by arn:aws:iam::123456789012:user/mallory" in flat
    assert "Time to data (hours)" in flat and "median" in flat and "p90" in flat
    assert "– : an event is missing" in flat
    assert "0 ok, 1 warn, 1 breach in moto." in flat


def test_json_is_the_same_bytes_for_the_same_clock(scenario: Scenario) -> None:
    first = scenario.health("--output", "json")[1]
    again = scenario.health("--output", "json")[1]
    assert first == again


def test_notify_publishes_one_message_per_breach_exactly_once(scenario: Scenario) -> None:
    from moto.sns.models import sns_backends

    topic = sns_backends[ACCOUNT][REGION].topics[
        f"arn:aws:sns:{REGION}:{ACCOUNT}:acme-moto-sales-orders-signals"
    ]
    before = len(topic.sent_notifications)

    code, report = scenario.report("--notify")

    assert code == 1
    assert sorted((n["product"], n["kind"], n["status"]) for n in report["notified"]) == [
        ("sales/orders", "failed-run", "published"),
        ("sales/orders", "late", "published"),
        ("sales/orders", "never", "published"),
        ("sales/orders", "undesirable-access", "published"),
    ]
    sent = topic.sent_notifications[before:]
    assert len(sent) == 4
    subjects = sorted(str(s[2]) for s in sent)
    assert subjects[-1] == "mesh breach: sales/orders (moto) undesirable-access"
    bodies = [json.loads(s[1]) for s in sent]
    assert any("role/outsider" in b["message"] and OUTSIDER_KEY in b["message"] for b in bodies)

    code, report = scenario.report("--notify")

    assert code == 1 and report["notified"] == [], "a breach already published is not published again"
    assert len(topic.sent_notifications) == before + 4
    ledger = json.loads((scenario.folder / ".mesh" / "health" / f"{ENV}.json").read_text())
    assert sorted(ledger["notified"]) == sorted(b["breachKey"] for b in bodies)


def test_a_request_named_on_the_command_line_is_the_only_one_checked(scenario: Scenario) -> None:
    code, report = scenario.report(str(scenario.folder / "products" / "finance-payroll.yaml"))

    assert code == 0, "a warning alone does not fail the run"
    assert list(report["products"]) == ["finance/payroll"]


def test_bad_input_is_a_message_not_a_traceback(scenario: Scenario) -> None:
    result = runner.invoke(
        app, ["health", "--env", ENV, "--endpoint-url", scenario.url, "--now", "yesterday"]
    )
    assert result.exit_code == 2
    assert "--now 'yesterday' is not an ISO 8601 time" in result.stderr
    result = runner.invoke(app, ["health", "--env", "nowhere", "--endpoint-url", scenario.url])
    assert result.exit_code == 2
    assert "environment 'nowhere' is not defined" in result.stderr
    result = runner.invoke(app, ["health", "--env", ENV, "--endpoint-url", "http://192.0.2.1:5000"])
    assert result.exit_code == 1
    assert "is not a loopback address" in result.stderr


READER_ROLE = "mesh-health"
READER = f"arn:aws:iam::{ACCOUNT}:role/platform/{READER_ROLE}"
# What a platform team grants the identity `mesh health` runs as: list the product buckets,
# read the access logs, read the transform's runs, publish to the signals topics. moto compares
# Glue resources against `*`, so the Glue statement names `*` here.
READER_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ListProducts", "Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": [f"arn:aws:s3:::{SALES}", f"arn:aws:s3:::{PAYROLL}"]},
        {"Sid": "ReadAccessLogs", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
         "Resource": [f"arn:aws:s3:::{LOGS}", f"arn:aws:s3:::{LOGS}/*"]},
        {"Sid": "ReadRuns", "Effect": "Allow", "Action": "glue:GetJobRuns", "Resource": "*"},
        {"Sid": "Notify", "Effect": "Allow", "Action": "sns:Publish", "Resource": f"arn:aws:sns:{REGION}:{ACCOUNT}:*"},
    ],
}  # fmt: skip


def test_health_reads_freshness_as_the_platform_reader(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader of mesh.yaml lists the buckets, with IAM enforced on the moto server, and the
    product's perimeter (evaluated: moto ignores a bucket policy's conditions) lets it list only."""
    import requests

    from infra.model.policy_eval import authorize

    iam = boto3.client(
        "iam", endpoint_url=scenario.url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    sts = boto3.client(
        "sts", endpoint_url=scenario.url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName=READER_ROLE, Path="/platform/", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=READER_ROLE, PolicyName="mesh-health", PolicyDocument=json.dumps(READER_POLICY)
    )
    creds = sts.assume_role(RoleArn=READER, RoleSessionName="ci")["Credentials"]  # fmt: skip
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
    reader_s3 = boto3.client(
        "s3", endpoint_url=scenario.url, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
    )  # fmt: skip
    requests.post(f"{scenario.url}/moto-api/reset-auth", data=b"0", timeout=10)
    try:
        with pytest.raises(ClientError, match="AccessDenied"):
            reader_s3.get_object(Bucket=SALES, Key=OUTSIDER_KEY)  # IAM is enforced for this session
        code, report = scenario.report()
    finally:
        requests.post(f"{scenario.url}/moto-api/reset-auth", data=b"inf", timeout=10)

    assert code == 1
    orders = report["products"]["sales/orders"]
    assert orders["unreadable"] == [], "the reader reads every signal"
    assert [(p["name"], p["state"], p["objects"]) for p in orders["ports"]] == [
        ("order_lines", "late", 2),
        ("daily_revenue", "never", 0),
    ]
    assert report["products"]["finance/payroll"]["ports"][0]["state"] == "ok"
    # On AWS the bucket policy decides too: the perimeter spares the reader for listing only.
    spec, _, _ = load_spec(
        scenario.folder / "products" / "sales-orders.yaml", platform_path=None, environment=ENV
    )
    (bucket_policy,) = [r.policy() for r in synthesize_spec(spec).of_type("aws:s3/bucketPolicy:BucketPolicy")]  # fmt: skip
    broad = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    secure = {"aws:SecureTransport": "true"}
    for action, resource, want in (
        ("s3:ListBucket", f"arn:aws:s3:::{SALES}", True),
        ("s3:GetObject", f"arn:aws:s3:::{SALES}/{OUTSIDER_KEY}", False),
        ("s3:PutObject", f"arn:aws:s3:::{SALES}/{OUTSIDER_KEY}", False),
    ):
        for identity in ([READER_POLICY], [broad]):
            decision = authorize(action=action, resource=resource, principal=READER, identity=identity,
                                 resource_policy=bucket_policy, context=secure)  # fmt: skip
            assert decision.allowed is want, (action, identity, decision)


def test_fixed_outsider_and_fresh_data_exit_0(scenario: Scenario) -> None:
    s3, url = scenario.s3, scenario.url
    _log(s3, SALES, "2026-03-02-05-10-00-RECENT", [])  # the outsider's and the denied lines removed
    _log(s3, PAYROLL, "2026-03-02-05-10-00-RECENT", [])
    _put(s3, SALES, "data/order_lines/order_date=2026-03-02/part-0.parquet", at("2026-03-02T05:00:00Z"))
    _put(s3, SALES, "data/daily_revenue/part-0.parquet", at("2026-03-02T05:00:00Z"))
    glue = boto3.client(
        "glue", endpoint_url=url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )
    _run(glue, "SUCCEEDED", at("2026-03-02T02:00:00Z"))

    code, report = scenario.report()

    assert code == 0
    assert {p: v["verdict"] for p, v in report["products"].items()} == {
        "finance/payroll": "ok",
        "sales/orders": "ok",
    }
