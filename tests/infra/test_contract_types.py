"""Column types from contracts: lossless on both clouds where an equivalent exists, a note where not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.model.coltypes import check_type
from infra.odcs_types import column_type


@dataclass
class Case:
    reason: str
    given: dict[str, Any]
    aws: str
    gcp: str
    noted: tuple[str, ...] = field(default_factory=tuple)  # clouds on which a note is expected


CASES = [
    Case("money keeps its precision", {"physicalType": "decimal(12,2)"}, "decimal(12,2)", "NUMERIC(12,2)"),
    Case("BigQuery NUMERIC goes to Glue decimal", {"physicalType": "NUMERIC(18,4)"}, "decimal(18,4)", "NUMERIC(18,4)"),
    Case("a scale beyond NUMERIC needs BIGNUMERIC", {"physicalType": "numeric(38,12)"}, "decimal(38,12)", "BIGNUMERIC(38,12)"),
    Case("precision and scale as custom properties (XSD imports)",
         {"physicalType": "decimal", "customProperties": [{"property": "precision", "value": 10},
                                                           {"property": "scale", "value": 2}]},
         "decimal(10,2)", "NUMERIC(10,2)"),
    Case("a decimal without precision is noted", {"physicalType": "numeric"}, "decimal(38,9)", "NUMERIC(38,9)", ("aws", "gcp")),
    Case("a length is kept", {"physicalType": "varchar(36)"}, "varchar(36)", "STRING(36)"),
    Case("PostgreSQL's long spelling", {"physicalType": "character varying(20)"}, "varchar(20)", "STRING(20)"),
    Case("a fixed length", {"physicalType": "CHAR(3)"}, "char(3)", "STRING(3)"),
    Case("text and uuid are strings", {"physicalType": "uuid"}, "string", "STRING"),
    Case("integer widths are kept on Glue", {"physicalType": "smallint"}, "smallint", "INT64"),
    Case("INT64 on Glue is a bigint", {"physicalType": "INT64"}, "bigint", "INT64"),
    Case("Snowflake's NUMBER(38,0) keeps its range", {"physicalType": "NUMBER(38,0)"}, "decimal(38,0)", "BIGNUMERIC(38,0)"),
    Case("Snowflake's NUMBER(10,0) is an integer", {"physicalType": "NUMBER(10,0)"}, "bigint", "INT64"),
    Case("double precision", {"physicalType": "double precision"}, "double", "FLOAT64"),
    Case("a zoned timestamp", {"physicalType": "timestamp with time zone"}, "timestamp", "TIMESTAMP"),
    Case("a timestamp with precision", {"physicalType": "timestamp(6)"}, "timestamp", "TIMESTAMP"),
    Case("a naive datetime", {"physicalType": "timestamp_ntz"}, "timestamp", "DATETIME"),
    Case("Glue has no TIME", {"physicalType": "time"}, "string", "TIME", ("aws",)),
    Case("Glue has no JSON", {"physicalType": "jsonb"}, "string", "JSON", ("aws",)),
    Case("bytes", {"physicalType": "bytea"}, "binary", "BYTES"),
    Case("BigQuery has no MAP", {"physicalType": "map<string,int>"}, "map<string,int>",
         "ARRAY<STRUCT<key STRING, value INT64>>", ("gcp",)),
    Case("a BigQuery struct on Glue", {"physicalType": "STRUCT<a STRING, b INT64>"}, "struct<a:string,b:bigint>",
         "STRUCT<a STRING, b INT64>"),
    Case("an array described by items",
         {"logicalType": "array", "physicalType": "array", "items": {"physicalType": "VARCHAR(40)"}},
         "array<varchar(40)>", "ARRAY<STRING(40)>"),
    Case("an object described by properties",
         {"logicalType": "object", "properties": [{"name": "Street", "logicalType": "string"},
                                                  {"name": "zip", "physicalType": "int"}]},
         "struct<street:string,zip:int>", "STRUCT<street STRING, zip INT64>"),
    Case("a v3.2.0 map with key and value",
         {"logicalType": "map", "physicalType": "MAP<STRING, STRUCT>",
          "map": {"key": {"logicalType": "string"}, "value": {"logicalType": "integer"}}},
         "map<string,bigint>", "ARRAY<STRUCT<key STRING, value INT64>>", ("gcp",)),
    Case("only a logical type", {"logicalType": "timestamp"}, "timestamp", "TIMESTAMP"),
    Case("an unknown physical type falls back to the logical one, noted",
         {"physicalType": "nonNegativeInteger", "logicalType": "integer"}, "bigint", "INT64", ("aws", "gcp")),
    Case("no type at all is noted", {}, "string", "STRING", ("aws", "gcp")),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.reason)
@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_column_types(case: Case, cloud: str) -> None:
    notes: list[str] = []

    got = column_type(case.given, cloud, notes)

    assert got == (case.aws if cloud == "aws" else case.gcp), f"{case.reason} on {cloud}: {notes}"
    assert check_type(got, cloud=cloud).ok, f"{case.reason}: {got} is not a valid {cloud} type"
    assert bool(notes) == (cloud in case.noted), f"{case.reason} on {cloud}: notes {notes}"


def test_a_column_nested_beyond_the_limit_is_kept_as_json_with_a_note() -> None:
    prop: dict[str, Any] = {"name": "leaf", "logicalType": "string"}
    for level in range(20):
        prop = {"name": f"l{level}", "logicalType": "object", "properties": [prop]}
    notes: list[str] = []

    assert column_type(prop, "gcp", notes) == "JSON"
    assert notes == ["nested more than 15 levels deep: JSON"]
