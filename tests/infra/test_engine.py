"""The engine against a fake workspace: settings per environment, progress, errors, guards, parallelism.

The fake implements `infra.engine.Workspace`/`StackHandle`; it raises the errors of
`pulumi.automation` the way the library builds them (`create_command_error` over a
`CommandResult` with Pulumi's real stderr text) and feeds real `EngineEvent`s.
"""

from __future__ import annotations

import ast
import json
import stat
import sys
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine_fakes import FakeWorkspaces, Script, command_error
from pulumi.automation import errors as auto_errors
from pulumi.automation.events import EngineEvent

from infra import pulumi_cli
from infra.engine import (
    DestructiveChangeBlocked,
    Engine,
    EngineFailed,
    PrerequisiteMissing,
    PreviewReport,
    ProtectedEnvironment,
    ResourceFailed,
    RunStatus,
    StackListing,
    StackLocked,
    StackMissing,
    StackRun,
    StackTarget,
    UpdateInfo,
    automation,
    check_destructive,
    check_protected,
    platform_target,
    prepare,
    product_target,
    provision_stacks,
    stack_statuses,
)
from infra.engine.target import ConfigEntry
from infra.model.errors import MeshError
from infra.progress import (
    CliInstall,
    EngineMessage,
    ProgressBoard,
    ProgressRecord,
    ResourceStep,
    Stage,
    StageFinished,
    StageStarted,
    StepStatus,
)
from infra.validation import LoadedPlatform, load_platform, load_spec

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "mesh-acme"
BUCKET = "aws:s3/bucket:Bucket"
ROLE = "aws:iam/role:Role"
POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PASSPHRASE_VARS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "MESH_PASSPHRASE")


# --- Engine events, built the way the Automation API parses them --------------------------


def urn(stack: str, type_: str, name: str, parents: tuple[str, ...] = ("mesh:aws:DataProduct",)) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{'$'.join((*parents, type_))}::{name}"


def _metadata(urn_: str, type_: str, op: str, custom: bool) -> dict[str, Any]:
    return {
        "op": op,
        "urn": urn_,
        "type": type_,
        "provider": "",
        "new": {"type": type_, "urn": urn_, "custom": custom},
    }


def pre(urn_: str, type_: str, op: str = "create", *, custom: bool = True) -> EngineEvent:
    return EngineEvent.from_json(
        {"sequence": 1, "timestamp": 0, "resourcePreEvent": {"metadata": _metadata(urn_, type_, op, custom)}}
    )


def done(urn_: str, type_: str, op: str = "create", *, custom: bool = True) -> EngineEvent:
    return EngineEvent.from_json(
        {"sequence": 2, "timestamp": 0, "resOutputsEvent": {"metadata": _metadata(urn_, type_, op, custom)}}
    )


def op_failed(urn_: str, type_: str, op: str = "create") -> EngineEvent:
    return EngineEvent.from_json(
        {
            "sequence": 3,
            "timestamp": 0,
            "resOpFailedEvent": {"metadata": _metadata(urn_, type_, op, True), "status": 1, "steps": 1},
        }
    )


def diagnostic(message: str, *, severity: str = "error", urn_: str | None = None) -> EngineEvent:
    body: dict[str, Any] = {"message": message, "color": "never", "severity": severity}
    if urn_:
        body["urn"] = urn_
    return EngineEvent.from_json({"sequence": 4, "timestamp": 0, "diagnosticEvent": body})


def creates(stack: str, *resources: tuple[str, str]) -> list[EngineEvent]:
    events: list[EngineEvent] = []
    for type_, name in resources:
        events += [pre(urn(stack, type_, name), type_), done(urn(stack, type_, name), type_)]
    return events


# --- Fixtures ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_passphrase_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PASSPHRASE_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def platform(workdir: Path) -> LoadedPlatform:
    return load_platform(workdir / "mesh.yaml")


@pytest.fixture
def request_file(write_request: Callable[..., Path], minimal_request: dict[str, Any]) -> Path:
    return write_request(minimal_request)


def target_of(path: Path, environment: str, *, planned: int | None = None) -> StackTarget:
    spec, _, loaded = load_spec(path, platform_path=None, environment=environment)
    return product_target(spec, loaded, source=str(path), planned_resources=planned)


def named(write_request: Callable[..., Path], request: dict[str, Any], domain: str, name: str) -> Path:
    copy = yaml.safe_load(yaml.safe_dump(request))
    copy["metadata"] |= {"domain": domain, "name": name, "owner": f"{domain}-data@example.com"}
    copy["spec"]["access"] = {"consumers": []}
    return write_request(copy, name=f"{domain}-{name}.yaml")


# --- What mesh builds for each environment --------------------------------------------------


