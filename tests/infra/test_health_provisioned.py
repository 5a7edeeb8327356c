"""`mesh health`'s provisioned moment: the engine's stack history first, `mesh emulate`'s record
next, else missing with the reason; the engine is asked through a fake workspace here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from engine_fakes import FakeWorkspaces, Script, command_error

from infra import health
from infra.engine import Engine, UpdateInfo
from infra.health import (
    MESH_EMULATE,
    STACK_HISTORY,
    ProductToCheck,
    engine_history,
    products_to_check,
    provisioned_moment,
)
from infra.timetodata import record_emulated_apply
from infra.validation import load_platform

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
STACK = "sales.orders.dev"
EMULATED = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def update(kind: str, result: str, start: str, end: str | None, version: int) -> UpdateInfo:
    return UpdateInfo(
        kind=kind, result=result, start_time=at(start), end_time=at(end) if end else None, version=version
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the examples where `mesh emulate` applied sales/orders in dev."""
    folder = tmp_path / "repo"
    shutil.copytree(EXAMPLES, folder)
    record_emulated_apply(folder, "dev", STACK, EMULATED)
    return folder


def _orders(repo: Path, engine: object | None) -> ProductToCheck:
    products, _, _ = products_to_check(
        [repo / "products" / "sales-orders.yaml"],
        platform_path=None,
        environment="dev",
        strict=True,
        engine=engine,
    )
    (product,) = products
    assert product.spec.stack == STACK
    return product


def _engine(history: list[UpdateInfo] | None = None, **errors: Exception) -> Engine:
    script = Script(history=history or [], errors=dict(errors))
    return Engine(workspaces=FakeWorkspaces({STACK: script}, existing=(STACK,)))


@dataclass(frozen=True)
class Case:
    reason: str
    history: list[UpdateInfo]
    want: datetime | None
    source: str
    problem: str | None = None
    errors: dict[str, Exception] = field(default_factory=dict)


CASES = [
    Case(
        "the stack history wins over the emulate record",
        [update("update", "succeeded", "2026-01-20T10:00:00Z", "2026-01-20T10:04:00Z", 1)],
        at("2026-01-20T10:04:00Z"), STACK_HISTORY,
    ),
    Case(
        "failed updates are skipped: the first that succeeded counts (history is newest first)",
        [
            update("update", "succeeded", "2026-01-22T09:00:00Z", "2026-01-22T09:05:00Z", 4),
            update("update", "succeeded", "2026-01-21T09:00:00Z", "2026-01-21T09:06:00Z", 3),
            update("preview", "succeeded", "2026-01-20T11:00:00Z", "2026-01-20T11:01:00Z", 2),
            update("update", "failed", "2026-01-20T10:00:00Z", "2026-01-20T10:03:00Z", 1),
        ],
        at("2026-01-21T09:06:00Z"), STACK_HISTORY,
    ),
    Case(
        "a history with only failed updates falls back to the emulate record, and says why",
        [update("update", "failed", "2026-01-20T10:00:00Z", "2026-01-20T10:03:00Z", 1)],
        EMULATED, MESH_EMULATE, f"the stack history of {STACK} has no successful update",
    ),
    Case(
        "an engine that fails is a reason, never a failed check",
        [], EMULATED, MESH_EMULATE,
        f"the stack history of {STACK} could not be read: Reading the history of {STACK} failed",
        {"select": command_error("error: failed to open bucket: NoCredentialProviders: no valid providers")},
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.reason)
def test_provisioned_from_the_stack_history_or_the_emulate_record(case: Case, repo: Path) -> None:
    product = _orders(repo, _engine(case.history, **case.errors))

    assert (product.provisioned, product.provisioned_source) == (case.want, case.source), case.reason
    if case.problem is None:
        assert product.provisioned_problem is None, case.reason
    else:
        assert product.provisioned_problem is not None and case.problem in product.provisioned_problem, (
            case.reason
        )


def test_an_engine_failure_without_an_emulate_record_is_missing_with_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "repo"
    shutil.copytree(EXAMPLES, folder)
    engine = _engine(select=command_error("error: failed to open bucket: NoCredentialProviders"))

    product = _orders(folder, engine)

    assert (product.provisioned, product.provisioned_source) == (None, "")
    assert product.provisioned_problem is not None
    assert "NoCredentialProviders" in product.provisioned_problem


class _StalledEngine:
    """An engine whose history never answers in time; counts how often it was asked."""

    def __init__(self) -> None:
        self.asked = 0

    def history(self, settings: object, stack: str) -> Sequence[UpdateInfo]:
        self.asked += 1
        time.sleep(2)
        return []


def test_a_stalled_engine_is_bounded_and_asked_once(repo: Path) -> None:
    engine = _StalledEngine()
    read = engine_history(load_platform(repo / "mesh.yaml"), "dev", engine=engine, timeout=0.1)
    assert read is not None

    started = time.perf_counter()
    first = provisioned_moment(STACK, history=read, platform_dir=repo, environment="dev")
    second = provisioned_moment("sales.other.dev", history=read, platform_dir=repo, environment="dev")

    assert time.perf_counter() - started < 1.5, "the second read does not wait again"
    assert engine.asked == 1
    assert (first.at, first.source) == (EMULATED, MESH_EMULATE)
    assert first.problem is not None and "did not finish within 0 s" in first.problem
    assert (second.at, second.problem) == (None, first.problem.replace(STACK, "sales.other.dev", 1))


def test_no_pulumi_cli_means_the_emulate_record_and_no_pulumi_import(repo: Path, tmp_path: Path) -> None:
    """Without a CLI (none on PATH, none installed by mesh) the engine is not asked, and nothing of
    Pulumi is imported: the check stays as light as reading the cloud needs."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from infra.health import products_to_check\n"
        f"products, _, _ = products_to_check([Path({str(repo / 'products' / 'sales-orders.yaml')!r})],"
        " platform_path=None, environment='dev', strict=True)\n"
        "p = products[0]\n"
        "print(p.provisioned.isoformat(), p.provisioned_source, p.provisioned_problem)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws')))\n"
    )
    env = dict(os.environ, PATH=str(Path(sys.executable).parent), MESH_HOME=str(tmp_path / "mesh-home"))
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{EMULATED.isoformat()} {MESH_EMULATE} None", "[]"]


def test_a_file_backend_that_holds_nothing_is_not_asked(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from infra import pulumi_cli

    monkeypatch.setattr(
        pulumi_cli, "find_cli", lambda *a, **k: pulumi_cli.CliLocation(Path("/bin/true"), None)
    )
    platform = load_platform(repo / "mesh.yaml")
    assert engine_history(platform, "dev") is None, "dev's file://.mesh/state does not exist"
    assert health.HISTORY_TIMEOUT_S > 0


class _SlowEngine:
    """An engine that answers, slowly."""

    def history(self, settings: object, stack: str) -> Sequence[UpdateInfo]:
        time.sleep(0.2)
        return [update("update", "succeeded", "2026-01-20T10:00:00Z", "2026-01-20T10:04:00Z", 1)]


def test_reads_stop_once_their_budget_is_spent(repo: Path) -> None:
    read = engine_history(load_platform(repo / "mesh.yaml"), "dev", engine=_SlowEngine(), budget=0.3)
    assert read is not None

    moments = [
        provisioned_moment(stack, history=read, platform_dir=repo, environment="dev")
        for stack in (STACK, "a.b.dev", "c.d.dev")
    ]

    assert [m.source for m in moments] == [STACK_HISTORY, STACK_HISTORY, ""]
    assert moments[2].problem is not None and "the stack histories of dev took 0 s" in moments[2].problem
