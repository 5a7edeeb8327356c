"""The data product request, `apiVersion: mesh/v1`, `kind: DataProduct`.

These pydantic models are the edge: they check shape and single-field rules. Rules
that span fields, files or the platform config live in `infra.validation`, which turns
everything into located `Problem`s.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

API_VERSION = "mesh/v1"
KIND = "DataProduct"

# Domains and environments never contain a hyphen: physical names join parts with
# hyphens, and a hyphen inside a part would let two requests resolve to one name.
DOMAIN_PATTERN = r"^[a-z][a-z0-9]{1,19}$"
# Products may use hyphens but not underscores, so turning hyphens into underscores
# for catalog names stays one-to-one.
PRODUCT_PATTERN = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]*$"
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
SEMVER_PATTERN = r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$"

DomainName = Annotated[str, StringConstraints(pattern=DOMAIN_PATTERN)]
ProductName = Annotated[str, StringConstraints(pattern=PRODUCT_PATTERN, min_length=2, max_length=40)]
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=64)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)]
Description = Annotated[str, StringConstraints(min_length=1, max_length=1000)]

# What each pattern means, in words, for messages about a mismatch.
PATTERN_HELP = {
    DOMAIN_PATTERN: "2–20 lowercase letters and digits, starting with a letter (no hyphens)",
    PRODUCT_PATTERN: "lowercase letters, digits and single hyphens, starting with a letter",
    IDENTIFIER_PATTERN: "lowercase letters, digits and underscores, starting with a letter",
    EMAIL_PATTERN: "an email address such as team@example.com",
    SEMVER_PATTERN: "a version MAJOR.MINOR.PATCH such as 1.0.0",
}


class Cloud(StrEnum):
    """Where a product lives."""

    AWS = "aws"
    GCP = "gcp"


class Classification(StrEnum):
    """How sensitive a product's data is; drives sharing rules and guardrails."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class Format(StrEnum):
    """The file format of an output port's data."""

    PARQUET = "parquet"
    ICEBERG = "iceberg"
    JSON = "json"
    CSV = "csv"


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        use_enum_values=False,
    )


class Column(_Model):
    """One column of an output port. `type` is in the vocabulary of the product's cloud."""

    name: Identifier
    type: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    required: bool = False
    pii: bool = Field(default=False, description="Personal data: masked for consumers by policy.")
    description: Description | None = None


class OutputPort(_Model):
    """A table consumers can read: its format, columns and partitioning."""

    name: Identifier
    description: Description | None = None
    format: Format = Format.PARQUET
    partitioned_by: list[Identifier] = Field(default_factory=list)
    columns: list[Column] = Field(alias="schema", min_length=1)


class InputPort(_Model):
    """Lineage: another product's port this one is built from. Provisioning reads nothing here."""

    product: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,19}/[a-z][a-z0-9-]*$")]
    port: Identifier


class QueryCompute(_Model):
    """Interactive queries: an Athena workgroup (AWS) or a BigQuery quota (GCP)."""

    bytes_scanned_limit_gb: int = Field(default=10, ge=1, le=10_000)


class TransformCompute(_Model):
    """A scheduled job that produces the product's data."""

    schedule: Annotated[str, StringConstraints(min_length=9, max_length=100)]
    entrypoint: Annotated[str, StringConstraints(pattern=r"^[^/\\].*\.py$", max_length=200)]


class Compute(_Model):
    """Query limits and an optional transform job."""

    query: QueryCompute = Field(default_factory=QueryCompute)
    transform: TransformCompute | None = None


class Consumer(_Model):
    """Read access to some output ports for another domain."""

    domain: DomainName
    ports: list[Identifier] = Field(min_length=1)


class Access(_Model):
    """Who, beyond the owning domain, may read the product."""

    consumers: list[Consumer] = Field(default_factory=list)


class Slo(_Model):
    """Service level objectives the catalog publishes."""

    freshness_hours: int = Field(ge=1, le=24 * 366)


class Metadata(_Model):
    """Who owns the product and what it is."""

    domain: DomainName
    name: ProductName
    owner: Email
    description: Description
    version: Annotated[str, StringConstraints(pattern=SEMVER_PATTERN)] = "1.0.0"


class Spec(_Model):
    """What to provision."""

    cloud: Cloud
    classification: Classification
    retention_days: int = Field(ge=1, le=36_500)
    output_ports: list[OutputPort] = Field(min_length=1)
    input_ports: list[InputPort] = Field(default_factory=list)
    compute: Compute = Field(default_factory=Compute)
    access: Access = Field(default_factory=Access)
    slo: Slo | None = None


class DataProductRequest(_Model):
    """One data product request: the only file a domain team writes."""

    api_version: Literal["mesh/v1"]
    kind: Literal["DataProduct"]
    metadata: Metadata
    spec: Spec

    def to_document(self) -> dict[str, object]:
        """The request as the YAML-ready mapping a user would write (aliases, no unset noise).

        An unset `compute` section stays out: its default query limit is a feature some clouds
        do not implement, and `mesh validate` refuses it there when it is written down.
        """
        document = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        if "compute" not in self.spec.model_fields_set:
            spec = document["spec"]
            assert isinstance(spec, dict)
            spec.pop("compute", None)
        return document
