"""examples/ci: the pull-request workflow parses and only calls mesh commands that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


# --- safe to copy ------------------------------------------------------------------------

# Contexts whose values a pull request author controls, or that carry such values along.
UNTRUSTED = re.compile(
    r"\b(github\.event|github\.head_ref|github\.base_ref|steps\.|needs\.|inputs\.|env\.|matrix\.)"
)
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def injected_expressions(workflow: dict[str, Any]) -> list[str]:
    """Every `${{ … }}` inside a `run:` script that comes from the event, step or job outputs.

    GitHub pastes such an expression into the script before the shell reads it, so a
    value like `x$(cmd).yaml` becomes a command.
    """
    found = []
    for job_name, job in (workflow.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or []):
            for expression in EXPRESSION.findall(str(step.get("run", ""))):
                if UNTRUSTED.search(expression):
                    found.append(f"jobs.{job_name}.steps[{index}].run: ${{{{{expression}}}}}")
    return found


def test_no_untrusted_expression_is_pasted_into_a_script() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())

    assert injected_expressions(workflow) == []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"no expression at all in a script: {step}"


def test_the_check_catches_the_injection_it_guards_against() -> None:
    unsafe = {
        "jobs": {
            "review": {
                "steps": [
                    {"run": "for f in ${{ steps.changed.outputs.requests }}; do mesh review $f; done"},
                    {"run": 'gh pr comment "${{ github.event.pull_request.number }}"'},
                    {"run": "mesh env up ${{needs.review.outputs.requests}}"},
                    {"run": "echo ${{ github.head_ref }}"},
                    {"env": {"FILES": "${{ steps.changed.outputs.requests }}"}, "run": 'echo "$FILES"'},
                ]
            }
        }
    }

    assert [line.split(":")[0] for line in injected_expressions(unsafe)] == [
        "jobs.review.steps[0].run",
        "jobs.review.steps[1].run",
        "jobs.review.steps[2].run",
        "jobs.review.steps[3].run",
    ]


def test_mesh_is_installed_from_its_repository_at_a_pinned_ref() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    installs = [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "pip install" in step.get("run", "")
    ]

    assert len(installs) == len(workflow["jobs"]), "every job installs mesh"
    assert all(run == 'pip install "mesh-platform @ git+${MESH_REPOSITORY}@${MESH_REF}"' for run in installs)
    assert "mesh-platform==" not in WORKFLOW.read_text(), "mesh-platform is not published on PyPI"
    assert workflow["env"]["MESH_REF"], "a tag or commit, never a moving branch of the pull request"


def test_failures_of_mesh_are_never_hidden() -> None:
    scripts = [
        step.get("run", "")
        for job in yaml.safe_load(WORKFLOW.read_text())["jobs"].values()
        for step in job["steps"]
    ]

    for script in scripts:
        for line in script.splitlines():
            if re.search(r"\bmesh env (down|up|gc)\b", line):
                assert "||" not in line, f"a failure is swallowed: {line.strip()}"


def test_the_preview_environment_keeps_state_where_ci_can_find_it_again() -> None:
    platform = yaml.safe_load((WORKFLOW.parents[1] / "mesh.yaml").read_text())
    previews = {name: env for name, env in platform["environments"].items() if env.get("preview")}

    assert previews, "the example platform has a preview environment"
    for name, env in previews.items():
        assert env["backend"].startswith(("s3://", "gs://")), f"{name}: CI machines keep no local state"


def test_the_passphrase_reaches_only_the_jobs_that_touch_state() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())

    assert "PULUMI_CONFIG_PASSPHRASE" not in workflow.get("env", {})
    assert "PULUMI_CONFIG_PASSPHRASE" not in (workflow["jobs"]["review"].get("env") or {})
    for job in ("preview-up", "preview-down", "gc"):
        assert "PULUMI_CONFIG_PASSPHRASE" in workflow["jobs"][job]["env"], job
