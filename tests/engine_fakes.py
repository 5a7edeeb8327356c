"""A fake of the engine's small workspace interface, shared by the engine and environment tests.

It implements `infra.engine.workspace.WorkspaceFactory` / `Workspace` / `StackHandle`
in memory, follows a per-stack `Script`, and records what mesh asked of it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.automation import CommandResult
from pulumi.automation import errors as auto_errors
from pulumi.automation.events import EngineEvent

from infra.engine.target import ConfigEntry, WorkspaceSettings
from infra.engine.workspace import StackListing, UpdateInfo
from infra.model.errors import MeshError


def command_error(stderr: str = "", stdout: str = "", code: int = 255) -> auto_errors.CommandError:
    """An error exactly as `PulumiCommand.run` raises it for a failed CLI call."""
    return auto_errors.create_command_error(CommandResult(stdout=stdout, stderr=stderr, code=code))


EVENT_LOGS = Path(__file__).resolve().parent / "engine_events"


def recorded(name: str) -> tuple[list[EngineEvent], dict[str, int]]:
    """The events of a recorded log in `tests/engine_events`, and the counts of its summary event.

    Parsed directly with the Automation API's `EngineEvent.from_json`, as its event
    stream does, so a fake stack can stream them to mesh exactly as a real one would.
    """
    events, changes = [], {}
    for line in (EVENT_LOGS / name).read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            events.append(EngineEvent.from_json(data))
            if "summaryEvent" in data:
                changes = {k: v for k, v in data["summaryEvent"]["resourceChanges"].items() if v}
    return events, changes


# --- The fake workspace ------------------------------------------------------------------


@dataclass
class Script:
    """What one fake stack does when asked."""

    preview_events: list[EngineEvent] = field(default_factory=list)
    preview_changes: dict[str, int] = field(default_factory=lambda: {"create": 2})
    up_events: list[EngineEvent] = field(default_factory=list)
    up_changes: dict[str, int] = field(default_factory=lambda: {"create": 2})
    outputs: dict[str, Any] = field(default_factory=lambda: {"bucket": "acme-dev-sales-orders"})
    errors: dict[str, Exception] = field(default_factory=dict)  # operation -> raised
    delay: float = 0.0
    info: UpdateInfo | None = None
    history: list[UpdateInfo] = field(default_factory=list)

    @classmethod
    def recorded(cls, *, preview: str | None = None, up: str | None = None) -> Script:
        """A stack that streams recorded logs of `tests/engine_events` for its preview and update."""
        script = cls()
        if preview is not None:
            script.preview_events, script.preview_changes = recorded(preview)
        if up is not None:
            script.up_events, script.up_changes = recorded(up)
        return script


class FakeStack:
    def __init__(self, name: str, owner: FakeWorkspaces) -> None:
        self.name = name
        self.owner = owner
        self.config: dict[str, ConfigEntry] = {}
        self.tags_set: dict[str, str] = {}
        self.calls: list[str] = []

    @property
    def script(self) -> Script:
        return self.owner.scripts.setdefault(self.name, Script())

    def _run(self, operation: str, events: list[EngineEvent], on_event: Callable[[Any], None] | None) -> None:
        self.calls.append(operation)
        with self.owner.track():
            time.sleep(self.script.delay)
            for event in events:
                if on_event:
                    on_event(event)
            if operation in self.script.errors:
                raise self.script.errors[operation]

    def set_all_config(self, config: Any) -> None:
        self.config = dict(config)

    def set_tag(self, key: str, value: str) -> None:
        if "set_tag" in self.script.errors:
            raise self.script.errors["set_tag"]
        self.tags_set[key] = value

    def tags(self) -> dict[str, str]:
        return dict(self.tags_set)

    def preview(self, *, on_event: Callable[[Any], None]) -> dict[str, int]:
        self._run("preview", self.script.preview_events, on_event)
        return dict(self.script.preview_changes)

    def up(self, *, on_event: Callable[[Any], None]) -> tuple[dict[str, int], dict[str, Any]]:
        self._run("up", self.script.up_events, on_event)
        return dict(self.script.up_changes), dict(self.script.outputs)

    def destroy(self, *, on_event: Callable[[Any], None]) -> dict[str, int]:
        self._run("destroy", [], on_event)
        return {"delete": 2}

    def refresh(self, *, on_event: Callable[[Any], None]) -> dict[str, int]:
        self._run("refresh", [], on_event)
        return {"same": 2}

    def outputs(self) -> dict[str, Any]:
        self._run("outputs", [], None)
        return dict(self.script.outputs)

    def cancel(self) -> None:
        self._run("cancel", [], None)

    def info(self) -> UpdateInfo | None:
        return self.script.info

    def history(self) -> list[UpdateInfo]:
        return list(self.script.history)


class FakeWorkspace:
    def __init__(self, owner: FakeWorkspaces, settings: WorkspaceSettings) -> None:
        self.owner = owner
        self.settings = settings

    def create_or_select_stack(self, name: str) -> FakeStack:
        self.owner.created.append(name)
        self.owner.existing.add(name)
        return self.owner.stacks.setdefault(name, FakeStack(name, self.owner))

    def select_stack(self, name: str) -> FakeStack:
        script = self.owner.scripts.get(name)
        if script is not None and "select" in script.errors:
            raise script.errors["select"]
        if name not in self.owner.existing:
            raise command_error(f"error: no stack named '{name}' found")
        return self.owner.stacks.setdefault(name, FakeStack(name, self.owner))

    def list_stacks(self) -> list[StackListing]:
        if self.settings.backend_url in self.owner.unreadable:
            raise command_error("error: failed to open bucket: NoCredentialProviders: no valid providers")
        return list(self.owner.listings)

    def remove_stack(self, name: str) -> None:
        self.owner.removed.append(name)
        self.owner.existing.discard(name)
        self.owner.listings = [s for s in self.owner.listings if s.name != name]


class FakeWorkspaces:
    """A `WorkspaceFactory` whose stacks follow `scripts`; records what mesh asked of it."""

    def __init__(
        self,
        scripts: dict[str, Script] | None = None,
        *,
        existing: tuple[str, ...] = (),
        platform_up: tuple[str, ...] = ("dev", "prod", "preview", "local"),
    ) -> None:
        """`platform_up`: the environments whose platform stack is listed as applied."""
        self.scripts = scripts or {}
        self.existing = set(existing)
        self.stacks: dict[str, FakeStack] = {}
        self.created: list[str] = []
        self.removed: list[str] = []
        self.opened: list[WorkspaceSettings] = []
        self.listings: list[StackListing] = [StackListing(f"platform.{env}") for env in platform_up]
        self.unreadable: set[str] = set()
        self.ready_calls = 0
        self.not_ready: MeshError | None = None
        self._lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1

    def ready(self) -> None:
        self.ready_calls += 1
        if self.not_ready is not None:
            raise self.not_ready

    def open(self, settings: WorkspaceSettings, program: Any) -> FakeWorkspace:
        self.opened.append(settings)
        return FakeWorkspace(self, settings)

    def calls(self, stack: str) -> list[str]:
        return self.stacks[stack].calls if stack in self.stacks else []
