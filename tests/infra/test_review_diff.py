"""The review's diff of two graphs: inputs by name where items have names, grants grouped for reading."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from infra.model.graph import Resource, ResourceGraph
from infra.review import Grant, diff_resources, grouped

TABLE = "aws:glue/catalogTable:CatalogTable"
URN = f"urn:pulumi:s::p::{TABLE}::orders-table"


def _table(*columns: tuple[str, str]) -> ResourceGraph:
    inputs = {
        "name": "orders",
        "storageDescriptor": {"columns": [{"name": n, "type": t} for n, t in columns]},
    }
    return ResourceGraph(
        stack="s", project="p", resources=[Resource(URN, TABLE, "orders-table", None, inputs)]
    )


@dataclass
class Case:
    reason: str
    given: tuple[ResourceGraph, ResourceGraph]
    want: list[tuple[str, Any, Any]]


BASE = _table(("id", "string"), ("amount", "int"), ("day", "date"))


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "an inserted column is one change, not a shift of every later column",
            (BASE, _table(("id", "string"), ("currency", "string"), ("amount", "int"), ("day", "date"))),
            [("storageDescriptor.columns[currency].type", None, "string")],
        ),
        Case(
            "a retyped column names the column",
            (BASE, _table(("id", "string"), ("amount", "bigint"), ("day", "date"))),
            [("storageDescriptor.columns[amount].type", "int", "bigint")],
        ),
        Case(
            "a removed column names the column",
            (BASE, _table(("id", "string"), ("day", "date"))),
            [("storageDescriptor.columns[amount].type", "int", None)],
        ),
        Case(
            "a reordering is shown as the order of names",
            (BASE, _table(("amount", "int"), ("id", "string"), ("day", "date"))),
            [("storageDescriptor.columns[*]", ["id", "amount", "day"], ["amount", "id", "day"])],
        ),
        Case("no change, no entry", (BASE, _table(("id", "string"), ("amount", "int"), ("day", "date"))), []),
    ],
    ids=lambda c: c.reason,
)
def test_named_items_are_diffed_by_name(case: Case) -> None:
    changes = diff_resources(*case.given)

    found = [(c.path, c.before, c.after) for r in changes for c in r.changes]
    assert found == case.want, f"{URN}: {case.reason}"


def test_grants_group_actions_that_share_resources_principal_and_condition() -> None:
    role = "AWS:arn:aws:iam::111122223333:role/mesh/consumer"
    condition = json.dumps({"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}, sort_keys=True)
    grants = (
        Grant("Allow", "s3:GetObject", "arn:aws:s3:::b/data/p/*", role),
        Grant("Allow", "s3:GetObjectVersion", "arn:aws:s3:::b/data/p/*", role),
        Grant("Allow", "s3:GetObject", "arn:aws:s3:::b/results/*", role),
        Grant("Allow", "kms:GenerateDataKey", "*", role, condition),
        Grant("Allow", "kms:Decrypt", "*", role),
    )

    assert grouped(grants) == [
        f"Allow kms:Decrypt on * to {role}",
        f"Allow kms:GenerateDataKey on * to {role} if {condition}",
        f"Allow s3:GetObject on arn:aws:s3:::b/data/p/*, arn:aws:s3:::b/results/* to {role}",
        f"Allow s3:GetObjectVersion on arn:aws:s3:::b/data/p/* to {role}",
    ]
    assert str(grants[0]) == f"Allow s3:GetObject on arn:aws:s3:::b/data/p/* to {role}"
