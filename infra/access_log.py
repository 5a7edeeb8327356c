"""S3 server access log records: parsing AWS's space-delimited format and naming who made a request.

The format (Amazon S3 User Guide, "Amazon S3 server access log format") is one record
per line, fields separated by spaces, in this order:

    bucket_owner bucket [time] remote_ip requester request_id operation key
    "request_uri" http_status error_code bytes_sent object_size total_time
    turn_around_time "referer" "user_agent" version_id host_id signature_version
    cipher_suite authentication_type host_header tls_version access_point_arn
    acl_required [source_region]

`time` is bracketed (`[06/Feb/2019:00:00:38 +0000]`) and contains a space; the three
quoted fields may contain spaces and backslash-escaped quotes; any field may be `-`.
AWS may append fields at the end, so a record is read by position and extra fields are
ignored; a record with fewer than the first eleven fields is malformed. `key` is
URL-encoded in the log and decoded here.

The requester of a request made with a role session is logged as
`arn:<partition>:sts::<account>:assumed-role/<role>/<session>`, without the role's path.
Role names are unique in an account whatever their path, so a session maps back to
`arn:<partition>:iam::<account>:role/<role>` and is compared by account and name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import unquote

_TOKEN = re.compile(r'\[[^\]]*\]|"(?:[^"\\]|\\.)*"|\S+')
# The first eleven fields, which a verdict needs, in one match (the rest of the line is not read).
_HEAD = re.compile(
    r'(\S+) (\S+) (\[[^\]]*\]) (\S+) (\S+) (\S+) (\S+) (\S+) ("(?:[^"\\]|\\.)*"|\S+) (\S+) (\S+)(?: |$)'
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_ASSUMED_ROLE = re.compile(r"^arn:([\w-]+):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/(.+)$")
_IAM_ARN = re.compile(r"^arn:([\w-]+):iam::(\d{12}):(role|user)/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$")
MIN_FIELDS = 11  # up to error_code: what a verdict needs
ANONYMOUS = "anonymous"
DENIED_STATUS = 403


class MalformedRecord(ValueError):
    """A line that is not an S3 server access log record (programming or input error, with the reason)."""


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One request to a bucket, as S3 logged it."""

    bucket: str
    time: datetime
    remote_ip: str
    requester: str  # as logged: an ARN, a canonical user id, or "-"
    request_id: str
    operation: str  # REST.GET.OBJECT, REST.PUT.OBJECT, S3.EXPIRE.OBJECT, …
    key: str  # decoded; "" when the operation takes none
    request_uri: str
    http_status: int | None
    error_code: str

    @property
    def principal(self) -> str:
        """Who made the request: a role session as its role's ARN, an IAM user's ARN, or the raw requester."""
        return principal_of(self.requester)

    @property
    def succeeded(self) -> bool:
        """2xx or 3xx: the request did what it asked."""
        return self.http_status is not None and 200 <= self.http_status < 400

    @property
    def denied(self) -> bool:
        """403: refused by a policy (AccessDenied and its kin)."""
        return self.http_status == DENIED_STATUS

    @property
    def by_s3(self) -> bool:
        """An operation S3 runs itself (lifecycle expiry, transitions), not a request by a principal."""
        return self.operation.startswith("S3.")


def _unquote(field: str) -> str:
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return re.sub(r"\\(.)", r"\1", field[1:-1])
    return field


def _dash(field: str) -> str:
    return "" if field == "-" else field


def tokens(line: str) -> list[str]:
    """The fields of one record: brackets and quotes kept whole (spaces inside them are not separators)."""
    return _TOKEN.findall(line)


@lru_cache(maxsize=4096)
def _time(field: str) -> datetime:
    """`[06/Feb/2019:00:00:38 +0000]` as an aware UTC time (sliced by hand: strptime is slow, and
    records of the same second share the parse)."""
    month = _MONTHS.get(field[4:7])
    try:
        if len(field) != 28 or field[0] != "[" or field[-1] != "]" or month is None or field[22] not in "+-":
            raise ValueError(field)
        local = datetime(
            int(field[8:12]),
            month,
            int(field[1:3]),
            int(field[13:15]),
            int(field[16:18]),
            int(field[19:21]),
            tzinfo=UTC,
        )
        offset = timedelta(hours=int(field[23:25]), minutes=int(field[25:27]))
    except ValueError as e:
        raise MalformedRecord(f"time {field} is not in the format [06/Feb/2019:00:00:38 +0000]") from e
    return local - offset if field[22] == "+" else local + offset


