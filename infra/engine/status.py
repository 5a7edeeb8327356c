"""`mesh status`: every stack of the organisation's project, per environment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infra.engine.operations import Engine
from infra.engine.target import products_workspace
from infra.engine.workspace import StackListing, UpdateInfo
from infra.model.errors import MeshError

if TYPE_CHECKING:
    from infra.validation import LoadedPlatform


@dataclass(frozen=True)
class StackStatus:
    """One stack for `mesh status`."""

    name: str
    environment: str
    last_update: datetime | None
    kind: str
    result: str
    resource_count: int | None
    in_progress: bool

    def age_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the last update (None when there never was one)."""
        if self.last_update is None:
            return None
        moment = now or datetime.now(UTC)
        last = self.last_update if self.last_update.tzinfo else self.last_update.replace(tzinfo=UTC)
        return max(0.0, (moment - last).total_seconds())

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """The documented JSON shape of one stack's status."""
        return {
            "stack": self.name,
            "environment": self.environment,
            "lastUpdate": self.last_update.isoformat() if self.last_update else None,
            "ageSeconds": self.age_seconds(now),
            "kind": self.kind,
            "result": self.result,
            "resourceCount": self.resource_count,
            "inProgress": self.in_progress,
        }


@dataclass
class StatusReport:
    """Every stack of the project, per environment, and the environments that could not be read."""

    stacks: list[StackStatus] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (environment, message)

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """`{"stacks": [...], "problems": [{"environment", "message"}]}`."""
        return {
            "stacks": [s.as_dict(now) for s in self.stacks],
            "problems": [{"environment": e, "message": m} for e, m in self.problems],
        }


def _environment_of(stack: str, environments: Sequence[str]) -> str:
    for name in environments:
        if stack.endswith(f".{name}"):
            return name
    return ""


def stack_statuses(
    platform: LoadedPlatform, *, engine: Engine, environment: str | None = None
) -> StatusReport:
    """Every stack of the organisation's project in each environment's backend (or one environment's).

    Environments that share a backend are listed once; a stack belongs to the environment
    its name ends with. A backend that cannot be read is a problem of that environment only.
    """
    config = platform.config
    names = [environment] if environment else list(config.environments)
    report = StatusReport()
    engine.ready()
    listed: dict[str, list[StackListing]] = {}
    for env_name in names:
        settings = products_workspace(platform, env_name, folder="_status")
        try:
            if settings.backend_url not in listed:
                listed[settings.backend_url] = engine.list_stacks(settings, environment=env_name)
        except MeshError as e:
            report.problems.append((env_name, e.message))
            continue
        for listing in listed[settings.backend_url]:
            owner = _environment_of(listing.name, list(config.environments))
            if owner != env_name:
                continue
            try:
                info = engine.last_update(settings, listing.name)
            except MeshError as e:
                report.problems.append((env_name, e.message))
                info = None
            report.stacks.append(
                StackStatus(
                    name=listing.name,
                    environment=env_name,
                    last_update=listing.last_update or (info.end_time if info else None),
                    kind=info.kind if info else "",
                    result="in-progress"
                    if listing.update_in_progress
                    else (info.result if info else "never"),
                    resource_count=listing.resource_count,
                    in_progress=bool(listing.update_in_progress),
                )
            )
    return report


def stack_history_reader(
    platform: LoadedPlatform, environment: str, *, engine: Engine
) -> Callable[[str], list[UpdateInfo]]:
    """Read one stack's history in `environment`'s backend (`pulumi stack history --json`), newest first.

    For `mesh health`'s time to data. The reader raises a `MeshError` when the backend or
    the stack cannot be read; the caller bounds it and turns failures into reasons.
    """
    settings = products_workspace(platform, environment, folder="_status")
    return lambda stack: engine.history(settings, stack)
