"""Guardrail rules live beside their metadata in each cloud's home and are discovered, not listed."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

from infra.aws import guardrails as aws_guardrails
from infra.clouds import resource_type
from infra.gcp import guardrails as gcp_guardrails
from infra.guardrails import RULES, Severity, discover

ROOT = Path(__file__).resolve().parents[2]


def test_every_rule_examines_types_that_have_descriptors() -> None:
    for guardrail in RULES:
        assert guardrail.examines, guardrail.id
        missing = [t for t in guardrail.examines if resource_type(t) is None]
        assert missing == [], guardrail.id


def test_rules_are_reported_by_cloud_then_severity() -> None:
    clouds = ["gcp" if r.examines[0].startswith("gcp:") else "aws" for r in RULES]
    assert clouds == sorted(clouds)
    for cloud in ("aws", "gcp"):
        severities = [r.severity for r, c in zip(RULES, clouds, strict=True) if c == cloud]
        assert severities == sorted(severities, key=list(Severity).index)


def _ids_written_in(folder: Path) -> list[str]:
    """The ids of the `Guardrail(id=...)` calls written in a rules package's modules."""
    ids = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Guardrail":
                ids += [
                    k.value.value
                    for k in node.keywords
                    if k.arg == "id" and isinstance(k.value, ast.Constant)
                ]
    return ids


def test_the_rule_table_is_what_the_modules_define() -> None:
    assert (*discover(aws_guardrails), *discover(gcp_guardrails)) == RULES
    written = _ids_written_in(ROOT / "infra" / "aws" / "guardrails") + _ids_written_in(
        ROOT / "infra" / "gcp" / "guardrails"
    )
    assert len(written) >= 26
    assert sorted(r.id for r in RULES) == sorted(written)


def test_a_module_left_out_of_families_is_refused(tmp_path: Path) -> None:
    (tmp_path / "s3.py").write_text("")
    (tmp_path / "forgotten.py").write_text("")
    package = types.ModuleType("rules")
    package.__path__ = [str(tmp_path)]  # type: ignore[attr-defined]
    package.FAMILIES = ("s3",)  # type: ignore[attr-defined]

    with pytest.raises(ValueError, match="add forgotten to FAMILIES"):
        discover(package)
