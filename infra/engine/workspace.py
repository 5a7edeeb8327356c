"""The small interface mesh needs from Pulumi, and the results it returns.

`Workspace` and `StackHandle` hold the few operations mesh uses. The real
implementation (`infra.engine.automation`) wraps `pulumi.automation`; tests inject a
fake with the same methods. Handles raise `pulumi.automation` errors and pass the
engine's own events to `on_event`; `infra.engine.operations.Engine` translates both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from infra.clouds import STATEFUL_TYPES
from infra.progress import Stage

if TYPE_CHECKING:
    from infra.engine.target import ConfigEntry, Program, WorkspaceSettings

#: Receives each `pulumi.automation.events.EngineEvent` (typed loosely: only
#: `infra.engine.automation` may import `pulumi.automation`).
OnEvent = Callable[[Any], None]

DESTRUCTIVE_OPS = frozenset({"replace", "delete", "create-replacement", "delete-replaced"})


def holds_data(type_: str) -> bool:
    """Whether replacing or deleting a resource of `type_` loses data (the one reader of `STATEFUL_TYPES`)."""
    return type_ in STATEFUL_TYPES


NO_CHANGE_OPS = frozenset({"same", "read", "refresh"})
SECRET_MASK = "[secret]"


@dataclass(frozen=True)
class PlannedStep:
    """A resource operation the engine announced (in a preview, what an update would do)."""

    urn: str
    type: str
    name: str
    op: str

    def as_dict(self) -> dict[str, str]:
        """`{"urn", "type", "name", "op"}`."""
        return {"urn": self.urn, "type": self.type, "name": self.name, "op": self.op}


@dataclass
class PreviewReport:
    """What an update of one stack would change."""

    stack: str
    changes: dict[str, int]
    steps: list[PlannedStep] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        """Anything other than unchanged resources."""
        return any(n for op, n in self.changes.items() if op not in NO_CHANGE_OPS)

    def destructive(self) -> list[PlannedStep]:
        """Stateful resources the update would replace or delete (one entry per resource)."""
        found: dict[str, PlannedStep] = {}
        for step in self.steps:
            if step.op not in DESTRUCTIVE_OPS or not holds_data(step.type):
                continue
            # A replacement is announced as several steps; name it by "replace" when present.
            if step.urn not in found or step.op in ("replace", "delete"):
                found[step.urn] = step
        return list(found.values())


@dataclass
class UpdateReport:
    """What an update, destroy or refresh of one stack changed, and the stack's outputs after it."""

    stack: str
    stage: Stage
    changes: dict[str, int]
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StackListing:
    """A stack as `pulumi stack ls` shows it."""

    name: str
    last_update: datetime | None = None
    update_in_progress: bool | None = None
    resource_count: int | None = None


@dataclass(frozen=True)
class UpdateInfo:
    """One operation in a stack's history (`pulumi stack history`)."""

    kind: str
    result: str
    start_time: datetime | None = None
    end_time: datetime | None = None
    version: int | None = None
    resource_changes: dict[str, int] | None = None
    message: str = ""


class StackHandle(Protocol):
    """One selected stack. Methods raise `pulumi.automation` errors; `Engine` translates them."""

    def set_all_config(self, config: Mapping[str, ConfigEntry]) -> None:
        """Replace the stack's config with `config`."""
        ...

    def set_tag(self, key: str, value: str) -> None:
        """Set one stack tag."""
        ...

    def tags(self) -> Mapping[str, str]:
        """Every stack tag."""
        ...

    def preview(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """Dry-run an update; the change summary by operation."""
        ...

    def up(self, *, on_event: OnEvent) -> tuple[Mapping[str, int], Mapping[str, Any]]:
        """Update; the changes by operation and the stack outputs (secrets masked)."""
        ...

    def destroy(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """Delete every resource of the stack; the changes by operation."""
        ...

    def refresh(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """Read the real state of every resource into the stack's state."""
        ...

    def outputs(self) -> Mapping[str, Any]:
        """The stack outputs of the last update (secrets masked)."""
        ...

    def cancel(self) -> None:
        """Cancel the update in progress (for a DIY backend: remove its lock)."""
        ...

    def info(self) -> UpdateInfo | None:
        """The last operation, None when the stack never ran one."""
        ...

    def history(self) -> list[UpdateInfo]:
        """Every operation on the stack, newest first (`pulumi stack history --json`)."""
        ...


class Workspace(Protocol):
    """A project in one backend."""

    def create_or_select_stack(self, name: str) -> StackHandle:
        """The stack `name`, created when it does not exist."""
        ...

    def select_stack(self, name: str) -> StackHandle:
        """The existing stack `name` (`StackNotFoundError` when absent)."""
        ...

    def list_stacks(self) -> list[StackListing]:
        """Every stack of the project in this backend."""
        ...

    def remove_stack(self, name: str) -> None:
        """Delete the (already destroyed) stack `name` and its history from the backend."""
        ...


class WorkspaceFactory(Protocol):
    """Opens workspaces; `ready` raises a `MeshError` when they cannot run here (no Pulumi CLI)."""

    def ready(self) -> None:
        """Make sure workspaces can be opened (may install the Pulumi CLI)."""
        ...

    def open(self, settings: WorkspaceSettings, program: Program | None) -> Workspace:
        """A workspace for `settings`, running `program` for updates."""
        ...
