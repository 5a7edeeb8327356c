"""`mesh validate`: exit 0 valid, 1 invalid, 2 usage; every problem located; JSON for machines."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app

WriteRequest = Callable[..., Path]  # the `write_request` fixture of tests/conftest.py

VALID = """\
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
      schema:
        - {name: order_id, type: string}
"""


@dataclass
class Case:
    reason: str
    given: str  # the request file's text
    want: tuple[int, list[str]]  # exit code, lines expected on stdout


@pytest.fixture
def runner(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner in the scratch folder, so paths in messages are short and mesh.yaml is found."""
    monkeypatch.chdir(workdir)
    return CliRunner()


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "a valid request",
            VALID,
            (0, ["✓ orders.yaml: sales/orders 1.0.0 (aws, internal) — 1 port(s), 0 consumer domain(s)"]),
        ),
        Case(
            "the issue's example: a typo in a column type",
            VALID.replace("type: string", "type: strng"),
            (
                1,
                [
                    "✗ orders.yaml: 1 problem",
                    "  orders.yaml:15:34 spec.outputPorts[0].schema[0].type: 'strng' is not a Glue/Hive column type — did you mean 'string'?",
                ],
            ),
        ),
        Case(
            "malformed YAML",
            VALID.replace("retentionDays: 30", "retentionDays: [30"),
            (
                1,
                [
                    "✗ orders.yaml: 1 problem",
                    "  orders.yaml:12:14: not valid YAML: expected ',' or ']', but got ':'",
                ],
            ),
        ),
        Case(
            "a wrong apiVersion",
            VALID.replace("mesh/v1", "mesh/v0"),
            (
                1,
                [
                    "✗ orders.yaml: 1 problem",
                    "  orders.yaml:1:13 apiVersion: apiVersion 'mesh/v0' is not supported — use 'mesh/v1'",
                ],
            ),
        ),
        Case(
            "a wrong kind",
            VALID.replace("kind: DataProduct", "kind: Dataproduct"),
            (
                1,
                [
                    "✗ orders.yaml: 1 problem",
                    "  orders.yaml:2:7 kind: kind 'Dataproduct' — expected 'DataProduct'",
                ],
            ),
        ),
        Case(
            "an unknown domain",
            VALID.replace("domain: sales", "domain: crm"),
            (
                1,
                [
                    "✗ orders.yaml: 1 problem",
                    "  orders.yaml:4:11 metadata.domain: domain 'crm' is not registered in {workdir}/mesh.yaml (registered: finance, marketing, sales, support)",
                ],
            ),
        ),
        Case(
            "several problems at once",
            VALID.replace("cloud: aws", "cloud: azure").replace("name: orders", "name: Orders"),
            (
                1,
                [
                    "✗ orders.yaml: 2 problems",
                    "  orders.yaml:5:9 metadata.name: 'Orders' is not valid: use lowercase letters, digits and single hyphens, starting with a letter",
                    "  orders.yaml:9:10 spec.cloud: 'azure' is not allowed: use 'aws' or 'gcp'",
                ],
            ),
        ),
        Case(
            "an owner outside the domain is a warning, not a failure",
            VALID.replace("owner: sales-data@", "owner: someone@"),
            (
                0,
                [
                    "✓ orders.yaml: sales/orders 1.0.0 (aws, internal) — 1 port(s), 0 consumer domain(s)",
                    "  warning: orders.yaml:6:10 metadata.owner: 'someone@example.com' is not among the owners of domain 'sales' (sales-data@example.com)",
                ],
            ),
        ),
    ],
    ids=lambda c: c.reason,
)
def test_validate_one_file(runner: CliRunner, write_request: WriteRequest, workdir: Path, case: Case) -> None:
    write_request(case.given, "orders.yaml")

    result = runner.invoke(app, ["validate", "orders.yaml"])

    code, lines = case.want
    assert result.exit_code == code, f"{case.reason}: {result.output}"
    assert result.stdout.splitlines() == [line.format(workdir=workdir) for line in lines], case.reason
    assert "Traceback" not in result.output, case.reason
    if code:
        assert result.stderr == "Fix the fields named above and run mesh validate again.\n", case.reason


def test_a_missing_file(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "missing.yaml"])

    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["✗ missing.yaml: 1 problem", "  missing.yaml: no such file"]


def test_every_file_is_reported(runner: CliRunner, write_request: WriteRequest) -> None:
    write_request(VALID, "good.yaml")
    write_request(VALID.replace("retentionDays: 30", "retentionDays: 0"), "bad.yaml")

    result = runner.invoke(app, ["validate", "good.yaml", "bad.yaml", "missing.yaml"])

    assert result.exit_code == 1
    assert [line for line in result.stdout.splitlines() if not line.startswith("  ")] == [
        "✓ good.yaml: sales/orders 1.0.0 (aws, internal) — 1 port(s), 0 consumer domain(s)",
        "✗ bad.yaml: 1 problem",
        "✗ missing.yaml: 1 problem",
    ]


def test_the_examples_are_valid(examples_dir: Path) -> None:
    files = [str(p) for p in sorted((examples_dir / "products").glob("*.yaml"))]

    result = CliRunner().invoke(app, ["validate", *files, "--platform", str(examples_dir / "mesh.yaml")])

    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [f"✓ {f}" for f in files]


def test_a_folder_stands_for_the_requests_in_it(runner: CliRunner, write_request: WriteRequest) -> None:
    write_request(VALID, "requests/sales/orders.yaml")
    write_request(VALID.replace("name: orders", "name: returns"), "requests/returns.yml")
    write_request("not: a request", "requests/.github/workflow.yaml")
    shutil.copy("mesh.yaml", "requests/mesh.yaml")

    result = runner.invoke(app, ["validate", "requests"])

    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "✓ requests/returns.yml",
        "✓ requests/sales/orders.yaml",
    ]


