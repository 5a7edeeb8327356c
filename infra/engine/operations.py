"""`Engine`: preview, update, destroy, refresh, outputs, list and cancel one stack at a time.

Every method returns a typed result or raises a `MeshError`; progress goes to the
sink given at construction. The workspaces come from `infra.engine.automation` unless
a `WorkspaceFactory` is given (tests give a fake).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infra.engine import automation
from infra.engine.automation import (
    ENGINE_ERRORS,
    EventReader,
    first_error,
    op_counts,
    output_of,
    shorten,
    translate,
)
from infra.engine.eventlog import EventLogs, EventLogWriter, run_id
from infra.engine.failures import DestructiveChangeBlocked, EngineFailed, ProtectedEnvironment
from infra.engine.target import StackTarget, WorkspaceSettings
from infra.engine.workspace import (
    DESTRUCTIVE_OPS,
    PreviewReport,
    StackHandle,
    StackListing,
    UpdateInfo,
    UpdateReport,
    WorkspaceFactory,
)
from infra.progress import ProgressRecord, ProgressSink, Stage, StageFinished, StageStarted, ignore


class Engine:
    """Preview, update, destroy, refresh, outputs, list and cancel stacks.

    Safe to use from several threads at once (one stack per thread). Every method
    returns a typed result or raises a `MeshError`. Every preview, update, destroy and
    refresh keeps its engine event log (`infra.engine.eventlog`): under each stack's
    `.mesh/events`, or under `event_logs.root` when given; `event_log_paths` lists them.
    """

    def __init__(
        self,
        *,
        workspaces: WorkspaceFactory | None = None,
        on_progress: ProgressSink = ignore,
        event_logs: EventLogs | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._workspaces = (
            workspaces if workspaces is not None else automation.default_workspaces(on_progress)
        )
        self._handles: dict[tuple[str, str], StackHandle] = {}
        self._lock = threading.Lock()
        logs = event_logs or EventLogs()
        self._event_logs = logs if logs.run else EventLogs(root=logs.root, run=run_id())
        self.event_log_paths: list[Path] = []
        self.event_log_problems: list[str] = []

    def ready(self) -> None:
        """Raise a `MeshError` now when no stack could run (no Pulumi CLI, and none can be installed)."""
        self._workspaces.ready()

    def _emit(self, record: ProgressRecord) -> None:
        with contextlib.suppress(Exception):
            self._on_progress(record)

    def _open(self, target: StackTarget, *, create: bool) -> StackHandle:
        key = (target.settings.backend_url, target.stack)
        with self._lock:
            cached = self._handles.get(key)
        if cached is not None:
            return cached
        try:
            workspace = self._workspaces.open(target.settings, target.program)
            handle = (
                workspace.create_or_select_stack(target.stack)
                if create
                else workspace.select_stack(target.stack)
            )
            handle.set_all_config(target.config)
        except ENGINE_ERRORS as e:
            raise translate(e, target, "select") from e
        with self._lock:
            self._handles[key] = handle
        return handle

    def _tag(self, handle: StackHandle, target: StackTarget) -> list[str]:
        for key, value in target.tags.items():
            try:
                handle.set_tag(key, value)
            except ENGINE_ERRORS as e:
                if "not supported" in str(e):
                    return [
                        f"the state backend of {target.environment} does not keep stack tags; resources are tagged all the same"
                    ]
                raise translate(e, target, "tag") from e
        return []

    @contextlib.contextmanager
    def _stage(self, target: StackTarget, stage: Stage, reader: EventReader) -> Iterator[dict[str, Any]]:
        """Report the stage's start and end, keep its event log, and translate what it raises.

        The yielded dict's `on_event` writes each engine event to the log, then reads it.
        """
        self._emit(StageStarted(stack=target.stack, stage=stage, planned=target.planned_resources))
        started = time.monotonic()
        log = EventLogWriter(
            self._event_logs.path(target.settings.mesh_dir, target.stack, stage), automation.event_json
        )

        def on_event(event: Any) -> None:
            log(event)
            reader(event)

        result: dict[str, Any] = {"changes": {}, "on_event": on_event}
        ok = False
        try:
            yield result
            ok = True
        except ENGINE_ERRORS as e:
            raise translate(e, target, stage, reader) from e
        finally:
            log.close()
            with self._lock:
                if log.written is not None:
                    self.event_log_paths.append(log.written)
                if log.problem is not None:
                    self.event_log_problems.append(
                        f"{target.stack}: the event log {log.path} stopped: {log.problem}"
                    )
            result["seconds"] = time.monotonic() - started
            self._emit(
                StageFinished(
                    stack=target.stack,
                    stage=stage,
                    ok=ok,
                    changes=dict(result["changes"]),
                    seconds=result["seconds"],
                )
            )

    def preview(self, target: StackTarget) -> PreviewReport:
        """What `up` would change (the stack is created when new, with its config and tags)."""
        reader = EventReader(target.stack, Stage.PREVIEW, self._on_progress)
        with self._stage(target, Stage.PREVIEW, reader) as result:
            handle = self._open(target, create=True)
            warnings = self._tag(handle, target)
            result["changes"] = op_counts(handle.preview(on_event=result["on_event"]))
        return PreviewReport(
            stack=target.stack,
            changes=result["changes"],
            steps=reader.steps,
            warnings=warnings + reader.warnings,
        )

    def up(self, target: StackTarget) -> UpdateReport:
        """Create or update the stack's resources; its outputs after."""
        reader = EventReader(target.stack, Stage.UPDATE, self._on_progress)
        with self._stage(target, Stage.UPDATE, reader) as result:
            handle = self._open(target, create=True)
            changes, outputs = handle.up(on_event=result["on_event"])
            result["changes"] = op_counts(changes)
        return UpdateReport(
            stack=target.stack,
            stage=Stage.UPDATE,
            changes=result["changes"],
            outputs=dict(outputs),
            seconds=result["seconds"],
            warnings=reader.warnings,
        )

    def destroy(self, target: StackTarget, *, delete_data: bool = False) -> UpdateReport:
        """Delete every resource of an existing stack (`StackMissing` when there is none).

        Without `delete_data` the product key is retained (Pulumi forgets it, AWS keeps it)
        and a bucket that holds objects stops the destroy, its data still readable. With
        `delete_data` (the target's program built with `delete_data`), the
        stack is first updated so buckets go with their objects and the key is no longer
        retained, then destroyed: the bucket depends on the key, so the key's deletion is
        scheduled only once its bucket is gone."""
        if delete_data:
            self.up(target)
        reader = EventReader(target.stack, Stage.DESTROY, self._on_progress)
        with self._stage(target, Stage.DESTROY, reader) as result:
            handle = self._open(target, create=False)
            result["changes"] = op_counts(handle.destroy(on_event=result["on_event"]))
        return UpdateReport(
            stack=target.stack,
            stage=Stage.DESTROY,
            changes=result["changes"],
            seconds=result["seconds"],
            warnings=reader.warnings,
        )

    def refresh(self, target: StackTarget) -> UpdateReport:
        """Read the real state of an existing stack's resources."""
        reader = EventReader(target.stack, Stage.REFRESH, self._on_progress)
        with self._stage(target, Stage.REFRESH, reader) as result:
            handle = self._open(target, create=False)
            result["changes"] = op_counts(handle.refresh(on_event=result["on_event"]))
        return UpdateReport(
            stack=target.stack,
            stage=Stage.REFRESH,
            changes=result["changes"],
            seconds=result["seconds"],
            warnings=reader.warnings,
        )

    def outputs(self, target: StackTarget) -> dict[str, Any]:
        """The outputs of an existing stack (secrets masked)."""
        handle = self._open(target, create=False)
        try:
            return dict(handle.outputs())
        except ENGINE_ERRORS as e:
            raise translate(e, target, "outputs") from e

    def cancel(self, target: StackTarget) -> None:
        """Cancel the update running on an existing stack (or release a dead one's lock)."""
        handle = self._open(target, create=False)
        try:
            handle.cancel()
        except ENGINE_ERRORS as e:
            raise translate(e, target, "cancel") from e

    def stack_tags(self, target: StackTarget) -> dict[str, str]:
        """The tags of an existing stack."""
        handle = self._open(target, create=False)
        try:
            return dict(handle.tags())
        except ENGINE_ERRORS as e:
            raise translate(e, target, "tags") from e

    def remove(self, target: StackTarget) -> None:
        """Delete a destroyed stack and its history from the backend."""
        try:
            self._workspaces.open(target.settings, None).remove_stack(target.stack)
        except ENGINE_ERRORS as e:
            raise translate(e, target, "remove") from e
        with self._lock:
            self._handles.pop((target.settings.backend_url, target.stack), None)

    def list_stacks(self, settings: WorkspaceSettings, *, environment: str) -> list[StackListing]:
        """Every stack of the project in `settings`' backend."""
        try:
            return self._workspaces.open(settings, None).list_stacks()
        except ENGINE_ERRORS as e:
            raise EngineFailed(
                f"Listing the stacks of {environment} in {settings.backend_url} failed: {shorten(first_error(output_of(e)))}",
                hint="Check the backend and your credentials with `mesh doctor`.",
            ) from e

    def history(self, settings: WorkspaceSettings, stack: str) -> list[UpdateInfo]:
        """Every operation on `stack`, newest first (`pulumi stack history --json`)."""
        try:
            return self._workspaces.open(settings, None).select_stack(stack).history()
        except ENGINE_ERRORS as e:
            raise EngineFailed(
                f"Reading the history of {stack} failed: {shorten(first_error(output_of(e)))}"
            ) from e

    def last_update(self, settings: WorkspaceSettings, stack: str) -> UpdateInfo | None:
        """The last operation on `stack`."""
        try:
            return self._workspaces.open(settings, None).select_stack(stack).info()
        except ENGINE_ERRORS as e:
            raise EngineFailed(
                f"Reading the history of {stack} failed: {shorten(first_error(output_of(e)))}"
            ) from e


