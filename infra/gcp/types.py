"""Every GCP resource type mesh creates or reads, one descriptor each (pulumi-gcp tokens).

GCP has no offline emulator for mesh's types (see DESIGN.md), so no descriptor names an
applier or a live checker. `taggable` means the type carries the mesh labels.
"""

from __future__ import annotations

from typing import Any

from infra.model.graph import placeholder
from infra.model.resource_type import CloudContext, ResourceType, registry


def _project(name: str, inputs: dict[str, Any]) -> Any:
    return inputs.get("project") or placeholder(name, "project")


def _key_ring(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    project = _project(name, inputs)
    return f"projects/{project}/locations/{inputs.get('location')}/keyRings/{inputs.get('name')}", {}


def _crypto_key(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    return f"{inputs.get('keyRing')}/cryptoKeys/{inputs.get('name')}", {}


def _service_account(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    project = _project(name, inputs)
    email = f"{inputs.get('accountId')}@{project}.iam.gserviceaccount.com"
    return f"projects/{project}/serviceAccounts/{email}", {
        "email": email,
        "name": f"projects/{project}/serviceAccounts/{email}",
        "member": f"serviceAccount:{email}",
        "uniqueId": placeholder(name, "uniqueId"),
    }


def _bucket(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    return str(inputs.get("name")), {
        "url": f"gs://{inputs.get('name')}",
        "selfLink": placeholder(name, "selfLink"),
    }


def _dataset(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    return f"projects/{_project(name, inputs)}/datasets/{inputs.get('datasetId')}", {}


def _table(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    project = _project(name, inputs)
    return f"projects/{project}/datasets/{inputs.get('datasetId')}/tables/{inputs.get('tableId')}", {}


def _service_identity(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    service = str(inputs.get("service", "")).removesuffix(".googleapis.com")
    email = f"service-{placeholder(str(_project(name, inputs)), 'number')}@gcp-sa-{service}.iam.gserviceaccount.com"
    return email, {"email": email, "member": f"serviceAccount:{email}"}


def _topic(name: str, inputs: dict[str, Any], ctx: CloudContext) -> tuple[str, dict[str, Any]]:
    return f"projects/{_project(name, inputs)}/topics/{inputs.get('name')}", {}


GCS_BUCKET = ResourceType(
    "gcp:storage/bucket:Bucket",
    "GCS bucket",
    mock=_bucket,
    replace_keys=("name", "location"),
    stateful=True,
    taggable=True,
)
BQ_DATASET = ResourceType(
    "gcp:bigquery/dataset:Dataset",
    "BigQuery dataset",
    mock=_dataset,
    replace_keys=("datasetId", "location"),
    stateful=True,
    taggable=True,
)
BQ_TABLE = ResourceType(
    "gcp:bigquery/table:Table",
    "BigQuery table",
    mock=_table,
    replace_keys=("datasetId", "tableId"),
    stateful=True,
    taggable=True,
)
KEY_RING = ResourceType(
    "gcp:kms/keyRing:KeyRing", "Cloud KMS key ring", mock=_key_ring, replace_keys=("name", "location")
)
CRYPTO_KEY = ResourceType(
    "gcp:kms/cryptoKey:CryptoKey",
    "Cloud KMS key",
    mock=_crypto_key,
    replace_keys=("name", "keyRing"),
    stateful=True,
    taggable=True,
)
SERVICE_ACCOUNT = ResourceType(
    "gcp:serviceaccount/account:Account",
    "service account",
    mock=_service_account,
    replace_keys=("accountId",),
)
# The Pub/Sub service agent, looked up so it can be granted the product key before the topic exists.
SERVICE_IDENTITY = ResourceType(
    "gcp:projects/serviceIdentity:ServiceIdentity", "service agent", mock=_service_identity
)
PUBSUB_TOPIC = ResourceType(
    "gcp:pubsub/topic:Topic",
    "Pub/Sub topic",
    mock=_topic,
    replace_keys=("name", "project"),
    taggable=True,
)
# IAM member grants: the guardrails name them by their token's last part, as before.
BUCKET_IAM_MEMBER = ResourceType("gcp:storage/bucketIAMMember:BucketIAMMember", "BucketIAMMember")
DATASET_IAM_MEMBER = ResourceType("gcp:bigquery/datasetIamMember:DatasetIamMember", "DatasetIamMember")
TABLE_IAM_MEMBER = ResourceType("gcp:bigquery/iamMember:IamMember", "IamMember")
CRYPTO_KEY_IAM_MEMBER = ResourceType("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "CryptoKeyIAMMember")
SERVICE_ACCOUNT_IAM_MEMBER = ResourceType("gcp:serviceaccount/iAMMember:IAMMember", "IAMMember")

TYPES = registry(
    GCS_BUCKET,
    BQ_DATASET,
    BQ_TABLE,
    KEY_RING,
    CRYPTO_KEY,
    SERVICE_ACCOUNT,
    SERVICE_IDENTITY,
    PUBSUB_TOPIC,
    BUCKET_IAM_MEMBER,
    DATASET_IAM_MEMBER,
    TABLE_IAM_MEMBER,
    CRYPTO_KEY_IAM_MEMBER,
    SERVICE_ACCOUNT_IAM_MEMBER,
)
