"""Column types: Glue/Hive for AWS, BigQuery for GCP, with a suggestion for near misses."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from infra.model.coltypes import check_type, is_primitive


@dataclass
class Case:
    reason: str
    given: tuple[str, str]  # (cloud, declared type)
    want: str  # "" when the type is valid, else the message


VALID = [
    Case("a hive primitive", ("aws", "string"), ""),
    Case("hive is case-insensitive", ("aws", "BIGINT"), ""),
    Case("a decimal", ("aws", "decimal(12,2)"), ""),
    Case("the widest decimal", ("aws", "decimal(38,38)"), ""),
    Case("a decimal without scale", ("aws", "decimal(10)"), ""),
    Case("a varchar", ("aws", "varchar(34)"), ""),
    Case("an array", ("aws", "array<string>"), ""),
    Case("a map", ("aws", "map<string,int>"), ""),
    Case("nested complex types", ("aws", "array<struct<code:string,amount:decimal(10,2)>>"), ""),
    Case("spaces around tokens", ("aws", " map< string , array<int> > "), ""),
    Case("a bigquery primitive", ("gcp", "INT64"), ""),
    Case("bigquery is case-insensitive", ("gcp", "string"), ""),
    Case("a numeric with precision and scale", ("gcp", "NUMERIC(12,2)"), ""),
    Case("a sized string", ("gcp", "STRING(10)"), ""),
    Case("an array", ("gcp", "ARRAY<STRING>"), ""),
    Case("a struct with named fields", ("gcp", "STRUCT<a INT64, b ARRAY<STRING>>"), ""),
]

INVALID = [
    Case(
        "the issue's example",
        ("aws", "strng"),
        "'strng' is not a Glue/Hive column type — did you mean 'string'?",
    ),
    Case(
        "a BigQuery type on AWS",
        ("aws", "int64"),
        "'int64' is not a Glue/Hive column type — did you mean 'bigint'?",
    ),
    Case(
        "a Hive type on GCP",
        ("gcp", "BIGINT"),
        "'BIGINT' is not a BigQuery column type — did you mean 'INT64'?",
    ),
    Case(
        "a Hive type on GCP in lowercase",
        ("gcp", "double"),
        "'double' is not a BigQuery column type — did you mean 'FLOAT64'?",
    ),
    Case("a typo on GCP", ("gcp", "STRNG"), "'STRNG' is not a BigQuery column type — did you mean 'STRING'?"),
    Case(
        "a typo inside an array",
        ("aws", "array<strng>"),
        "'array<strng>' is not a Glue/Hive column type — did you mean 'string'?",
    ),
    Case("a bare varchar", ("aws", "varchar"), "'varchar' is not a well-formed column type: expected '('"),
    Case(
        "a zero length",
        ("aws", "varchar(0)"),
        "'varchar(0)' is not a well-formed column type: varchar needs a length, e.g. varchar(10)",
    ),
    Case(
        "decimal precision over 38",
        ("aws", "decimal(40,2)"),
        "'decimal(40,2)' is not a well-formed column type: decimal precision is at most 38",
    ),
    Case(
        "decimal scale over precision",
        ("aws", "decimal(5,6)"),
        "'decimal(5,6)' is not a well-formed column type: decimal scale cannot exceed its precision",
    ),
    Case(
        "a negative scale",
        ("aws", "decimal(12,-2)"),
        "'decimal(12,-2)' is not a well-formed column type: decimal scale must be a number, not '-'",
    ),
    Case(
        "an unfinished decimal",
        ("aws", "decimal(12,"),
        "'decimal(12,' is not a well-formed column type: decimal scale must be a number",
    ),
    Case(
        "letters as a BigQuery precision",
        ("gcp", "NUMERIC(a,b)"),
        "'NUMERIC(a,b)' is not a well-formed column type: NUMERIC precision must be a number, not 'a'",
    ),
    Case(
        "letters as a BigQuery length",
        ("gcp", "STRING(max)"),
        "'STRING(max)' is not a well-formed column type: STRING length must be a number, not 'max'",
    ),
    Case(
        "a parameter on a plain BigQuery type",
        ("gcp", "INT64(3)"),
        "'INT64(3)' is not a well-formed column type: unexpected '('",
    ),
    Case(
        "an unclosed array",
        ("aws", "array<string"),
        "'array<string' is not a well-formed column type: expected '>'",
    ),
    Case(
        "a map with one type",
        ("aws", "map<string>"),
        "'map<string>' is not a well-formed column type: expected ','",
    ),
    Case(
        "a struct field without a type",
        ("aws", "struct<a:int,>"),
        "'struct<a:int,>' is not a well-formed column type: expected ':'",
    ),
    Case(
        "two words",
        ("aws", "string extra"),
        "'string extra' is not a well-formed column type: unexpected 'extra'",
    ),
    Case("only spaces", ("aws", "   "), "'   ' is not a well-formed column type: expected 'a type'"),
    Case(
        "nothing close lists the vocabulary",
        ("aws", "xyzzy"),
        "'xyzzy' is not a Glue/Hive column type (use one of: boolean, tinyint, smallint, int, integer, bigint, float, double, string, date, timestamp, binary, decimal, char, varchar, array, map, struct)",
    ),
]


@pytest.mark.parametrize("case", VALID + INVALID, ids=lambda c: f"{c.given[0]}: {c.reason}")
def test_check_type(case: Case) -> None:
    cloud, declared = case.given

    verdict = check_type(declared, cloud=cloud)

    assert verdict.ok is (case.want == ""), case.reason
    assert verdict.message == case.want, case.reason


@pytest.mark.parametrize(
    "case",
    [
        Case("a hive primitive", ("aws", "date"), "yes"),
        Case("a parametric hive type", ("aws", "decimal(12,2)"), "yes"),
        Case("a hive array", ("aws", "array<int>"), "no"),
        Case("a hive struct", ("aws", "struct<a:int>"), "no"),
        Case("a bigquery primitive", ("gcp", "DATE"), "yes"),
        Case("a parametric bigquery type", ("gcp", "NUMERIC(12,2)"), "yes"),
        Case("a bigquery array", ("gcp", "ARRAY<INT64>"), "no"),
    ],
    ids=lambda c: f"{c.given[0]}: {c.reason}",
)
def test_is_primitive(case: Case) -> None:
    cloud, declared = case.given

    assert is_primitive(declared, cloud=cloud) is (case.want == "yes"), case.reason
