"""examples/ci: the platform repository's workflow runs `mesh review --all` safely."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from cli.app import app

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "ci" / "mesh-platform-review.yml"


def _steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_scripts_take_event_values_only_through_env() -> None:
    for step in _steps():
        script = step.get("run", "")
        assert "${{" not in script, f"an expression inside run: in step {step.get('name', script)!r}"


def test_it_reviews_every_request_against_the_base_branch() -> None:
    scripts = "\n".join(step.get("run", "") for step in _steps())
    calls = re.findall(r"^\s*mesh (review [^>\n]*)", scripts, re.MULTILINE)
    assert calls and all("--all" in call and '--base "origin/${BASE_REF}"' in call for call in calls)
    review = next(step for step in _steps() if step.get("id") == "review")
    assert review["env"]["BASE_REF"] == "${{ github.base_ref }}"
    help_text = CliRunner().invoke(app, ["review", "--help"], terminal_width=200).output
    for option in ("--all", "--base", "--output", "--base-plans", "--jobs"):
        assert option in help_text, option


def test_a_blocked_review_fails_the_check() -> None:
    last = _steps()[-1]
    assert last["if"] == "steps.review.outputs.status != '0'"
    assert "exit 1" in last["run"]
