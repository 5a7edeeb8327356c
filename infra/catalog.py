"""The Glue Data Catalog as mesh's discovery index: find products and read them back.

Every AWS product's Glue database carries the product's metadata as `mesh:*` parameters
(written by `components/aws/catalog.py` under the names in `infra/aws/catalog_parameters.py`) and one table per output
port with its columns, partition keys and PII marks. `search` and `show` read them back
live with boto3, so a consumer sees what is really provisioned in an environment, not
what a request in some repository says. Reads only; nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from infra.aws.catalog_parameters import (
    P_CLASSIFICATION,
    P_CONSUMERS,
    P_DOMAIN,
    P_ENVIRONMENT,
    P_FORMAT,
    P_FRESHNESS,
    P_INPUTS,
    P_OWNER,
    P_PORT,
    P_PORTS,
    P_PRODUCT,
    P_RETENTION,
    P_VERSION,
    PII_MARK,
)
from infra.model.errors import MeshError


class CatalogUnavailable(MeshError):
    """The catalog of an environment cannot be read (credentials, endpoint, permissions)."""


class ProductNotFound(MeshError):
    """No product of that name in the environment's catalog."""


@dataclass(frozen=True)
class CatalogColumn:
    """A column as the catalog holds it."""

    name: str
    type: str
    pii: bool = False
    comment: str = ""
    partition: bool = False