def check_destructive(target: StackTarget, preview: PreviewReport, *, allow_replace: bool) -> None:
    """Refuse a preview that replaces or deletes stateful resources, unless allowed.

    Allowed in preview environments and with `allow_replace`. When the engine reported
    destructive operations without saying on which resources, mesh refuses too.
    """
    if allow_replace or target.preview_environment:
        return
    risky = preview.destructive()
    unexplained = not preview.steps and any(preview.changes.get(op) for op in DESTRUCTIVE_OPS)
    if not risky and not unexplained:
        return
    if risky:
        listed = "; ".join(f"{s.type} {s.name} ({s.op})" for s in risky)
        what = f"would replace or delete stateful resources: {listed}"
    else:
        what = "would replace or delete resources, and the engine did not say which"
    raise DestructiveChangeBlocked(
        f"Stack {target.stack} in {target.environment} {what}. The data they hold would be lost.",
        hint=(
            "If this is intended, back up the data and run again with --allow-replace. "
            "Otherwise undo the change to the request that forces the replacement (often a renamed product, port or bucket)."
        ),
        steps=risky,
    )


def check_protected(target: StackTarget, *, allow_protected: bool) -> None:
    """Refuse to destroy in a `protected: true` environment unless explicitly allowed."""
    if target.protected and not allow_protected:
        raise ProtectedEnvironment(
            f"Environment {target.environment} is protected: mesh will not destroy stack {target.stack} there.",
            hint=(
                "If you really mean to delete it and its data, run again with --allow-protected "
                f"(`{target.command('destroy')} --allow-protected`)."
            ),
        )
