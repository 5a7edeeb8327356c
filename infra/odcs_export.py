"""A product's data contract in the Open Data Contract Standard (ODCS), as mesh writes it.

`data_contract` turns a resolved `ProductSpec` into an `OpenDataContractStandard`
document (the pydantic models of the `open-data-contract-standard` package): one schema
object per output port with its columns (in the request's order), types, partitioning and
PII flags; the server that holds it in the environment (Athena over the Glue catalog on
AWS, with the producer's query-results location as `stagingDir`; BigQuery on GCP); the
owner and the domain's owners as the team; one role per consumer domain with the ports it
may read; freshness and retention as service-level properties. Tools that read ODCS
(catalogs, contract testers) then see the product without knowing mesh.

mesh writes ODCS v3.1.0, the latest released version (v3.2.0 is still a pre-release whose
schema changes); the export is valid against the official v3.1.0 JSON Schema kept in
`infra/standards/`. What ODCS has no field for stays in `customProperties` under `mesh*`
names (the classification, the stack, the cost centre, the scan limit, the transform's
script). Nothing here prints.
"""

from __future__ import annotations

import re

from open_data_contract_standard.model import (
    CustomProperty,
    Description,
    OpenDataContractStandard,
    Role,
    SchemaObject,
    SchemaProperty,
    Server,
    ServiceLevelAgreementProperty,
    Team,
    TeamMember,
)

from infra.clouds import supports
from infra.model.capability import Capability
from infra.model.platform import PlatformConfig
from infra.model.request import DataProductRequest
from infra.model.spec import ColumnSpec, PortSpec, ProductSpec, results_prefix

ODCS_API_VERSION = "v3.1.0"
GIB = 1024**3

# The ODCS logical type of a column, from the first word of its cloud type.
_LOGICAL = {
    "string": "string", "varchar": "string", "char": "string",
    "tinyint": "integer", "smallint": "integer", "int": "integer", "integer": "integer",
    "bigint": "integer", "int64": "integer",
    "float": "number", "double": "number", "decimal": "number", "numeric": "number",
    "bignumeric": "number", "float64": "number",
    "boolean": "boolean", "bool": "boolean",
    "date": "date", "timestamp": "timestamp", "datetime": "timestamp", "time": "time",
    "array": "array", "struct": "object", "map": "object", "json": "object",
    # ODCS v3.1.0 has no logical type for bytes or shapes; the physical type stays exact.
    "binary": "string", "bytes": "string", "geography": "object",
}  # fmt: skip


def logical_type(declared: str) -> str:
    """`decimal(12,2)` → `number`: the ODCS v3.1.0 logical type of a (valid) column type."""
    match = re.match(r"[A-Za-z0-9]+", declared.strip())
    return _LOGICAL.get(match.group(0).lower(), "string") if match else "string"


def _property(column: ColumnSpec, *, classification: str, partition_position: int | None) -> SchemaProperty:
    return SchemaProperty(
        name=column.name,
        physicalName=column.name,
        physicalType=column.type,
        logicalType=logical_type(column.type),
        description=column.description,
        required=column.required or None,
        # A PII column is marked with the product's classification and a `pii` tag, so
        # column-level scanners find it; other columns inherit the contract's tags.
        classification=classification if column.pii else None,
        tags=["pii"] if column.pii else None,
        partitioned=True if partition_position is not None else None,
        partitionKeyPosition=partition_position,
    )


def _in_request_order(port: PortSpec, request: DataProductRequest | None) -> list[ColumnSpec]:
    """The port's columns as the request lists them (Glue keeps partition keys last; a contract
    read back must not move them)."""
    columns = list(port.all_columns)
    declared = next((p for p in request.spec.output_ports if p.name == port.name), None) if request else None
    if declared is None:
        return columns
    order = {c.name: i for i, c in enumerate(declared.columns)}
    return sorted(columns, key=lambda c: order.get(c.name, len(order)))


def _schema_object(port: PortSpec, spec: ProductSpec, request: DataProductRequest | None) -> SchemaObject:
    partitions = [c.name for c in port.partition_keys] or (
        [port.partition_column] if port.partition_column else []
    )
    properties = [
        _property(
            column,
            classification=spec.classification,
            partition_position=partitions.index(column.name) + 1 if column.name in partitions else None,
        )
        for column in _in_request_order(port, request)
    ]
    return SchemaObject(
        name=port.name,
        physicalName=port.table,
        physicalType="table",
        logicalType="object",
        description=port.description,
        tags=[port.format],
        properties=properties,
    )


