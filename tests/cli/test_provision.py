"""`mesh provision`, `destroy`, `outputs`, `cancel`, `status` and `platform` as a user runs them.

The engine runs against a fake workspace (`infra.engine.automation.default_workspaces`
is replaced), so these tests check what the commands decide and print: exit codes,
confirmation, guards, the summary and the JSON shape. One test runs the real engine
path on a machine without a Pulumi CLI and without network, as this one is.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from pulumi.automation import CommandResult, PulumiCommand
from pulumi.automation import errors as auto_errors
from pulumi.automation.events import EngineEvent
from typer.testing import CliRunner

from cli.app import app
from infra import pulumi_cli
from infra.engine import StackListing, UpdateInfo, WorkspaceSettings, automation

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUCKET = "aws:s3/bucket:Bucket"
runner = CliRunner()


# --- A fake engine backend -----------------------------------------------------------------


def command_error(stderr: str) -> auto_errors.CommandError:
    return auto_errors.create_command_error(CommandResult(stdout="", stderr=stderr, code=255))


def step(stack: str, op: str, kind: str = "resourcePreEvent", type_: str = BUCKET) -> EngineEvent:
    urn = f"urn:pulumi:{stack}::mesh-acme::mesh:aws:DataProduct${type_}::data-bucket"
    metadata = {
        "op": op,
        "urn": urn,
        "type": type_,
        "provider": "",
        "new": {"type": type_, "urn": urn, "custom": True},
    }
    return EngineEvent.from_json({"sequence": 1, "timestamp": 0, kind: {"metadata": metadata}})


@dataclass
class Behaviour:
    preview: dict[str, int] = field(default_factory=lambda: {"create": 31})
    events: list[EngineEvent] = field(default_factory=list)
    up_error: Exception | None = None
    outputs: dict[str, Any] = field(default_factory=lambda: {"bucket": "acme-dev-sales-orders"})


class FakeStack:
    def __init__(self, name: str, backend: FakeBackend) -> None:
        self.name, self.backend = name, backend

    def _log(self, call: str) -> None:
        with self.backend.lock:
            self.backend.calls.append((self.name, call))

    def set_all_config(self, config: Any) -> None:
        self.backend.config[self.name] = dict(config)

    def set_tag(self, key: str, value: str) -> None:
        pass

    def preview(self, *, on_event: Callable[[Any], None]) -> dict[str, int]:
        self._log("preview")
        for event in self.backend.behaviour(self.name).events:
            on_event(event)
        return self.backend.behaviour(self.name).preview

    def up(self, *, on_event: Callable[[Any], None]) -> tuple[dict[str, int], dict[str, Any]]:
        self._log("up")
        time.sleep(0.05)
        behaviour = self.backend.behaviour(self.name)
        if behaviour.up_error is not None:
            raise behaviour.up_error
        return behaviour.preview, behaviour.outputs

    def destroy(self, *, on_event: Callable[[Any], None]) -> dict[str, int]:
        self._log("destroy")
        return {"delete": 31}

    def refresh(self, *, on_event: Callable[[Any], None]) -> dict[str, int]:
        self._log("refresh")
        return {"same": 31}

    def outputs(self) -> dict[str, Any]:
        self._log("outputs")
        return self.backend.behaviour(self.name).outputs

    def cancel(self) -> None:
        self._log("cancel")

    def info(self) -> UpdateInfo | None:
        return UpdateInfo(kind="update", result="succeeded")


class FakeBackend:
    """`WorkspaceFactory` and `Workspace` at once: every stack in one dictionary."""

    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.existing: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.config: dict[str, dict[str, Any]] = {}
        self.opened: list[WorkspaceSettings] = []
        self.programs: list[Any] = []
        self.lock = threading.Lock()

    def behaviour(self, stack: str) -> Behaviour:
        return self.behaviours.setdefault(stack, Behaviour())

    def ready(self) -> None:
        pass

    def open(self, settings: WorkspaceSettings, program: Any) -> FakeBackend:
        self.opened.append(settings)
        self.programs.append(program)
        return self

    def create_or_select_stack(self, name: str) -> FakeStack:
        self.existing.add(name)
        return FakeStack(name, self)

    def select_stack(self, name: str) -> FakeStack:
        if name not in self.existing:
            raise command_error(f"error: no stack named '{name}' found")
        return FakeStack(name, self)

    def list_stacks(self) -> list[StackListing]:
        return [StackListing(name, resource_count=31) for name in sorted(self.existing)]

    def did(self, call: str) -> list[str]:
        return sorted(stack for stack, c in self.calls if c == call)


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> FakeBackend:
    fake = FakeBackend()
    fake.existing |= {f"platform.{env}" for env in ("dev", "prod", "preview", "local")}  # platform up has run
    monkeypatch.setattr(automation, "default_workspaces", lambda on_progress=None: fake)
    return fake


@pytest.fixture
def interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cli.provision.can_prompt", lambda: True)


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_PASSPHRASE", "test-only")


def requests(write_request: Callable[..., Path], base: dict[str, Any], *names: tuple[str, str]) -> list[str]:
    paths = []
    for domain, name in names:
        request = yaml.safe_load(yaml.safe_dump(base))
        request["metadata"] |= {"domain": domain, "name": name, "owner": f"{domain}-data@example.com"}
        request["spec"]["access"] = {"consumers": []}
        paths.append(str(write_request(request, name=f"{domain}-{name}.yaml")))
    return paths


@pytest.fixture
def one(write_request: Callable[..., Path], minimal_request: dict[str, Any]) -> str:
    return str(write_request(minimal_request))


# --- No Pulumi CLI, no network: fail fast and say what to install -----------------------


@pytest.fixture
def no_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No `pulumi` on PATH and none installed by mesh (a fresh MESH_HOME)."""
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries-here"))
    monkeypatch.setenv("MESH_HOME", str(tmp_path / "mesh-home"))


