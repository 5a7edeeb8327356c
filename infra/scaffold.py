"""Writing a first request, and a first platform config, for a team that has never written one
(`mesh init`)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from infra.clouds import supports
from infra.model.capability import Capability
from infra.model.errors import MeshError
from infra.model.files import write_atomic
from infra.model.platform import ENV_PATTERN, ORG_PATTERN, PLATFORM_FILE
from infra.model.request import (
    DOMAIN_PATTERN,
    EMAIL_PATTERN,
    IDENTIFIER_PATTERN,
    PATTERN_HELP,
    PRODUCT_PATTERN,
)
from infra.validation import LoadedPlatform, load_platform, load_request

FIELD_RULES = {
    "domain": DOMAIN_PATTERN,
    "name": PRODUCT_PATTERN,
    "owner": EMAIL_PATTERN,
    "port": IDENTIFIER_PATTERN,
    "organization": ORG_PATTERN,
    "environment": ENV_PATTERN,
}
# The platform config's own rules for these (infra/platform.py), with what to type instead.
VALUE_RULES = {
    "account": (r"\d{12}", "an AWS account id has 12 digits"),
    "project": (r"[a-z][a-z0-9-]{4,28}[a-z0-9]", "a GCP project id: 6–30 lowercase letters, digits, hyphens"),
    "aws-region": (r"[a-z]{2}(-gov)?-[a-z]+-\d", "an AWS region such as eu-west-1"),
    "gcp-region": (r"[a-z]+-[a-z]+\d+", "a GCP region such as europe-west1"),
    "cost-center": (r"\S(.{0,62}\S)?", "a cost centre code of 1–64 characters, e.g. CC-1001"),
}


def check_answer(field: str, value: str) -> str | None:
    """`None` when `value` is acceptable for `field`, else what to type instead."""
    pattern = FIELD_RULES.get(field)
    if pattern and not re.fullmatch(pattern.strip("^$"), value):
        return f"'{value}' is not valid for {field}: use {PATTERN_HELP[pattern]}"
    if field in VALUE_RULES and not re.fullmatch(VALUE_RULES[field][0], value):
        return f"'{value}' is not valid for {field}: use {VALUE_RULES[field][1]}"
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
    compute = ["  compute:"]
    if supports(answers.cloud, Capability.QUERY_LIMIT):
        compute.append("    query: {bytesScannedLimitGb: 10}")
    if supports(answers.cloud, Capability.TRANSFORM):
        compute.append(f'    # transform: {{schedule: "0 2 * * *", entrypoint: jobs/{answers.port}.py}}')
    # A cloud with neither gets no compute block: mesh validate would refuse what it cannot create.
    compute_block = "\n".join(compute) + "\n" if len(compute) > 1 else ""
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
{compute_block}  access:
    consumers: []           # e.g. - {{domain: marketing, ports: [{answers.port}]}}
  slo: {{freshnessHours: 24}}
"""


@dataclass(frozen=True)
class PlatformAnswers:
    """What `mesh init` asks when no `mesh.yaml` exists: enough for one domain and one environment."""

    organization: str
    domain: str
    owner: str
    cost_center: str
    environment: str
    cloud: str
    account: str | None = None  # AWS
    project: str | None = None  # GCP
    region: str = ""


def render_platform(answers: PlatformAnswers) -> str:
    """A minimal `mesh.yaml` as YAML text, with comments on what each field does and what to add."""
    if answers.cloud == "aws":
        target = f'aws: {{account: "{answers.account}", region: {answers.region}}}'
        principals = '#   aws: ["arn:aws:iam::{account}:role/' + answers.domain + '-engineers"]'
    else:
        target = f"gcp: {{project: {answers.project}, region: {answers.region}}}"
        principals = f'#   gcp: ["group:{answers.owner}"]'
    return f"""# The platform config: one per repository of data product requests. Commands find the
# nearest mesh.yaml above the request (or take --platform). Check it with `mesh validate`.
apiVersion: mesh/v1
kind: Platform
organization: {answers.organization}   # prefix of every physical name (2-12 lowercase letters/digits)

domains:                # every domain that may own or read products
  {answers.domain}:
    owners: [{_plain(answers.owner)}]
    costCenter: {_quote(answers.cost_center)}   # required: tagged on every resource for cost attribution
    # Who may assume the domain's roles ({{account}} is the environment's account). Without
    # principals, a role trusts its account root, and mesh plan warns about it.
    # principals:
    {principals}

environments:           # where products go; mesh plan uses the first one with the product's cloud
  {answers.environment}:
    {target}
    backend: file://.mesh/state   # Pulumi state; a team uses s3://BUCKET or gs://BUCKET
    secretsProvider: passphrase   # or awskms://alias/KEY?region=REGION, gcpkms://...

guardrails:
  allowRestrictedSharing: false   # restricted products are never shared with other domains
  disabled: []                    # advisory rule ids to switch off everywhere
"""


def write_platform(folder: Path, text: str) -> LoadedPlatform:
    """Validate a drafted `mesh.yaml` and put it in `folder` atomically; never replaces one.

    The draft is written beside the target under a temporary name, validated there (so
    problems point at real lines), and renamed into place only when it is valid.
    Raises `MeshError` when `mesh.yaml` exists and `DocumentInvalid` when the draft is invalid.
    """
    target = folder / PLATFORM_FILE
    if target.exists():
        raise MeshError(f"{target} already exists", hint="mesh init uses it; edit it by hand to change it.")
    folder.mkdir(parents=True, exist_ok=True)
    draft = folder / f".{PLATFORM_FILE}.{os.getpid()}.draft"
    try:
        draft.write_text(text, encoding="utf-8")
        load_platform(draft)
        draft.replace(target)
    finally:
        draft.unlink(missing_ok=True)
    return load_platform(target)


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
