"""`mesh init`: interactive or `--no-input`, it writes a request that validates as written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.app import app
from infra.validation import load_platform, load_request


@dataclass
class Case:
    reason: str
    given: Any
    want: Any


@pytest.fixture
def runner(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner in a folder holding examples/mesh.yaml (domains finance, marketing, sales, support)."""
    monkeypatch.chdir(workdir)
    return CliRunner()


def _valid(path: Path, platform: Path | None = Path("mesh.yaml")) -> Any:
    """The request in `path`, validated against `platform` (raises with every problem when invalid)."""
    return load_request(path, load_platform(platform) if platform else None).request


NO_INPUT = [
    "init",
    "--no-input",
    "--domain",
    "sales",
    "--name",
    "orders",
    "--description",
    "One row per order line.",
]


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "defaults for everything optional",
            [],
            {
                "file": "sales-orders.yaml",
                "owner": "sales-data@example.com",
                "cloud": "aws",
                "classification": "internal",
                "port": "records",
                "types": ["string", "timestamp", "date"],
            },
        ),
        Case(
            "a GCP product gets BigQuery types",
            ["--cloud", "gcp", "--classification", "confidential", "--port", "order_lines"],
            {
                "file": "sales-orders.yaml",
                "owner": "sales-data@example.com",
                "cloud": "gcp",
                "classification": "confidential",
                "port": "order_lines",
                "types": ["STRING", "TIMESTAMP", "DATE"],
            },
        ),
        Case(
            "an owner and a file of one's own",
            ["--owner", "orders-team@example.com", "--file", "products/sales/orders.yaml"],
            {
                "file": "products/sales/orders.yaml",
                "owner": "orders-team@example.com",
                "cloud": "aws",
                "classification": "internal",
                "port": "records",
                "types": ["string", "timestamp", "date"],
            },
        ),
    ],
    ids=lambda c: c.reason,
)
def test_no_input_writes_a_valid_request(runner: CliRunner, case: Case) -> None:
    result = runner.invoke(app, [*NO_INPUT, *case.given])

    want = case.want
    assert result.exit_code == 0, f"{case.reason}: {result.output}"
    assert result.stdout.splitlines() == [
        f"✓ wrote {want['file']}",
        f"Next: edit the schema, then run: mesh validate {want['file']} && mesh plan {want['file']}",
    ], case.reason
    request = _valid(Path(want["file"]))
    port = request.spec.output_ports[0]
    got = (request.metadata.owner, str(request.spec.cloud), str(request.spec.classification), port.name)
    assert got == (want["owner"], want["cloud"], want["classification"], want["port"]), case.reason
    assert [c.type for c in port.columns] == want["types"], case.reason
    assert (request.metadata.domain, request.metadata.name) == ("sales", "orders")
    assert request.metadata.description == "One row per order line."


def test_the_written_file_passes_mesh_validate(runner: CliRunner) -> None:
    runner.invoke(app, NO_INPUT)

    result = runner.invoke(app, ["validate", "sales-orders.yaml"])

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "case",
    [
        Case("quotes and backslashes", 'Orders "as booked" \\ per line', None),
        Case("text that looks like markup", "Orders [bold]per line[/] and [/x]", None),
        Case("a newline and a control character", "Two lines\nand a bell \a", None),
        Case("YAML punctuation", "key: value # not a comment, - not a list", None),
        Case("non-ASCII text", "Commandes confirmées — une ligne par article ✓", None),
    ],
    ids=lambda c: c.reason,
)
def test_descriptions_are_written_exactly(runner: CliRunner, case: Case) -> None:
    args = [*NO_INPUT[:-1], case.given]

    result = runner.invoke(app, args)

    assert result.exit_code == 0, f"{case.reason}: {result.output}"
    assert _valid(Path("sales-orders.yaml")).metadata.description == case.given, case.reason