@dataclass(frozen=True)
class CatalogPort:
    """An output port: its table, where its files are, and its columns."""

    name: str
    table: str
    format: str
    location: str
    description: str
    columns: tuple[CatalogColumn, ...]


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v for v in (value or "").split(",") if v)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@dataclass(frozen=True)
class CatalogEntry:
    """One product as its environment's catalog describes it."""

    database: str
    domain: str
    product: str
    environment: str
    version: str
    owner: str
    classification: str
    description: str
    location: str
    retention_days: int | None
    freshness_hours: int | None
    ports: tuple[str, ...]
    consumers: tuple[str, ...]
    inputs: tuple[str, ...]
    tables: tuple[CatalogPort, ...] = ()

    @property
    def name(self) -> str:
        """`domain/product`."""
        return f"{self.domain}/{self.product}"

    @classmethod
    def from_database(cls, database: dict[str, Any]) -> CatalogEntry | None:
        """The entry of a Glue database, or None when mesh did not create it."""
        params = database.get("Parameters") or {}
        if P_DOMAIN not in params or P_PRODUCT not in params:
            return None
        return cls(
            database=database["Name"],
            domain=params[P_DOMAIN],
            product=params[P_PRODUCT],
            environment=params.get(P_ENVIRONMENT, ""),
            version=params.get(P_VERSION, ""),
            owner=params.get(P_OWNER, ""),
            classification=params.get(P_CLASSIFICATION, ""),
            description=database.get("Description", ""),
            location=database.get("LocationUri", ""),
            retention_days=_int(params.get(P_RETENTION)),
            freshness_hours=_int(params.get(P_FRESHNESS)),
            ports=_split(params.get(P_PORTS)),
            consumers=_split(params.get(P_CONSUMERS)),
            inputs=_split(params.get(P_INPUTS)),
        )

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of one product in `mesh catalog`."""
        return {
            "product": self.name,
            "domain": self.domain,
            "name": self.product,
            "environment": self.environment,
            "version": self.version,
            "owner": self.owner,
            "classification": self.classification,
            "description": self.description,
            "database": self.database,
            "location": self.location,
            "retentionDays": self.retention_days,
            "freshnessHours": self.freshness_hours,
            "ports": list(self.ports),
            "consumers": list(self.consumers),
            "inputs": list(self.inputs),
            "tables": [
                {
                    "port": t.name,
                    "table": t.table,
                    "format": t.format,
                    "location": t.location,
                    "description": t.description,
                    "columns": [
                        {
                            "name": c.name,
                            "type": c.type,
                            "pii": c.pii,
                            "partition": c.partition,
                            "comment": c.comment,
                        }
                        for c in t.columns
                    ],
                }
                for t in self.tables
            ],
        }


@dataclass(frozen=True)
class Match:
    """A product found by a search, and where each search word was found."""

    entry: CatalogEntry
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _columns(items: Iterable[dict[str, Any]], *, partition: bool) -> list[CatalogColumn]:
    columns = []
    for item in items:
        comment = item.get("Comment", "")
        pii = comment.startswith(PII_MARK)
        columns.append(
            CatalogColumn(
                name=item["Name"],
                type=item.get("Type", ""),
                pii=pii,
                comment=comment.removeprefix(PII_MARK).strip() if pii else comment,
                partition=partition,
            )
        )
    return columns


def _port(table: dict[str, Any]) -> CatalogPort:
    params = table.get("Parameters") or {}
    descriptor = table.get("StorageDescriptor") or {}
    columns = _columns(descriptor.get("Columns", []), partition=False)
    columns += _columns(table.get("PartitionKeys", []), partition=True)
    return CatalogPort(
        name=params.get(P_PORT, table["Name"]),
        table=table["Name"],
        format=params.get(P_FORMAT, ""),
        location=descriptor.get("Location", ""),
        description=table.get("Description", ""),
        columns=tuple(columns),
    )


class Catalog:
    """The products in one environment's Glue Data Catalog, read through a boto3 Glue client."""

    def __init__(self, glue: Any, *, environment: str, where: str) -> None:
        """`where` names the catalog in messages (account and region, or the endpoint)."""
        self._glue = glue
        self.environment = environment
        self.where = where

    def _call(self, what: str, call: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - botocore is heavy

        try:
            return call()
        except ClientError as e:
            error = e.response.get("Error", {})
            raise CatalogUnavailable(
                f"{what} in the Glue Data Catalog of {self.environment} ({self.where}) failed: "
                f"{error.get('Code', 'error')}: {error.get('Message', e)}",
                hint="Reading the catalog needs glue:GetDatabases and glue:GetTables; check your AWS "
                "credentials (aws sts get-caller-identity).",
            ) from e
        except BotoCoreError as e:
            raise CatalogUnavailable(
                f"{what} in the Glue Data Catalog of {self.environment} ({self.where}) failed: {e}",
                hint="Check your AWS credentials and network, or --endpoint-url for an emulator.",
            ) from e

    def products(self) -> list[CatalogEntry]:
        """Every mesh product of the environment, without its tables, sorted by name."""

        def read() -> list[dict[str, Any]]:
            pages = self._glue.get_paginator("get_databases").paginate()
            return [d for page in pages for d in page.get("DatabaseList", [])]

        entries = [CatalogEntry.from_database(d) for d in self._call("Listing databases", read)]
        return sorted(
            (e for e in entries if e is not None and e.environment == self.environment), key=lambda e: e.name
        )

    def with_tables(self, entry: CatalogEntry) -> CatalogEntry:
        """`entry` with its tables (ports) read from the catalog, in the order of its ports."""

        def read() -> list[dict[str, Any]]:
            pages = self._glue.get_paginator("get_tables").paginate(DatabaseName=entry.database)
            return [t for page in pages for t in page.get("TableList", [])]

        ports = [_port(t) for t in self._call(f"Reading the tables of {entry.name}", read)]
        order = {name: i for i, name in enumerate(entry.ports)}
        ports.sort(key=lambda p: (order.get(p.name, len(order)), p.name))
        return CatalogEntry(**{**entry.__dict__, "tables": tuple(ports)})

    def search(self, words: Iterable[str] = ()) -> list[Match]:
        """Products where every word (case-insensitive) appears in the name, description, owner,
        classification, a port, a column or a consumer domain; every product without words."""
        wanted = [w.lower() for w in words if w.strip()]
        matches = []
        for listed in self.products():
            if not wanted:
                matches.append(Match(listed))
                continue
            entry = self.with_tables(listed)
            reasons = [_found(entry, word) for word in wanted]
            if all(reasons):
                matches.append(Match(entry, tuple(r for r in reasons if r)))
        return matches

    def show(self, name: str) -> CatalogEntry:
        """The product `domain/product`, with its tables."""
        domain, _, product = name.partition("/")
        entries = self.products()
        for entry in entries:
            if (entry.domain, entry.product) == (domain, product):
                return self.with_tables(entry)
        import difflib  # noqa: PLC0415 - only for the message

        close = difflib.get_close_matches(name, [e.name for e in entries], n=3, cutoff=0.5)
        raise ProductNotFound(
            f"no product {name} in the catalog of {self.environment} ({self.where})",
            hint=(f"Did you mean {', '.join(close)}? " if close else "")
            + f"List them with `mesh catalog search --env {self.environment}`.",
        )


def _found(entry: CatalogEntry, word: str) -> str | None:
    """Where `word` occurs in `entry` ("column customer_email of order_lines"), or None."""
    fields = {
        "name": entry.name,
        "description": entry.description,
        "owner": entry.owner,
        "classification": entry.classification,
    }
    for label, text in fields.items():
        if word in text.lower():
            return f"{label}: {text}"
    for table in entry.tables:
        if word in table.name.lower() or word in table.description.lower():
            return f"port {table.name}"
        for column in table.columns:
            if word in column.name.lower() or word in column.comment.lower():
                return f"column {column.name} of {table.name}"
    for consumer in entry.consumers:
        if word in consumer.lower():
            return f"read by {consumer}"
    return None


def open_catalog(config: Any, environment: str, *, endpoint_url: str | None = None) -> Catalog:
    """The catalog of `environment` (an `infra.model.platform.PlatformConfig` environment with AWS).

    Real AWS is reached through the normal credential chain; an emulator through
    `endpoint_url` or the environment's `endpoints.glue` (loopback only).
    """
    import boto3  # noqa: PLC0415 - boto3 is heavy; only commands that read the cloud load it

    from infra.aws.emulator import require_loopback  # noqa: PLC0415 - as above

    env = config.environments[environment]
    if env.aws is None:
        raise MeshError(
            f"environment {environment} has no AWS account; the catalog mesh reads is AWS Glue's",
            hint="GCP products are BigQuery datasets labelled like their tags: "
            "bq ls --filter labels.mesh-domain:<domain> --project_id <project>.",
        )
    endpoint = endpoint_url or env.aws.endpoints.get("glue")
    if endpoint:
        require_loopback(endpoint)
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test")
        where = endpoint
    else:
        session = boto3.Session()
        where = f"account {env.aws.account}, {env.aws.region}"
    glue = session.client("glue", region_name=env.aws.region, endpoint_url=endpoint)
    return Catalog(glue, environment=environment, where=where)
