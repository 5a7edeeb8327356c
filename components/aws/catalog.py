"""ProductCatalog: the product's Glue database and one table per output port.

The database parameters carry the product's metadata (domain, owner, classification,
SLO, version), so the Glue Data Catalog itself is the discovery index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.aws import catalog_parameters as catalog
from infra.model.spec import PortSpec, ProductSpec

# Input format, output format and SerDe per port format (Glue/Hive class names).
_STORAGE = {
    "parquet": (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        {"serialization.format": "1"},
    ),
    "json": (
        "org.apache.hadoop.mapred.TextInputFormat",
        "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "org.openx.data.jsonserde.JsonSerDe",
        {"ignore.malformed.json": "false"},
    ),
    "csv": (
        "org.apache.hadoop.mapred.TextInputFormat",
        "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "org.apache.hadoop.hive.serde2.OpenCSVSerde",
        {"separatorChar": ",", "quoteChar": '"', "skip.header.line.count": "1"},
    ),
}


@dataclass
class ProductCatalogArgs:
    """The spec and the bucket the tables point into."""

    spec: ProductSpec


def database_parameters(spec: ProductSpec) -> dict[str, str]:
    """What `mesh catalog` reads back: the product's metadata as Glue parameters."""
    params = {
        catalog.P_DOMAIN: spec.domain,
        catalog.P_PRODUCT: spec.product,
        catalog.P_OWNER: spec.owner,
        catalog.P_VERSION: spec.version,
        catalog.P_CLASSIFICATION: spec.classification,
        catalog.P_ENVIRONMENT: spec.environment,
        catalog.P_RETENTION: str(spec.retention_days),
        catalog.P_PORTS: ",".join(p.name for p in spec.ports),
        catalog.P_CONSUMERS: ",".join(g.domain for g in spec.grants),
        catalog.P_INPUTS: ",".join(spec.inputs),
    }
    if spec.freshness_hours is not None:
        params[catalog.P_FRESHNESS] = str(spec.freshness_hours)
    return params


def _columns(columns: Any) -> list[dict[str, Any]]:
    out = []
    for column in columns:
        comment = column.description or ""
        if column.pii:
            comment = f"{catalog.PII_MARK} {comment}".strip()
        entry: dict[str, Any] = {"name": column.name, "type": column.type.lower()}
        if comment:
            entry["comment"] = comment
        out.append(entry)
    return out


def table_inputs(spec: ProductSpec, port: PortSpec) -> dict[str, Any]:
    """The Glue table of one port: columns, partition keys, location and SerDe for the format."""
    names = spec.require_aws()
    location = f"s3://{names.bucket}/{port.prefix}"
    parameters = {
        catalog.P_PORT: port.name,
        catalog.P_FORMAT: port.format,
        catalog.P_PII: ",".join(c.name for c in port.all_columns if c.pii),
    }
    descriptor: dict[str, Any] = {"location": location, "columns": _columns(port.columns)}
    extra: dict[str, Any] = {}
    if port.format == "iceberg":
        # Glue creates the Iceberg metadata itself; the storage descriptor holds only columns and location.
        extra["open_table_format_input"] = {"iceberg_input": {"metadata_operation": "CREATE", "version": "2"}}
        parameters["table_type"] = "ICEBERG"
    else:
        input_format, output_format, serde, serde_params = _STORAGE[port.format]
        descriptor |= {
            "input_format": input_format,
            "output_format": output_format,
            "compressed": port.format == "parquet",
            "ser_de_info": {"serialization_library": serde, "parameters": serde_params},
        }
        parameters |= {"classification": port.format, "EXTERNAL": "TRUE"}
        if port.format == "parquet":
            parameters["parquet.compression"] = "SNAPPY"
    return {
        "name": port.table,
        "database_name": names.glue_database,
        "description": port.description or f"Output port {port.name} of {spec.domain}/{spec.product}",
        "table_type": "EXTERNAL_TABLE",
        "parameters": parameters,
        "storage_descriptor": descriptor,
        "partition_keys": _columns(port.partition_keys),
        **extra,
    }


class ProductCatalog(pulumi.ComponentResource):
    """A Glue database per product and a Glue table per output port."""

    database: aws.glue.CatalogDatabase
    tables: dict[str, aws.glue.CatalogTable]

    def __init__(
        self, name: str, args: ProductCatalogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:aws:ProductCatalog", name, None, opts)
        spec = args.spec
        names = spec.require_aws()
        self.database = aws.glue.CatalogDatabase(
            f"{name}-database",
            name=names.glue_database,
            description=spec.description,
            location_uri=f"s3://{names.bucket}/data/",
            parameters=database_parameters(spec),
            tags=dict(spec.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_database = pulumi.ResourceOptions(parent=self, depends_on=[self.database])
        self.tables = {
            port.name: aws.glue.CatalogTable(
                f"{name}-table-{port.name}", **table_inputs(spec, port), opts=on_database
            )
            for port in spec.ports
        }
        self.register_outputs(
            {"database": self.database.name, "tables": {n: t.name for n, t in self.tables.items()}}
        )
