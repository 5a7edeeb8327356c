"""The Pulumi program of a product stack, built from a resolved spec.

The same program runs under the Automation API (`mesh provision`) and under mocks
(`mesh plan`). Output keys are the constants in `stacks.outputs`.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from infra.model.spec import ProductSpec
from stacks import outputs


def product_program(spec: ProductSpec, *, delete_data: bool = False) -> Callable[[], None]:
    """A Pulumi program (a no-argument function) that creates `spec`'s product.

    `delete_data` lets its buckets be deleted with their objects: an argument of the
    operation (`mesh destroy --delete-data`), never part of the requested state.
    """

    def program() -> None:
        if spec.cloud == "aws":
            from components.aws.product import DataProduct, DataProductArgs  # noqa: PLC0415 - import only the cloud in use; each SDK is slow to load

            product = DataProduct(
                f"{spec.domain}-{spec.product}", DataProductArgs(spec=spec, delete_data=delete_data)
            )
            pulumi.export(outputs.BUCKET, product.bucket)
            pulumi.export(outputs.BUCKET_ARN, product.bucket_arn)
            pulumi.export(outputs.KMS_KEY_ARN, product.key_arn)
            pulumi.export(outputs.PRODUCER_ROLE_ARN, product.producer_role_arn)
            pulumi.export(outputs.CONSUMER_ROLE_ARNS, product.consumer_role_arns)
            pulumi.export(outputs.CATALOG_DATABASE, product.database)
            pulumi.export(outputs.CATALOG_TABLES, product.tables)
            pulumi.export(outputs.QUERY_WORKGROUPS, product.workgroups)
            pulumi.export(outputs.SIGNALS_TOPIC, product.topic_arn)
        else:
            from components.gcp.product import GcpDataProduct, GcpDataProductArgs  # noqa: PLC0415 - as above

            gcp_product = GcpDataProduct(
                f"{spec.domain}-{spec.product}", GcpDataProductArgs(spec=spec, delete_data=delete_data)
            )
            pulumi.export(outputs.BUCKET, gcp_product.bucket)
            pulumi.export(outputs.DATASET, gcp_product.dataset)
            pulumi.export(outputs.PRODUCER_SERVICE_ACCOUNT, gcp_product.producer_email)
            pulumi.export(outputs.SIGNALS_TOPIC, gcp_product.topic)
        pulumi.export(outputs.PRODUCT, f"{spec.domain}/{spec.product}")

    return program
