"""Error translation on the texts the Pulumi CLI, its engine and the AWS provider really print.

Every text below is taken from its source (cited beside it); only the stack, resource
and version values are mesh's. Each goes through the path it takes in a real run: a
failed CLI call raises the Automation API's own error class (`create_command_error`
classifies it as it would), the engine's diagnostics arrive as events, and mesh must
answer with its message and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from engine_fakes import EVENT_LOGS, FakeWorkspaces, Script, command_error, recorded
from pulumi.automation import errors as auto_errors
from pulumi.automation.events import EngineEvent

from cli.provision import run_lines
from infra.engine import Engine, EngineFailed, ResourceFailed, StackLocked, StackTarget, product_target
from infra.engine.automation import EventReader
from infra.engine.eventlog import replay
from infra.engine.ledger import RunLedger
from infra.model.errors import MeshError
from infra.progress import ProgressRecord, Stage, StageStarted
from infra.validation import load_spec

STACK = "sales.orders.dev"
BUCKET_URN = f"urn:pulumi:{STACK}::mesh-acme::mesh:aws:DataProduct$mesh:aws:ProductStorage$aws:s3/bucket:Bucket::sales-orders-bucket"

# pulumi/pulumi pkg/backend/diy/lock.go, checkForLock: the header, then one line per lock file.
DIY_LOCK = (
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end "
    "or delete the lock file with `pulumi cancel`.\n"
    "  s3://acme-mesh-state-prod/.pulumi/locks/organization/mesh-acme/sales.orders.dev/3f1c0d2e.json: "
    "created by ci@runner-12 (pid 811) at 2026-11-23T10:15:00Z"
)
# pulumi/pulumi sdk/python/lib/pulumi/automation/errors.py, `conflict_text`: what the CLI prints when
# Pulumi Cloud refuses a second update of a stack (the Automation API classifies on this very text).
CLOUD_CONFLICT = "error: [409] Conflict: Another update is currently in progress."
# pulumi/pulumi, printPendingOperationsError: the CLI's error for pending operations (before the
# engine turned it into the warning below, pulumi/pulumi#9293).
PENDING_ERROR = (
    "error: the current deployment has 1 resource(s) with pending operations:\n"
    f"  * {BUCKET_URN}, interrupted while creating\n"
    "\n"
    "These resources are in an unknown state because the Pulumi CLI was interrupted while\n"
    "waiting for changes to these resources to complete. You should confirm whether or not the\n"
    "operations listed completed successfully by checking the state of the appropriate provider.\n"
    "For example, if you are using AWS, you can confirm using the AWS Console.\n"
)
# pulumi/pulumi pkg/resource/deploy/deployment_executor.go, printPendingOperationsWarning: the engine's
# warning diagnostic today (it deploys anyway).
PENDING_WARNING = (
    "Attempting to deploy or update resources with 1 pending operations from previous deployment.\n"
    f"  * {BUCKET_URN}, interrupted while creating\n"
    "These resources are in an unknown state because the Pulumi CLI was interrupted while waiting for changes "
    "to these resources to complete. You should confirm whether or not the operations listed completed "
    "successfully by checking the state of the appropriate provider. For example, if you are using AWS, you "
    "can confirm using the AWS Console.\n"
    "\n"
    "Once you have confirmed the status of the interrupted operations, you can repair your stack using "
    "`pulumi refresh` which will refresh the state from the provider you are using and clear the pending "
    "operations if there are any.\n"
    "\n"
    "Note that `pulumi refresh` will need to be run interactively to clear pending CREATE operations."
)
# pulumi/pulumi sdk/go/common/workspace/plugins.go, MissingError.Error() (a versioned plugin).
MISSING_PLUGIN = (
    "error: no resource plugin 'aws-v7.12.0' found in the workspace or on your $PATH, "
    "install the plugin using `pulumi plugin install resource aws v7.12.0`"
)
# pulumi/pulumi-aws provider/resources.go, validateCredentials: "unable to validate AWS credentials.\nDetails: %s\n",
# as the CLI prints a provider's failure under Diagnostics.
CREDENTIALS = """Updating (sales.orders.dev):

Diagnostics:
  aws:iam:Role (sales-orders-producer):
    error: unable to validate AWS credentials.
    Details: validating provider credentials: retrieving caller identity from STS: operation error STS: GetCallerIdentity, https response error StatusCode: 403, RequestID: 4c1e, api error ExpiredToken: The security token included in the request is expired

Resources:
    12 unchanged
"""
# pulumi/pulumi pkg/engine/lifecycletest/testdata/output/TestProtect/3/eventstream.json: the engine's
# diagnostic for a protected resource an update must delete (the same words under Diagnostics).
PROTECTED = f"""Updating (sales.orders.dev):

Diagnostics:
  aws:s3:Bucket (sales-orders-bucket):
    error: resource "{BUCKET_URN}" cannot be deleted
    because it is protected. To unprotect the resource, either remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use the command:
    `pulumi state unprotect '{BUCKET_URN}'`

  pulumi:pulumi:Stack (mesh-acme-sales.orders.dev):
    error: update failed