def test_an_owner_yaml_would_misread_is_quoted(runner: CliRunner) -> None:
    result = runner.invoke(app, [*NO_INPUT, "--owner", "%ops@example.com"])

    assert result.exit_code == 0, result.output
    assert _valid(Path("sales-orders.yaml")).metadata.owner == "%ops@example.com"


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "a domain that is not registered",
            ["--domain", "crm"],
            "Error: --domain: 'crm' is not one of: finance, marketing, sales, support",
        ),
        Case(
            "a product name in capitals",
            ["--name", "Orders"],
            "Error: --name: 'Orders' is not valid for name: use lowercase letters, digits and single hyphens, starting with a letter",
        ),
        Case(
            "a product name too long",
            ["--name", "o" * 41],
            "Error: --name: a product name has 2 to 40 characters",
        ),
        Case(
            "an owner that is not an email",
            ["--owner", "sales"],
            "Error: --owner: 'sales' is not valid for owner: use an email address such as team@example.com",
        ),
        Case(
            "a port name with a hyphen",
            ["--port", "order-lines"],
            "Error: --port: 'order-lines' is not valid for port: use lowercase letters, digits and underscores, starting with a letter",
        ),
        Case(
            "a blank description",
            ["--description", "  "],
            "Error: --description: say in one sentence what the product holds",
        ),
        Case(
            "a description too long",
            ["--description", "x" * 1001],
            "Error: --description: a description has at most 1000 characters (this one has 1001)",
        ),
        Case("an unknown cloud", ["--cloud", "azure"], "Invalid value for '--cloud'"),
    ],
    ids=lambda c: c.reason,
)
def test_bad_answers_are_usage_errors(runner: CliRunner, case: Case) -> None:
    result = runner.invoke(app, [*NO_INPUT, *case.given])

    assert result.exit_code == 2, f"{case.reason}: {result.output}"
    assert case.want in result.stderr, f"{case.reason}: {result.stderr}"
    assert not Path("sales-orders.yaml").exists(), case.reason
    assert "Traceback" not in result.output


def test_no_input_needs_the_answers_without_defaults(runner: CliRunner) -> None:
    result = runner.invoke(app, ["init", "--no-input", "--domain", "sales", "--description", "d"])

    assert result.exit_code == 2
    assert result.stderr == "Error: --name is required with --no-input\nHint: Pass --name VALUE.\n"


def test_an_existing_file_is_kept_unless_forced(runner: CliRunner) -> None:
    Path("sales-orders.yaml").write_text("# mine\n", encoding="utf-8")

    refused = runner.invoke(app, NO_INPUT)
    forced = runner.invoke(app, [*NO_INPUT, "--force"])

    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: sales-orders.yaml already exists\nHint: Choose another --file, or pass --force to overwrite it.\n"
    )
    assert forced.exit_code == 0, forced.output
    assert _valid(Path("sales-orders.yaml")).metadata.name == "orders"


def test_interactive_answers_are_asked_again_until_valid(runner: CliRunner) -> None:
    answers = [
        "crm",  # domain: not registered
        "sales",
        "Orders",  # name: capitals
        "orders",
        "",  # owner: the domain's first owner
        "",  # description: blank, so the prompt simply asks again
        "Confirmed orders [beta].",
        "azure",  # cloud: not a choice
        "gcp",
        "",  # classification: internal
        "order_lines",
    ]

    result = runner.invoke(app, ["init"], input="\n".join(answers) + "\n")

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "  choose one of: finance, marketing, sales, support",
        "  'Orders' is not valid for name: use lowercase letters, digits and single hyphens, starting with a letter",
        "  choose one of: aws, gcp",
    ]
    request = _valid(Path("sales-orders.yaml"))
    assert (request.metadata.owner, request.metadata.description) == (
        "sales-data@example.com",
        "Confirmed orders [beta].",
    )
    assert (str(request.spec.cloud), str(request.spec.classification)) == ("gcp", "internal")
    assert request.spec.output_ports[0].name == "order_lines"


def test_interactive_prompts_show_choices_and_defaults(runner: CliRunner) -> None:
    answers = ["sales", "orders", "", "Orders.", "", "", ""]

    result = runner.invoke(app, ["init"], input="\n".join(answers) + "\n")

    assert result.exit_code == 0, result.output
    for prompt in [
        "Domain (finance/marketing/sales/support):",
        "Owner email [sales-data@example.com]:",
        "Cloud (aws/gcp) [aws]:",
        "Classification (public/internal/confidential/restricted) [internal]:",
        "First output port (table) name [records]:",
    ]:
        assert prompt in result.stdout, prompt


def test_interactive_end_of_input_aborts_without_a_file(runner: CliRunner) -> None:
    result = runner.invoke(app, ["init"], input="sales\n")

    assert result.exit_code == 1
    assert not Path("sales-orders.yaml").exists()


def test_a_single_domain_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("mesh.yaml").write_text(
        "apiVersion: mesh/v1\nkind: Platform\norganization: acme\n"
        "domains:\n  crm: {owners: [crm@example.com], costCenter: CC-9}\n"
        "environments:\n  dev:\n    aws: {account: '111122223333', region: eu-west-1}\n",
        encoding="utf-8",
    )

    result = CliRunner().invoke(app, ["init", "--no-input", "--name", "customers", "--description", "d"])

    assert result.exit_code == 0, result.output
    request = _valid(Path("crm-customers.yaml"))
    assert (request.metadata.domain, request.metadata.owner) == ("crm", "crm@example.com")


