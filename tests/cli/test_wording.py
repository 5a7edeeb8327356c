"""Help and error wording a newcomer reads: no Python type labels, no eaten placeholders,
errors that name what is wrong and a hint that fits the situation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from infra import pulumi_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()
COMMANDS = [
    ["init"], ["validate"], ["plan"], ["review"], ["prove"], ["provision"], ["outputs"], ["status"],
    ["doctor"], ["verify"], ["emulate"], ["destroy"], ["env", "ls"], ["env", "up"], ["catalog", "search"],
    ["contract", "export"], ["contract", "import"], ["platform", "up"],
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_speaks_to_people(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0, result.output
    for noise in ("Default: -.yaml", "{file}", "<bool>", "<list[", "<path>", "<str>", "raised —,"):
        assert noise not in result.output, f"mesh {' '.join(command)} --help shows {noise!r}"


def test_init_help_names_the_default_file() -> None:
    result = runner.invoke(app, ["init", "--help"], env={"COLUMNS": "200"})
    assert "Default: DOMAIN-NAME.yaml." in result.output


def test_review_with_an_unknown_base_ref_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "mesh.yaml").write_text((EXAMPLES / "mesh.yaml").read_text())
    (tmp_path / "orders.yaml").write_text((EXAMPLES / "products" / "finance-payroll.yaml").read_text())
    git = ["git", "-c", "user.name=mesh", "-c", "user.email=mesh@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tmp_path, check=True)

    result = runner.invoke(
        app, ["review", str(tmp_path / "orders.yaml"), "--base", "origin/main", "-o", "json"]
    )

    assert result.exit_code == 2, result.output
    assert "--base origin/main: no such git ref" in result.stderr
    assert "does not exist at" not in result.stderr


@pytest.mark.parametrize("command", [["status"], ["env", "ls"]], ids=" ".join)
def test_engine_commands_without_pulumi_do_not_talk_of_provisioning(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("MESH_HOME", str(tmp_path / "mesh-home"))
    monkeypatch.setattr(pulumi_cli, "network_reachable", lambda *a, **k: False)

    result = runner.invoke(app, [*command, "--platform", str(EXAMPLES / "mesh.yaml")])

    assert result.exit_code == 1, result.output
    assert "The Pulumi CLI is needed for this command" in result.stderr
    assert "to provision" not in result.stderr


def test_option_choices_match_the_request_model() -> None:
    from cli.options import ClassificationChoice, CloudChoice
    from infra.model.request import Classification, Cloud

    assert [c.value for c in CloudChoice] == [c.value for c in Cloud]
    assert [c.value for c in ClassificationChoice] == [c.value for c in Classification]


def test_help_loads_no_request_models() -> None:
    probe = "import sys; from cli.app import app; print('pydantic' in sys.modules, 'pulumi' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(EXAMPLES.parent)},
    )
    assert done.stdout.split() == ["False", "False"], "mesh --help must not import pydantic or pulumi"
