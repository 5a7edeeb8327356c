"""Cloud KMS rules: customer-managed keys on data, and key rotation."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from infra.gcp import types
from infra.model.graph import ResourceGraph
from infra.rule import Finding, Guardrail, Severity, label, nested

GCS_BUCKET = types.GCS_BUCKET.token
BQ_DATASET = types.BQ_DATASET.token
BQ_TABLE = types.BQ_TABLE.token
GCP_CRYPTO_KEY = types.CRYPTO_KEY.token
PUBSUB_TOPIC = types.PUBSUB_TOPIC.token
GCP_MAX_ROTATION_SECONDS = 90 * 24 * 3600


def check_gcp_cmek(graph: ResourceGraph) -> Iterable[Finding]:
    """Buckets, datasets, tables and Pub/Sub topics encrypt with the product's Cloud KMS key (CMEK)."""
    settings = {
        GCS_BUCKET: ("encryption", "defaultKmsKeyName"),
        BQ_DATASET: ("defaultEncryptionConfiguration", "kmsKeyName"),
        BQ_TABLE: ("encryptionConfiguration", "kmsKeyName"),
        PUBSUB_TOPIC: ("", "kmsKeyName"),  # a top-level input
    }
    for resource in graph.of_type(*settings):
        block, key = settings[resource.type]
        name = (nested(resource.inputs.get(block)) if block else resource.inputs).get(key)
        if name:
            yield Finding(resource.urn, True, f"{label(resource)} encrypts with {name}")
        else:
            yield Finding(
                resource.urn,
                False,
                f"{label(resource)} sets no {f'{block}.' if block else ''}{key}, so Google-managed keys apply",
            )


GCP_CMEK_RULE = Guardrail(
    id="MESH-GCP-CMEK",
    title="GCS buckets, BigQuery datasets and tables, and Pub/Sub topics encrypt with the product's Cloud KMS key",
    severity=Severity.MANDATORY,
    control="CIS GCP 7.2, 7.3",
    fix="set encryption.default_kms_key_name on the bucket, default_encryption_configuration.kms_key_name on the dataset and encryption_configuration.kms_key_name on each table, kms_key_name on each Pub/Sub topic",
    check=check_gcp_cmek,
    examines=(GCS_BUCKET, BQ_DATASET, BQ_TABLE, PUBSUB_TOPIC),
)


def _seconds(duration: Any) -> int | None:
    match = re.fullmatch(r"(\d+)(?:\.\d+)?s", str(duration or ""))
    return int(match.group(1)) if match else None


def check_gcp_key_rotation(graph: ResourceGraph) -> Iterable[Finding]:
    """Every Cloud KMS key rotates at least every 90 days."""
    for key in graph.of_type(GCP_CRYPTO_KEY):
        period = key.inputs.get("rotationPeriod")
        seconds = _seconds(period)
        if seconds is not None and 0 < seconds <= GCP_MAX_ROTATION_SECONDS:
            yield Finding(key.urn, True, f"{label(key)} rotates every {seconds // 86400} days")
        else:
            what = f"rotationPeriod {period}" if period else "no rotationPeriod"
            yield Finding(key.urn, False, f"{label(key)} has {what}; at most 90 days (7776000s) is required")


GCP_KMS_ROTATION_RULE = Guardrail(
    id="MESH-GCP-KMS-ROTATION",
    title="Cloud KMS keys rotate at least every 90 days",
    severity=Severity.MANDATORY,
    control="CIS GCP 1.10",
    fix='set rotation_period="7776000s" (or less) on the gcp.kms.CryptoKey',
    check=check_gcp_key_rotation,
    examines=(GCP_CRYPTO_KEY,),
)
