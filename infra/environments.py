"""Ephemeral preview environments: one per pull request, destroyed after a TTL.

An ephemeral environment is a set of product stacks in the platform config's preview
environment. Its label (`preview` + the name, e.g. `previewpr123`) goes into every
physical name and stack name, so it never collides with a regular environment (the
platform config forbids environment names that start with a preview environment's
name). Its expiry is a stack tag and a tag on every resource (`mesh:expires-at`), which
is what `gc` and the orphan sweep read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from infra.engine import Engine, StackTarget, products_workspace, stack_config
from infra.engine.history import expiry
from infra.engine.provision import ProvisionReport, plan_product_runs, provision_stacks
from infra.model.errors import MeshError, UsageError
from infra.model.spec import EPHEMERAL_NAME, TAG_EXPIRES_AT, Ephemeral, environment_label
from infra.sweep import SweepResult, sweep
from infra.validation import LoadedPlatform, load_platform, locate_platform

_TTL = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
MAX_TTL = timedelta(days=30)


def parse_ttl(text: str) -> timedelta:
    """`90m`, `12h`, `3d` → a duration (at most 30 days)."""
    match = _TTL.match(text.strip().lower())
    if not match:
        raise UsageError(
            f"--ttl {text!r} is not a duration", hint="Write a number and a unit: 90m, 12h or 3d."
        )
    ttl = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not timedelta(minutes=5) <= ttl <= MAX_TTL:
        raise UsageError(
            f"--ttl {text} is out of range", hint="Preview environments live from 5 minutes to 30 days."
        )
    return ttl


def check_name(name: str) -> str:
    """An ephemeral environment's name: 1–12 lowercase letters and digits (`pr123`)."""
    if not EPHEMERAL_NAME.match(name):
        raise UsageError(
            f"--name {name!r} is not valid", hint="Use 1–12 lowercase letters and digits, e.g. pr123."
        )
    return name


def preview_environment(platform: LoadedPlatform, explicit: str | None) -> str:
    """The preview environment that hosts ephemeral environments."""
    previews = sorted(name for name, env in platform.config.environments.items() if env.preview)
    if explicit is not None:
        if explicit not in previews:
            raise UsageError(
                f"environment '{explicit}' is not a preview environment in {platform.path}",
                hint=f"Preview environments: {', '.join(previews) or 'none'} (set `preview: true` on one).",
            )
        return explicit
    if not previews:
        raise MeshError(
            f"{platform.path} has no preview environment",
            hint="Add an environment with `preview: true`; ephemeral environments live in it.",
        )
    if len(previews) > 1:
        raise UsageError(
            f"{platform.path} has several preview environments",
            hint=f"Choose one with --env: {', '.join(previews)}.",
        )
    return previews[0]