def test_without_a_platform_config_it_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(app, [*NO_INPUT, "--owner", "sales@example.com", "--domain", "anything"])

    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "warning: no mesh.yaml found, so the domain was not checked against a platform config.\n"
    )
    assert _valid(Path("anything-orders.yaml"), platform=None).metadata.domain == "anything"


def test_an_explicit_platform_config(
    tmp_path: Path, platform_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(app, [*NO_INPUT, "--platform", str(platform_path)])

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert (
        _valid(Path("sales-orders.yaml"), platform=platform_path).metadata.owner == "sales-data@example.com"
    )


FIRST_RUN = [
    "init",
    "--no-input",
    "--organization",
    "acme",
    "--domain",
    "sales",
    "--cost-center",
    "CC-1001",
    "--owner",
    "sales-data@example.com",
    "--name",
    "orders",
    "--description",
    "One row per order line.",
]


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "AWS",
            ["--account", "111122223333"],
            {"cloud": "aws", "target": "111122223333", "region": "us-east-1"},
        ),
        Case(
            "GCP in a chosen region and environment",
            [
                "--cloud",
                "gcp",
                "--project",
                "acme-data-dev",
                "--region",
                "europe-west1",
                "--environment",
                "sandbox",
            ],
            {"cloud": "gcp", "target": "acme-data-dev", "region": "europe-west1"},
        ),
    ],
    ids=lambda c: c.reason,
)
def test_from_an_empty_folder_init_then_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    monkeypatch.chdir(tmp_path)

    written = CliRunner().invoke(app, [*FIRST_RUN, *case.given])

    assert written.exit_code == 0, written.output
    platform = load_platform(Path("mesh.yaml")).config
    assert platform.organization == "acme"
    assert platform.domains["sales"].cost_center == "CC-1001"
    assert platform.domains["sales"].owners == ["sales-data@example.com"]
    (env_name, env), *rest = platform.environments.items()
    assert not rest
    target = env.aws if case.want["cloud"] == "aws" else env.gcp
    assert target is not None
    assert (getattr(target, "account", None) or getattr(target, "project", None)) == case.want["target"]
    assert target.region == case.want["region"]
    assert "# required: tagged on every resource" in Path("mesh.yaml").read_text()
    assert _valid(Path("sales-orders.yaml")).spec.cloud == case.want["cloud"]

    planned = CliRunner().invoke(app, ["plan", "sales-orders.yaml", "-o", "json"])

    assert planned.exit_code == 0, planned.output
    assert planned.stdout.startswith("{")
    assert f'"environment": "{env_name}"' in planned.stdout


def test_the_commented_principals_validate_once_uncommented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(app, [*FIRST_RUN, "--account", "111122223333"]).exit_code == 0
    text = Path("mesh.yaml").read_text()
    Path("mesh.yaml").write_text(
        text.replace("    # principals:", "    principals:").replace("    #   aws:", "      aws:")
    )

    domain = load_platform(Path("mesh.yaml")).config.domains["sales"]

    assert domain.principals.aws == ["arn:aws:iam::{account}:role/sales-engineers"]


@pytest.mark.parametrize(
    "case",
    [
        Case("a short account id", ["--account", "1234"], "--account: '1234' is not valid for account"),
        Case("no account for AWS", [], "--account is required with --no-input"),
        Case(
            "a hyphen in the organisation",
            ["--account", "111122223333", "--organization", "ac-me"],
            "--organization",
        ),
        Case(
            "an AWS region that is not one", ["--account", "111122223333", "--region", "europe"], "--region"
        ),
    ],
    ids=lambda c: c.reason,
)
def test_a_bad_platform_answer_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(app, [*FIRST_RUN, *case.given])

    assert result.exit_code == 2, result.output
    assert case.want in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_interactive_first_run_offers_a_platform_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    answers = [
        "y",
        "acme",
        "sales",
        "sales@example.com",
        "CC-7",
        "",
        "",
        "111122223333",
        "",
        "orders",
        "Orders.",
        "",
        "",
    ]

    result = CliRunner().invoke(app, ["init"], input="\n".join(answers) + "\n")

    assert result.exit_code == 0, result.output
    assert "No mesh.yaml in" in result.stderr
    assert load_platform(Path("mesh.yaml")).config.domains["sales"].cost_center == "CC-7"
    assert _valid(Path("sales-orders.yaml")).metadata.owner == "sales@example.com"


def test_declining_the_platform_config_writes_only_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    answers = ["n", "sales", "orders", "sales@example.com", "Orders.", "", "", ""]

    result = CliRunner().invoke(app, ["init"], input="\n".join(answers) + "\n")

    assert result.exit_code == 0, result.output
    assert not Path("mesh.yaml").exists()
    assert _valid(Path("sales-orders.yaml"), platform=None).metadata.domain == "sales"
