"""The plan cache's key changes with every input a plan depends on, and only with those."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra import mesh_review
from infra.model import platform
from infra.plan_cache import PlanCache, code_digest, plan_key

REQUEST = "apiVersion: mesh/v1\nkind: DataProduct\nspec:\n  compute:\n    transform: {schedule: '0 2 * * *', entrypoint: jobs/job.py}\n"


@dataclass
class Case:
    reason: str
    change: Callable[[Path], dict[str, str]]  # edits files, returns plan_key overrides
    differs: bool


def _write(path: Path, text: str) -> dict[str, str]:
    path.write_text(text)
    return {}


def _delete(path: Path) -> dict[str, str]:
    path.unlink()
    return {}


def _layout(root: Path) -> Path:
    (root / "products" / "jobs").mkdir(parents=True)
    (root / "mesh.yaml").write_text("kind: Platform\norganization: acme\n")
    (root / "products" / "jobs" / "job.py").write_text("print('v1')\n")
    request = root / "products" / "orders.yaml"
    request.write_text(REQUEST)
    return request


def _key(root: Path, *, environment: str = "dev", code: str = "c1", sdks: str = "s1") -> str:
    return plan_key(
        root / "products" / "orders.yaml", root / "mesh.yaml", environment, code=code, sdks=sdks
    ).digest


CASES = [
    Case("nothing changed", lambda root: {}, False),
    Case(
        "the request's bytes",
        lambda root: _write(root / "products" / "orders.yaml", REQUEST + "# a comment\n"),
        True,
    ),
    Case(
        "the platform config's bytes",
        lambda root: _write(root / "mesh.yaml", "kind: Platform\norganization: other\n"),
        True,
    ),
    Case("the environment", lambda root: {"environment": "prod"}, True),
    Case("mesh's code", lambda root: {"code": "c2"}, True),
    Case("the Pulumi SDK versions", lambda root: {"sdks": "s2"}, True),
    Case(
        "the transform script the request names",
        lambda root: _write(root / "products" / "jobs" / "job.py", "print('v2')\n"),
        True,
    ),
    Case(
        "the transform script is deleted",
        lambda root: _delete(root / "products" / "jobs" / "job.py"),
        True,
    ),
    Case(
        "a file the request does not name",
        lambda root: _write(root / "products" / "jobs" / "other.py", "x = 1\n"),
        False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_key_follows_its_inputs(case: Case, tmp_path: Path) -> None:
    _layout(tmp_path)
    before = _key(tmp_path)
    overrides = case.change(tmp_path)
    after = _key(tmp_path, **overrides)
    assert (before != after) is case.differs, case.reason


def test_code_digest_reads_source_only_and_not_where_it_lives(tmp_path: Path) -> None:
    for folder in ("components", "stacks", "infra"):
        (tmp_path / "a" / folder).mkdir(parents=True)
        (tmp_path / "a" / folder / "mod.py").write_text(f"NAME = '{folder}'\n")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert code_digest(tmp_path / "a") == code_digest(tmp_path / "b")
    (tmp_path / "b" / "infra" / "__pycache__").mkdir()
    (tmp_path / "b" / "infra" / "__pycache__" / "mod.cpython-311.py").write_text("stale\n")
    (tmp_path / "b" / "README.md").write_text("not code\n")
    assert code_digest(tmp_path / "a") == code_digest(tmp_path / "b"), "bytecode and docs are not code"
    (tmp_path / "b" / "components" / "mod.py").write_text("NAME = 'changed'\n")
    assert code_digest(tmp_path / "a") != code_digest(tmp_path / "b")


def test_entries_round_trip_and_bad_entries_miss(tmp_path: Path) -> None:
    cache = PlanCache(tmp_path / "plans")
    key = "ab" + "0" * 62
    assert cache.get(key) is None
    cache.put(key, {"planDigest": "d"}, '{"resources":[],"stack":"s"}')
    header, plan = cache.get(key) or ({}, str)
    assert header["planDigest"] == "d" and header["key"] == key
    assert json.loads(plan()) == {"stack": "s", "resources": []}
    assert not list((tmp_path / "plans").rglob("*.tmp")), "no temp file left behind"
    entry = tmp_path / "plans" / "ab" / f"{key}.json"
    whole = entry.read_bytes()
    entry.write_bytes(whole[:-5])
    assert cache.get(key) is None, "an entry cut short (its plan shorter than its header says) is a miss"
    entry.write_bytes(whole)
    entry.write_text(entry.read_text().replace(key, "cd" + "0" * 62, 1))
    assert cache.get(key) is None, "an entry stored under another key is a miss"
    entry.write_text("{not json")
    assert cache.get(key) is None, "a torn or corrupt entry is a miss"


def test_platform_file_name_is_the_model_s() -> None:
    assert mesh_review.PLATFORM_FILE == platform.PLATFORM_FILE
