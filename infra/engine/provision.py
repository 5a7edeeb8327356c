"""Provisioning several requests: plan each offline, preview, confirm once, apply.

Each request is its own stack and its own `StackRun`; at most `parallel` stacks run
at a time (the Automation API runs each operation as a subprocess), and one stack's
failure is recorded on its run without stopping the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.engine.failures import (
    DestructiveChangeBlocked,
    EngineFailed,
    GuardrailsBlocked,
    PrerequisiteMissing,
)
from infra.engine.operations import Engine, check_destructive
from infra.engine.target import StackTarget, product_target
from infra.engine.workspace import PreviewReport, UpdateReport
from infra.model.errors import MeshError

if TYPE_CHECKING:
    from infra.model.spec import Ephemeral
    from infra.validation import LoadedPlatform


class RunStatus(StrEnum):
    """Where one stack is in `provision_stacks`."""

    READY = "ready"
    BLOCKED = "blocked"
    FAILED = "failed"
    UNCHANGED = "unchanged"
    DECLINED = "declined"
    SUCCEEDED = "succeeded"


@dataclass
class StackRun:
    """One request (or the platform) on its way to a provisioned stack."""

    source: str
    target: StackTarget | None = None
    status: RunStatus = RunStatus.READY
    preview: PreviewReport | None = None
    update: UpdateReport | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: MeshError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def stack(self) -> str:
        """The stack name ("" when the request never resolved)."""
        return self.target.stack if self.target else ""

    def fail(self, error: MeshError, status: RunStatus = RunStatus.FAILED) -> None:
        """Record why this stack stops here."""
        self.status, self.error = status, error

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of one stack in `mesh provision --output json`."""
        return {
            "source": self.source,
            "stack": self.stack or None,
            "status": str(self.status),
            "plannedResources": self.target.planned_resources if self.target else None,
            "preview": self.preview.changes if self.preview else None,
            "changes": self.update.changes if self.update else None,
            "seconds": round(self.update.seconds, 1) if self.update else None,
            "outputs": self.outputs,
            "error": {"message": self.error.message, "hint": self.error.hint} if self.error else None,
            "warnings": self.warnings,
        }


@dataclass
class ProvisionReport:
    """Every stack of one `mesh provision` run."""

    environment: str
    runs: list[StackRun]
    confirmed: bool | None = None  # None: nothing needed confirming

    @property
    def ok(self) -> bool:
        """Every stack was applied or already up to date."""
        return bool(self.runs) and all(
            r.status in (RunStatus.SUCCEEDED, RunStatus.UNCHANGED) for r in self.runs
        )

    def by_status(self, *statuses: RunStatus) -> list[StackRun]:
        """The runs in one of `statuses`."""
        return [r for r in self.runs if r.status in statuses]

    def as_dict(self) -> dict[str, Any]:
        """`{"environment", "ok", "confirmed", "stacks": [...], "succeeded": [...], "failed": [...]}`."""
        label = lambda r: r.stack or r.source  # noqa: E731 - a one-line key function reads best inline
        return {
            "environment": self.environment,
            "ok": self.ok,
            "confirmed": self.confirmed,
            "stacks": [r.as_dict() for r in self.runs],
            "succeeded": [label(r) for r in self.by_status(RunStatus.SUCCEEDED, RunStatus.UNCHANGED)],
            "failed": [label(r) for r in self.by_status(RunStatus.FAILED, RunStatus.BLOCKED)],
            "notApplied": [label(r) for r in self.by_status(RunStatus.DECLINED)],
        }


def run_parallel(runs: Sequence[StackRun], work: Callable[[StackRun], None], *, parallel: int) -> None:
    """Run `work` on each run, at most `parallel` at a time; a failure marks only its own run.

    A `MeshError` is kept as the run's error; anything else (a bug) is kept as an
    "unexpected" error so that the other stacks still finish.
    """

    def guarded(run: StackRun) -> None:
        try:
            work(run)
        except DestructiveChangeBlocked as e:
            run.fail(e, RunStatus.BLOCKED)
        except MeshError as e:
            run.fail(e)
        except Exception as e:  # a bug must not cancel the other stacks' updates
            run.fail(
                EngineFailed(
                    f"Unexpected {type(e).__name__} on stack {run.stack}: {e}",
                    hint="Run with --debug and report it.",
                )
            )

    if not runs:
        return
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="mesh-stack") as pool:
        list(pool.map(guarded, runs))


