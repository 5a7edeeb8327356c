"""The engine: running stacks through the Pulumi Automation API.

Layout (small modules, each named for what it holds):

- `target`: what mesh builds for a stack — backend, secrets provider, passphrase,
  stack config, tags, workspace folder — as a `StackTarget`. No Pulumi import.
- `workspace`: the small interface mesh needs from Pulumi (`Workspace`,
  `StackHandle`, `WorkspaceFactory`) and the results it returns.
- `automation`: the real workspaces over `pulumi.automation` — the only module of
  mesh that imports it — with the engine-event reader, the error translation and
  the Pulumi CLI lookup/installation.
- `operations`: `Engine` (preview, up, destroy, refresh, outputs, cancel, list,
  history) and the replace guard; every operation keeps its event log.
- `eventlog`: where event logs go, writing them, reading them back with located
  errors, and replaying one (`mesh events`).
- `ledger`: what one operation did, folded from its progress records (live or
  replayed) and counted as the engine counts.
- `causes`: what the engine's error texts mean and how to fix each (shared by the
  translation of failed CLI calls and the ledger).
- `history`: stack listings and histories read from the CLI's JSON; TTL decisions
  and the time a product was provisioned.
- `provision`: several requests at once — plan, preview, confirm, apply.
- `status`: every stack of the project, per environment.
- `readiness`: `mesh doctor`'s checks.

Commands import this package lazily (it imports Pulumi).
"""

from __future__ import annotations

from infra.engine.automation import (
    AutomationWorkspaces,
    EventReader,
    default_workspaces,
    resolve_command,
    translate,
)
from infra.engine.eventlog import EventLogInvalid, EventLogs, Replay, replay
from infra.engine.failures import (
    DestructiveChangeBlocked,
    EngineFailed,
    GuardrailsBlocked,
    PrerequisiteMissing,
    ProtectedEnvironment,
    ResourceFailed,
    StackLocked,
    StackMissing,
)
from infra.engine.history import expiry, provisioned_at, read_stack_history, read_stack_listing
from infra.engine.ledger import RunLedger, RunRecord, RunResult
from infra.engine.operations import Engine, check_destructive, check_protected
from infra.engine.provision import (
    ProvisionReport,
    RunStatus,
    StackRun,
    plan_product_runs,
    provision_stacks,
    run_parallel,
)
from infra.engine.readiness import Check, CheckStatus, readiness_checks
from infra.engine.status import StackStatus, StatusReport, stack_history_reader, stack_statuses
from infra.engine.target import (
    ConfigEntry,
    StackTarget,
    WorkspaceSettings,
    backend_url,
    passphrase_env,
    platform_target,
    prepare,
    product_target,
    products_workspace,
    stack_config,
    workspace_settings,
)
from infra.engine.workspace import (
    DESTRUCTIVE_OPS,
    STATEFUL_TYPES,
    PlannedStep,
    PreviewReport,
    StackHandle,
    StackListing,
    UpdateInfo,
    UpdateReport,
    Workspace,
    WorkspaceFactory,
)

__all__ = [
    "DESTRUCTIVE_OPS",
    "STATEFUL_TYPES",
    "AutomationWorkspaces",
    "Check",
    "CheckStatus",
    "ConfigEntry",
    "DestructiveChangeBlocked",
    "Engine",
    "EngineFailed",
    "EventLogInvalid",
    "EventLogs",
    "EventReader",
    "GuardrailsBlocked",
    "PlannedStep",
    "PrerequisiteMissing",
    "PreviewReport",
    "ProtectedEnvironment",
    "ProvisionReport",
    "Replay",
    "ResourceFailed",
    "RunLedger",
    "RunRecord",
    "RunResult",
    "RunStatus",
    "StackHandle",
    "StackListing",
    "StackLocked",
    "StackMissing",
    "StackRun",
    "StackStatus",
    "StackTarget",
    "StatusReport",
    "UpdateInfo",
    "UpdateReport",
    "Workspace",
    "WorkspaceFactory",
    "WorkspaceSettings",
    "backend_url",
    "check_destructive",
    "check_protected",
    "default_workspaces",
    "expiry",
    "passphrase_env",
    "plan_product_runs",
    "platform_target",
    "prepare",
    "product_target",
    "products_workspace",
    "provision_stacks",
    "provisioned_at",
    "read_stack_history",
    "read_stack_listing",
    "readiness_checks",
    "replay",
    "resolve_command",
    "run_parallel",
    "stack_config",
    "stack_history_reader",
    "stack_statuses",
    "translate",
    "workspace_settings",
]
