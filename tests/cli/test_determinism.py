"""The same request gives the same bytes: plan, review, prove and contract output across
processes with different hash seeds (set and dict order), as a saved plan or a CI diff needs."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SEEDS = ("1", "2")

pytestmark = pytest.mark.slow  # each case starts two mesh processes


def _mesh(args: list[str], *, cwd: Path, seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", "from cli.app import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr.decode()
    return done.stdout


@pytest.fixture
def changed_repo(tmp_path: Path) -> Path:
    """A git repository with sales/orders committed, then changed: a column retyped, a consumer added."""
    shutil.copy(EXAMPLES / "mesh.yaml", tmp_path / "mesh.yaml")
    shutil.copytree(EXAMPLES / "products" / "jobs", tmp_path / "jobs")
    request = yaml.safe_load((EXAMPLES / "products" / "sales-orders.yaml").read_text())
    (tmp_path / "orders.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
    git = ["git", "-c", "user.name=mesh", "-c", "user.email=mesh@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tmp_path, check=True)
    for column in request["spec"]["outputPorts"][0]["schema"]:
        if column["name"] == "amount":
            column["type"] = "decimal(18,4)"
    request["spec"]["access"]["consumers"].append({"domain": "support", "ports": ["daily_revenue"]})
    (tmp_path / "orders.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "orders.yaml", "-o", "json"],
        ["review", "orders.yaml", "-o", "json"],
        ["prove", "orders.yaml", "-o", "json"],
        ["contract", "export", "orders.yaml", "--env", "prod"],
    ],
    ids=lambda a: " ".join(a[:2]) + " " + a[-1],
)
def test_output_is_byte_identical_across_processes(args: list[str], changed_repo: Path) -> None:
    digests = {hashlib.sha256(_mesh(args, cwd=changed_repo, seed=seed)).hexdigest() for seed in SEEDS}
    assert len(digests) == 1, f"mesh {' '.join(args)} gave {len(digests)} different outputs for one input"


def test_gcp_plan_is_byte_identical_across_processes() -> None:
    args = ["plan", "products/marketing-campaigns.yaml", "-o", "json"]
    outputs = {_mesh(args, cwd=EXAMPLES, seed=seed) for seed in SEEDS}
    assert len(outputs) == 1
