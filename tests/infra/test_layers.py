"""Imports flow one way: cli → services → stacks → components → per-cloud homes → model.

Every import counts, function-local ones included: a lazy import still ties the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PER_CLOUD = ("infra.aws", "infra.gcp", "infra.clouds", "infra.rule", "infra.pulumi_sdk")
FIRST_PARTY = ("cli", "infra", "stacks", "components")


def _layer(module: str) -> int:
    """0 model, 1 per-cloud homes, 2 components, 3 stacks, 4 services, 5 cli."""
    if module.startswith("infra.model"):
        return 0
    if module.startswith(PER_CLOUD):
        return 1
    if module.startswith("components"):
        return 2
    if module.startswith("stacks"):
        return 3
    if module.startswith("infra"):
        return 4
    return 5


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            # `from infra import names` imports the module infra.names
            found += [(node.lineno, n) for n in names if n.split(".")[0] in FIRST_PARTY]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] in FIRST_PARTY]
    return found


def _sources() -> list[Path]:
    return sorted(p for folder in FIRST_PARTY for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_runs_up_a_layer(path: Path) -> None:
    here = _module_name(path)
    upward = []
    for line, imported in _imports(path):
        if imported in ("infra", "infra.model") or (
            not (ROOT / imported.replace(".", "/")).with_suffix(".py").exists()
            and not (ROOT / imported.replace(".", "/")).is_dir()
        ):
            continue  # a package itself, or a name imported from a module
        if _layer(imported) > _layer(here):
            upward.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert upward == []
