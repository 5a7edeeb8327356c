"""A product's data contract in the Open Data Contract Standard (ODCS v3.1), both ways.

`data_contract` turns a resolved `ProductSpec` into an `OpenDataContractStandard`
document (the pydantic models of the `open-data-contract-standard` package): one schema
object per output port with its columns, types, partitioning and PII flags; the server
that holds it in the environment (Athena over the Glue catalog on AWS, BigQuery on GCP);
the owner and the domain's owners as the team; one role per consumer domain with the
ports it may read; freshness and retention as service-level properties. Tools that read
ODCS (catalogs, contract testers) then see the product without knowing mesh.

What ODCS has no field for stays in `customProperties` under `mesh*` names (the
classification, the stack, the cost centre, the scan limit, the transform's script).

`request_from_contract` goes the other way for teams that already keep ODCS contracts:
it drafts a `mesh/v1` request from one (from mesh's own export it restores the request;
from another tool's contract it fills what ODCS says and lists what it had to assume);
`read_contract` reads and checks a contract file. Nothing here prints.
"""

from __future__ import annotations

import re
from pathlib import Path

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
from pydantic import ValidationError

from infra.coltypes import check_type
from infra.document import non_finite_numbers, read_document
from infra.errors import DocumentInvalid
from infra.files import MAX_CONTRACT_BYTES
from infra.platform import PlatformConfig
from infra.spec import ColumnSpec, PortSpec, ProductSpec, results_prefix
from infra.validation import problems_from_pydantic

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
    "array": "array", "struct": "object", "map": "map", "json": "object",
}  # fmt: skip


def logical_type(declared: str) -> str | None:
    """`decimal(12,2)` → `number`; None for types ODCS has no logical type for (binary, geography)."""
    match = re.match(r"[A-Za-z0-9]+", declared.strip())
    return _LOGICAL.get(match.group(0).lower()) if match else None


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


