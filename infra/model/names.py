"""Physical names, computed in one place, deterministic and inside each cloud's limits.

Every name is built from parts that cannot contain the separator (domains, environments
and the organisation have no hyphens; products have no underscores), so distinct
requests give distinct names. When a name is too long, its middle is cut and an
8-character hash of the full name keeps it unique and stable.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

S3_BUCKET_MAX = 63
IAM_ROLE_MAX = 64
IAM_POLICY_MAX = 128
GLUE_NAME_MAX = 255
ATHENA_WORKGROUP_MAX = 128
KMS_ALIAS_MAX = 256
PULUMI_STACK_MAX = 100
GCS_BUCKET_MAX = 63
BIGQUERY_DATASET_MAX = 1024
GCP_SERVICE_ACCOUNT_MIN = 6
GCP_SERVICE_ACCOUNT_MAX = 30
GCP_KEY_RING_MAX = 63
GCP_LABEL_MAX = 63
SNS_TOPIC_MAX = 256
EVENTBRIDGE_RULE_MAX = 64
PUBSUB_TOPIC_MAX = 255

_S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap")
_S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")


def stable_hash(text: str, length: int = 8) -> str:
    """A short lowercase hex digest of `text`, the same on every machine and run."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def fit(base: str, limit: int, *, suffix: str = "", sep: str = "-", hash_length: int = 8) -> str:
    """`base + suffix` if it fits in `limit`, else a cut `base`, a hash of the whole, and `suffix`."""
    whole = base + suffix
    if len(whole) <= limit:
        return whole
    room = limit - len(suffix) - hash_length - len(sep)
    if room < 1:
        raise ValueError(f"suffix {suffix!r} leaves no room in a {limit}-character name")
    return base[:room].rstrip(sep + "-_.") + sep + stable_hash(whole, hash_length) + suffix


def s3_bucket(base: str) -> str:
    """An S3 bucket name: 3–63 of [a-z0-9-], no reserved prefix or suffix."""
    name = fit(base, S3_BUCKET_MAX)
    if name.endswith(_S3_RESERVED_SUFFIXES):
        # A hex hash never ends in a reserved suffix.
        name = fit(base, S3_BUCKET_MAX - 9) + "-" + stable_hash(base)
    if name.startswith(_S3_RESERVED_PREFIXES):
        raise ValueError(f"{name!r} starts with a prefix S3 reserves; choose another organisation")
    return name


def catalog_identifier(*parts: str) -> str:
    """A Glue database / BigQuery dataset identifier: lowercase with underscores."""
    return "_".join(p.replace("-", "_") for p in parts)


def gcp_label_value(value: str) -> str:
    """A GCP label value: ≤63 of [a-z0-9_-] (emails and dots become underscores)."""
    cleaned = re.sub(r"[^a-z0-9_-]", "_", value.lower())
    return fit(cleaned, GCP_LABEL_MAX, sep="_")


def gcp_service_account_id(base: str, suffix: str) -> str:
    """A service account id: 6–30 of [a-z0-9-], starting with a letter.

    A suffix too long to keep whole (a consumer domain of 19 or 20 characters) is cut
    with the base; the hash of the whole still tells the names apart.
    """
    if len(suffix) + 6 + 2 > GCP_SERVICE_ACCOUNT_MAX:
        base, suffix = base + suffix, ""
    name = fit(base, GCP_SERVICE_ACCOUNT_MAX, suffix=suffix, hash_length=6)
    return name if len(name) >= GCP_SERVICE_ACCOUNT_MIN else (name + "-sa")


@dataclass(frozen=True)
class NameRule:
    """A cloud naming rule, used to check every resolved name (and by the tests)."""

    kind: str
    pattern: str
    max_length: int
    min_length: int = 1

    def check(self, name: str) -> bool:
        """Whether `name` satisfies the rule."""
        return (
            self.min_length <= len(name) <= self.max_length and re.fullmatch(self.pattern, name) is not None
        )


RULES = {
    "s3_bucket": NameRule("S3 bucket", r"(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9][a-z0-9-]*[a-z0-9](?<!-s3alias)(?<!--ol-s3)(?<!--x-s3)(?<!--table-s3)", S3_BUCKET_MAX, 3),
    "iam_role": NameRule("IAM role", r"[\w+=,.@-]+", IAM_ROLE_MAX),
    "iam_policy": NameRule("IAM policy", r"[\w+=,.@-]+", IAM_POLICY_MAX),
    "glue": NameRule("Glue database or table", r"[a-z0-9_]+", GLUE_NAME_MAX),
    "athena_workgroup": NameRule("Athena workgroup", r"[a-zA-Z0-9._-]+", ATHENA_WORKGROUP_MAX),
    "kms_alias": NameRule("KMS alias", r"alias/(?!aws/)[a-zA-Z0-9/_-]+", KMS_ALIAS_MAX),
    "pulumi_stack": NameRule("Pulumi stack", r"[a-zA-Z0-9_.-]+", PULUMI_STACK_MAX),
    "glue_job": NameRule("Glue job or trigger", r"[\w.-]+", 255),
    "gcs_bucket": NameRule("GCS bucket", r"(?!goog)[a-z0-9][a-z0-9_-]*[a-z0-9]", GCS_BUCKET_MAX, 3),
    "bigquery_dataset": NameRule("BigQuery dataset", r"[A-Za-z0-9_]+", BIGQUERY_DATASET_MAX),
    "gcp_service_account": NameRule("GCP service account id", r"[a-z][a-z0-9-]*[a-z0-9]", GCP_SERVICE_ACCOUNT_MAX, GCP_SERVICE_ACCOUNT_MIN),
    "gcp_key_ring": NameRule("Cloud KMS key ring", r"[a-zA-Z0-9_-]+", GCP_KEY_RING_MAX),
    "sns_topic": NameRule("SNS topic", r"[A-Za-z0-9_-]+", SNS_TOPIC_MAX),
    "eventbridge_rule": NameRule("EventBridge rule", r"[.\-_A-Za-z0-9]+", EVENTBRIDGE_RULE_MAX),
    "pubsub_topic": NameRule("Pub/Sub topic", r"[A-Za-z][A-Za-z0-9._~+%-]{2,}", PUBSUB_TOPIC_MAX, 3),
    "gcp_label": NameRule("GCP label value", r"[a-z0-9_-]*", GCP_LABEL_MAX, 0),
}  # fmt: skip