@pytest.mark.parametrize("network", ["unreachable", "install-fails"])
def test_provision_without_a_pulumi_cli_offline_fails_fast_and_clearly(
    no_cli: None, monkeypatch: pytest.MonkeyPatch, network: str
) -> None:
    if network == "unreachable":
        monkeypatch.setattr(pulumi_cli, "network_reachable", lambda *a, **k: False)
    else:

        def offline_install(cls: Any, *args: Any, **kwargs: Any) -> PulumiCommand:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

        monkeypatch.setattr(pulumi_cli, "network_reachable", lambda *a, **k: True)
        monkeypatch.setattr(PulumiCommand, "install", classmethod(offline_install))
    passphrase = EXAMPLES / ".mesh" / "passphrase"
    existed = passphrase.exists()
    started = time.monotonic()

    result = runner.invoke(
        app,
        [
            "provision",
            str(EXAMPLES / "products" / "sales-orders.yaml"),
            "--env",
            "dev",
            "--yes",
            "--platform",
            str(EXAMPLES / "mesh.yaml"),
        ],
    )

    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert "Error: The Pulumi CLI is needed for this command" in result.output
    assert "curl -fsSL https://get.pulumi.com | sh" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), "handled, not crashed"
    assert elapsed < 20, f"took {elapsed:.1f}s"
    assert passphrase.exists() == existed, "no passphrase generated when nothing can run"


# --- Provisioning -------------------------------------------------------------------------


def test_provision_before_platform_up_says_to_run_it(backend: FakeBackend, one: str) -> None:
    backend.existing.discard("platform.dev")

    result = runner.invoke(app, ["provision", one, "--env", "dev", "--yes"])

    assert result.exit_code == 1, result.output
    assert "sales.orders.dev needs the platform stack platform.dev, which does not exist" in result.output
    assert "Hint: Apply it once for the environment with `mesh platform up --env dev`" in result.output
    assert backend.calls == [], "no stack was previewed or applied"


def test_several_requests_one_failure_the_others_succeed_and_the_exit_is_1(
    backend: FakeBackend, write_request: Callable[..., Path], minimal_request: dict[str, Any]
) -> None:
    files = requests(
        write_request, minimal_request, ("sales", "orders"), ("finance", "ledger"), ("support", "tickets")
    )
    backend.behaviour("finance.ledger.dev").up_error = command_error(
        "error: creating urn:pulumi:finance.ledger.dev::mesh-acme::aws:s3/bucket:Bucket::ledger-bucket: "
        "AccessDenied: not allowed"
    )

    result = runner.invoke(app, ["provision", *files, "--env", "dev", "--yes", "--parallel", "2"])

    assert result.exit_code == 1, result.output
    assert backend.did("up") == ["finance.ledger.dev", "sales.orders.dev", "support.tickets.dev"]
    out = " ".join(result.output.split())
    assert "2 succeeded (sales.orders.dev, support.tickets.dev)" in out
    assert "1 failed (finance.ledger.dev)" in out
    assert "failed at aws:s3/bucket:Bucket ledger-bucket: creating ledger-bucket: AccessDenied" in out
    assert "Outputs" in out and "acme-dev-sales-orders" in out


