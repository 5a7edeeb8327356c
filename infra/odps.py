"""A product as an Open Data Product Standard (ODPS, Bitol) descriptor.

`data_product` describes one resolved product for catalogs that read ODPS: its input
ports (the products it is built from, each pointing at that product's ODCS contract), its
output ports (each pointing at this product's ODCS contract, which `mesh contract export`
writes with the columns), the owner and the domain's owners as the team, the owner's
mailbox as the support channel, and the freshness objective. ODPS has no field for a
service-level objective, a classification or read grants: they are custom properties.

mesh writes ODPS v1.1.0: it is the latest release, and unlike v1.0.0 it lets an input port
name a contract without pinning the upstream product's version, which a request does not
state. The descriptor is valid against the official v1.1.0 JSON Schema kept in
`infra/standards/`.

There is no import from ODPS: the descriptor carries no columns, types, partitioning or
retention (those live in the ODCS contract it references), so a request is drafted from
the contract with `mesh contract import` instead.
"""

from __future__ import annotations

from typing import Any

from infra.model.platform import PlatformConfig
from infra.model.spec import ProductSpec
from infra.odcs_export import ODCS_API_VERSION

ODPS_API_VERSION = "v1.1.0"


def contract_id(organization: str, domain: str, product: str) -> str:
    """The id `mesh contract export` gives a product's ODCS contract."""
    return f"{organization}.{domain}.{product}"


def _custom(prop: str, value: object, description: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"property": prop, "value": value}
    if description:
        item["description"] = description
    return item


def _input_port(spec: ProductSpec, source: str) -> dict[str, Any]:
    product, _, port = source.rpartition(":")
    domain, _, name = product.partition("/")
    return {
        "name": source,
        "contractId": contract_id(spec.organization, domain, name),
        "customProperties": [_custom("meshProduct", product), _custom("meshPort", port)],
    }


def _output_port(spec: ProductSpec, index: int) -> dict[str, Any]:
    port = spec.ports[index]
    readers = sorted(g.domain for g in spec.grants if port.name in g.ports)
    item: dict[str, Any] = {"name": port.name}
    if port.description:
        item["description"] = port.description
    item |= {
        "type": "tables",
        "version": spec.version,
        "contractId": contract_id(spec.organization, spec.domain, spec.product),
        "tags": [port.format],
        "customProperties": [
            _custom("contractApiVersion", ODCS_API_VERSION, "The ODCS version of the referenced contract."),
            _custom("table", port.table),
            _custom("readers", readers, "Domains granted read access to this port."),
        ],
    }
    return item


def data_product(spec: ProductSpec, platform: PlatformConfig) -> dict[str, Any]:
    """The product's ODPS v1.1.0 descriptor in `spec`'s environment, as a JSON-ready mapping."""
    owners = [str(o) for o in platform.domains[spec.domain].owners if str(o) != spec.owner]
    custom = [
        _custom("meshClassification", spec.classification),
        _custom("meshCloud", spec.cloud),
        _custom("meshEnvironment", spec.environment),
        _custom("meshStack", spec.stack),
        _custom(
            "retentionDays", spec.retention_days, "Objects are expired from storage after this many days."
        ),
    ]
    if spec.freshness_hours is not None:
        custom.append(
            _custom(
                "slo",
                {"freshnessHours": spec.freshness_hours},
                "Service-level objective: data is at most this many hours old when read.",
            )
        )
    descriptor: dict[str, Any] = {
        "apiVersion": ODPS_API_VERSION,
        "kind": "DataProduct",
        "id": contract_id(spec.organization, spec.domain, spec.product),
        "name": spec.product,
        "version": spec.version,
        "status": "active",
        "domain": spec.domain,
        "tenant": spec.organization,
        "description": {"purpose": spec.description},
        "tags": [spec.classification, spec.cloud],
        "customProperties": custom,
    }
    if spec.inputs:
        descriptor["inputPorts"] = [_input_port(spec, source) for source in spec.inputs]
    descriptor["outputPorts"] = [_output_port(spec, i) for i in range(len(spec.ports))]
    descriptor["support"] = [
        {
            "channel": "owner",
            "url": f"mailto:{spec.owner}",
            "tool": "email",
            "scope": "issues",
            "description": "The product's owner answers questions and issues.",
        }
    ]
    descriptor["team"] = {
        "name": spec.domain,
        "members": [
            {"username": spec.owner, "role": "owner"},
            *({"username": o, "role": "domain owner"} for o in owners),
        ],
    }
    return descriptor
