"""`breakGlass` in mesh.yaml: exact principals only, validated like any field, with the file and field named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


@pytest.mark.parametrize(
    ("entry", "ok"),
    [
        ("arn:aws:iam::{account}:role/data-break-glass", True),
        ("arn:aws:iam::111122223333:user/oncall", True),
        ("arn:aws:iam::{account}:role/*", False),
        ("arn:aws:iam::111122223333:root", False),
        ("*", False),
    ],
)
def test_break_glass_takes_exact_role_or_user_arns(tmp_path: Path, entry: str, ok: bool) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    platform_file = tmp_path / "examples" / "mesh.yaml"
    platform = yaml.safe_load(platform_file.read_text())
    platform["breakGlass"] = {"aws": [entry]}
    platform_file.write_text(yaml.safe_dump(platform))
    result = runner.invoke(app, ["validate", str(tmp_path / "examples" / "products" / "sales-orders.yaml")])
    assert (result.exit_code == 0) is ok, result.output
    if not ok:
        assert result.exit_code == 1
        assert "mesh.yaml" in result.output and "breakGlass.aws[0]" in result.output