def test_json_output_is_one_document_with_every_stack(
    backend: FakeBackend, write_request: Callable[..., Path], minimal_request: dict[str, Any]
) -> None:
    files = requests(write_request, minimal_request, ("sales", "orders"), ("finance", "ledger"))
    backend.behaviour("finance.ledger.dev").up_error = command_error("error: something broke")

    result = runner.invoke(app, ["provision", *files, "--env", "dev", "--yes", "--output", "json"])

    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert set(document) == {"environment", "ok", "confirmed", "stacks", "succeeded", "failed", "notApplied"}
    assert (document["environment"], document["ok"]) == ("dev", False)
    assert document["succeeded"] == ["sales.orders.dev"] and document["failed"] == ["finance.ledger.dev"]
    stack = document["stacks"][0]
    assert set(stack) == {
        "source", "stack", "status", "plannedResources", "preview", "changes", "seconds", "outputs", "error", "warnings",
    }  # fmt: skip
    assert stack["status"] == "succeeded" and stack["outputs"] == {"bucket": "acme-dev-sales-orders"}
    assert stack["plannedResources"] > 10, "the planned total comes from the offline plan"
    failed = document["stacks"][1]
    assert failed["error"]["message"].endswith("something broke")


def test_the_stack_gets_the_environments_settings(backend: FakeBackend, one: str, workdir: Path) -> None:
    result = runner.invoke(app, ["provision", one, "--env", "local", "--yes"])

    assert result.exit_code == 0, result.output
    settings = backend.opened[0]
    assert settings.backend_url == f"file://{workdir.resolve()}/.mesh/state"
    assert settings.env_vars["PULUMI_CONFIG_PASSPHRASE"] == "test-only"
    config = backend.config["sales.orders.local"]
    assert config["aws:endpoints[0].s3"].value == "http://127.0.0.1:4566"
    assert "test-only" not in result.output


def test_replacing_a_bucket_in_dev_needs_allow_replace(backend: FakeBackend, one: str) -> None:
    for stack in ("sales.orders.dev", "sales.orders.preview"):
        backend.behaviour(stack).events = [step(stack, "replace")]
        backend.behaviour(stack).preview = {"replace": 1, "same": 30}

    refused = runner.invoke(app, ["provision", one, "--env", "dev", "--yes"])
    allowed = runner.invoke(app, ["provision", one, "--env", "preview", "--yes"])

    assert refused.exit_code == 1, refused.output
    text = " ".join(refused.output.split())
    assert "would replace or delete stateful resources: aws:s3/bucket:Bucket data-bucket (replace)" in text
    assert "--allow-replace" in text
    assert allowed.exit_code == 0, allowed.output
    assert backend.did("up") == ["sales.orders.preview"]


def test_answering_no_applies_nothing_and_yes_applies(
    backend: FakeBackend, one: str, interactive: None
) -> None:
    declined = runner.invoke(app, ["provision", one, "--env", "dev"], input="n\n")

    assert declined.exit_code == 1, declined.output
    assert "Apply the changes above to 1 stack(s) in dev?" in declined.output
    assert "Nothing was applied." in declined.output
    assert backend.did("up") == []

    accepted = runner.invoke(app, ["provision", one, "--env", "dev"], input="y\n")

    assert accepted.exit_code == 0, accepted.output
    assert backend.did("up") == ["sales.orders.dev"]


def test_without_a_terminal_and_without_yes_nothing_happens(backend: FakeBackend, one: str) -> None:
    result = runner.invoke(app, ["provision", one, "--env", "dev"])

    assert result.exit_code == 2, result.output
    assert "no terminal to ask on" in result.output and "--yes" in result.output
    assert backend.calls == [] and backend.opened == []


def test_an_invalid_request_fails_alone(
    backend: FakeBackend, one: str, write_request: Callable[..., Path]
) -> None:
    broken = write_request("apiVersion: mesh/v1\nkind: DataProduct\n", name="broken.yaml")

    result = runner.invoke(app, ["provision", one, str(broken), "--env", "dev", "--yes"])

    assert result.exit_code == 1
    assert backend.did("up") == ["sales.orders.dev"]
    assert "broken.yaml" in result.output and "1 failed" in result.output


# --- One existing stack ------------------------------------------------------------------------


def test_destroy_is_refused_in_a_protected_environment(backend: FakeBackend, one: str) -> None:
    result = runner.invoke(app, ["destroy", one, "--env", "prod", "--yes"])

    assert result.exit_code == 1
    assert "Environment prod is protected" in result.output and "--allow-protected" in result.output
    assert backend.calls == []

    backend.existing.add("sales.orders.prod")
    allowed = runner.invoke(app, ["destroy", one, "--env", "prod", "--yes", "--allow-protected"])

    assert allowed.exit_code == 0, allowed.output
    assert backend.did("destroy") == ["sales.orders.prod"]


def test_destroy_asks_and_a_missing_stack_is_nothing_to_destroy(
    backend: FakeBackend, one: str, interactive: None
) -> None:
    backend.existing.add("sales.orders.dev")
    declined = runner.invoke(app, ["destroy", one, "--env", "dev"], input="n\n")
    assert declined.exit_code == 1 and backend.did("destroy") == []

    missing = runner.invoke(app, ["destroy", one, "--env", "preview", "--yes"])
    assert missing.exit_code == 0, missing.output
    assert "Nothing to destroy" in missing.output