@dataclass(frozen=True)
class EphemeralEnvironment:
    """One product stack of an ephemeral environment."""

    name: str
    stack: str
    expires_at: str | None
    expired: bool
    last_update: datetime | None = None
    reason: str = ""  # why it is (not) expired

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of one `mesh env ls` row."""
        return {
            "name": self.name,
            "stack": self.stack,
            "expiresAt": self.expires_at,
            "expired": self.expired,
            "lastUpdate": self.last_update.isoformat() if self.last_update else None,
            "reason": self.reason,
        }


def _stack_target(platform: LoadedPlatform, environment: str, stack: str) -> StackTarget:
    """A stack known only by name (for listing, destroying and removing)."""
    config = platform.config
    env = config.environments[environment]
    return StackTarget(
        stack=stack,
        environment=environment,
        settings=products_workspace(platform, environment, folder=stack),
        config=stack_config(env, "aws" if env.aws is not None else "gcp"),
        tags={},
        program=None,
        source=f"env {stack}",
        protected=False,
        preview_environment=True,
    )


def list_environments(
    platform: LoadedPlatform, *, environment: str, engine: Engine, now: datetime | None = None
) -> list[EphemeralEnvironment]:
    """Every ephemeral product stack in `environment`, with its expiry."""
    moment = now or datetime.now(UTC)
    settings = products_workspace(platform, environment, folder="_environments")
    found = []
    for listing in engine.list_stacks(settings, environment=environment):
        label = listing.name.rsplit(".", 1)[-1]
        if not label.startswith(environment) or label == environment:
            continue
        tags = engine.stack_tags(_stack_target(platform, environment, listing.name))
        expires = tags.get(TAG_EXPIRES_AT)
        decision = expiry(listing, expires, now=moment, max_age=MAX_TTL)
        found.append(
            EphemeralEnvironment(
                name=label.removeprefix(environment),
                stack=listing.name,
                expires_at=expires,
                expired=decision.expired,
                last_update=listing.last_update,
                reason=decision.reason,
            )
        )
    return sorted(found, key=lambda e: (e.name, e.stack))


def environment_up(
    files: Sequence[Path],
    *,
    name: str,
    ttl: timedelta,
    platform_path: Path | None,
    environment: str | None,
    engine: Engine,
    parallel: int = 4,
    now: datetime | None = None,
) -> ProvisionReport:
    """Create or update the ephemeral environment `name` with `files`, expiring after `ttl`.

    Each request is planned offline first (guardrails block as in `mesh provision`);
    preview environments apply without a confirmation, as CI needs.
    """
    check_name(name)
    platform = load_platform(locate_platform(platform_path, near=files[0]))
    preview = preview_environment(platform, environment)
    expires = ((now or datetime.now(UTC)) + ttl).replace(microsecond=0).isoformat()
    ephemeral = Ephemeral(name=name, expires_at=expires)
    runs = plan_product_runs(files, platform_path=platform.path, environment=preview, ephemeral=ephemeral)
    label = environment_label(preview, ephemeral)
    return provision_stacks(
        runs, engine=engine, environment=label, parallel=parallel, allow_replace=True, confirm=lambda _: True
    )


@dataclass
class TeardownResult:
    """Stacks destroyed (and removed) and those that failed, with why."""

    destroyed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def environment_down(
    platform: LoadedPlatform, *, name: str, environment: str, engine: Engine
) -> TeardownResult:
    """Destroy every stack of the ephemeral environment `name` and remove them from the backend."""
    check_name(name)
    stacks = [
        e for e in list_environments(platform, environment=environment, engine=engine) if e.name == name
    ]
    if not stacks:
        raise MeshError(
            f"no ephemeral environment named {name} in {environment}",
            hint="See which exist with `mesh env ls`.",
        )
    return _teardown(platform, environment, [e.stack for e in stacks], engine)


def _teardown(
    platform: LoadedPlatform, environment: str, stacks: Sequence[str], engine: Engine
) -> TeardownResult:
    result = TeardownResult()
    for stack in stacks:
        target = _stack_target(platform, environment, stack)
        try:
            engine.destroy(target)
            engine.remove(target)
            result.destroyed.append(stack)
        except MeshError as e:
            result.failed[stack] = e.message
    return result


@dataclass
class CollectionResult:
    """`mesh env gc`: expired environments torn down, then the orphan sweep."""

    dry_run: bool
    expired: list[EphemeralEnvironment]
    teardown: TeardownResult
    sweep: SweepResult | None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing failed."""
        return not self.teardown.failed and not (self.sweep and self.sweep.failed)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `mesh env gc --output json`."""
        return {
            "dryRun": self.dry_run,
            "expired": [e.as_dict() for e in self.expired],
            "destroyed": self.teardown.destroyed,
            "failed": self.teardown.failed,
            "sweep": self.sweep.as_dict() if self.sweep else None,
            "notes": self.notes,
        }


def collect_garbage(
    platform: LoadedPlatform,
    *,
    environment: str,
    engine: Engine,
    dry_run: bool,
    now: datetime | None = None,
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
) -> CollectionResult:
    """Destroy expired ephemeral environments through the engine, then sweep orphaned preview resources."""
    moment = now or datetime.now(UTC)
    everything = list_environments(platform, environment=environment, engine=engine, now=moment)
    expired = [e for e in everything if e.expired]
    teardown = (
        TeardownResult() if dry_run else _teardown(platform, environment, [e.stack for e in expired], engine)
    )
    live = {e.stack for e in everything if not e.expired or e.stack in teardown.failed}
    env = platform.config.environments[environment]
    notes = []
    result_sweep = None
    if env.aws is not None:
        result_sweep = sweep(
            live_stacks=live | _regular_stacks(platform, environment, engine),
            region=env.aws.region,
            dry_run=dry_run,
            session=session,
            endpoint_url=endpoint_url,
            now=moment,
        )
    else:
        notes.append(f"{environment} has no AWS section: the orphan sweep covers AWS resources only")
    return CollectionResult(
        dry_run=dry_run, expired=expired, teardown=teardown, sweep=result_sweep, notes=notes
    )


def _regular_stacks(platform: LoadedPlatform, environment: str, engine: Engine) -> set[str]:
    """Non-ephemeral stacks of the preview environment: their resources are never orphans."""
    settings = products_workspace(platform, environment, folder="_environments")
    return {
        s.name
        for s in engine.list_stacks(settings, environment=environment)
        if s.name.rsplit(".", 1)[-1] == environment
    }
