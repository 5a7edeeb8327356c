"""Writing a first request for a team that has never written one (`mesh init`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from infra.errors import MeshError
from infra.files import write_atomic
from infra.request import DOMAIN_PATTERN, EMAIL_PATTERN, IDENTIFIER_PATTERN, PATTERN_HELP, PRODUCT_PATTERN
from infra.validation import LoadedPlatform, load_request

FIELD_RULES = {
    "domain": DOMAIN_PATTERN,
    "name": PRODUCT_PATTERN,
    "owner": EMAIL_PATTERN,
    "port": IDENTIFIER_PATTERN,
}


def check_answer(field: str, value: str) -> str | None:
    """`None` when `value` is acceptable for `field`, else what to type instead."""
    pattern = FIELD_RULES.get(field)
    if pattern and not re.fullmatch(pattern.strip("^$"), value):
        return f"'{value}' is not valid for {field}: use {PATTERN_HELP[pattern]}"
    if field == "name" and not 2 <= len(value) <= 40:
        return "a product name has 2 to 40 characters"
    if field == "description" and not value.strip():
        return "say in one sentence what the product holds"
    if field == "description" and len(value) > 1000:
        return f"a description has at most 1000 characters (this one has {len(value)})"
    return None


@dataclass(frozen=True)
class Answers:
    """What `mesh init` asks."""

    domain: str
    name: str
    owner: str
    description: str
    cloud: str
    classification: str
    port: str
    retention_days: int = 365


_STARTER_COLUMNS = {
    "aws": [("id", "string", True), ("created_at", "timestamp", True), ("event_date", "date", True)],
    "gcp": [("id", "STRING", True), ("created_at", "TIMESTAMP", True), ("event_date", "DATE", True)],
}


def _quote(text: str) -> str:
    # The YAML emitter escapes what a hand-made escape misses: newlines, control characters, NEL.
    return yaml.safe_dump(text, default_style='"', width=float("inf"), allow_unicode=True).removesuffix("\n")


def _plain(text: str) -> str:
    """`text` unquoted when YAML reads it back unchanged (an email starting with `%` does not)."""
    return (
        yaml.safe_dump(text, width=float("inf"), allow_unicode=True)
        .removesuffix("\n...\n")
        .removesuffix("\n")
    )


def render_request(answers: Answers) -> str:
    """The request as YAML text, with comments that teach the next edits."""
    columns = "\n".join(
        f"        - {{name: {n}, type: {t}, required: {str(r).lower()}}}"
        for n, t, r in _STARTER_COLUMNS[answers.cloud]
    )
    types = (
        "Glue/Hive types: string, int, bigint, double, decimal(p,s), date, timestamp, array<…>"
        if answers.cloud == "aws"
        else "BigQuery types: STRING, INT64, FLOAT64, NUMERIC, DATE, TIMESTAMP, ARRAY<…>"
    )
    return f"""# yaml-language-server: $schema=https://mesh.dev/schemas/v1/request.json
# A data product request. Check it with `mesh validate`, see what it creates with `mesh plan`.
apiVersion: mesh/v1
kind: DataProduct
metadata:
  domain: {answers.domain}
  name: {answers.name}
  owner: {_plain(answers.owner)}
  description: {_quote(answers.description)}
  version: 1.0.0            # raise it when you make a breaking change to a port
spec:
  cloud: {answers.cloud}
  classification: {answers.classification}   # public | internal | confidential | restricted
  retentionDays: {answers.retention_days}
  outputPorts:
    - name: {answers.port}
      format: parquet       # parquet | iceberg | json | csv
      partitionedBy: [event_date]
      schema:               # {types}
{columns}
  inputPorts: []            # lineage, e.g. - {{product: sales/orders, port: order_lines}}
  compute:
    query: {{bytesScannedLimitGb: 10}}
    # transform: {{schedule: "0 2 * * *", entrypoint: jobs/{answers.port}.py}}
  access:
    consumers: []           # e.g. - {{domain: marketing, ports: [{answers.port}]}}
  slo: {{freshnessHours: 24}}
"""


def dump_request(document: dict[str, object]) -> str:
    """A request document as YAML in the order it was built (apiVersion, kind, metadata, spec)."""
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def write_request(target: Path, text: str, platform: LoadedPlatform | None, *, force: bool) -> None:
    """Write a drafted request to `target` only once it validates (against `platform` when
    given), so a failure leaves no file behind and never clobbers one; an existing file is
    replaced only with `force`, atomically. Raises `MeshError` / `DocumentInvalid` otherwise."""
    if target.is_dir():
        raise MeshError(f"{target} is a directory", hint="Pass the path of a request file with --file.")
    if target.exists() and not force:
        raise MeshError(
            f"{target} already exists", hint="Choose another --file, or pass --force to overwrite it."
        )
    load_request(target, platform, text=text)
    # Atomic, and without --force created only if still absent: a failure part-way leaves
    # the old file (or none) behind, never a truncated request.
    write_atomic(target, text, overwrite=force, make_parents=True)
