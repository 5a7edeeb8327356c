"""Nightly rebuild of sales/orders (a Glue job script; runs inside AWS Glue, not in mesh)."""

import sys

from awsglue.context import GlueContext  # type: ignore[import-not-found]
from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
from pyspark.context import SparkContext  # type: ignore[import-not-found]

args = getResolvedOptions(sys.argv, ["MESH_BUCKET", "MESH_DATABASE"])
glue = GlueContext(SparkContext.getOrCreate())
orders = glue.create_dynamic_frame.from_catalog(database=args["MESH_DATABASE"], table_name="order_lines")
print(f"order_lines rows: {orders.count()}")