def test_destroy_with_delete_data_lets_buckets_go_with_their_objects(backend: FakeBackend, one: str) -> None:
    from infra.synth import synthesize

    backend.existing.add("sales.orders.dev")
    kept = runner.invoke(app, ["destroy", one, "--env", "dev", "--yes"])
    assert kept.exit_code == 0, kept.output
    assert backend.did("up") == [] and backend.did("destroy") == ["sales.orders.dev"]

    deleted = runner.invoke(app, ["destroy", one, "--env", "dev", "--yes", "--delete-data"])
    assert deleted.exit_code == 0, deleted.output
    assert backend.did("up") == ["sales.orders.dev"]  # first the update that allows it
    graph = synthesize(backend.programs[-1], project="mesh-acme", stack="sales.orders.dev")
    (bucket,) = graph.of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["forceDestroy"] is True, bucket.urn


def test_outputs_and_cancel(backend: FakeBackend, one: str) -> None:
    absent = runner.invoke(app, ["outputs", one, "--env", "dev"])
    assert absent.exit_code == 1 and "does not exist" in absent.output

    backend.existing.add("sales.orders.dev")
    shown = runner.invoke(app, ["outputs", one, "--env", "dev", "--output", "json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == {
        "stack": "sales.orders.dev",
        "environment": "dev",
        "outputs": {"bucket": "acme-dev-sales-orders"},
    }

    cancelled = runner.invoke(app, ["cancel", one, "--env", "dev", "--yes"])
    assert cancelled.exit_code == 0, cancelled.output
    assert backend.did("cancel") == ["sales.orders.dev"]


def test_status_lists_stacks_per_environment(
    backend: FakeBackend, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend.existing |= {"sales.orders.dev", "platform.dev", "sales.orders.preview"}
    monkeypatch.chdir(workdir)

    result = runner.invoke(app, ["status", "--env", "dev", "--output", "json"])

    assert result.exit_code == 0, result.output
    stacks = json.loads(result.stdout)["stacks"]
    assert [(s["stack"], s["environment"], s["result"]) for s in stacks] == [
        ("platform.dev", "dev", "succeeded"),
        ("sales.orders.dev", "dev", "succeeded"),
    ]


def test_platform_up_previews_and_applies_the_platform_stack(
    backend: FakeBackend, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)

    result = runner.invoke(app, ["platform", "up", "--env", "dev", "--yes"])

    assert result.exit_code == 0, result.output
    assert backend.calls == [("platform.dev", "preview"), ("platform.dev", "up")]
    assert "1 succeeded (platform.dev)" in " ".join(result.output.split())


def test_platform_up_is_gated_by_the_guardrails(
    backend: FakeBackend, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from components.aws import platform as platform_component

    monkeypatch.chdir(workdir)
    # A log bucket policy that lets anyone read the logs.
    original = platform_component.log_bucket_policy

    def public(args: Any) -> dict[str, object]:
        document = original(args)
        statements = cast(list[dict[str, Any]], document["Statement"])
        statements.append({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"})
        return document

    monkeypatch.setattr(platform_component, "log_bucket_policy", public)

    result = runner.invoke(app, ["platform", "up", "--env", "dev", "--yes"])

    assert result.exit_code == 1, result.output
    assert (
        "Error: the platform stack of dev fails mandatory guardrails: MESH-S3-PUBLIC-POLICY" in result.stderr
    )
    assert "mesh platform plan --env dev" in result.stderr
    assert backend.calls == [], "nothing previewed or applied"


def test_platform_plan_shows_the_log_bucket_exemptions(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)

    result = runner.invoke(app, ["platform", "plan", "--env", "dev"])

    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "exempt: MESH-S3-KMS-ENCRYPTION on acme-dev-platform-access-logs — S3 server access logs" in text
    assert "exempt: MESH-ADV-LOGGING on acme-dev-platform-access-logs" in text
    assert "Guardrails: 16 passed, 0 mandatory failed, 0 advisory failed" in text


def test_a_gcp_only_environment_has_no_platform_stack(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    config = workdir / "mesh.yaml"
    config.write_text(
        config.read_text().replace(
            "  local:\n", "  gcponly:\n    gcp: {project: acme-x, region: europe-west1}\n  local:\n", 1
        )
    )

    for command in (["platform", "plan"], ["platform", "up", "--yes"]):
        result = runner.invoke(app, [*command, "--env", "gcponly"])

        assert result.exit_code == 1, result.output
        assert (
            "Error: Environment gcponly has no shared platform resources: they exist for AWS only."
            in result.stderr
        )
        assert "Traceback" not in result.output
