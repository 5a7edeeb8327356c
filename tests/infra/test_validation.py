"""Validation: every problem of a file at once, each located in the file and saying what to write."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.model.errors import DocumentInvalid, PlatformConfigNotFound, Severity, UnknownEnvironment
from infra.model.platform import PlatformConfig
from infra.validation import (
    default_environment,
    load_platform,
    load_request,
    load_spec,
    locate_platform,
    validate_files,
)

WriteRequest = Callable[..., Path]  # the `write_request` fixture of tests/conftest.py

# Line numbers matter: the expected messages point into this text.
BASE = """\
apiVersion: mesh/v1
kind: DataProduct
metadata:
  domain: sales
  name: orders
  owner: sales-data@example.com
  description: Confirmed orders.
spec:
  cloud: aws
  classification: internal
  retentionDays: 30
  outputPorts:
    - name: order_lines
      partitionedBy: [order_date]
      schema:
        - {name: order_id, type: string, required: true}
        - {name: amount, type: "decimal(12,2)"}
        - {name: order_date, type: date}
  access:
    consumers:
      - {domain: marketing, ports: [order_lines]}
"""  # line 21 is the last


@dataclass
class Case:
    reason: str
    given: Any  # mostly text replacements applied to BASE or PLATFORM, each old text found exactly once
    want: Any = field(
        default_factory=list
    )  # mostly every problem, in file order, paths relative to the test folder


def _edit(text: str, replacements: list[tuple[str, str]]) -> str:
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must occur exactly once in the request"
        text = text.replace(old, new)
    return text


def _relative(text: str, folder: Path) -> str:
    return text.replace(f"{folder}/", "")


INVALID = [
    Case(
        "the issue's example: a typo in a column type, with a suggestion",
        [("type: date}", "type: strng}")],
        [
            "orders.yaml:18:36 spec.outputPorts[0].schema[2].type: 'strng' is not a Glue/Hive column type — did you mean 'string'?"
        ],
    ),
    Case(
        "a BigQuery type in an AWS request",
        [("type: string,", "type: INT64,")],
        [
            "orders.yaml:16:34 spec.outputPorts[0].schema[0].type: 'INT64' is not a Glue/Hive column type — did you mean 'bigint'?"
        ],
    ),
    Case(
        "Hive types in a GCP request",
        [("cloud: aws", "cloud: gcp")],
        [
            "orders.yaml:17:32 spec.outputPorts[0].schema[1].type: 'decimal(12,2)' is not a BigQuery column type — did you mean 'NUMERIC'?"
        ],
    ),
    Case(
        "a wrong apiVersion stops before the fields are read",
        [("apiVersion: mesh/v1", "apiVersion: mesh/v2"), ("cloud: aws", "cloud: azure")],
        ["orders.yaml:1:13 apiVersion: apiVersion 'mesh/v2' is not supported — use 'mesh/v1'"],
    ),
    Case(
        "a missing apiVersion",
        [("apiVersion: mesh/v1\n", "")],
        ["orders.yaml:1:1 apiVersion: apiVersion missing — use 'mesh/v1'"],
    ),
    Case(
        "the platform config given as a request",
        [("kind: DataProduct", "kind: Platform")],
        [
            "orders.yaml:2:7 kind: kind 'Platform' — expected 'DataProduct' (this is a platform config; pass it with --platform)"
        ],
    ),
    Case(
        "a domain that is not registered, with the closest one",
        [("domain: sales", "domain: sale")],
        [
            "orders.yaml:4:11 metadata.domain: domain 'sale' is not registered in mesh.yaml — did you mean 'sales'? (registered: finance, marketing, sales, support)"
        ],
    ),
    Case(
        "a domain with a hyphen",
        [("domain: sales", "domain: sales-eu")],
        [
            "orders.yaml:4:11 metadata.domain: 'sales-eu' is not valid: use 2–20 lowercase letters and digits, starting with a letter (no hyphens)"
        ],
    ),
    Case(
        "a product name in capitals",
        [("name: orders", "name: Orders")],
        [
            "orders.yaml:5:9 metadata.name: 'Orders' is not valid: use lowercase letters, digits and single hyphens, starting with a letter"
        ],
    ),
    Case(
        "an owner that is not an email",
        [("owner: sales-data@example.com", "owner: sales team")],
        [
            "orders.yaml:6:10 metadata.owner: 'sales team' is not valid: use an email address such as team@example.com"
        ],
    ),
    Case(
        "a missing field points at the mapping it belongs in",
        [("  description: Confirmed orders.\n", "")],
        ["orders.yaml:4:3 metadata.description: required field 'description' is missing"],
    ),
    Case(
        "a misspelt field points at the key, with the right spelling",
        [("retentionDays: 30", "retentionDay: 30")],
        [
            "orders.yaml:9:3 spec.retentionDays: required field 'retentionDays' is missing",
            "orders.yaml:11:3 spec.retentionDay: unknown field 'retentionDay' — did you mean 'retentionDays'?",
        ],
    ),
    Case(
        "a snake_case key is not the documented spelling",
        [("retentionDays: 30", "retention_days: 30")],
        [
            "orders.yaml:9:3 spec.retentionDays: required field 'retentionDays' is missing",
            "orders.yaml:11:3 spec.retention_days: unknown field 'retention_days' — did you mean 'retentionDays'?",
        ],
    ),
    Case(
        "a value outside the choices",
        [("classification: internal", "classification: secret")],
        [
            "orders.yaml:10:19 spec.classification: 'secret' is not allowed: use 'public', 'internal', 'confidential' or 'restricted'"
        ],
    ),
    Case(
        "a close miss of a choice gets a suggestion",
        [("cloud: aws", "cloud: was")],
        ["orders.yaml:9:10 spec.cloud: 'was' is not allowed: use 'aws' or 'gcp' — did you mean 'aws'?"],
    ),
    Case(
        "a number out of range",
        [("retentionDays: 30", "retentionDays: 0")],
        ["orders.yaml:11:18 spec.retentionDays: Input should be greater than or equal to 1 (got 0)"],
    ),
    Case(
        "words where a number goes",
        [("retentionDays: 30", "retentionDays: a month")],
        [
            "orders.yaml:11:18 spec.retentionDays: Input should be a valid integer, unable to parse string as an integer (got 'a month')"
        ],
    ),
    Case(
        "a partition column that is not in the schema",
        [("partitionedBy: [order_date]", "partitionedBy: [order_day]")],
        [
            "orders.yaml:14:23 spec.outputPorts[0].partitionedBy[0]: partition column 'order_day' is not in the schema of port 'order_lines' — did you mean 'order_date'?"
        ],
    ),
    Case(
        "a partition column of a complex type",
        [("type: date}", 'type: "array<date>"}')],
        [
            "orders.yaml:14:23 spec.outputPorts[0].partitionedBy[0]: partition column 'order_date' has the complex type 'array<date>'; partition by a scalar column"
        ],
    ),
    Case(
        "a partition column listed twice",
        [("[order_date]", "[order_date, order_date]")],
        ["orders.yaml:14:22 spec.outputPorts[0].partitionedBy: a partition column is listed twice"],
    ),
    Case(
        "every column a partition column",
        [("[order_date]", "[order_id, amount, order_date]")],
        [
            "orders.yaml:14:22 spec.outputPorts[0].partitionedBy: every column is a partition column; a Glue table needs at least one data column"
        ],
    ),
    Case(
        "BigQuery partitions by one column",
        [
            ("cloud: aws", "cloud: gcp"),
            ('"decimal(12,2)"', "NUMERIC"),
            ("[order_date]", "[order_date, order_id]"),
        ],
        [
            "orders.yaml:14:22 spec.outputPorts[0].partitionedBy: BigQuery tables have at most one partition column — keep one",
            "orders.yaml:14:35 spec.outputPorts[0].partitionedBy[1]: BigQuery partitions only by a DATE, TIMESTAMP, DATETIME or INT64 column; 'order_id' is string",
        ],
    ),
    Case(
        "a column name used twice",
        [("{name: amount,", "{name: order_id,")],
        [
            "orders.yaml:17:18 spec.outputPorts[0].schema[1].name: column 'order_id' appears 2 times in port 'order_lines'"
        ],
    ),
    Case(
        "a port name used twice",
        [
            ("  access:", "    - name: order_lines\n      schema: [{name: x, type: int}]\n  access:"),
        ],
        [
            "orders.yaml:19:13 spec.outputPorts[1].name: port name 'order_lines' is used 2 times — port names must be unique"
        ],
    ),
    Case(
        "personal data in a public product",
        [
            ("classification: internal", "classification: public"),
            ("type: string, required: true", "type: string, pii: true"),
        ],
        [
            "orders.yaml:16:47 spec.outputPorts[0].schema[0].pii: column 'order_id' is personal data, so the product cannot be classified 'public' — use 'internal' or higher, or drop the column"
        ],
    ),
    Case(
        "the owning domain as a consumer",
        [("domain: marketing", "domain: sales")],
        [
            "orders.yaml:21:18 spec.access.consumers[0].domain: 'sales' is the product's own domain, which can always read it — remove this entry"
        ],
    ),
    Case(
        "a consumer domain that is not registered",
        [("domain: marketing", "domain: marketting")],
        [
            "orders.yaml:21:18 spec.access.consumers[0].domain: domain 'marketting' is not registered in mesh.yaml — did you mean 'marketing'?"
        ],
    ),
    Case(
        "a consumer granted a port that does not exist",
        [("ports: [order_lines]", "ports: [order_line]")],
        [
            "orders.yaml:21:37 spec.access.consumers[0].ports[0]: 'order_line' is not an output port of this product — did you mean 'order_lines'?"
        ],
    ),
    Case(
        "a consumer listed twice",
        [
            (
                "ports: [order_lines]}",
                "ports: [order_lines]}\n      - {domain: marketing, ports: [order_lines]}",
            )
        ],
        [
            "orders.yaml:22:18 spec.access.consumers[1].domain: domain 'marketing' is already listed at consumers[0] — merge the two entries"
        ],
    ),
    Case(
        "restricted data shared outside the domain",
        [("classification: internal", "classification: restricted")],
        [
            "orders.yaml:21:7 spec.access.consumers: restricted data cannot be granted outside domain 'sales' — remove the consumers, lower the classification, or set guardrails.allowRestrictedSharing in mesh.yaml"
        ],
    ),
    Case(
        "a product that is its own input",
        [("  access:", "  inputPorts: [{product: sales/orders, port: order_lines}]\n  access:")],
        ["orders.yaml:19:26 spec.inputPorts[0].product: a product cannot be its own input"],
    ),
    Case(
        "a transform with a bad schedule and a missing script",
        [
            (
                "  access:",
                '  compute:\n    transform: {schedule: "0 25 * * *", entrypoint: jobs/missing.py}\n  access:',
            )
        ],
        [
            "orders.yaml:20:27 spec.compute.transform.schedule: '0 25 * * *': hour must be between 0 and 23",
            "orders.yaml:20:53 spec.compute.transform.entrypoint: 'jobs/missing.py' does not exist (looked for jobs/missing.py); paths are relative to the request file",
        ],
    ),
    Case(
        "a list where a mapping goes",
        [("metadata:\n  domain: sales\n  name: orders\n", "metadata: [sales, orders]\nmetadata_:\n")],
        [
            "orders.yaml:3:11 metadata: expected a mapping of fields (key: value lines), got a list",
            "orders.yaml:4:1 metadata_: unknown field 'metadata_' — did you mean 'metadata'?",
        ],
    ),
    Case(
        "a number where text goes",
        [("description: Confirmed orders.", "description: 2024")],
        [
            "orders.yaml:7:16 metadata.description: Input should be a valid string (got 2024) — put the value in quotes so YAML keeps it as text"
        ],
    ),
    Case(
        "a word where a list goes",
        [("partitionedBy: [order_date]", "partitionedBy: order_date")],
        [
            "orders.yaml:14:22 spec.outputPorts[0].partitionedBy: Input should be a valid list (got 'order_date')"
        ],
    ),
    Case(
        "all the problems of a file at once, in file order",
        [
            ("domain: sales", "domain: sale"),
            ("classification: internal", "classification: secret"),
            ("type: date}", "type: strng}"),
            ("ports: [order_lines]", "ports: [order_line]"),
        ],
        [
            "orders.yaml:4:11 metadata.domain: domain 'sale' is not registered in mesh.yaml — did you mean 'sales'? (registered: finance, marketing, sales, support)",
            "orders.yaml:10:19 spec.classification: 'secret' is not allowed: use 'public', 'internal', 'confidential' or 'restricted'",
            "orders.yaml:18:36 spec.outputPorts[0].schema[2].type: 'strng' is not a Glue/Hive column type — did you mean 'string'?",
            "orders.yaml:21:37 spec.access.consumers[0].ports[0]: 'order_line' is not an output port of this product — did you mean 'order_lines'?",
        ],
    ),
]


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.reason)
def test_invalid_requests(write_request: WriteRequest, workdir: Path, case: Case) -> None:
    path = write_request(_edit(BASE, case.given), "orders.yaml")
    platform = load_platform(workdir / "mesh.yaml")

    with pytest.raises(DocumentInvalid) as caught:
        load_request(path, platform)

    got = [_relative(str(p), workdir) for p in caught.value.problems if p.severity is Severity.ERROR]
    assert got == case.want, case.reason


def test_the_base_request_is_valid(write_request: WriteRequest, workdir: Path) -> None:
    path = write_request(BASE, "orders.yaml")

    loaded = load_request(path, load_platform(workdir / "mesh.yaml"))

    assert loaded.warnings == []
    assert loaded.request.metadata.name == "orders"


def test_an_owner_outside_the_domain_is_only_a_warning(write_request: WriteRequest, workdir: Path) -> None:
    path = write_request(_edit(BASE, [("owner: sales-data@", "owner: someone@")]), "orders.yaml")

    loaded = load_request(path, load_platform(workdir / "mesh.yaml"))

    assert [(_relative(str(w), workdir), w.severity) for w in loaded.warnings] == [
        (
            "orders.yaml:6:10 metadata.owner: 'someone@example.com' is not among the owners of domain 'sales' (sales-data@example.com)",
            Severity.WARNING,
        )
    ]


def test_a_domain_without_aws_principals_is_warned_about(write_request: WriteRequest, workdir: Path) -> None:
    path = write_request(_edit(BASE, [("{domain: marketing,", "{domain: support,")]), "orders.yaml")

    loaded = load_request(path, load_platform(workdir / "mesh.yaml"))

    assert [(_relative(str(w), workdir), w.severity) for w in loaded.warnings] == [
        (
            "orders.yaml:21:18 spec.access.consumers[0].domain: domain 'support' lists no principals.aws in "
            "mesh.yaml, so its consumer role trusts the account root: anyone the account's IAM "
            "lets call sts:AssumeRole may use it — name the roles that may, under domains.support.principals.aws",
            Severity.WARNING,
        )
    ]
    gcp = _edit(BASE, [("{domain: marketing,", "{domain: support,"), ("cloud: aws", "cloud: gcp")])
    gcp = (
        gcp.replace("type: string", "type: STRING")
        .replace('"decimal(12,2)"', "NUMERIC")
        .replace("type: date", "type: DATE")
    )
    assert (
        load_request(write_request(gcp, "gcp.yaml"), load_platform(workdir / "mesh.yaml")).warnings == []
    ), "GCP consumers without members simply cannot impersonate: nothing is over-trusted"


def test_without_a_platform_only_the_request_is_checked(write_request: WriteRequest) -> None:
    path = write_request(_edit(BASE, [("domain: sales", "domain: nowhere")]), "orders.yaml")

    loaded = load_request(path, None)

    assert loaded.request.metadata.domain == "nowhere"


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "gcp in an environment without a gcp section",
            [("cloud: aws", "cloud: gcp")],
            ["orders.yaml:9:10 spec.cloud: environment 'preview' has no 'gcp' section in mesh.yaml"],
        ),
        Case("aws in an environment with one", [], []),
    ],
    ids=lambda c: c.reason,
)
def test_request_in_an_environment(write_request: WriteRequest, workdir: Path, case: Case) -> None:
    text = _edit(BASE, [('"decimal(12,2)"', "NUMERIC"), *case.given]) if case.given else BASE
    path = write_request(text, "orders.yaml")
    platform = load_platform(workdir / "mesh.yaml")

    try:
        load_request(path, platform, environment="preview")
        got: list[str] = []
    except DocumentInvalid as e:
        got = [_relative(str(p), workdir) for p in e.problems]

    assert got == case.want, case.reason


def test_an_unknown_environment_is_a_usage_error(write_request: WriteRequest, workdir: Path) -> None:
    path = write_request(BASE, "orders.yaml")

    with pytest.raises(UnknownEnvironment) as caught:
        load_request(path, load_platform(workdir / "mesh.yaml"), environment="staging")

    assert caught.value.exit_code == 2
    assert caught.value.message == f"environment 'staging' is not defined in {workdir}/mesh.yaml"
    assert caught.value.hint == "Use one of: dev, local, preview, prod."


PLATFORM = """\
apiVersion: mesh/v1
kind: Platform
organization: acme
domains:
  sales: {owners: [sales@example.com], costCenter: CC-1}
