"""DataProduct: one product's storage, access, catalog and compute, composed from one spec."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.aws.access import ProductAccess, ProductAccessArgs
from components.aws.catalog import ProductCatalog, ProductCatalogArgs
from components.aws.compute import ProductCompute, ProductComputeArgs
from components.aws.signals import ProductSignals, ProductSignalsArgs
from components.aws.storage import ProductStorage, ProductStorageArgs
from infra.model.spec import ProductSpec


@dataclass
class DataProductArgs:
    """A resolved spec (every name and tag is already decided), and whether the product's data
    may be deleted with it (`mesh destroy --delete-data`)."""

    spec: ProductSpec
    delete_data: bool = False


class DataProduct(pulumi.ComponentResource):
    """Everything one data product needs on AWS, isolated from every other product."""

    def __init__(self, name: str, args: DataProductArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh:aws:DataProduct", name, None, opts)
        spec = args.spec
        self.storage = ProductStorage(
            f"{name}-storage",
            ProductStorageArgs(spec=spec, delete_data=args.delete_data),
            pulumi.ResourceOptions(parent=self),
        )
        self.access = ProductAccess(
            f"{name}-access",
            ProductAccessArgs(
                spec=spec,
                bucket=self.storage.bucket,
                key_id=self.storage.key.key_id,
                key_arn=self.storage.key.arn,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.catalog = ProductCatalog(
            f"{name}-catalog", ProductCatalogArgs(spec=spec), pulumi.ResourceOptions(parent=self)
        )
        self.compute = ProductCompute(
            f"{name}-compute",
            ProductComputeArgs(
                spec=spec,
                bucket=self.storage.bucket,
                key_arn=self.storage.key.arn,
                producer_role_arn=self.access.producer_role.arn,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.signals = ProductSignals(
            f"{name}-signals",
            ProductSignalsArgs(spec=spec, key_arn=self.storage.key.arn),
            pulumi.ResourceOptions(parent=self),
        )
        self.bucket = self.storage.bucket.bucket
        self.bucket_arn = self.storage.bucket.arn
        self.key_arn = self.storage.key.arn
        self.producer_role_arn = self.access.producer_role.arn
        self.consumer_role_arns = {d: r.arn for d, r in self.access.consumer_roles.items()}
        self.database = self.catalog.database.name
        self.tables = {n: t.name for n, t in self.catalog.tables.items()}
        self.workgroups = {w: g.name for w, g in self.compute.workgroups.items()}
        self.topic_arn = self.signals.topic_arn
        self.register_outputs(
            {
                "bucket": self.bucket,
                "keyArn": self.key_arn,
                "producerRoleArn": self.producer_role_arn,
                "database": self.database,
                "topicArn": self.topic_arn,
            }
        )
