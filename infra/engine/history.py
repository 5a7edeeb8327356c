"""Stack listings and stack histories, read from the JSON the Pulumi CLI prints, and what they decide.

The shapes are the CLI's documented `--json` outputs (in pulumi/pulumi,
`pkg/cmd/pulumi/stack/stack_ls.go` `stackSummaryJSON` and
`pkg/cmd/pulumi/stack/stack_history.go` `updateInfoJSON`):

- `pulumi stack ls --json`: `[{"name", "current", "lastUpdate"?, "updateInProgress"?,
  "resourceCount"?, "url"?}]`, times as `2006-01-02T15:04:05.000Z`;
- `pulumi stack history --json`: newest first, `[{"version", "kind", "startTime",
  "message", "environment", "config", "result"?, "endTime"?, "resourceChanges"?}]`.

What they serve: `mesh status` (the last operation), the TTL decisions of `mesh env gc`
(`expiry`), and the moment a product was provisioned (`provisioned_at`, for the
time-to-data KPI). Nothing here imports Pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.engine.workspace import StackListing, UpdateInfo
from infra.model.errors import MeshError


class EngineOutputUnreadable(MeshError):
    """The CLI printed something that is not the JSON shape mesh reads."""


def parse_time(value: Any) -> datetime | None:
    """A CLI timestamp (`2026-11-23T10:00:00.000Z`, any ISO 8601, or Unix seconds) in UTC; None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _rows(text: str, command: str) -> list[dict[str, Any]]:
    try:
        document = json.loads(text or "[]")
    except json.JSONDecodeError as e:
        raise EngineOutputUnreadable(
            f"`{command}` printed no JSON (line {e.lineno}: {e.msg}).",
            hint="Run the command yourself to see what it says; `mesh doctor` checks the Pulumi CLI.",
        ) from e
    if document is None:
        return []
    if not isinstance(document, list) or not all(isinstance(row, dict) for row in document):
        raise EngineOutputUnreadable(
            f"`{command}` printed {type(document).__name__} where a list of objects was expected.",
            hint="Check the Pulumi CLI's version with `mesh doctor`.",
        )
    return document


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_stack_listing(text: str) -> list[StackListing]:
    """The stacks of `pulumi stack ls --json`, in the order printed."""
    listings = []
    for row in _rows(text, "pulumi stack ls --json"):
        name = row.get("name")
        if not isinstance(name, str) or not name:
            continue
        in_progress = row.get("updateInProgress")
        listings.append(
            StackListing(
                name=name,
                last_update=parse_time(row.get("lastUpdate")),
                update_in_progress=in_progress if isinstance(in_progress, bool) else None,
                resource_count=_count(row.get("resourceCount")),
            )
        )
    return listings


def read_stack_history(text: str) -> list[UpdateInfo]:
    """The operations of `pulumi stack history --json`, newest first as the CLI prints them."""
    updates = []
    for row in _rows(text, "pulumi stack history --json"):
        changes = row.get("resourceChanges")
        updates.append(
            UpdateInfo(
                kind=str(row.get("kind") or ""),
                result=str(row.get("result") or "in-progress"),
                start_time=parse_time(row.get("startTime")),
                end_time=parse_time(row.get("endTime")),
                version=_count(row.get("version")),
                resource_changes=(
                    {str(k): int(v) for k, v in changes.items() if _count(v) is not None}
                    if isinstance(changes, dict)
                    else None
                ),
                message=str(row.get("message") or ""),
            )
        )
    return updates


def _oldest_first(updates: Sequence[UpdateInfo]) -> list[UpdateInfo]:
    def key(update: UpdateInfo) -> tuple[int, datetime]:
        when = update.start_time or update.end_time or datetime.min.replace(tzinfo=UTC)
        return (update.version if update.version is not None else 0, when)

    return sorted(updates, key=key)


def provisioned_at(updates: Sequence[UpdateInfo]) -> datetime | None:
    """When the stack's resources last came into existence: the end of its first successful update.

    Counted from the last successful destroy, so a product torn down and provisioned
    again dates from its new start. None when no update has succeeded since.
    """
    found: datetime | None = None
    for update in _oldest_first(updates):
        if update.result != "succeeded":
            continue
        if update.kind == "destroy":
            found = None
        elif update.kind == "update" and found is None:
            found = update.end_time or update.start_time
    return found


def last_operation(updates: Sequence[UpdateInfo]) -> UpdateInfo | None:
    """The most recent operation on the stack (None when there never was one)."""
    ordered = _oldest_first(updates)
    return ordered[-1] if ordered else None


@dataclass(frozen=True)
class Expiry:
    """Whether an ephemeral stack is due for collection, and why."""

    expired: bool
    reason: str


def expiry(listing: StackListing, expires_at: str | None, *, now: datetime, max_age: timedelta) -> Expiry:
    """The TTL decision for one ephemeral stack of `mesh env gc`.

    - A stack being updated right now is never collected (the update would be cut off).
    - Its `mesh:expires-at` tag decides when present and readable.
    - Without one (a backend that keeps no stack tags, or a damaged value), a stack not
      updated for longer than any ephemeral environment may live (`max_age`) is expired;
      a younger one is kept, since its TTL cannot be known.
    """
    if listing.update_in_progress:
        return Expiry(False, "an update is running on it now")
    deadline = parse_time(expires_at)
    if deadline is not None:
        if deadline <= now:
            return Expiry(True, f"expired at {deadline.isoformat()}")
        return Expiry(False, f"expires at {deadline.isoformat()}")
    unreadable = f"its expiry tag {expires_at!r} is not a date" if expires_at else "it has no expiry tag"
    if listing.last_update is None:
        return Expiry(False, f"{unreadable} and no recorded update")
    age = now - listing.last_update
    if age > max_age:
        return Expiry(True, f"{unreadable} and was last updated {age.days} days ago, longer than any TTL")
    return Expiry(False, f"{unreadable}; last updated {age.days} days ago")