def _schema_object(port: PortSpec, spec: ProductSpec) -> SchemaObject:
    partitions = [c.name for c in port.partition_keys] or (
        [port.partition_column] if port.partition_column else []
    )
    properties = [
        _property(
            column,
            classification=spec.classification,
            partition_position=partitions.index(column.name) + 1 if column.name in partitions else None,
        )
        for column in port.all_columns
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


def data_contract(spec: ProductSpec, platform: PlatformConfig) -> OpenDataContractStandard:
    """The product's ODCS data contract in `spec`'s environment."""
    return OpenDataContractStandard(
        apiVersion=ODCS_API_VERSION,
        kind="DataContract",
        id=f"{spec.organization}.{spec.domain}.{spec.product}",
        name=spec.product,
        version=spec.version,
        status="active",
        domain=spec.domain,
        dataProduct=f"{spec.domain}/{spec.product}",
        tenant=spec.organization,
        description=Description(purpose=spec.description),
        tags=[spec.classification, spec.cloud],
        schema=[_schema_object(port, spec) for port in spec.ports],
        servers=[_server(spec)],
        team=_team(spec, platform),
        roles=_roles(spec) or None,
        slaProperties=_sla(spec),
        customProperties=[
            CustomProperty(property="meshClassification", value=spec.classification),
            CustomProperty(property="meshStack", value=spec.stack),
            CustomProperty(property="meshCostCenter", value=spec.cost_center),
            CustomProperty(property="meshInputPorts", value=list(spec.inputs)),
            CustomProperty(property="meshBytesScannedLimitGb", value=spec.query_limit_bytes // GIB),
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


# --- ODCS → request ------------------------------------------------------------------------

# A column type for each ODCS logical type, per cloud, when the physical type is not one.
_FROM_LOGICAL = {
    "aws": {
        "string": "string", "integer": "bigint", "number": "double", "boolean": "boolean",
        "date": "date", "timestamp": "timestamp", "time": "string", "array": "array<string>",
        "object": "string", "map": "map<string,string>",
    },
    "gcp": {
        "string": "STRING", "integer": "INT64", "number": "FLOAT64", "boolean": "BOOL",
        "date": "DATE", "timestamp": "TIMESTAMP", "time": "TIME", "array": "ARRAY<STRING>",
        "object": "JSON", "map": "JSON",
    },
}  # fmt: skip
_SERVER_CLOUDS = {"athena": "aws", "glue": "aws", "s3": "aws", "redshift": "aws", "bigquery": "gcp"}
_CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")
_FORMATS = ("parquet", "iceberg", "json", "csv")
_HOURS = {"h": 1, "hour": 1, "hours": 1, "d": 24, "day": 24, "days": 24}
_DAYS = {"d": 1, "day": 1, "days": 1, "y": 365, "yr": 365, "year": 365, "years": 365}


def _custom(items: list[CustomProperty] | None) -> dict[str, object]:
    return {c.property: c.value for c in items or [] if c.property}


def _identifier(text: str) -> str:
    """`Order Lines` → `order_lines`: a name the request accepts."""
    word = re.sub(r"[^a-z0-9_]+", "_", text.strip().lower()).strip("_")
    return word if word[:1].isalpha() else f"c_{word}"


def _column_type(prop: SchemaProperty, cloud: str, notes: list[str], where: str) -> str:
    physical = (prop.physicalType or "").strip()
    if physical and check_type(physical, cloud=cloud).ok:
        return physical
    fallback = _FROM_LOGICAL[cloud].get((prop.logicalType or "").lower(), _FROM_LOGICAL[cloud]["string"])
    notes.append(
        f"{where}: physicalType {physical or '(none)'} is not a {cloud} column type; "
        f"logicalType {prop.logicalType or '(none)'} gives {fallback}"
    )
    return fallback


def _amount(sla: ServiceLevelAgreementProperty, units: dict[str, int]) -> int | None:
    if not isinstance(sla.value, int | float) or isinstance(sla.value, bool):
        return None
    factor = units.get((sla.unit or next(iter(units))).lower())
    return int(sla.value * factor) if factor else None


def read_contract(path: Path) -> OpenDataContractStandard:
    """Read an ODCS contract (YAML or JSON); problems are located like a request's."""
    doc = read_document(path, limit=MAX_CONTRACT_BYTES)
    if doc.data.get("kind") != "DataContract":
        found = doc.data.get("kind")
        raise DocumentInvalid(
            [
                doc.problem(
                    ("kind",),
                    f"kind {'missing' if found is None else repr(found)} — expected 'DataContract' (ODCS)",
                )
            ],
            hint="Pass an ODCS data contract; `mesh contract export` writes one from a request.",
        )
    if problems := non_finite_numbers(doc):
        raise DocumentInvalid(problems)
    try:
        return OpenDataContractStandard.model_validate(doc.data)
    except ValidationError as e:
        raise DocumentInvalid(problems_from_pydantic(e, doc, OpenDataContractStandard)) from e


def request_from_contract(
    contract: OpenDataContractStandard, *, cloud: str | None = None
) -> tuple[dict[str, object], list[str]]:
    """A `mesh/v1` request document drafted from `contract`, and notes on what was assumed.

    The document still goes through `mesh validate`: it is a draft, not a trusted input.
    """
    notes: list[str] = []
    custom = _custom(contract.customProperties)
    server_types = [s.type for s in contract.servers or [] if s.type]
    target = cloud or next((_SERVER_CLOUDS[t] for t in server_types if t in _SERVER_CLOUDS), None)
    if target is None:
        target = "aws"
        notes.append("no AWS or GCP server in the contract: cloud aws assumed")
    domain, _, product = (contract.dataProduct or "").partition("/")
    domain = domain if product else (contract.domain or "")
    product = product or contract.name or ""
    members = contract.team.members if isinstance(contract.team, Team) else (contract.team or [])
    owners = [m.username for m in members or [] if m.username and (m.role or "").lower() == "owner"]
    owner = owners[0] if owners else next((m.username for m in members or [] if m.username), None)
    if owner is None:
        notes.append("the contract names no team member: metadata.owner must be filled in")
    description = contract.description
    purpose = (description.purpose or description.usage) if description else None
    classification = str(custom.get("meshClassification") or "")
    if classification not in _CLASSIFICATIONS:
        classification = next((t for t in contract.tags or [] if t in _CLASSIFICATIONS), "internal")
        if classification == "internal" and "internal" not in (contract.tags or []):
            notes.append("no classification in the contract: internal assumed")

    slas = {s.property: s for s in contract.slaProperties or [] if s.property}
    retention = _amount(slas["retention"], _DAYS) if "retention" in slas else None
    freshness = _amount(slas["latency"], _HOURS) if "latency" in slas else None
    if retention is None:
        notes.append("no retention service level: retentionDays 365 assumed")

    ports = []
    for obj in contract.schema_ or []:
        name = _identifier(obj.name or obj.physicalName or "port")
        columns: list[dict[str, object]] = []
        keys: list[tuple[int, object]] = []
        for prop in obj.properties or []:
            column: dict[str, object] = {
                "name": _identifier(prop.name or prop.physicalName or "column"),
                "type": _column_type(prop, target, notes, f"{name}.{prop.name}"),
            }
            if prop.required:
                column["required"] = True
            if "pii" in (prop.tags or []):
                column["pii"] = True
            if prop.description:
                column["description"] = prop.description
            columns.append(column)
            if prop.partitioned:
                keys.append((prop.partitionKeyPosition or len(keys) + 1, column["name"]))
        port: dict[str, object] = {"name": name}
        if obj.description:
            port["description"] = obj.description
        port["format"] = next((t for t in obj.tags or [] if t in _FORMATS), "parquet")
        if keys:
            port["partitionedBy"] = [n for _, n in sorted(keys)]
        port["schema"] = columns
        ports.append(port)

    consumers = []
    for role in contract.roles or []:
        props = _custom(role.customProperties)
        domain_of = props.get("meshConsumerDomain")
        granted = props.get("meshPorts")
        if isinstance(domain_of, str) and isinstance(granted, list) and (role.access or "read") == "read":
            consumers.append({"domain": domain_of, "ports": [str(p) for p in granted]})
        else:
            notes.append(
                f"role {role.role}: not a mesh consumer grant; add it under spec.access.consumers if needed"
            )

    inputs = []
    listed = custom.get("meshInputPorts")
    for item in listed if isinstance(listed, list) else []:
        source, _, port_name = str(item).rpartition(":")
        if source and port_name:
            inputs.append({"product": source, "port": port_name})

    spec: dict[str, object] = {
        "cloud": target,
        "classification": classification,
        "retentionDays": retention or 365,
        "outputPorts": ports,
    }
    if inputs:
        spec["inputPorts"] = inputs
    compute: dict[str, object] = {}
    limit = custom.get("meshBytesScannedLimitGb")
    if isinstance(limit, int) and not isinstance(limit, bool):
        compute["query"] = {"bytesScannedLimitGb": limit}
    entrypoint = custom.get("meshTransformEntrypoint")
    if isinstance(entrypoint, str) and "frequency" in slas and slas["frequency"].schedule:
        compute["transform"] = {"schedule": slas["frequency"].schedule, "entrypoint": entrypoint}
    if compute:
        spec["compute"] = compute
    if consumers:
        spec["access"] = {"consumers": consumers}
    if freshness:
        spec["slo"] = {"freshnessHours": freshness}
    metadata: dict[str, object] = {
        "domain": domain,
        "name": product,
        "owner": owner or "",
        "description": purpose or f"{product}, imported from an ODCS contract.",
    }
    if contract.version:
        metadata["version"] = contract.version
    return {"apiVersion": "mesh/v1", "kind": "DataProduct", "metadata": metadata, "spec": spec}, notes