def test_dev_uses_the_file_backend_next_to_mesh_yaml_and_a_generated_passphrase(
    request_file: Path, workdir: Path
) -> None:
    target = target_of(request_file, "dev")
    settings = target.settings
    repo = workdir.resolve()

    assert (target.stack, settings.project) == ("sales.orders.dev", PROJECT)
    assert settings.backend_url == f"file://{repo}/.mesh/state"
    assert settings.secrets_provider == "passphrase"
    assert settings.env_vars["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(workdir / ".mesh" / "passphrase")
    assert "PULUMI_CONFIG_PASSPHRASE" not in settings.env_vars
    assert settings.work_dir == workdir / ".mesh" / "workspaces" / PROJECT / "sales.orders.dev"
    assert dict(target.config) == {
        "aws:region": ConfigEntry("eu-west-1"),
        "aws:allowedAccountIds[0]": ConfigEntry("111122223333", path=True),
    }
    assert list(target.tags)[:4] == ["mesh:domain", "mesh:product", "mesh:owner", "mesh:environment"]
    assert target.tags["mesh:owner"] == "sales-data@example.com"
    assert (target.protected, target.preview_environment) == (False, False)
    assert not (workdir / ".mesh").exists(), "building settings must write nothing"


def test_prod_passes_the_s3_backend_and_kms_secrets_provider_through(
    request_file: Path, workdir: Path
) -> None:
    target = target_of(request_file, "prod")
    settings = target.settings

    assert settings.backend_url == "s3://acme-mesh-state-prod"
    assert settings.secrets_provider == "awskms://alias/acme-mesh-state?region=eu-west-1"
    assert not any(k.startswith("PULUMI_CONFIG_PASSPHRASE") for k in settings.env_vars)
    assert settings.passphrase_file is None
    assert target.protected is True
    assert dict(target.config) == {
        "aws:region": ConfigEntry("eu-west-1"),
        "aws:allowedAccountIds[0]": ConfigEntry("444455556666", path=True),
    }
    prepare(settings)
    assert not (workdir / ".mesh" / "passphrase").exists()


def test_local_points_only_the_configured_services_at_localstack(request_file: Path) -> None:
    target = target_of(request_file, "local")
    config = dict(target.config)
    endpoint = "http://127.0.0.1:4566"

    assert config["aws:region"] == ConfigEntry("us-east-1")
    endpoints = {k: v for k, v in config.items() if k.startswith("aws:endpoints")}
    assert endpoints == {
        f"aws:endpoints[0].{service}": ConfigEntry(endpoint, path=True)
        for service in ("athena", "events", "glue", "iam", "kms", "s3", "sns", "sts")
    }
    for flag in (
        "aws:s3UsePathStyle",
        "aws:skipCredentialsValidation",
        "aws:skipRequestingAccountId",
        "aws:skipMetadataApiCheck",
    ):
        assert config[flag] == ConfigEntry("true"), flag
    assert config["aws:accessKey"] == ConfigEntry("test", secret=True)
    assert config["aws:secretKey"] == ConfigEntry("test", secret=True)
    assert "aws:s3ForcePathStyle" not in config, "pulumi-aws v7 removed it"


def test_gcp_products_get_project_and_region(
    write_request: Callable[..., Path], minimal_request: dict[str, Any]
) -> None:
    request = yaml.safe_load(yaml.safe_dump(minimal_request))
    request["spec"]["cloud"] = "gcp"
    for column in request["spec"]["outputPorts"][0]["schema"]:
        column["type"] = column["type"].upper()
    target = target_of(write_request(request, name="gcp.yaml"), "dev")

    assert dict(target.config) == {
        "gcp:project": ConfigEntry("acme-data-dev"),
        "gcp:region": ConfigEntry("europe-west1"),
    }


def test_the_passphrase_is_generated_once_private_and_never_shown(request_file: Path, workdir: Path) -> None:
    target = target_of(request_file, "dev")
    prepare(target.settings)
    path = workdir / ".mesh" / "passphrase"
    secret = path.read_text()
    prepare(target_of(request_file, "dev").settings)

    assert path.read_text() == secret and len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (workdir / ".mesh" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert secret not in repr(target) and secret not in repr(target.settings)
    assert secret not in str(dict(target.settings.env_vars))


def test_a_passphrase_file_others_can_read_is_made_private(request_file: Path, workdir: Path) -> None:
    (workdir / ".mesh").mkdir()
    path = workdir / ".mesh" / "passphrase"
    path.write_text("kept")
    path.chmod(0o644)
    prepare(target_of(request_file, "dev").settings)

    assert path.read_text() == "kept"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_passphrase_from_the_environment_wins(
    request_file: Path, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESH_PASSPHRASE", "correct horse battery staple")
    settings = target_of(request_file, "dev").settings
    prepare(settings)

    assert settings.env_vars["PULUMI_CONFIG_PASSPHRASE"] == "correct horse battery staple"
    assert "correct horse" not in repr(settings)
    assert not (workdir / ".mesh" / "passphrase").exists()

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "from pulumi")
    inherited = target_of(request_file, "dev").settings
    assert not any(k.startswith("PULUMI_CONFIG_PASSPHRASE") for k in inherited.env_vars), "Pulumi inherits it"


def test_the_platform_stack_of_an_environment(platform: LoadedPlatform) -> None:
    target = platform_target(platform, "local")

    assert (target.stack, target.settings.project, target.source) == ("platform.local", PROJECT, "platform")
    assert target.config["aws:endpoints[0].s3"].path is True
    assert target.tags["mesh:domain"] == "platform"
    assert target.command("up") == "mesh platform up --env local"


# --- Operations, progress and the interface calls ------------------------------------------


def test_preview_creates_the_stack_sets_config_and_tags_and_reports_progress(request_file: Path) -> None:
    target = target_of(request_file, "dev", planned=2)
    stack = target.stack
    records: list[ProgressRecord] = []
    fake = FakeWorkspaces(
        {
            stack: Script(
                preview_events=[
                    pre(
                        f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}",
                        "pulumi:pulumi:Stack",
                    ),
                    pre(
                        urn(stack, "mesh:aws:DataProduct", "sales-orders", ()),
                        "mesh:aws:DataProduct",
                        custom=False,
                    ),
                    pre(urn(stack, "pulumi:providers:aws", "default"), "pulumi:providers:aws"),
                    *creates(stack, (BUCKET, "sales-orders-bucket"), (ROLE, "sales-orders-producer")),
                    diagnostic("deprecated argument", severity="warning"),
                ],
            )
        }
    )
    engine = Engine(workspaces=fake, on_progress=records.append)

    preview = engine.preview(target)

    assert preview.changes == {"create": 2}
    assert [(s.type, s.name, s.op) for s in preview.steps] == [
        (BUCKET, "sales-orders-bucket", "create"),
        (ROLE, "sales-orders-producer", "create"),
    ]
    assert preview.warnings == ["deprecated argument"]
    handle = fake.stacks[stack]
    assert handle.config == dict(target.config)
    assert handle.tags_set == dict(target.tags)
    assert fake.opened[0] == target.settings
    kinds = [type(r).__name__ for r in records]
    assert kinds[0] == "StageStarted" and kinds[-1] == "StageFinished"
    steps = [r for r in records if isinstance(r, ResourceStep)]
    assert [(r.name, r.status) for r in steps if r.custom] == [
        ("sales-orders-bucket", StepStatus.STARTED),
        ("sales-orders-bucket", StepStatus.DONE),
        ("sales-orders-producer", StepStatus.STARTED),
        ("sales-orders-producer", StepStatus.DONE),
    ], "only cloud resources count towards the planned total"
    assert [(r.type, r.custom) for r in steps if not r.custom] == [
        ("pulumi:pulumi:Stack", False),
        ("mesh:aws:DataProduct", False),
        ("pulumi:providers:aws", False),
    ], "the stack, components and providers are reported too, marked as such"
    assert records[0] == StageStarted(stack=stack, stage=Stage.PREVIEW, planned=2)
    finished = records[-1]
    assert isinstance(finished, StageFinished) and finished.ok and finished.changes == {"create": 2}


def test_up_reuses_the_stack_and_returns_outputs(request_file: Path) -> None:
    target = target_of(request_file, "dev")
    fake = FakeWorkspaces({target.stack: Script(up_changes={"create": 5, "same": 0})})
    engine = Engine(workspaces=fake)

    engine.preview(target)
    report = engine.up(target)

    assert report.changes == {"create": 5}
    assert report.outputs == {"bucket": "acme-dev-sales-orders"}
    assert fake.created == [target.stack], "one create_or_select for preview and up"
    assert fake.calls(target.stack) == ["preview", "up"]


def test_a_backend_without_stack_tags_is_a_warning(request_file: Path) -> None:
    target = target_of(request_file, "dev")
    script = Script(errors={"set_tag": command_error("error: stack tags not supported in diy mode")})
    engine = Engine(workspaces=FakeWorkspaces({target.stack: script}))

    preview = engine.preview(target)

    assert any("does not keep stack tags" in w for w in preview.warnings)


def test_destroy_refresh_outputs_and_cancel_need_an_existing_stack(request_file: Path) -> None:
    target = target_of(request_file, "dev")
    fake = FakeWorkspaces(existing=(target.stack,))
    engine = Engine(workspaces=fake)

    assert engine.destroy(target).changes == {"delete": 2}
    assert engine.refresh(target).changes == {"same": 2}
    assert engine.outputs(target) == {"bucket": "acme-dev-sales-orders"}
    engine.cancel(target)
    assert fake.created == [], "select only: these operations never create a stack"
    assert fake.calls(target.stack) == ["destroy", "refresh", "outputs", "cancel"]


def test_destroy_is_refused_in_a_protected_environment(request_file: Path) -> None:
    target = target_of(request_file, "prod")

    with pytest.raises(ProtectedEnvironment) as refused:
        check_protected(target, allow_protected=False)
    assert "--allow-protected" in (refused.value.hint or "")
    check_protected(target, allow_protected=True)
    check_protected(target_of(request_file, "dev"), allow_protected=False)


# --- Error translation -----------------------------------------------------------------------

DIY_LOCK = (
    "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end "
    "or delete the lock file with `pulumi cancel`.\n"
    "  file:///repo/.mesh/state/.pulumi/locks/organization/mesh-acme/sales.orders.dev/8f2e.json: "
    "created by alice@build-7 (pid 4242) at 2026-11-23T10:15:00Z"
)
DIAGNOSTICS = """Updating (sales.orders.dev):
 +  aws:s3:Bucket sales-orders-bucket creating (1s) error: 1 error occurred:

Diagnostics:
  aws:s3:Bucket (sales-orders-bucket):
    error: 1 error occurred:
    \t* creating S3 Bucket (acme-dev-sales-orders): operation error S3: CreateBucket, https response error StatusCode: 409, BucketAlreadyExists

  pulumi:pulumi:Stack (mesh-acme-sales.orders.dev):
    error: update failed

Resources:
    3 unchanged
"""


@dataclass
class ErrorCase:
    reason: str
    operation: str
    error: Exception
    want: type[MeshError]
    message: tuple[str, ...]
    hint: tuple[str, ...] = ()
    events: list[EngineEvent] = field(default_factory=list)
    library_class: type[Exception] | None = None
    raised_by: str = ""  # the interface call that raises (default: the operation itself)


def error_cases(stack: str) -> list[ErrorCase]:
    bucket_urn = urn(
        stack, BUCKET, "sales-orders-bucket", ("mesh:aws:DataProduct", "mesh:aws:ProductStorage")
    )
    role_urn = urn(stack, ROLE, "sales-orders-producer")
    return [
        ErrorCase(
            "a DIY backend's lock names who holds it and since when",
            "up",
            command_error(DIY_LOCK),
            StackLocked,
            ("locked", "alice@build-7 (pid 4242) since 2026-11-23T10:15:00Z"),
            ("mesh cancel", f"pulumi cancel --stack {stack}", "pulumi stack export", "pulumi stack import"),
            library_class=auto_errors.ConcurrentUpdateError,
        ),
        ErrorCase(
            "Pulumi Cloud's 409 conflict is a lock too",
            "preview",
            command_error("error: [409] Conflict: Another update is currently in progress."),
            StackLocked,
            ("locked", "Pulumi Cloud"),
            ("mesh cancel",),
            library_class=auto_errors.ConcurrentUpdateError,
        ),
        ErrorCase(
            "a missing stack says nothing was provisioned and how to provision",
            "destroy",
            command_error(f"error: no stack named '{stack}' found"),
            StackMissing,
            (stack, "does not exist", "nothing has been provisioned"),
            ("mesh provision",),
            library_class=auto_errors.StackNotFoundError,
            raised_by="select",
        ),
        ErrorCase(
            "a failed resource in Pulumi's Diagnostics names the resource and the provider's message",
            "up",
            command_error(stdout=DIAGNOSTICS, stderr="error: update failed"),
            ResourceFailed,
            ("sales-orders-bucket", "BucketAlreadyExists", "aws:s3:Bucket"),
            ("mesh provision",),
        ),
        ErrorCase(
            "a failed resource reported by engine events is named from its URN",
            "up",
            command_error(stderr="error: update failed"),
            ResourceFailed,
            (BUCKET, "sales-orders-bucket", "BucketAlreadyExists: the name is taken"),
            events=[
                pre(bucket_urn, BUCKET),
                diagnostic("BucketAlreadyExists: the name is taken\n", urn_=bucket_urn),
                op_failed(bucket_urn, BUCKET),
            ],
        ),
        ErrorCase(
            "an error line carrying a URN names that resource",
            "up",
            command_error(stderr=f"error: creating {role_urn}: AccessDenied: not allowed to iam:CreateRole"),
            ResourceFailed,
            (ROLE, "sales-orders-producer", "AccessDenied"),
        ),
        ErrorCase(
            "a crash in the inline program is mesh's bug, not the user's",
            "preview",
            command_error(
                stdout="python inline source runtime error: KeyError 'x'\nerror: an unhandled error occurred"
            ),
            EngineFailed,
            ("Pulumi program", stack),
            ("bug in mesh",),
            library_class=auto_errors.InlineSourceRuntimeError,
        ),
        ErrorCase(
            "a wrong passphrase says which variable to set",
            "preview",
            command_error("error: getting stack configuration: incorrect passphrase"),
            EngineFailed,
            ("passphrase",),
            ("PULUMI_CONFIG_PASSPHRASE", "MESH_PASSPHRASE"),
        ),
        ErrorCase(
            "anything else keeps Pulumi's first error line",
            "refresh",
            command_error("warning: x\nerror: something unusual happened\nerror: refresh failed"),
            EngineFailed,
            ("Refreshing", "something unusual happened"),
        ),
    ]


@pytest.mark.parametrize("index", range(9))
def test_automation_errors_are_translated_once_for_people(request_file: Path, index: int) -> None:
    target = target_of(request_file, "dev")
    case = error_cases(target.stack)[index]
    if case.library_class is not None:
        assert type(case.error) is case.library_class, f"{case.reason}: the library classifies it"
    script = Script(errors={case.raised_by or case.operation: case.error}, up_events=case.events)
    fake = FakeWorkspaces({target.stack: script}, existing=(target.stack,))
    engine = Engine(workspaces=fake)
    call = {"up": engine.up, "preview": engine.preview, "destroy": engine.destroy, "refresh": engine.refresh}

    with pytest.raises(MeshError) as raised:
        call[case.operation](target)

    error = raised.value
    assert type(error) is case.want, case.reason
    for text in case.message:
        assert text in error.message, f"{case.reason}: {text!r} not in {error.message!r}"
    for text in case.hint:
        assert text in (error.hint or ""), f"{case.reason}: {text!r} not in hint {error.hint!r}"
    assert error.__cause__ is case.error, f"{case.reason}: raised from the Automation API error"
    assert "Traceback" not in error.message and "stdout:" not in error.message, case.reason


def test_a_failed_resource_is_reported_as_progress_too(request_file: Path) -> None:
    target = target_of(request_file, "dev")
    bucket_urn = urn(target.stack, BUCKET, "sales-orders-bucket")
    records: list[ProgressRecord] = []
    script = Script(
        up_events=[
            pre(bucket_urn, BUCKET),
            diagnostic("boom", urn_=bucket_urn),
            op_failed(bucket_urn, BUCKET),
        ],
        errors={"up": command_error("error: update failed")},
    )
    engine = Engine(workspaces=FakeWorkspaces({target.stack: script}), on_progress=records.append)

    with pytest.raises(ResourceFailed) as raised:
        engine.up(target)

    assert raised.value.urn == bucket_urn
    assert EngineMessage(stack=target.stack, severity="error", message="boom", urn=bucket_urn) in records
    finished = records[-1]
    assert isinstance(finished, StageFinished) and finished.ok is False


# --- The replace guard -----------------------------------------------------------------------


def replacing(stack: str, type_: str = BUCKET, name: str = "sales-orders-bucket") -> Script:
    u = urn(stack, type_, name)
    return Script(
        preview_events=[
            pre(u, type_, "create-replacement"),
            pre(u, type_, "replace"),
            pre(u, type_, "delete-replaced"),
            done(u, type_, "replace"),
        ],
        preview_changes={"replace": 1, "same": 20},
    )


def provision(
    targets: list[StackTarget],
    fake: FakeWorkspaces,
    *,
    allow_replace: bool = False,
    answer: bool = True,
    parallel: int = 4,
) -> Any:
    asked: list[int] = []

    def confirm(report: Any) -> bool:
        asked.append(len(report.runs))
        return answer

    report = provision_stacks(
        [StackRun(source=t.source, target=t) for t in targets],
        engine=Engine(workspaces=fake),
        environment=targets[0].environment,
        parallel=parallel,
        allow_replace=allow_replace,
        confirm=confirm,
    )
    report.asked = asked
    return report


def test_replacing_a_bucket_in_dev_is_refused_without_allow_replace(request_file: Path) -> None:
    target = target_of(request_file, "dev")
    fake = FakeWorkspaces({target.stack: replacing(target.stack)})

    report = provision([target], fake)

    run = report.runs[0]
    assert run.status is RunStatus.BLOCKED
    assert isinstance(run.error, DestructiveChangeBlocked)
    assert "aws:s3/bucket:Bucket sales-orders-bucket (replace)" in run.error.message
    assert "--allow-replace" in (run.error.hint or "")
    assert fake.calls(target.stack) == ["preview"], "nothing applied"
    assert report.ok is False and report.asked == []


@pytest.mark.parametrize(
    ("environment", "allow_replace"), [("preview", False), ("dev", True)], ids=["preview-env", "flag"]
)
def test_replacing_a_bucket_is_allowed_in_preview_environments_or_with_the_flag(
    request_file: Path, environment: str, allow_replace: bool
) -> None:
    target = target_of(request_file, environment)
    fake = FakeWorkspaces({target.stack: replacing(target.stack)})

    report = provision([target], fake, allow_replace=allow_replace)

    assert report.runs[0].status is RunStatus.SUCCEEDED
    assert fake.calls(target.stack) == ["preview", "up"]


def test_replacing_a_stateless_resource_needs_no_flag(request_file: Path) -> None:
    target = target_of(request_file, "dev")
    preview = PreviewReport(stack=target.stack, changes={"replace": 1}, steps=[])
    fake_steps = replacing(target.stack, POLICY, "sales-orders-bucket-policy").preview_events
    engine = Engine(workspaces=FakeWorkspaces({target.stack: Script(preview_events=fake_steps)}))

    check_destructive(target, engine.preview(target), allow_replace=False)
    with pytest.raises(DestructiveChangeBlocked, match="did not say which"):
        check_destructive(target, preview, allow_replace=False)


# --- Several stacks ------------------------------------------------------------------------


def test_stacks_run_in_parallel_and_one_failure_does_not_stop_the_others(
    write_request: Callable[..., Path], minimal_request: dict[str, Any]
) -> None:
    files = [
        named(write_request, minimal_request, "sales", "orders"),
        named(write_request, minimal_request, "finance", "ledger"),
        named(write_request, minimal_request, "support", "tickets"),
    ]
    targets = [target_of(f, "dev") for f in files]
    broken = "finance.ledger.dev"
    scripts = {t.stack: Script(delay=0.2) for t in targets}
    scripts[broken].errors["up"] = command_error(f"error: creating {urn(broken, BUCKET, 'b')}: AccessDenied")
    fake = FakeWorkspaces(scripts)

    report = provision(targets, fake, parallel=2)

    assert {r.stack: r.status for r in report.runs} == {
        "sales.orders.dev": RunStatus.SUCCEEDED,
        broken: RunStatus.FAILED,
        "support.tickets.dev": RunStatus.SUCCEEDED,
    }
    assert report.ok is False
    summary = report.as_dict()
    assert summary["failed"] == [broken]
    assert summary["succeeded"] == ["sales.orders.dev", "support.tickets.dev"]
    assert 1 < fake.max_active <= 2, f"at most 2 at a time, and really in parallel (saw {fake.max_active})"
    assert fake.ready_calls == 1 and report.asked == [3], "the CLI is checked once; one confirmation"


def test_an_aws_product_waits_for_its_environments_platform_stack(
    write_request: Callable[..., Path], minimal_request: dict[str, Any]
) -> None:
    aws = target_of(named(write_request, minimal_request, "sales", "orders"), "dev")
    request = yaml.safe_load(yaml.safe_dump(minimal_request))
    request["spec"]["cloud"] = "gcp"
    for column in request["spec"]["outputPorts"][0]["schema"]:
        column["type"] = column["type"].upper()
    gcp = target_of(named(write_request, request, "finance", "ledger"), "dev")
    fake = FakeWorkspaces(platform_up=("prod",))

    report = provision([aws, gcp], fake)

    missing, gcp_run = report.runs
    assert aws.requires == "platform.dev" and gcp.requires is None, "GCP has no platform stack"
    assert missing.status is RunStatus.FAILED and isinstance(missing.error, PrerequisiteMissing)
    assert missing.error.message.startswith(
        "sales.orders.dev needs the platform stack platform.dev, which does not exist"
    )
    assert missing.error.hint is not None and "`mesh platform up --env dev`" in missing.error.hint
    assert fake.calls(aws.stack) == [], "nothing previewed or applied"
    assert gcp_run.status is RunStatus.SUCCEEDED, "the other stack still runs"

    fake.listings.append(StackListing("acme/mesh-acme/platform.dev"))  # a fully qualified listing
    assert provision([aws], fake).runs[0].status is RunStatus.SUCCEEDED


def test_declining_the_confirmation_applies_nothing(request_file: Path) -> None:
    target = target_of(request_file, "dev")
    fake = FakeWorkspaces()

    report = provision([target], fake, answer=False)

    assert report.runs[0].status is RunStatus.DECLINED
    assert report.confirmed is False and report.ok is False
    assert fake.calls(target.stack) == ["preview"]


def test_a_stack_without_changes_is_not_updated_but_shows_its_outputs(request_file: Path) -> None:
    target = target_of(request_file, "dev")
    fake = FakeWorkspaces({target.stack: Script(preview_changes={"same": 30})})

    report = provision([target], fake)

    assert report.runs[0].status is RunStatus.UNCHANGED
    assert report.runs[0].outputs == {"bucket": "acme-dev-sales-orders"}
    assert report.ok is True and report.asked == []
    assert fake.calls(target.stack) == ["preview", "outputs"]


def test_no_stack_starts_when_the_engine_cannot_run(request_file: Path) -> None:
    target = target_of(request_file, "dev")
    fake = FakeWorkspaces()
    fake.not_ready = pulumi_cli.missing("offline")

    with pytest.raises(pulumi_cli.PulumiCliMissing):
        provision([target], fake)
    assert fake.stacks == {}


# --- Status ----------------------------------------------------------------------------------


def test_status_lists_each_environments_stacks_with_their_last_update(platform: LoadedPlatform) -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    fake = FakeWorkspaces(existing=("sales.orders.dev", "platform.dev", "sales.orders.preview"))
    fake.listings = [
        StackListing("sales.orders.dev", last_update=now - timedelta(hours=3), resource_count=31),
        StackListing("platform.dev", last_update=now - timedelta(days=2), update_in_progress=True),
        StackListing("sales.orders.preview", last_update=None),
    ]
    fake.scripts["sales.orders.dev"] = Script(info=UpdateInfo(kind="update", result="failed"))
    fake.unreadable = {"s3://acme-mesh-state-prod"}

    report = stack_statuses(platform, engine=Engine(workspaces=fake), environment="dev")

    assert [(s.name, s.result, s.resource_count) for s in report.stacks] == [
        ("sales.orders.dev", "failed", 31),
        ("platform.dev", "in-progress", None),
    ]
    assert report.stacks[0].age_seconds(now) == 3 * 3600
    everything = stack_statuses(platform, engine=Engine(workspaces=fake))
    assert {s.environment for s in everything.stacks} == {"dev", "preview"}
    assert [e for e, _ in everything.problems] == ["prod"], "an unreadable backend is reported, not fatal"
    assert everything.as_dict(now)["stacks"][0]["ageSeconds"] == 3 * 3600


# --- The Pulumi CLI ------------------------------------------------------------------------


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho v3.272.0\n")
    path.chmod(0o755)
    return path


def test_the_cli_is_taken_from_path_then_from_the_mesh_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert pulumi_cli.find_cli() is None

    installed = _executable(pulumi_cli.install_root() / "bin" / "pulumi")
    found = pulumi_cli.find_cli()
    assert found is not None and (found.binary, found.source) == (installed, "mesh")

    on_path = _executable(tmp_path / "bin" / "pulumi")
    monkeypatch.setenv("PATH", str(on_path.parent))
    found = pulumi_cli.find_cli()
    assert found is not None and (found.binary, found.source) == (on_path, "PATH")
    assert pulumi_cli.cli_version(on_path) == "3.272.0"


@pytest.fixture
def no_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def test_offline_without_a_cli_fails_fast_with_install_instructions(
    no_cli: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pulumi_cli, "network_reachable", lambda *a, **k: False)

    def never(root: Path) -> Any:
        raise AssertionError("no install attempt without network")

    monkeypatch.setattr(automation, "_install_cli", never)
    started = time.monotonic()

    with pytest.raises(pulumi_cli.PulumiCliMissing) as missing:
        automation.resolve_command()

    assert time.monotonic() - started < 1.0
    assert "get.pulumi.com cannot be reached" in missing.value.message
    assert "curl -fsSL https://get.pulumi.com | sh" in (missing.value.hint or "")
    assert str(pulumi_cli.install_root()) in (missing.value.hint or "")


def test_a_failed_install_says_what_to_install(no_cli: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi_cli, "network_reachable", lambda *a, **k: True)
    records: list[ProgressRecord] = []

    def offline(root: Path) -> Any:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(automation, "_install_cli", offline)

    with pytest.raises(pulumi_cli.PulumiCliMissing, match="install failed"):
        automation.resolve_command(records.append)
    assert [r.done for r in records if isinstance(r, CliInstall)] == [False, True]


def test_bounded_gives_up_on_a_hanging_call() -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="probe"):
        pulumi_cli.bounded(lambda: time.sleep(5), timeout=0.1, what="probe")
    assert time.monotonic() - started < 1.0
    assert pulumi_cli.bounded(lambda: 42, timeout=1, what="answer") == 42


