"""Health verdicts from signals that cannot be read, and the access window, with stand-in clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from infra.access_log import format_record, parse_record
from infra.health import (
    HealthClients,
    HealthUnavailable,
    ProductToCheck,
    assess_access,
    check_product,
)
from infra.validation import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def _spec() -> Any:
    spec, _, _ = load_spec(
        EXAMPLES / "products" / "finance-payroll.yaml", platform_path=None, environment="dev"
    )
    return spec


class _S3:
    """Lists one fresh object in every port; the log bucket answers with `log_error`."""

    def __init__(self, log_bucket: str, log_error: Exception | None) -> None:
        self.log_bucket = log_bucket
        self.log_error = log_error

    def get_paginator(self, _: str) -> Any:
        outer = self

        class Paginator:
            def paginate(self, *, Bucket: str, Prefix: str) -> list[dict[str, Any]]:  # noqa: N803 - boto3's names
                if Bucket == outer.log_bucket:
                    if outer.log_error:
                        raise outer.log_error
                    return [{"Contents": []}]
                return [
                    {"Contents": [{"Key": f"{Prefix}part-0.csv", "LastModified": NOW - timedelta(hours=1)}]}
                ]

        return Paginator()


def _clients(log_error: Exception | None) -> HealthClients:
    spec = _spec()
    return HealthClients(s3=_S3(spec.require_aws().log_bucket, log_error), glue=None, sns=None)


def test_unreadable_access_logs_are_a_warning_that_names_the_signal() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "not you"}}, "ListObjectsV2")
    health = check_product(
        ProductToCheck(spec=_spec(), request="r.yaml"), _clients(denied), now=NOW, window=timedelta(hours=24)
    )

    assert health.verdict == "warn"
    assert [(r.level, r.kind) for r in health.reasons] == [("warn", "unreadable")]
    message = health.reasons[0].message
    assert message.startswith(
        "could not read access logs (access logs under s3://acme-dev-platform-access-logs/s3/"
    )
    assert message.endswith("AccessDenied: not you)")
    assert health.ports[0].state == "ok" and health.access is None


def test_no_credentials_stops_the_check_with_what_to_do() -> None:
    with pytest.raises(HealthUnavailable) as raised:
        check_product(
            ProductToCheck(spec=_spec(), request="r.yaml"),
            _clients(NoCredentialsError()),
            now=NOW,
            window=timedelta(hours=24),
        )
    assert "aws sts get-caller-identity" in (raised.value.hint or "")


def test_the_window_and_s3_own_operations() -> None:
    spec = _spec()
    bucket = spec.require_aws().bucket

    def line(hours_before: float, operation: str = "REST.GET.OBJECT", requester: str = "-") -> str:
        return format_record(
            bucket=bucket,
            time=NOW - timedelta(hours=hours_before),
            requester=requester,
            operation=operation,
            key="data/payslips/x.csv",
            status=200,
            request_id=f"R{hours_before}{operation}",
        )

    records = [
        parse_record(line(25)),  # before the window
        parse_record(line(23)),  # inside
        parse_record(line(-1)),  # after the clock
        parse_record(line(2, "S3.EXPIRE.OBJECT", "AmazonS3")),  # lifecycle, not a principal
        parse_record(line(1).replace(bucket, "another-bucket", 1)),  # another bucket's record
    ]
    access = assess_access(records, spec, now=NOW, window=timedelta(hours=24))

    assert [(e.principal, e.time) for e in access.undesirable] == [("anonymous", NOW - timedelta(hours=23))]
    assert access.records == 2, "the records of this bucket up to the clock, S3's own operations left out"
