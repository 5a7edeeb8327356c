"""`infra.catalog` on moto: products are found by what they hold and shown as provisioned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.catalog import Catalog, CatalogUnavailable, ProductNotFound, open_catalog
from infra.validation import load_platform, load_spec

ENV = "mototest"  # the environment of the `applied_catalog` fixture (tests/conftest.py)


@pytest.fixture
def catalog(applied_catalog: Path) -> Catalog:
    return open_catalog(load_platform(applied_catalog / "mesh.yaml").config, ENV)


def test_only_mesh_products_of_the_environment_are_listed(catalog: Catalog) -> None:
    assert [(e.name, e.environment) for e in catalog.products()] == [
        ("finance/payroll", ENV),
        ("sales/orders", ENV),
    ]


def test_search_matches_every_word_and_says_where(catalog: Catalog) -> None:
    assert [(m.entry.name, m.reasons) for m in catalog.search(["iban"])] == [
        ("finance/payroll", ("column iban of payslips",))
    ]
    assert [(m.entry.name, m.reasons) for m in catalog.search(["Revenue"])] == [
        ("sales/orders", ("port daily_revenue",))
    ]
    assert [(m.entry.name, m.reasons) for m in catalog.search(["orders", "marketing"])] == [
        ("sales/orders", ("name: sales/orders", "read by marketing"))
    ]
    assert catalog.search(["orders", "nobody-reads-this"]) == []


def test_show_reads_ports_columns_and_metadata_back(catalog: Catalog, applied_catalog: Path) -> None:
    spec, _, _ = load_spec(
        applied_catalog / "products" / "sales-orders.yaml", platform_path=None, environment=ENV
    )
    entry = catalog.show("sales/orders")

    assert (entry.owner, entry.version, entry.classification) == (
        spec.owner,
        spec.version,
        spec.classification,
    )
    assert (entry.freshness_hours, entry.retention_days) == (spec.freshness_hours, spec.retention_days)
    assert entry.consumers == tuple(g.domain for g in spec.grants)
    assert [t.name for t in entry.tables] == [p.name for p in spec.ports]
    for port, table in zip(spec.ports, entry.tables, strict=True):
        assert table.table == port.table and table.format == port.format
        assert [(c.name, c.pii, c.partition) for c in table.columns] == [
            (c.name, c.pii, c in port.partition_keys) for c in port.all_columns
        ], table.table
    email = next(c for c in entry.tables[0].columns if c.name == "customer_email")
    assert email.pii and not email.comment.startswith("[pii]")


def test_an_unknown_product_suggests_the_closest(catalog: Catalog) -> None:
    with pytest.raises(ProductNotFound) as caught:
        catalog.show("sales/order")

    assert (
        caught.value.message
        == f"no product sales/order in the catalog of {ENV} (account 123456789012, us-east-1)"
    )
    assert (
        caught.value.hint == f"Did you mean sales/orders? List them with `mesh catalog search --env {ENV}`."
    )


class _Denied:
    def get_paginator(self, name: str) -> Any:
        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDeniedException",
                    "Message": "not authorized to perform glue:GetDatabases",
                }
            },
            "GetDatabases",
        )


def test_a_denied_read_says_which_permission_is_missing() -> None:
    with pytest.raises(CatalogUnavailable) as caught:
        Catalog(_Denied(), environment="prod", where="account 444455556666, eu-west-1").products()

    assert caught.value.message == (
        "Listing databases in the Glue Data Catalog of prod (account 444455556666, eu-west-1) failed: "
        "AccessDeniedException: not authorized to perform glue:GetDatabases"
    )
    assert "glue:GetDatabases and glue:GetTables" in (caught.value.hint or "")