environments:
  dev:
    aws: {account: "111122223333", region: eu-west-1}
"""


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "a request given as the platform",
            [("kind: Platform", "kind: DataProduct")],
            [
                "mesh.yaml:2:7 kind: kind 'DataProduct' — expected 'Platform' (this is a data product request, not the platform config)"
            ],
        ),
        Case(
            "an organisation S3 reserves",
            [("organization: acme", "organization: sthree")],
            [
                "mesh.yaml:3:15 organization: 'sthree' cannot be used: S3 reserves bucket names starting with 'sthree-'"
            ],
        ),
        Case(
            "an organisation GCS reserves",
            [("organization: acme", "organization: google")],
            [
                "mesh.yaml:3:15 organization: 'google' cannot be used: GCS reserves bucket names starting with 'goog'"
            ],
        ),
        Case(
            "an organisation with a hyphen",
            [("organization: acme", "organization: ac-me")],
            [
                "mesh.yaml:3:15 organization: 'ac-me' is not valid: use 2–12 lowercase letters and digits, starting with a letter (no hyphens)"
            ],
        ),
        Case(
            "the reserved domain",
            [("  sales:", "  platform:")],
            ["mesh.yaml:5:3 domains: 'platform' is reserved for the shared resources of each environment"],
        ),
        Case(
            "a domain without owners",
            [("owners: [sales@example.com]", "owners: []")],
            ["mesh.yaml:5:19 domains.sales.owners: List should have at least 1 item after validation, not 0"],
        ),
        Case(
            "an environment without a cloud",
            [('    aws: {account: "111122223333", region: eu-west-1}\n', "    protected: true\n")],
            ["mesh.yaml:8:5 environments.dev: an environment needs an 'aws' or a 'gcp' section (or both)"],
        ),
        Case(
            "an account id that is too short",
            [('"111122223333"', '"1111"')],
            [
                "mesh.yaml:8:20 environments.dev.aws.account: '1111' is not valid: use the 12 digits of an AWS account id, in quotes (e.g. \"111122223333\")"
            ],
        ),
        Case(
            "an account id YAML reads as a number",
            [('"111122223333"', "000000000000")],
            [
                "mesh.yaml:8:20 environments.dev.aws.account: Input should be a valid string (got 0) — put the value in quotes so YAML keeps it as text"
            ],
        ),
        Case(
            "an environment name in capitals",
            [("  dev:", "  Dev:")],
            [
                "mesh.yaml:7:3 environments.Dev: 'Dev' is not valid: use 1–12 lowercase letters and digits, starting with a letter (no hyphens)"
            ],
        ),
        Case(
            "an unknown section",
            [("domains:", "guardrail: {}\ndomains:")],
            ["mesh.yaml:4:1 guardrail: unknown field 'guardrail' — did you mean 'guardrails'?"],
        ),
    ],
    ids=lambda c: c.reason,
)
def test_invalid_platform_configs(tmp_path: Path, case: Case) -> None:
    path = tmp_path / "mesh.yaml"
    path.write_text(_edit(PLATFORM, case.given), encoding="utf-8")

    with pytest.raises(DocumentInvalid) as caught:
        load_platform(path)

    assert [_relative(str(p), tmp_path) for p in caught.value.problems] == case.want, case.reason


def test_a_request_needs_an_environment_for_its_cloud(tmp_path: Path) -> None:
    marketing = "domains:\n  marketing: {owners: [m@example.com], costCenter: CC-2}\n"
    (tmp_path / "mesh.yaml").write_text(_edit(PLATFORM, [("domains:\n", marketing)]), encoding="utf-8")
    path = tmp_path / "orders.yaml"
    path.write_text(
        _edit(BASE, [("cloud: aws", "cloud: gcp"), ('"decimal(12,2)"', "NUMERIC")]), encoding="utf-8"
    )

    with pytest.raises(DocumentInvalid) as caught:
        load_request(path, load_platform(tmp_path / "mesh.yaml"))

    errors = [p for p in caught.value.problems if p.severity is Severity.ERROR]
    assert [_relative(str(p), tmp_path) for p in errors] == [
        "orders.yaml:9:10 spec.cloud: no environment in mesh.yaml has a 'gcp' section"
    ]


def test_locate_platform_walks_up_from_the_request(workdir: Path) -> None:
    nested = workdir / "products" / "sales"
    nested.mkdir(parents=True)

    assert locate_platform(None, near=nested / "orders.yaml") == (workdir / "mesh.yaml").resolve()
    (workdir / "other.yaml").write_text("kind: Platform\n", encoding="utf-8")
    assert locate_platform(workdir / "other.yaml", near=nested) == workdir / "other.yaml"


def test_locate_platform_refuses_an_explicit_path_that_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(PlatformConfigNotFound) as caught:
        locate_platform(tmp_path / "nope.yaml", near=tmp_path)

    assert caught.value.message == f"--platform {tmp_path / 'nope.yaml'} does not exist"
    assert caught.value.exit_code == 2


def test_locate_platform_names_the_folder_it_searched(tmp_path: Path) -> None:
    missing = tmp_path / "requests" / "orders.yaml"

    with pytest.raises(PlatformConfigNotFound) as caught:
        locate_platform(None, near=missing)

    assert caught.value.message == f"no mesh.yaml found in {tmp_path / 'requests'} or any parent folder"
    assert caught.value.exit_code == 2
    assert caught.value.hint is not None and "--platform" in caught.value.hint


def test_validate_files_reports_each_file(write_request: WriteRequest, workdir: Path) -> None:
    good = write_request(BASE, "good.yaml")
    bad = write_request(_edit(BASE, [("cloud: aws", "cloud: azure")]), "bad.yaml")
    missing = workdir / "missing.yaml"

    report = validate_files([good, bad, missing], platform_path=None)

    assert report.valid is False
    assert report.platform == str((workdir / "mesh.yaml").resolve())
    assert [(f.file, f.valid, [p.message for p in f.problems]) for f in report.files] == [
        (str(good), True, []),
        (str(bad), False, ["'azure' is not allowed: use 'aws' or 'gcp'"]),
        (str(missing), False, ["no such file"]),
    ]
    assert report.as_dict()["files"][1] == {  # type: ignore[index]
        "file": str(bad),
        "valid": False,
        "problems": [
            {
                "file": str(bad),
                "line": 9,
                "column": 10,
                "path": "spec.cloud",
                "severity": "error",
                "message": "'azure' is not allowed: use 'aws' or 'gcp'",
            }
        ],
    }


def test_validate_files_reports_a_broken_platform_as_a_file(
    write_request: WriteRequest, workdir: Path
) -> None:
    path = write_request(BASE, "orders.yaml")
    (workdir / "mesh.yaml").write_text("organization: [\n", encoding="utf-8")

    report = validate_files([path], platform_path=None)

    assert report.valid is False
    (only,) = report.files
    assert only.file == str((workdir / "mesh.yaml").resolve())
    assert only.problems[0].message.startswith("not valid YAML")


def test_validate_files_checks_the_environment_first(write_request: WriteRequest) -> None:
    path = write_request(BASE, "orders.yaml")

    with pytest.raises(UnknownEnvironment):
        validate_files([path], platform_path=None, environment="staging")


def test_load_spec_resolves_in_the_first_regular_environment(examples_dir: Path, platform_path: Path) -> None:
    spec, loaded, platform = load_spec(
        examples_dir / "products" / "sales-orders.yaml", platform_path=platform_path, environment=None
    )

    assert (spec.environment, spec.stack) == ("dev", "sales.orders.dev")
    assert loaded.request.metadata.name == "orders"
    assert platform.path == platform_path


@pytest.mark.parametrize(
    "case",
    [
        Case("the first environment with the cloud", ("aws", ["dev", "prod", "preview"]), "dev"),
        Case("a preview only when nothing else hosts the cloud", ("gcp", ["preview"]), "preview"),
        Case("regular environments before previews", ("gcp", ["preview", "prod"]), "prod"),
    ],
    ids=lambda c: c.reason,
)
def test_default_environment(case: Case) -> None:
    cloud, environments = case.given
    target = {
        "aws": {"account": "111122223333", "region": "eu-west-1"},
        "gcp": {"project": "acme-data", "region": "europe-west1"},
    }
    data = yaml.safe_load(PLATFORM)
    data["environments"] = {
        name: {cloud: target[cloud], "preview": name == "preview"} for name in environments
    }

    assert default_environment(PlatformConfig.model_validate(data), cloud) == case.want, case.reason


def test_the_examples_are_valid(examples_dir: Path, platform_path: Path, tmp_path: Path) -> None:
    shutil.copytree(examples_dir, tmp_path / "examples")
    files = sorted((tmp_path / "examples" / "products").glob("*.yaml"))

    report = validate_files(files, platform_path=tmp_path / "examples" / "mesh.yaml")

    assert [(Path(f.file).name, f.valid, f.problems) for f in report.files] == [
        ("finance-payroll.yaml", True, []),
        ("marketing-campaigns.yaml", True, []),
        ("sales-orders.yaml", True, []),
    ]
