"""The engine: running stacks through the Pulumi Automation API.

Layout (small modules, each named for what it holds):

- `target`: what mesh builds for a stack — backend, secrets provider, passphrase,
  stack config, tags, workspace folder — as a `StackTarget`. No Pulumi import.
- `workspace`: the small interface mesh needs from Pulumi (`Workspace`,
  `StackHandle`, `WorkspaceFactory`) and the results it returns.
- `automation`: the real workspaces over `pulumi.automation` — the only module of
  mesh that imports it — with the engine-event reader, the error translation and
  the Pulumi CLI lookup/installation.
- `operations`: `Engine` (preview, up, destroy, refresh, outputs, cancel, list) and
  the replace guard.
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
from infra.engine.status import StackStatus, StatusReport, stack_statuses
from infra.engine.target import (
    ConfigEntry,
    StackTarget,
    WorkspaceSettings,
    backend_url,
    passphrase_env,
    platform_target,
    prepare,
    product_target,
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
    "EventReader",
    "GuardrailsBlocked",
    "PlannedStep",
    "PrerequisiteMissing",
    "PreviewReport",
    "ProtectedEnvironment",
    "ProvisionReport",
    "ResourceFailed",
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
    "passphrase_env",
    "plan_product_runs",
    "platform_target",
    "prepare",
    "product_target",
    "provision_stacks",
    "readiness_checks",
    "resolve_command",
    "run_parallel",
    "stack_config",
    "stack_statuses",
    "translate",
    "workspace_settings",
]