def plan_product_runs(
    files: Sequence[Path], *, platform_path: Path | None, environment: str, ephemeral: Ephemeral | None = None
) -> list[StackRun]:
    """Validate, resolve and plan each request offline; a failing request fails only its own run.

    With `ephemeral`, the stacks belong to that ephemeral environment of `environment`."""
    from infra.plan import plan_request  # noqa: PLC0415 - synthesis imports the cloud SDKs
    from infra.validation import load_platform, locate_platform  # noqa: PLC0415 - keep this module's import light

    runs: list[StackRun] = []
    platforms: dict[Path, LoadedPlatform] = {}
    seen: dict[str, str] = {}
    for file in files:
        run = StackRun(source=str(file))
        runs.append(run)
        try:
            plan = plan_request(
                file, platform_path=platform_path, environment=environment, ephemeral=ephemeral
            )
            where = locate_platform(platform_path, near=file)
            if where not in platforms:
                platforms[where] = load_platform(where)
            run.target = product_target(
                plan.spec,
                platforms[where],
                source=str(file),
                planned_resources=len(plan.graph.cloud_resources()),
            )
        except MeshError as e:
            run.fail(e)
            continue
        run.warnings += [str(w) for w in plan.warnings]
        if plan.blocked:
            rules = ", ".join(sorted({r.id for r in plan.guardrails.blocking}))
            run.fail(
                GuardrailsBlocked(
                    f"{file} fails mandatory guardrails in {environment}: {rules}.",
                    hint=f"See why with `mesh plan {file} --env {environment}`; mandatory guardrails cannot be disabled.",
                ),
                RunStatus.BLOCKED,
            )
            continue
        if run.stack in seen:
            run.fail(
                MeshError(
                    f"{file} resolves to stack {run.stack}, like {seen[run.stack]}: one stack cannot be provisioned twice in one run.",
                    hint="Give each request its own domain/name, or provision them separately.",
                )
            )
            continue
        seen[run.stack] = str(file)
    return runs


def check_prerequisites(runs: Sequence[StackRun], *, engine: Engine) -> None:
    """Fail each run whose required stack (its environment's platform stack) does not exist.

    One listing per project and backend. A backend that cannot be listed fails the runs
    that rely on it, as their previews would.
    """
    groups: dict[tuple[str, str], list[StackTarget]] = {}
    runs_of: dict[str, StackRun] = {}
    for run in runs:
        if run.target is not None and run.target.requires:
            key = (run.target.settings.backend_url, run.target.settings.project)
            groups.setdefault(key, []).append(run.target)
            runs_of[run.target.stack] = run
    for targets in groups.values():
        try:
            listed = engine.list_stacks(targets[0].settings, environment=targets[0].environment)
        except MeshError as e:
            for target in targets:
                runs_of[target.stack].fail(e)
            continue
        # Some backends list fully qualified names (org/project/stack).
        names = {listing.name.rsplit("/", 1)[-1] for listing in listed}
        for target in targets:
            if target.requires not in names:
                runs_of[target.stack].fail(
                    PrerequisiteMissing(
                        f"{target.stack} needs the platform stack {target.requires}, which does not exist in "
                        f"{target.settings.backend_url}: the product's bucket logs to its access-log bucket.",
                        hint=f"Apply it once for the environment with `mesh platform up --env {target.environment}`, "
                        "then run this again.",
                    )
                )


def provision_stacks(
    runs: Sequence[StackRun],
    *,
    engine: Engine,
    environment: str,
    parallel: int,
    allow_replace: bool,
    confirm: Callable[[ProvisionReport], bool],
) -> ProvisionReport:
    """Preview every ready stack, ask `confirm` once, then update the stacks with changes.

    At most `parallel` stacks run at a time; each stack's failure is its own. `confirm`
    sees the report after the previews and returns whether to apply. A missing Pulumi
    CLI raises before any stack starts (it would fail them all the same way); a stack
    whose environment's platform stack does not exist fails before its preview.
    """
    report = ProvisionReport(environment=environment, runs=list(runs))
    ready = report.by_status(RunStatus.READY)
    if not ready:
        return report
    engine.ready()
    check_prerequisites(ready, engine=engine)
    ready = report.by_status(RunStatus.READY)
    if not ready:
        return report

    def preview(run: StackRun) -> None:
        assert run.target is not None
        run.preview = engine.preview(run.target)
        run.warnings += run.preview.warnings
        check_destructive(run.target, run.preview, allow_replace=allow_replace)

    run_parallel(ready, preview, parallel=parallel)
    to_apply = [r for r in ready if r.status is RunStatus.READY and r.preview and r.preview.has_changes]
    for run in ready:
        if run.status is RunStatus.READY and run not in to_apply:
            run.status = RunStatus.UNCHANGED
    if to_apply:
        report.confirmed = confirm(report)
        if not report.confirmed:
            for run in to_apply:
                run.status = RunStatus.DECLINED
            to_apply = []

    def apply(run: StackRun) -> None:
        assert run.target is not None
        run.update = engine.up(run.target)
        run.outputs = run.update.outputs
        run.warnings += run.update.warnings
        run.status = RunStatus.SUCCEEDED

    run_parallel(to_apply, apply, parallel=parallel)

    def read_outputs(run: StackRun) -> None:
        assert run.target is not None
        run.outputs = engine.outputs(run.target)

    unchanged = report.by_status(RunStatus.UNCHANGED)
    run_parallel(unchanged, read_outputs, parallel=parallel)
    for run in unchanged:
        if run.status is RunStatus.FAILED and run.error is not None:
            # The stack is fine; only its outputs could not be read.
            run.warnings.append(f"outputs not read: {run.error.message}")
            run.status, run.error = RunStatus.UNCHANGED, None
    return report