@pytest.mark.parametrize(
    "case",
    [
        Case("no file at all", "", (2, ["Missing argument"])),
        Case(
            "an output format that does not exist", "--output xml orders.yaml", (2, ["'xml' is not one of"])
        ),
        Case(
            "an unknown environment",
            "--env staging orders.yaml",
            (
                2,
                [
                    "Error: environment 'staging' is not defined in",
                    "Hint: Use one of: dev, local, preview, prod.",
                ],
            ),
        ),
        Case("a folder without requests", "empty", (2, ["Error: no request files (*.yaml, *.yml) in empty"])),
        Case(
            "no mesh.yaml anywhere",
            "{elsewhere}/orders.yaml",
            (
                2,
                [
                    "Error: no mesh.yaml found in {elsewhere} or any parent folder",
                    "Hint: Pass --platform PATH",
                ],
            ),
        ),
    ],
    ids=lambda c: c.reason,
)
def test_usage_errors_exit_2(
    runner: CliRunner, write_request: WriteRequest, tmp_path_factory: pytest.TempPathFactory, case: Case
) -> None:
    write_request(VALID, "orders.yaml")
    Path("empty").mkdir()
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "orders.yaml").write_text(VALID, encoding="utf-8")

    result = runner.invoke(app, ["validate", *case.given.format(elsewhere=elsewhere).split()])

    code, fragments = case.want
    assert result.exit_code == code, f"{case.reason}: {result.output}"
    for fragment in fragments:
        assert fragment.format(elsewhere=elsewhere) in result.stderr, f"{case.reason}: {result.stderr}"
    assert "Traceback" not in result.output


def test_a_missing_platform_file_is_a_usage_error(runner: CliRunner, write_request: WriteRequest) -> None:
    write_request(VALID, "orders.yaml")

    result = runner.invoke(app, ["validate", "orders.yaml", "--platform", "nope.yaml"])

    assert result.exit_code == 2, result.output
    assert "Error: --platform nope.yaml does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_a_broken_platform_file_is_located(runner: CliRunner, write_request: WriteRequest) -> None:
    write_request(VALID, "orders.yaml")
    Path("mesh.yaml").write_text(
        Path("mesh.yaml").read_text().replace("organization: acme", "organization: ACME")
    )

    result = runner.invoke(app, ["validate", "orders.yaml", "--platform", "mesh.yaml"])

    assert result.exit_code == 1
    assert "  mesh.yaml:4:15 organization: 'ACME' is not valid" in result.stdout


def test_json_output(runner: CliRunner, write_request: WriteRequest) -> None:
    write_request(VALID, "good.yaml")
    write_request(VALID.replace("type: string", "type: strng"), "bad.yaml")

    result = runner.invoke(app, ["validate", "good.yaml", "bad.yaml", "--output", "json"])

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report == {
        "valid": False,
        "platform": str(Path("mesh.yaml").resolve()),
        "files": [
            {"file": "good.yaml", "valid": True, "problems": []},
            {
                "file": "bad.yaml",
                "valid": False,
                "problems": [
                    {
                        "file": "bad.yaml",
                        "line": 15,
                        "column": 34,
                        "path": "spec.outputPorts[0].schema[0].type",
                        "severity": "error",
                        "message": "'strng' is not a Glue/Hive column type — did you mean 'string'?",
                    }
                ],
            },
        ],
    }


def test_json_output_when_valid(runner: CliRunner, write_request: WriteRequest) -> None:
    write_request(VALID, "good.yaml")

    result = runner.invoke(app, ["validate", "-o", "json", "good.yaml"])

    assert result.exit_code == 0
    assert json.loads(result.stdout)["valid"] is True


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "an invalid file whose name looks like markup", "b[bold].yaml", (1, ["✗ b[bold].yaml: 1 problem"])
        ),
        Case(
            "a missing file whose path has a closing tag", "dir[/x].yaml", (1, ["✗ dir[/x].yaml: 1 problem"])
        ),
    ],
    ids=lambda c: c.reason,
)
def test_file_names_are_never_read_as_markup(
    runner: CliRunner, write_request: WriteRequest, case: Case
) -> None:
    write_request(VALID.replace("cloud: aws", "cloud: azure"), "b[bold].yaml")

    result = runner.invoke(app, ["validate", case.given])

    code, (first,) = case.want
    assert result.exit_code == code, f"{case.reason}: {result.output}"
    assert result.stdout.splitlines()[0] == first, case.reason
    assert result.stdout.splitlines()[1].startswith(f"  {case.given}"), case.reason


def test_an_environment_name_that_looks_like_markup(runner: CliRunner, write_request: WriteRequest) -> None:
    write_request(VALID, "orders.yaml")

    result = runner.invoke(app, ["validate", "orders.yaml", "--env", "[/x]"])

    assert result.exit_code == 2
    assert "Error: environment '[/x]' is not defined" in result.stderr
    assert "Traceback" not in result.output


def test_a_valid_request_in_an_environment(runner: CliRunner, write_request: WriteRequest) -> None:
    write_request(VALID.replace("cloud: aws", "cloud: gcp"), "orders.yaml")

    ok = runner.invoke(app, ["validate", "orders.yaml", "--env", "dev"])
    not_there = runner.invoke(app, ["validate", "orders.yaml", "--env", "preview"])

    assert ok.exit_code == 0, ok.output
    assert not_there.exit_code == 1
    assert "spec.cloud: environment 'preview' has no 'gcp' section" in not_there.stdout
