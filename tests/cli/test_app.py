"""The `mesh` command itself: help, version, the one error handler, and no cloud SDK on fast commands."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.app import app
from infra.model.errors import MeshError, UsageError

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pulumi", "pulumi_aws", "pulumi_gcp", "boto3", "botocore")


@dataclass
class Case:
    reason: str
    given: Any
    want: Any


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])

    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for line in [
        "Self-serve data products.",
        "validate Check data product requests",
        "init Write a new data product request",
        "schema Print the JSON Schema",
        "plan Show every resource",
        "--debug",
        "--version",
    ]:
        assert line in text, line


def test_no_command_shows_the_help() -> None:
    result = CliRunner().invoke(app, [])

    assert result.exit_code == 2
    assert "Usage: mesh [OPTIONS] COMMAND [ARGS]..." in result.output


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "validate",
            ["validate", "--help"],
            [
                "Exit code 0 when all files are valid, 1 when any is not, 2 on a usage error.",
                "--platform",
                "--output",
            ],
        ),
        Case("init", ["init", "--help"], ["--no-input", "--domain", "--force"]),
        Case("schema", ["schema", "-h"], ["--kind"]),
    ],
    ids=lambda c: c.reason,
)
def test_command_help(case: Case) -> None:
    result = CliRunner().invoke(app, case.given)

    assert result.exit_code == 0, case.reason
    text = " ".join(result.stdout.split())
    for fragment in case.want:
        assert fragment in text, f"{case.reason}: {fragment}"


def test_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout == f"mesh {version('mesh-platform')}\n"


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["provison"])

    assert result.exit_code == 2
    assert "No such command 'provison'" in result.stderr


def _failing_validate(error: Exception) -> object:
    def fail(*_: object, **__: object) -> object:
        raise error

    return fail


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "a MeshError: its message and hint",
            MeshError("the request is odd", hint="Look at it."),
            (1, "Error: the request is odd\nHint: Look at it.\n"),
        ),
        Case("a UsageError exits 2", UsageError("wrong flag"), (2, "Error: wrong flag\n")),
        Case(
            "markup in a message is printed as typed",
            MeshError("[/] is not a tag", hint="[bold]neither[/bold]"),
            (1, "Error: [/] is not a tag\nHint: [bold]neither[/bold]\n"),
        ),
        Case(
            "an unexpected error: short, and where to look",
            RuntimeError("boom [/]"),
            (
                1,
                "Error: unexpected RuntimeError: boom [/]\nHint: run again with --debug for the traceback, and report it.\n",
            ),
        ),
    ],
    ids=lambda c: c.reason,
)
def test_the_error_handler(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: Case) -> None:
    monkeypatch.setattr("infra.validation.validate_files", _failing_validate(case.given))

    result = CliRunner().invoke(app, ["validate", str(tmp_path / "x.yaml")])

    code, stderr = case.want
    assert result.exit_code == code, case.reason
    assert result.stderr == stderr, case.reason
    assert "Traceback" not in result.output, case.reason


def test_debug_lets_the_traceback_through(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("infra.validation.validate_files", _failing_validate(RuntimeError("boom")))

    result = CliRunner().invoke(app, ["--debug", "validate", str(tmp_path / "x.yaml")])

    assert isinstance(result.exception, RuntimeError)
    assert result.exit_code == 1


_PROBE = """
import json, sys
args, heavy_modules = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["mesh", *args]
from cli.app import main
try:
    main()
except SystemExit as e:
    code = e.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & heavy_modules)
print("\\nPROBE " + json.dumps({"exit_code": code, "heavy": heavy}))
"""


@pytest.mark.parametrize(
    "case",
    [
        Case("mesh --help", ["--help"], 0),
        Case(
            "mesh validate",
            ["validate", "examples/products/sales-orders.yaml", "examples/products/marketing-campaigns.yaml"],
            0,
        ),
        Case(
            "mesh validate, invalid",
            ["validate", "examples/mesh.yaml", "--platform", "examples/mesh.yaml"],
            1,
        ),
        Case(
            "mesh init",
            [
                "init",
                "--no-input",
                "--domain",
                "sales",
                "--name",
                "orders",
                "--description",
                "d",
                "--platform",
                "examples/mesh.yaml",
                "--file",
                "{tmp}/orders.yaml",
            ],
            0,
        ),
        Case("mesh schema", ["schema"], 0),
    ],
    ids=lambda c: c.reason,
)
def test_fast_commands_do_not_import_cloud_sdks(tmp_path: Path, case: Case) -> None:
    """`import pulumi_aws` alone costs over a second; these commands must not pay it."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.given]

    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(HEAVY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert "\nPROBE " in done.stdout, f"{case.reason}: the probe failed: {done.stderr}"
    probe = json.loads(done.stdout.rsplit("\nPROBE ", 1)[-1])
    assert probe == {"exit_code": case.want, "heavy": []}, f"{case.reason}: {done.stderr}"


def test_each_command_is_listed_with_the_first_line_of_its_own_help() -> None:
    """`mesh --help` lists commands from `cli.commands` without loading them: the lines must not drift."""
    import inspect

    from typer.main import get_command

    from cli.commands import COMMANDS

    group: Any = get_command(app)
    for entry in COMMANDS:
        command = group.get_command(None, entry.name)
        first = " ".join(inspect.cleandoc(command.help or "").split("\n\n")[0].split())
        assert first.replace("`", "") == entry.summary, entry.name  # the list shows no markdown
        assert command.name == entry.name


_LOADED = """
import json, sys
sys.argv = ["mesh", *json.loads(sys.argv[1])]
from cli.app import main
try:
    main()
except SystemExit:
    pass
print("\\nLOADED " + json.dumps(sorted(m for m in sys.modules if m.startswith("cli."))))
"""


@pytest.mark.parametrize(
    "case",
    [
        Case("mesh --help loads no command", ["--help"], set()),
        Case(
            "mesh validate loads validate only",
            ["validate", "examples/products/sales-orders.yaml"],
            {"cli.validate"},
        ),
        Case("mesh catalog --help loads the catalog group", ["catalog", "--help"], {"cli.catalog"}),
    ],
    ids=lambda c: c.reason,
)
def test_a_command_module_is_imported_only_when_it_runs(case: Case) -> None:
    from cli.commands import COMMANDS

    done = subprocess.run(
        [sys.executable, "-c", _LOADED, json.dumps(case.given)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    loaded = set(json.loads(done.stdout.rsplit("\nLOADED ", 1)[-1]))
    assert loaded & {entry.module for entry in COMMANDS} == case.want, done.stderr
