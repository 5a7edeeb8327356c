"""ProductCatalog: the product's BigQuery dataset and one table per output port.

The dataset's labels carry the product's metadata (domain, owner, classification,
version, freshness), so BigQuery itself is the discovery index. Labels hold only
`[a-z0-9_-]`, so values are sanitized; the description keeps the human text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from infra.model.names import gcp_label_value
from infra.model.spec import ColumnSpec, PortSpec, ProductSpec

# The API answers with the legacy names; writing them avoids a perpetual schema diff.
_CANONICAL_TYPES = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}
_TIME_PARTITION_TYPES = ("DATE", "TIMESTAMP", "DATETIME")


@dataclass
class ProductCatalogArgs:
    """The spec, and the KMS key the dataset's tables encrypt with."""

    spec: ProductSpec
    key_id: pulumi.Input[str]


class _TypeReader:
    """Reads one (already validated) BigQuery type expression into a schema field's type keys."""

    def __init__(self, declared: str) -> None:
        self.declared = declared
        self.tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\d+|[<>(),]", declared)
        self.pos = 0

    def take(self) -> str:
        if self.pos >= len(self.tokens):
            raise ValueError(f"incomplete BigQuery type {self.declared!r}")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def read(self) -> tuple[dict[str, Any], bool]:
        """The field keys (`type`, parameters, nested `fields`) and whether it repeats."""
        head = self.take().upper()
        if head == "ARRAY":
            self.take()  # <
            inner, repeated = self.read()
            self.take()  # >
            if repeated:
                raise ValueError(f"BigQuery has no arrays of arrays: {self.declared!r}")
            return inner, True
        if head == "STRUCT":
            self.take()  # <
            fields = []
            while True:
                field_name = self.take()
                member, repeated = self.read()
                fields.append({"name": field_name, **member, "mode": "REPEATED" if repeated else "NULLABLE"})
                if self.peek() != ",":
                    break
                self.take()
            self.take()  # >
            return {"type": "RECORD", "fields": fields}, False
        keys: dict[str, Any] = {"type": _CANONICAL_TYPES.get(head, head)}
        if self.peek() == "(":
            self.take()
            params = [self.take()]
            if self.peek() == ",":
                self.take()
                params.append(self.take())
            self.take()  # )
            # The API writes int64 parameters as JSON strings.
            if head in ("STRING", "BYTES"):
                keys["maxLength"] = params[0]
            else:
                keys["precision"] = params[0]
                if len(params) > 1:
                    keys["scale"] = params[1]
        return keys, False


def schema_field(column: ColumnSpec) -> dict[str, Any]:
    """One column as a BigQuery schema field: arrays are REPEATED, required columns REQUIRED,
    and personal data is marked `[pii]` at the start of its description."""
    reader = _TypeReader(column.type)
    keys, repeated = reader.read()
    mode = "REPEATED" if repeated else ("REQUIRED" if column.required else "NULLABLE")
    field: dict[str, Any] = {"name": column.name, **keys, "mode": mode}
    description = column.description or ""
    if column.pii:
        description = f"[pii] {description}".strip()
    if description:
        field["description"] = description
    return field


def table_schema(port: PortSpec) -> str:
    """The JSON schema of a port's table, columns in request order."""
    return json.dumps([schema_field(c) for c in port.all_columns])


def time_partitioning(column: ColumnSpec | None) -> gcp.bigquery.TableTimePartitioningArgsDict | None:
    """Daily partitioning on a DATE, TIMESTAMP or DATETIME column; None otherwise.

    INT64 columns need range partitioning with a start, end and interval the request
    does not state, so they are left unpartitioned.
    """
    if column is None or column.type.upper() not in _TIME_PARTITION_TYPES:
        return None
    return {"type": "DAY", "field": column.name}


def dataset_labels(spec: ProductSpec) -> dict[str, str]:
    """The mesh labels plus what `mesh catalog` reads back: version, retention, freshness."""
    labels = dict(spec.labels) | {
        "mesh-version": gcp_label_value(spec.version),
        "mesh-retention-days": str(spec.retention_days),
    }
    if spec.freshness_hours is not None:
        labels["mesh-freshness-hours"] = str(spec.freshness_hours)
    return labels


def table_labels(spec: ProductSpec, port: PortSpec) -> dict[str, str]:
    """The mesh labels plus the port's name, format and whether it holds personal data."""
    return dict(spec.labels) | {
        "mesh-port": gcp_label_value(port.name),
        "mesh-format": gcp_label_value(port.format),
        "mesh-pii": "true" if any(c.pii for c in port.all_columns) else "false",
    }


class ProductCatalog(pulumi.ComponentResource):
    """A CMEK-encrypted dataset per product and a protected table per output port."""

    dataset: gcp.bigquery.Dataset
    tables: dict[str, gcp.bigquery.Table]

    def __init__(
        self, name: str, args: ProductCatalogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:gcp:ProductCatalog", name, None, opts)
        spec = args.spec
        names = spec.require_gcp()
        child = pulumi.ResourceOptions(parent=self)

        self.dataset = gcp.bigquery.Dataset(
            f"{name}-dataset",
            dataset_id=names.dataset,
            project=names.project,
            location=names.region,
            friendly_name=f"{spec.domain}/{spec.product}",
            description=spec.description,
            default_encryption_configuration={"kms_key_name": args.key_id},
            labels=dataset_labels(spec),
            delete_contents_on_destroy=False,
            opts=child,
        )
        self.tables = {
            port.name: gcp.bigquery.Table(
                f"{name}-table-{port.name}",
                dataset_id=self.dataset.dataset_id,
                table_id=port.table,
                project=names.project,
                description=port.description or f"Output port {port.name} of {spec.domain}/{spec.product}",
                schema=table_schema(port),
                time_partitioning=time_partitioning(
                    next((c for c in port.columns if c.name == port.partition_column), None)
                ),
                encryption_configuration={"kms_key_name": args.key_id},
                labels=table_labels(spec, port),
                deletion_protection=True,
                opts=child,
            )
            for port in spec.ports
        }
        self.register_outputs(
            {"dataset": self.dataset.dataset_id, "tables": {n: t.table_id for n, t in self.tables.items()}}
        )
