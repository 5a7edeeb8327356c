"""Benchmark and demonstration of `mesh health` on a moto server. Not a test.

    .venv/bin/python bench/health.py cost [--products 100] [--files 12] [--lines 400]
    .venv/bin/python bench/health.py examples

`cost`: N products on a moto server (ThreadedMotoServer, 127.0.0.1, port 0), each with a
bucket holding data in two ports and `files` access-log objects of `lines` records in AWS's
format (a mix of consumer, producer, outsider and denied requests) in the log bucket. It
times `check_health` over all of them (the reads through the S3 API included), and the
parser alone over the same text, and prints seconds and lines per second for both.

`examples`: the AWS examples applied with `mesh emulate` to a moto server, an outsider's
read injected into sales/orders' access logs and its order_lines port made late; prints
what `mesh health --output json` says (the outsider's principal and key, the late port,
the exit code) and the health table; then removes the outsider's line and lands fresh
data, and prints the exit code again. moto stamps objects and runs with the real time
and applies conditional bucket-policy Denies to everyone, so the script back-dates
objects through moto's backend and removes the bucket policies after `mesh emulate`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
import yaml  # noqa: E402
from moto.s3.models import s3_backends  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from cli.app import app  # noqa: E402
from infra.access_log import format_record, parse_log  # noqa: E402
from infra.health import ProductToCheck, check_health, open_clients  # noqa: E402
from infra.model.platform import PlatformConfig  # noqa: E402
from infra.model.request import DataProductRequest  # noqa: E402
from infra.model.spec import resolve  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
logging.getLogger("werkzeug").setLevel(logging.ERROR)


def _server() -> tuple[ThreadedMotoServer, str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def _client(service: str, url: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
    )


def _backdate(bucket: str, key: str, when: datetime) -> None:
    s3_backends[ACCOUNT]["global"].buckets[bucket].keys.getlist(key)[-1].last_modified = when.replace(
        tzinfo=None
    )


# --- cost ---------------------------------------------------------------------------------


def _platform() -> PlatformConfig:
    return PlatformConfig.model_validate(
        {
            "apiVersion": "mesh/v1",
            "kind": "Platform",
            "organization": "bench",
            "domains": {
                d: {"owners": [f"{d}@example.com"], "costCenter": "CC-1"}
                for d in ("sales", "marketing", "finance")
            },
            "environments": {"bench": {"aws": {"account": ACCOUNT, "region": REGION}}},
        }
    )


def _request(index: int) -> DataProductRequest:
    return DataProductRequest.model_validate(
        {
            "apiVersion": "mesh/v1",
            "kind": "DataProduct",
            "metadata": {
                "domain": "sales",
                "name": f"p{index:03d}",
                "owner": "sales@example.com",
                "description": "A benchmark product.",
            },
            "spec": {
                "cloud": "aws",
                "classification": "internal",
                "retentionDays": 30,
                "outputPorts": [
                    {"name": port, "schema": [{"name": "id", "type": "string"}]}
                    for port in ("events", "daily")
                ],
                "access": {
                    "consumers": [
                        {"domain": "marketing", "ports": ["events"]},
                        {"domain": "finance", "ports": ["daily"]},
                    ]
                },
                "slo": {"freshnessHours": 24},
            },
        }
    )


def _log_text(bucket: str, spec: Any, file_index: int, lines: int) -> str:
    aws = spec.require_aws()
    who = [
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{aws.producer_role}/glue",
        *(f"arn:aws:sts::{ACCOUNT}:assumed-role/{g.aws_role}/athena" for g in spec.grants),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/outsider/laptop",
        f"arn:aws:iam::{ACCOUNT}:user/mallory",
    ]
    start = NOW - timedelta(hours=36) + timedelta(hours=3 * file_index)
    records = []
    for i in range(lines):
        requester = who[i % len(who)]
        status = 403 if requester.endswith("mallory") else 200
        records.append(
            format_record(
                bucket=bucket,
                time=start + timedelta(seconds=7 * i),
                requester=requester,
                operation="REST.GET.OBJECT",
                key=f"data/events/day=2026-03-01/part-{i % 50:05d}.parquet",
                status=status,
                request_id=f"R{file_index:03d}{i:06d}",
                error_code="AccessDenied" if status == 403 else "-",
            )
        )
    return "\n".join(records) + "\n"


def cost(products: int, files: int, lines: int) -> None:
    server, url = _server()
    try:
        platform = _platform()
        s3 = _client("s3", url)
        specs = [resolve(_request(i), platform, "bench", request_dir=ROOT) for i in range(products)]
        log_bucket = specs[0].require_aws().log_bucket
        s3.create_bucket(Bucket=log_bucket)
        texts: list[str] = []
        for spec in specs:
            aws = spec.require_aws()
            s3.create_bucket(Bucket=aws.bucket)
            s3.put_object(
                Bucket=aws.bucket, Key="data/events/day=2026-03-01/part-00000.parquet", Body=b"PAR1"
            )
            _backdate(aws.bucket, "data/events/day=2026-03-01/part-00000.parquet", NOW - timedelta(hours=2))
            for f in range(files):
                text = _log_text(aws.bucket, spec, f, lines)
                texts.append(text)
                s3.put_object(
                    Bucket=log_bucket,
                    Key=f"{aws.access_log_prefix}2026-03-0{1 + f // 8}-{f:02d}-00-00-BENCH",
                    Body=text.encode(),
                )
        total_lines = products * files * lines
        total_bytes = sum(len(t) for t in texts)
        clients = open_clients(platform, "bench", endpoint_url=url)
        started, cpu = time.perf_counter(), time.process_time()
        report = check_health(
            [ProductToCheck(spec=s, request=s.stack) for s in specs], clients, environment="bench", now=NOW
        )
        whole, whole_cpu = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        parsed = sum(len(parse_log(t).records) for t in texts)
        parse_only, parse_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert parsed == total_lines, (parsed, total_lines)
        print(
            f"products {products}, log objects {products * files}, lines {total_lines:,}, {total_bytes / 1e6:.1f} MB"
        )
        print(
            f"mesh health (S3 API reads on the in-process moto server + parse + verdicts): {whole:.2f} s wall "
            f"({whole_cpu:.2f} s CPU, moto's included), {total_lines / whole:,.0f} lines/s"
        )
        print(
            f"parser alone: {parse_only:.2f} s wall ({parse_cpu:.2f} s CPU), {total_lines / parse_only:,.0f} lines/s "
            f"({total_lines / parse_cpu:,.0f} per CPU second)"
        )
        print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"verdicts: {report.counts()}")
    finally:
        server.stop()


# --- examples -------------------------------------------------------------------------------


def _mesh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "160"})
    return result.exit_code, result.stdout


def examples() -> None:
    server, url = _server()
    folder = Path(tempfile.mkdtemp(prefix="mesh-health-")) / "repo"
    try:
        platform = yaml.safe_load((ROOT / "examples" / "mesh.yaml").read_text())
        platform["environments"]["emu"] = {"aws": {"account": ACCOUNT, "region": REGION}}
        folder.mkdir(parents=True)
        (folder / "mesh.yaml").write_text(yaml.safe_dump(platform, sort_keys=False))
        shutil.copytree(ROOT / "examples" / "products", folder / "products")
        t0 = datetime.now(UTC).replace(microsecond=0)
        committed = (t0 - timedelta(days=2)).isoformat()
        env = dict(
            os.environ,
            GIT_AUTHOR_NAME="dev",
            GIT_AUTHOR_EMAIL="d@example.com",
            GIT_COMMITTER_NAME="dev",
            GIT_COMMITTER_EMAIL="d@example.com",
            GIT_AUTHOR_DATE=committed,
            GIT_COMMITTER_DATE=committed,
        )
        subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
        subprocess.run(["git", "add", "."], cwd=folder, check=True)
        subprocess.run(["git", "commit", "-qm", "requests"], cwd=folder, check=True, env=env)
        for example in ("sales-orders", "finance-payroll"):
            code, out = _mesh(
                "emulate", str(folder / "products" / f"{example}.yaml"), "--env", "emu", "--endpoint-url", url,
                "--services", "s3,iam,sts,kms,glue,athena,sns,events",
            )  # fmt: skip
            print(f"$ mesh emulate {example} → exit {code}: {out.strip().splitlines()[-1]}")
        s3 = _client("s3", url)
        sales, payroll = "acme-emu-sales-orders", "acme-emu-finance-payroll"
        for bucket in (sales, payroll):
            s3.delete_bucket_policy(Bucket=bucket)
        # The clock is 30 h after the data landed: order_lines (SLO 24 h) is late; daily_revenue
        # lands again at +29 h; payroll's SLO is 744 h.
        t0 = datetime.now(UTC).replace(microsecond=0)  # after the apply: data lands once provisioned
        clock = t0 + timedelta(hours=30)
        now = ["--now", clock.isoformat()]
        stale = "data/order_lines/order_date=2026-01-01/part-0.parquet"
        for bucket, key, landed in (
            (sales, stale, t0),
            (sales, "data/daily_revenue/part-0.parquet", t0 + timedelta(hours=29)),
            (payroll, "data/payslips/pay_month=2026-01/country=fr/part-0.csv", t0),
        ):
            s3.put_object(Bucket=bucket, Key=key, Body=b"x")
            _backdate(bucket, key, landed)
        consumer = f"arn:aws:sts::{ACCOUNT}:assumed-role/acme-emu-sales-orders-marketing-consumer/athena"
        outsider = f"arn:aws:sts::{ACCOUNT}:assumed-role/data-scientist/laptop"
        lines = [
            format_record(bucket=sales, time=t0 + timedelta(hours=2), requester=consumer, operation="REST.GET.OBJECT", key=stale, status=200, request_id="C1"),
            format_record(bucket=sales, time=t0 + timedelta(hours=29), requester=outsider, operation="REST.GET.OBJECT", key=stale, status=200, request_id="X1"),
        ]  # fmt: skip
        log_key = f"s3/{sales}/{clock:%Y-%m-%d-%H-%M-%S}-INJECTED"
        s3.put_object(Bucket="acme-emu-platform-access-logs", Key=log_key, Body="\n".join(lines).encode())
        os.chdir(folder)
        code, out = _mesh("health", "--env", "emu", "--endpoint-url", url, "--output", "json", *now)
        report = json.loads(out)
        orders = report["products"]["sales/orders"]
        print(f"$ mesh health --env emu --output json --now {clock.isoformat()} → exit {code}")
        print("  sales/orders verdict:", orders["verdict"])
        print("  ports:", [(p["name"], p["state"], p["ageHours"]) for p in orders["ports"]])
        print(
            "  undesirable:",
            [(e["principal"], e["key"], e["status"]) for e in orders["access"]["undesirable"]],
        )
        code, out = _mesh("health", "--env", "emu", "--endpoint-url", url, *now)
        print(f"$ mesh health --env emu --now {clock.isoformat()} → exit {code}")
        print(out)
        s3.put_object(Bucket="acme-emu-platform-access-logs", Key=log_key, Body=lines[0].encode())
        fresh = "data/order_lines/order_date=2026-01-02/part-0.parquet"
        s3.put_object(Bucket=sales, Key=fresh, Body=b"x")
        _backdate(sales, fresh, t0 + timedelta(hours=29))
        code, out = _mesh("health", "--env", "emu", "--endpoint-url", url, "--output", "json", *now)
        verdicts = {p: v["verdict"] for p, v in json.loads(out)["products"].items()}
        print(f"after removing the outsider's line and landing fresh data: exit {code}, {verdicts}")
    finally:
        os.chdir(ROOT)
        server.stop()
        shutil.rmtree(folder.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    measure = sub.add_parser("cost", help="time mesh health over many products' logs")
    measure.add_argument("--products", type=int, default=100)
    measure.add_argument("--files", type=int, default=12)
    measure.add_argument("--lines", type=int, default=400)
    sub.add_parser("examples", help="the demonstration on the AWS examples")
    args = parser.parse_args()
    if args.what == "cost":
        cost(args.products, args.files, args.lines)
    else:
        examples()


if __name__ == "__main__":
    main()