def _server(spec: ProductSpec) -> Server:
    if spec.aws is not None:
        aws = spec.aws
        return Server(
            server=f"{spec.environment}-athena",
            type="athena",
            environment=spec.environment,
            description=f"Glue catalog database {aws.glue_database}; data under s3://{aws.bucket}/data/",
            schema=aws.glue_database,
            catalog="awsdatacatalog",
            # Required by ODCS v3.1.0 for Athena: where the producer's query results land.
            stagingDir=f"s3://{aws.bucket}/{results_prefix('producer')}",
            regionName=aws.region,
        )
    assert spec.gcp is not None
    return Server(
        server=f"{spec.environment}-bigquery",
        type="bigquery",
        environment=spec.environment,
        description=f"BigQuery dataset {spec.gcp.dataset}; files in gs://{spec.gcp.bucket}",
        project=spec.gcp.project,
        dataset=spec.gcp.dataset,
    )


def _roles(spec: ProductSpec) -> list[Role]:
    roles = []
    for grant in spec.grants:
        who = (
            spec.aws.role_arn(grant.aws_role)
            if spec.aws is not None
            else f"serviceAccount:{grant.gcp_service_account}"
        )
        roles.append(
            Role(
                role=who,
                access="read",
                description=f"Domain {grant.domain} reads {', '.join(grant.ports)}",
                customProperties=[
                    CustomProperty(property="meshConsumerDomain", value=grant.domain),
                    CustomProperty(property="meshPorts", value=list(grant.ports)),
                    # Each reader queries in its own workgroup; results land under its own prefix.
                    *(
                        [
                            CustomProperty(property="meshAthenaWorkgroup", value=grant.athena_workgroup),
                            CustomProperty(
                                property="meshAthenaResults",
                                value=f"s3://{spec.aws.bucket}/{results_prefix(grant.domain)}",
                            ),
                        ]
                        if spec.aws is not None
                        else []
                    ),
                ],
            )
        )
    return roles


def _team(spec: ProductSpec, platform: PlatformConfig) -> Team:
    owners = platform.domains[spec.domain].owners
    members = [TeamMember(username=spec.owner, role="owner")]
    members += [
        TeamMember(username=str(owner), role="domain owner") for owner in owners if str(owner) != spec.owner
    ]
    return Team(name=spec.domain, members=members)


def _sla(spec: ProductSpec) -> list[ServiceLevelAgreementProperty]:
    sla = [
        ServiceLevelAgreementProperty(
            property="retention",
            value=spec.retention_days,
            unit="d",
            description="Objects are expired from storage after this many days.",
        )
    ]
    if spec.freshness_hours is not None:
        sla.append(
            ServiceLevelAgreementProperty(
                property="latency",
                value=spec.freshness_hours,
                unit="h",
                description="Data is at most this old when read.",
            )
        )
    if spec.transform is not None:
        sla.append(
            ServiceLevelAgreementProperty(
                property="frequency",
                value=spec.transform.schedule,
                scheduler="cron",
                schedule=spec.transform.schedule,
                description="The product's transform runs on this schedule (UTC).",
            )
        )
    return sla


def data_contract(
    spec: ProductSpec, platform: PlatformConfig, *, request: DataProductRequest | None = None
) -> OpenDataContractStandard:
    """The product's ODCS data contract in `spec`'s environment.

    With `request` (the one `spec` was resolved from), columns keep the request's order,
    so a contract imported back gives the same request."""
    return OpenDataContractStandard(
        apiVersion=ODCS_API_VERSION,
        kind="DataContract",
        id=f"{spec.organization}.{spec.domain}.{spec.product}",
        name=spec.product,
        version=spec.version,
        status="active",
        domain=spec.domain,
        # No `dataProduct`: deprecated since v3.1.0; `domain` and `name` say the same.
        tenant=spec.organization,
        description=Description(purpose=spec.description),
        tags=[spec.classification, spec.cloud],
        schema=[_schema_object(port, spec, request) for port in spec.ports],
        servers=[_server(spec)],
        team=_team(spec, platform),
        roles=_roles(spec) or None,
        slaProperties=_sla(spec),
        customProperties=[
            CustomProperty(property="meshClassification", value=spec.classification),
            CustomProperty(property="meshStack", value=spec.stack),
            CustomProperty(property="meshCostCenter", value=spec.cost_center),
            CustomProperty(property="meshInputPorts", value=list(spec.inputs)),
            *(
                [CustomProperty(property="meshBytesScannedLimitGb", value=spec.query_limit_bytes // GIB)]
                if supports(spec.cloud, Capability.QUERY_LIMIT)
                else []
            ),
            *(
                [
                    CustomProperty(
                        property="meshTransformEntrypoint", value=spec.transform.entrypoint_in_request
                    )
                ]
                if spec.transform is not None
                else []
            ),
        ],
    )