"""


@dataclass
class Case:
    reason: str
    error: Exception
    want: type[MeshError]
    message: tuple[str, ...]
    hint: tuple[str, ...]
    library_class: type[Exception] = auto_errors.CommandError


CASES = [
    Case(
        "a locked stack (DIY backend) names who holds the lock",
        command_error(DIY_LOCK),
        StackLocked,
        ("Stack sales.orders.dev is locked", "ci@runner-12 (pid 811) since 2026-11-23T10:15:00Z"),
        ("mesh cancel", "pulumi cancel --stack sales.orders.dev"),
        auto_errors.ConcurrentUpdateError,
    ),
    Case(
        "a concurrent update (Pulumi Cloud) is a lock too",
        command_error(CLOUD_CONFLICT),
        StackLocked,
        ("another update is in progress (the Pulumi Cloud backend reports a conflict)",),
        ("Wait for that update to finish",),
        auto_errors.ConcurrentUpdateError,
    ),
    Case(
        "pending operations after a crash say how to reconcile",
        command_error(PENDING_ERROR),
        EngineFailed,
        ("an earlier run was interrupted while it changed resources",),
        ("pulumi refresh --stack sales.orders.dev", "cloud console"),
    ),
    Case(
        "a missing plugin says it must be installed",
        command_error(MISSING_PLUGIN),
        EngineFailed,
        ("a Pulumi provider plugin is missing", "pulumi plugin install resource aws v7.12.0"),
        ("needs internet", "mesh doctor"),
    ),
    Case(
        "a failed credential check names the resource and says to log in",
        command_error(stdout=CREDENTIALS, stderr="error: update failed"),
        ResourceFailed,
        (
            "failed at aws:iam:Role sales-orders-producer",
            "unable to validate AWS credentials",
            "ExpiredToken",
        ),
        ("aws sso login", "mesh doctor"),
    ),
    Case(
        "a protected resource is refused, with how to unprotect it if that is meant",
        command_error(stdout=PROTECTED, stderr="error: update failed"),
        ResourceFailed,
        ("failed at aws:s3:Bucket sales-orders-bucket", "cannot be deleted because it is protected"),
        ("mesh never protects resources itself", f"pulumi state unprotect '{BUCKET_URN}' --stack {STACK}"),
    ),
]


@pytest.fixture
def target(
    write_request: Callable[..., Path], minimal_request: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> StackTarget:
    monkeypatch.setenv("MESH_PASSPHRASE", "test-only")
    path = write_request(minimal_request)
    spec, _, loaded = load_spec(path, platform_path=None, environment="dev")
    return product_target(spec, loaded, source=str(path))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.reason)
def test_the_clis_real_error_texts_become_meshs_message_and_fix(case: Case, target: StackTarget) -> None:
    assert type(case.error) is case.library_class, f"{case.reason}: the Automation API classifies it so"
    engine = Engine(workspaces=FakeWorkspaces({target.stack: Script(errors={"up": case.error})}))

    with pytest.raises(MeshError) as raised:
        engine.up(target)

    error = raised.value
    assert type(error) is case.want, f"{case.reason}: {error.message}"
    for text in case.message:
        assert text in error.message, f"{case.reason}: {text!r} not in {error.message!r}"
    for text in case.hint:
        assert text in (error.hint or ""), f"{case.reason}: {text!r} not in {error.hint!r}"
    assert error.__cause__ is case.error
    assert "stdout:" not in error.message and "Traceback" not in error.message


def test_a_protected_resource_reads_the_same_live_and_replayed(target: StackTarget) -> None:
    """The recorded engine run: events on the live path, the CLI's closing error, then the replay."""
    events, _ = recorded("lifecycle-protect-3-delete-protected.json")
    script = Script(up_events=events, errors={"up": command_error("error: update failed")})
    engine = Engine(workspaces=FakeWorkspaces({target.stack: script}))

    with pytest.raises(ResourceFailed) as raised:
        engine.up(target)
    replayed = replay(EVENT_LOGS / "lifecycle-protect-3-delete-protected.json").record

    live = raised.value
    assert "failed at pkgA:m:typA resA: resource" in live.message
    assert "cannot be deleted because it is protected" in live.message
    (failure,) = replayed.failures
    assert failure.message in live.message, "the same words from the engine"
    unprotect = "pulumi state unprotect 'urn:pulumi:test::test::pkgA:m:typA::resA'"
    assert unprotect in (live.hint or "") and unprotect in failure.hint


def test_the_pending_operations_warning_comes_with_its_fix() -> None:
    records: list[ProgressRecord] = [StageStarted(stack=STACK, stage=Stage.UPDATE)]
    ledger = RunLedger(STACK, Stage.UPDATE)
    warning = EngineEvent.from_json(
        {
            "sequence": 3,
            "timestamp": 0,
            "diagnosticEvent": {"message": PENDING_WARNING, "color": "raw", "severity": "warning"},
        }
    )
    events, _ = recorded("up.json")
    reader = EventReader(STACK, Stage.UPDATE, records.append)
    for event in [events[0], warning, *events[1:]]:
        reader(event)
    for record in records:
        ledger(record)
    record = ledger.record()

    assert record.ok, "the engine deploys anyway"
    assert reader.warnings and reader.warnings[0].startswith("Attempting to deploy or update resources")
    lines = run_lines(record)
    hint = lines[lines.index(next(line for line in lines if line.startswith("  warning: Attempting"))) + 1]
    assert hint.startswith("    Hint: Check those resources in the cloud console")
    assert f"pulumi refresh --stack {STACK}" in hint
