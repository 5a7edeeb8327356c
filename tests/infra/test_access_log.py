"""S3 server access log records: AWS's documented format, read field by field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from infra.access_log import (
    ANONYMOUS,
    MalformedRecord,
    format_record,
    identity_key,
    parse_log,
    parse_record,
    principal_of,
    tokens,
)

# The first record of the example in the Amazon S3 User Guide ("Amazon S3 server access log
# format"), with the documentation's bucket name.
AWS_EXAMPLE = (
    "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 "
    "[06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be "
    '3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - '
    '"-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 '
    "ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 "
    "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1"
)


def test_the_documented_example_reads_field_by_field() -> None:
    record = parse_record(AWS_EXAMPLE)

    assert record.bucket == "amzn-s3-demo-bucket1"
    assert record.time == datetime(2019, 2, 6, 0, 0, 38, tzinfo=UTC)
    assert record.remote_ip == "192.0.2.3"
    assert record.request_id == "3E57427F3EXAMPLE"
    assert record.operation == "REST.GET.VERSIONING"
    assert record.key == ""
    assert record.request_uri == "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1"
    assert record.http_status == 200 and record.error_code == "" and record.succeeded


def test_quoted_fields_keep_their_spaces_and_escaped_quotes() -> None:
    line = format_record(
        bucket="b",
        time=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        requester="arn:aws:sts::123456789012:assumed-role/outsider/laptop",
        operation="REST.GET.OBJECT",
        key="data/orders/day=1/part 0.parquet",
        status=200,
        request_id="REQ1",
        user_agent='aws-cli/2 \\"quoted\\" agent [with brackets]',
    )
    record = parse_record(line)
    fields = tokens(line)

    assert len(fields) == 27, "quotes and brackets inside a quoted field do not split it"
    assert fields[16] == '"aws-cli/2 \\"quoted\\" agent [with brackets]"'

    assert record.key == "data/orders/day=1/part 0.parquet", "the key is URL-decoded"
    assert record.request_uri == "GET /b/data/orders/day%3D1/part%200.parquet HTTP/1.1"
    assert (record.operation, record.http_status, record.request_id) == ("REST.GET.OBJECT", 200, "REQ1")
    assert record.principal == "arn:aws:iam::123456789012:role/outsider"


@dataclass(frozen=True)
class Case:
    reason: str
    given: str
    want: str


PRINCIPALS = [
    Case("a role session maps to its role (no path in the log)",
         "arn:aws:sts::123456789012:assumed-role/acme-dev-sales-orders-producer/glue-job", "arn:aws:iam::123456789012:role/acme-dev-sales-orders-producer"),
    Case("a session name with @ and dots", "arn:aws:sts::123456789012:assumed-role/ci/jane.doe@example.com",
         "arn:aws:iam::123456789012:role/ci"),
    Case("an IAM user stays as logged", "arn:aws:iam::123456789012:user/bob", "arn:aws:iam::123456789012:user/bob"),
    Case("an unauthenticated request", "-", ANONYMOUS),
    Case("a canonical user id stays as logged", "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
         "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"),
    Case("another partition", "arn:aws-us-gov:sts::123456789012:assumed-role/r/s", "arn:aws-us-gov:iam::123456789012:role/r"),
]  # fmt: skip


@pytest.mark.parametrize("case", PRINCIPALS, ids=lambda c: c.reason)
def test_requesters_map_back_to_principals(case: Case) -> None:
    assert principal_of(case.given) == case.want, case.reason


def test_identity_keys_ignore_the_role_path_so_sessions_match_roles_with_paths() -> None:
    session = identity_key("arn:aws:sts::123456789012:assumed-role/mesh-health/ci")
    assert session == ("123456789012", "role", "mesh-health")
    assert identity_key("arn:aws:iam::123456789012:role/platform/ci/mesh-health") == session
    assert identity_key("arn:aws:iam::123456789012:user/bob") == ("123456789012", "user", "bob")
    assert identity_key("79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be") is None


def test_a_log_with_a_broken_line_keeps_the_others_and_names_the_line() -> None:
    good = format_record(
        bucket="b",
        time=datetime(2026, 3, 1, tzinfo=UTC),
        requester="-",
        operation="REST.GET.OBJECT",
        key="k",
        status=403,
        request_id="R",
    )
    parsed = parse_log(
        f"{good}\n\nnot a log line\n{good.replace('[01/Mar/2026:00:00:00 +0000]', '[yesterday]')}\n"
    )

    assert [r.request_id for r in parsed.records] == ["R"]
    assert parsed.records[0].denied and parsed.records[0].principal == ANONYMOUS
    assert [n for n, _ in parsed.malformed] == [3, 4]
    assert "at least 11" in parsed.malformed[0][1] and "[yesterday]" in parsed.malformed[1][1]
    with pytest.raises(MalformedRecord):
        parse_record("owner bucket")