def _split(line: str) -> list[str] | None:
    """The first eleven fields, or None when the line does not have their shape.

    The first nine are plain except the time, which holds one space; the Request-URI is
    quoted and may hold spaces (and escaped quotes, rare enough for the regex fallback)."""
    parts = line.split(" ", 9)
    if len(parts) < 10 or not parts[2].startswith("["):
        return None
    head = [parts[0], parts[1], f"{parts[2]} {parts[3]}", *parts[4:9]]
    rest = parts[9]
    if rest.startswith('"'):
        close = rest.find('" ', 1)
        if close < 0 or "\\" in rest[:close]:
            return None
        uri, tail = rest[: close + 1], rest[close + 2 :]
    else:
        uri, _, tail = rest.partition(" ")
    status, _, tail = tail.partition(" ")
    error = tail.split(" ", 1)[0]
    if not status or not error:
        return None
    return [*head, uri, status, error]


def parse_record(line: str) -> AccessRecord:
    """One record; `MalformedRecord` naming what is wrong when the line is not one."""
    fields = _split(line)
    if fields is None:
        match = _HEAD.match(line)
        fields = list(match.groups()) if match else tokens(line)
    if len(fields) < MIN_FIELDS:
        raise MalformedRecord(f"{len(fields)} fields, an S3 access log record has at least {MIN_FIELDS}")
    if not (fields[2].startswith("[") and fields[2].endswith("]")):
        raise MalformedRecord(f"the third field {fields[2]!r} is not a bracketed time")
    key = fields[7]
    status = fields[9]
    return AccessRecord(
        bucket=fields[1],
        time=_time(fields[2]),
        remote_ip=_dash(fields[3]),
        requester=fields[4],
        request_id=fields[5],
        operation=fields[6],
        key=unquote(key) if "%" in key else _dash(key),
        request_uri=_dash(_unquote(fields[8])),
        http_status=int(status) if status.isdigit() else None,
        error_code=_dash(fields[10]),
    )


@dataclass(frozen=True)
class ParsedLog:
    """The records of some log text, and the lines that could not be read (line number, reason)."""

    records: tuple[AccessRecord, ...]
    malformed: tuple[tuple[int, str], ...] = ()


def parse_log(text: str) -> ParsedLog:
    """Every record of a log file; blank lines are skipped, malformed ones reported, never fatal."""
    records: list[AccessRecord] = []
    malformed: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(parse_record(line))
        except MalformedRecord as e:
            malformed.append((number, str(e)))
    return ParsedLog(tuple(records), tuple(malformed))


def principal_of(requester: str) -> str:
    """`arn:aws:sts::1:assumed-role/R/s` → `arn:aws:iam::1:role/R`; `-` → `anonymous`; others unchanged."""
    if requester in ("-", ""):
        return ANONYMOUS
    match = _ASSUMED_ROLE.match(requester)
    if match:
        partition, account, role, _session = match.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    return requester


def identity_key(arn: str) -> tuple[str, str, str] | None:
    """`(account, "role"|"user", name)` of an IAM ARN or a role session, path ignored; None otherwise."""
    match = _ASSUMED_ROLE.match(arn)
    if match:
        return match.group(2), "role", match.group(3)
    match = _IAM_ARN.match(arn)
    if match:
        return match.group(2), match.group(3), match.group(4)
    return None


def format_record(
    *,
    bucket: str,
    time: datetime,
    requester: str,
    operation: str,
    key: str,
    status: int,
    request_id: str,
    owner: str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
    remote_ip: str = "192.0.2.3",
    error_code: str = "-",
    user_agent: str = "aws-cli/2.15.0 md/Botocore#1.34.0",
    region: str = "us-east-1",
) -> str:
    """A record in AWS's exact format (all 27 fields, up to source_region), as S3 would deliver it: for tests and benches."""
    from urllib.parse import quote  # noqa: PLC0415 - only writers of sample logs need it

    encoded = quote(key, safe="/") if key else "-"
    method = {"GET": "GET", "PUT": "PUT", "HEAD": "HEAD", "DELETE": "DELETE"}.get(
        operation.split(".")[1] if operation.count(".") >= 2 else "GET", "GET"
    )
    uri = f"{method} /{bucket}/{encoded} HTTP/1.1" if key else f"{method} /{bucket}?list-type=2 HTTP/1.1"
    stamp = time.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    sent = "-" if status >= 300 else "1024"
    return (
        f"{owner} {bucket} [{stamp}] {remote_ip} {requester} {request_id} {operation} {encoded} "
        f'"{uri}" {status} {error_code} {sent} 1024 12 10 "-" "{user_agent}" - '
        f"s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 "
        f"ECDHE-RSA-AES128-GCM-SHA256 AuthHeader {bucket}.s3.{region}.amazonaws.com TLSv1.3 - - {region}"
    )
