"""examples/ci: the pull-request workflow parses and only calls mesh commands that exist."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from cli.app import app

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "ci" / "mesh-pull-request.yml"


def test_workflow_covers_review_up_down_and_gc() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert set(workflow["jobs"]) == {"review", "preview-up", "preview-down", "gc"}
    scripts = "\n".join(step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"])
    used = set(re.findall(r"\bmesh (review|plan|env up|env down|env gc)\b", scripts))
    assert used == {"review", "plan", "env up", "env down", "env gc"}
    for command in used:
        result = CliRunner().invoke(app, [*command.split(), "--help"])
        assert result.exit_code == 0, command