# --- Progress and the layering rule ------------------------------------------------------------


def test_the_progress_board_counts_each_resource_once() -> None:
    clock = iter([10.0, 12.5]).__next__
    board = ProgressBoard(clock=clock)
    u = "urn:pulumi:s::p::aws:s3/bucket:Bucket::b"
    board(StageStarted(stack="s", stage=Stage.UPDATE, planned=3))
    for status in (StepStatus.STARTED, StepStatus.DONE, StepStatus.DONE):
        board(
            ResourceStep(
                stack="s", stage=Stage.UPDATE, urn=u, type=BUCKET, name="b", op="create", status=status
            )
        )
    board(StageFinished(stack="s", stage=Stage.UPDATE, ok=True))

    (state,) = board.snapshot()
    assert (state.done, state.planned, state.finished, state.failed) == (1, 3, True, False)
    assert state.elapsed() == 2.5


def _imports_automation(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.startswith("pulumi.automation") for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("pulumi.automation"):
                return True
            if node.module == "pulumi" and any(a.name == "automation" for a in node.names):
                return True
    return False


def test_only_the_automation_module_imports_pulumi_automation() -> None:
    importers = sorted(
        str(path.relative_to(ROOT))
        for package in ("cli", "components", "stacks", "infra")
        for path in (ROOT / package).rglob("*.py")
        if _imports_automation(path)
    )
    assert importers == ["infra/engine/automation.py"]


# --- The real adapter, driving a stand-in `pulumi` binary ---------------------------------------

FAKE_PULUMI = r'''#!{python}
"""A stand-in for the Pulumi CLI: logs each call and answers like Pulumi 3.200 (file event log)."""
import json, os, sys
state = os.environ["FAKE_PULUMI_STATE"]
args = [a for a in sys.argv[1:] if a != "--non-interactive"]
with open(os.path.join(state, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"args": args, "cwd": os.getcwd(), "passphrase_file": os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")}}) + "\n")
stacks = os.path.join(state, "stacks")
def value(flag):
    return args[args.index(flag) + 1] if flag in args else None
def events(path, changes, steps):
    with open(path, "a") as out:
        for urn, type_ in steps:
            meta = {{"op": "create", "urn": urn, "type": type_, "provider": "", "new": {{"type": type_, "urn": urn, "custom": True}}}}
            out.write(json.dumps({{"sequence": 1, "timestamp": 0, "resourcePreEvent": {{"metadata": meta}}}}) + "\n")
            out.write(json.dumps({{"sequence": 2, "timestamp": 0, "resOutputsEvent": {{"metadata": meta}}}}) + "\n")
        out.write(json.dumps({{"sequence": 3, "timestamp": 0, "summaryEvent": {{"resourceChanges": changes}}}}) + "\n")
        out.write(json.dumps({{"sequence": 4, "timestamp": 0, "cancelEvent": {{}}}}) + "\n")
if args[:1] == ["version"]:
    print("v3.200.0"); sys.exit(0)
if args[:2] == ["stack", "select"]:
    name = value("--stack")
    if not os.path.exists(os.path.join(stacks, name)):
        print(f"error: no stack named '{{name}}' found", file=sys.stderr); sys.exit(255)
    sys.exit(0)
if args[:2] == ["stack", "init"]:
    os.makedirs(os.path.join(stacks, args[2])); sys.exit(0)
if args[:1] == ["config"] and "--json" in args:
    print("{{}}"); sys.exit(0)
if args[:1] in (["config"], ["stack"]) and args[1:2] in (["set-all"], ["rm-all"], ["tag"]):
    sys.exit(0)
stack_urn = "urn:pulumi:sales.orders.local::mesh-acme::mesh:aws:DataProduct$aws:s3/bucket:Bucket::b"
if args[:1] in (["preview"], ["up"]):
    events(value("--event-log"), {{"create": 1}}, [(stack_urn, "aws:s3/bucket:Bucket")])
    sys.exit(0)
if args[:2] == ["stack", "output"]:
    print(json.dumps({{"bucket": "acme-local-sales-orders"}})); sys.exit(0)
if args[:2] == ["stack", "history"]:
    print(json.dumps([{{"kind": "update", "startTime": "2026-11-23T10:00:00.000Z", "message": "", "environment": {{}},
                       "config": {{}}, "result": "succeeded", "endTime": "2026-11-23T10:01:00.000Z",
                       "resourceChanges": {{"create": 1}}}}]))
    sys.exit(0)
print("error: unexpected call " + " ".join(args), file=sys.stderr); sys.exit(1)
'''


def test_the_automation_adapter_drives_the_cli_with_mesh_settings(
    request_file: Path, workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binaries, state = tmp_path / "bin", tmp_path / "fake-state"
    binaries.mkdir()
    state.mkdir()
    script = binaries / "pulumi"
    script.write_text(FAKE_PULUMI.format(python=sys.executable))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(binaries))
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(state))
    monkeypatch.setenv("MESH_HOME", str(tmp_path / "home"))
    target = target_of(request_file, "local")
    records: list[ProgressRecord] = []
    engine = Engine(workspaces=automation.AutomationWorkspaces(), on_progress=records.append)

    preview = engine.preview(target)
    report = engine.up(target)

    assert preview.changes == {"create": 1}
    assert [s.type for s in preview.steps] == [BUCKET]
    assert report.outputs == {"bucket": "acme-local-sales-orders"}
    calls = [json.loads(line) for line in (state / "calls.jsonl").read_text().splitlines()]
    argv = [c["args"] for c in calls]
    assert ["stack", "init", "sales.orders.local", "--secrets-provider", "passphrase"] in argv
    plain = next(a for a in argv if a[:2] == ["config", "set-all"] and "--path" not in a)
    assert "aws:region=us-east-1" in plain and plain[plain.index("aws:accessKey=test") - 1] == "--secret"
    paths = next(a for a in argv if a[:2] == ["config", "set-all"] and "--path" in a)
    assert "aws:endpoints[0].s3=http://127.0.0.1:4566" in paths
    assert ["stack", "tag", "set", "mesh:domain", "sales", "--stack", "sales.orders.local"] in argv
    work_dir = workdir / ".mesh" / "workspaces" / PROJECT / "sales.orders.local"
    assert {c["cwd"] for c in calls if c["args"] != ["version"]} == {str(work_dir)}
    project = yaml.safe_load((work_dir / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT and project["runtime"] == "python"
    assert project["backend"]["url"] == f"file://{workdir.resolve()}/.mesh/state"
    passphrase = workdir / ".mesh" / "passphrase"
    assert {c["passphrase_file"] for c in calls if c["args"] != ["version"]} == {str(passphrase)}
    assert stat.S_IMODE(passphrase.stat().st_mode) == 0o600
    assert (workdir / ".mesh" / "state").is_dir()
    assert any(isinstance(r, ResourceStep) and r.status is StepStatus.DONE for r in records)
