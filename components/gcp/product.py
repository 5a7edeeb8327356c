"""GcpDataProduct: one product's key, storage, catalog and access on GCP, composed from one spec."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.gcp.access import ProductAccess, ProductAccessArgs
from components.gcp.catalog import ProductCatalog, ProductCatalogArgs
from components.gcp.encryption import ProductKey, ProductKeyArgs
from components.gcp.signals import ProductSignals, ProductSignalsArgs
from components.gcp.storage import ProductStorage, ProductStorageArgs
from infra.model.spec import ProductSpec


@dataclass
class GcpDataProductArgs:
    """A resolved GCP spec (every name and label is already decided), and whether the product's
    data may be deleted with it (`mesh destroy --delete-data`)."""

    spec: ProductSpec
    delete_data: bool = False


class GcpDataProduct(pulumi.ComponentResource):
    """Everything one data product needs on GCP, isolated from every other product.

    `bucket`, `dataset`, `producer_email` and `topic` are what the stack exports.
    """

    bucket: pulumi.Output[str]
    dataset: pulumi.Output[str]
    producer_email: pulumi.Output[str]
    topic: pulumi.Output[str]

    def __init__(
        self, name: str, args: GcpDataProductArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:gcp:DataProduct", name, None, opts)
        spec = args.spec
        spec.require_gcp()
        child = pulumi.ResourceOptions(parent=self)

        self.key = ProductKey(f"{name}-key", ProductKeyArgs(spec=spec), child)
        # `key.key_id` resolves after the service agents may use the key, which GCS and
        # BigQuery check when a bucket or dataset is created with it.
        self.storage = ProductStorage(
            f"{name}-storage",
            ProductStorageArgs(spec=spec, key_id=self.key.key_id, delete_data=args.delete_data),
            child,
        )
        self.catalog = ProductCatalog(
            f"{name}-catalog", ProductCatalogArgs(spec=spec, key_id=self.key.key_id), child
        )
        self.access = ProductAccess(
            f"{name}-access",
            ProductAccessArgs(
                spec=spec,
                bucket=self.storage.bucket,
                dataset=self.catalog.dataset,
                tables=self.catalog.tables,
                key_id=self.key.crypto_key.id,
            ),
            child,
        )

        self.signals = ProductSignals(
            f"{name}-signals", ProductSignalsArgs(spec=spec, key_id=self.key.crypto_key.id), child
        )
        self.bucket = self.storage.bucket.name
        self.dataset = self.catalog.dataset.dataset_id
        self.producer_email = self.access.producer_email
        self.topic = self.signals.topic_id
        self.register_outputs(
            {
                "bucket": self.bucket,
                "dataset": self.dataset,
                "keyId": self.key.crypto_key.id,
                "producerEmail": self.producer_email,
                "topic": self.topic,
            }
        )
