"""Stack listings and histories read from the CLI's JSON, and what they decide.

The JSON is shaped as the CLI prints it: `pulumi stack ls --json` per `stackSummaryJSON`
(pulumi/pulumi `pkg/cmd/pulumi/stack/stack_ls.go`), `pulumi stack history --json` per
`updateInfoJSON` (`pkg/cmd/pulumi/stack/stack_history.go`), times as the CLI formats
them (`2006-01-02T15:04:05.000Z`). They serve `mesh status`, the TTL decisions of
`mesh env gc` and the "provisioned at" time of the time-to-data KPI. The last tests run
the real Automation API adapter against a stand-in `pulumi` that prints those shapes.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from engine_fakes import FakeStack, FakeWorkspaces

from infra.engine import (
    Engine,
    StackListing,
    UpdateInfo,
    WorkspaceSettings,
    automation,
    stack_statuses,
    workspace_settings,
)
from infra.engine.history import (
    EngineOutputUnreadable,
    expiry,
    last_operation,
    provisioned_at,
    read_stack_history,
    read_stack_listing,
)
from infra.environments import MAX_TTL, collect_garbage, list_environments
from infra.model.spec import TAG_EXPIRES_AT, project_name
from infra.validation import LoadedPlatform, load_platform

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

STACK_LS = [
    {
        "name": "sales.orders.dev",
        "current": False,
        "lastUpdate": "2026-11-23T09:00:00.000Z",
        "updateInProgress": False,
        "resourceCount": 31,
        "url": "https://app.pulumi.com/acme/mesh-acme/sales.orders.dev",
    },
    {
        "name": "platform.dev",
        "current": True,
        "lastUpdate": "2026-11-21T12:00:00.000Z",
        "updateInProgress": True,
    },
    {"name": "finance.ledger.dev", "current": False},  # never updated: no lastUpdate, no count
]
HISTORY = [  # newest first, as the CLI prints it
    {
        "version": 4, "kind": "update", "startTime": "2026-11-23T08:59:00.000Z", "message": "", "environment": {"exec.kind": "auto.inline"},
        "config": {"aws:region": {"value": "eu-west-1", "secret": False}}, "result": "failed",
        "endTime": "2026-11-23T09:00:00.000Z", "resourceChanges": {"same": 30, "update": 1},
    },
    {
        "version": 3, "kind": "update", "startTime": "2026-11-20T10:00:00.000Z", "message": "", "environment": {},
        "config": {}, "result": "succeeded", "endTime": "2026-11-20T10:04:12.000Z", "resourceChanges": {"create": 31},
    },
    {
        "version": 2, "kind": "destroy", "startTime": "2026-11-19T10:00:00.000Z", "message": "", "environment": {},
        "config": {}, "result": "succeeded", "endTime": "2026-11-19T10:02:00.000Z", "resourceChanges": {"delete": 31},
    },
    {
        "version": 1, "kind": "update", "startTime": "2026-11-01T10:00:00.000Z", "message": "", "environment": {},
        "config": {}, "result": "succeeded", "endTime": "2026-11-01T10:03:00.000Z", "resourceChanges": {"create": 31},
    },
]  # fmt: skip


def test_stack_ls_json_is_read_field_by_field() -> None:
    listings = read_stack_listing(json.dumps(STACK_LS))

    assert listings == [
        StackListing("sales.orders.dev", datetime(2026, 11, 23, 9, tzinfo=UTC), False, 31),
        StackListing("platform.dev", datetime(2026, 11, 21, 12, tzinfo=UTC), True, None),
        StackListing("finance.ledger.dev", None, None, None),
    ]
    assert read_stack_listing("null") == [] and read_stack_listing("") == []


def test_stack_history_json_is_read_newest_first() -> None:
    history = read_stack_history(json.dumps(HISTORY))

    assert [(u.version, u.kind, u.result) for u in history] == [
        (4, "update", "failed"),
        (3, "update", "succeeded"),
        (2, "destroy", "succeeded"),
        (1, "update", "succeeded"),
    ]
    assert history[1].end_time == datetime(2026, 11, 20, 10, 4, 12, tzinfo=UTC)
    assert history[0].resource_changes == {"same": 30, "update": 1}
    assert last_operation(history) == history[0]
    running = read_stack_history(
        json.dumps(
            [
                {
                    "kind": "update",
                    "startTime": "2026-11-23T11:59:00.000Z",
                    "message": "",
                    "environment": {},
                    "config": {},
                }
            ]
        )
    )
    assert (running[0].result, running[0].end_time) == ("in-progress", None), "no result yet while it runs"


def test_provisioned_at_is_the_first_success_since_the_last_destroy() -> None:
    history = read_stack_history(json.dumps(HISTORY))

    assert provisioned_at(history) == datetime(2026, 11, 20, 10, 4, 12, tzinfo=UTC)
    assert provisioned_at(history[2:]) is None, "destroyed last: not provisioned"
    assert provisioned_at(history[3:]) == datetime(2026, 11, 1, 10, 3, tzinfo=UTC)
    assert provisioned_at([]) is None
    failed_only = [UpdateInfo(kind="update", result="failed", end_time=NOW, version=1)]
    assert provisioned_at(failed_only) is None


@pytest.mark.parametrize("text", ["error: no stack selected", '{"name": "x"}', "[1, 2]"])
def test_output_that_is_not_the_json_shape_is_a_clear_error(text: str) -> None:
    with pytest.raises(EngineOutputUnreadable, match="pulumi stack"):
        read_stack_listing(text)


@dataclass
class TtlCase:
    reason: str
    listing: StackListing
    tag: str | None
    expired: bool
    why: str


TTL_CASES = [
    TtlCase("tag in the past", StackListing("s", NOW - timedelta(hours=3)), (NOW - timedelta(hours=1)).isoformat(), True, "expired at"),
    TtlCase("tag in the future", StackListing("s", NOW - timedelta(days=40)), (NOW + timedelta(hours=1)).isoformat(), False, "expires at"),
    TtlCase("the tag wins over age", StackListing("s", NOW - timedelta(days=40)), (NOW + timedelta(days=1)).isoformat(), False, "expires at"),
    TtlCase("being updated now", StackListing("s", NOW - timedelta(days=40), update_in_progress=True), (NOW - timedelta(days=1)).isoformat(), False, "an update is running"),
    TtlCase("no tag, older than any TTL", StackListing("s", NOW - timedelta(days=31)), None, True, "has no expiry tag and was last updated 31 days ago"),
    TtlCase("no tag, young", StackListing("s", NOW - timedelta(days=2)), None, False, "has no expiry tag; last updated 2 days ago"),
    TtlCase("a damaged tag falls back to age", StackListing("s", NOW - timedelta(days=45)), "next tuesday", True, "'next tuesday' is not a date"),
    TtlCase("no tag, never updated", StackListing("s", None), None, False, "no recorded update"),
]  # fmt: skip


@pytest.mark.parametrize("case", TTL_CASES, ids=lambda c: c.reason)
def test_the_ttl_decision(case: TtlCase) -> None:
    decision = expiry(case.listing, case.tag, now=NOW, max_age=MAX_TTL)

    assert decision.expired is case.expired, case.reason
    assert case.why in decision.reason, f"{case.reason}: {decision.reason}"


@pytest.fixture
def platform(tmp_path: Path) -> LoadedPlatform:
    shutil.copy(EXAMPLES / "mesh.yaml", tmp_path / "mesh.yaml")
    return load_platform(tmp_path / "mesh.yaml")


def test_env_gc_collects_an_untagged_stale_stack_and_never_one_being_updated(
    platform: LoadedPlatform, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeWorkspaces()
    for name, last, running in (
        (
            "sales.orders.previewpr1",
            NOW - timedelta(days=35),
            False,
        ),  # tags lost: a backend without stack tags
        ("sales.orders.previewpr2", NOW - timedelta(days=35), True),
        ("sales.orders.previewpr3", NOW - timedelta(hours=2), False),
    ):
        fake.existing.add(name)
        fake.stacks[name] = FakeStack(name, fake)
        fake.listings.append(StackListing(name, last_update=last, update_in_progress=running))
    fake.stacks["sales.orders.previewpr2"].tags_set = {TAG_EXPIRES_AT: (NOW - timedelta(days=1)).isoformat()}
    engine = Engine(workspaces=fake)

    found = list_environments(platform, environment="preview", engine=engine, now=NOW)
    monkeypatch.setattr("infra.environments.sweep", lambda **kwargs: None)
    result = collect_garbage(platform, environment="preview", engine=engine, dry_run=False, now=NOW)

    assert [(e.name, e.expired) for e in found] == [("pr1", True), ("pr2", False), ("pr3", False)]
    assert "last updated 35 days ago" in found[0].reason and "running" in found[1].reason
    assert result.teardown.destroyed == ["sales.orders.previewpr1"]
    assert fake.calls("sales.orders.previewpr2") == [], "an update in progress is never cut off"


# --- The real adapter reads the CLI's own JSON --------------------------------------------------

STAND_IN = r"""#!{python}
import json, os, sys
args = [a for a in sys.argv[1:] if a != "--non-interactive"]
with open(os.environ["STAND_IN_CALLS"], "a") as log:
    log.write(json.dumps(args) + "\n")
if args[:1] == ["version"]:
    print("v3.272.0"); sys.exit(0)
if args[:2] == ["stack", "select"]:
    sys.exit(0)
if args[:2] == ["stack", "ls"]:
    print(os.environ["STAND_IN_LS"]); sys.exit(0)
if args[:2] == ["stack", "history"]:
    print(os.environ["STAND_IN_HISTORY"]); sys.exit(0)
print("error: unexpected call " + " ".join(args), file=sys.stderr); sys.exit(1)
"""


def test_status_reads_the_clis_json_through_the_real_adapter(
    platform: LoadedPlatform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binaries = tmp_path / "bin"
    binaries.mkdir()
    (binaries / "pulumi").write_text(STAND_IN.format(python=sys.executable))
    (binaries / "pulumi").chmod(0o755)
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", str(binaries))
    monkeypatch.setenv("MESH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MESH_PASSPHRASE", "test-only")
    monkeypatch.setenv("STAND_IN_CALLS", str(calls))
    monkeypatch.setenv("STAND_IN_LS", json.dumps(STACK_LS))
    monkeypatch.setenv("STAND_IN_HISTORY", json.dumps(HISTORY[:1]))
    engine = Engine(workspaces=automation.AutomationWorkspaces())

    report = stack_statuses(platform, engine=engine, environment="dev")

    assert [(s.name, s.result, s.kind, s.resource_count, s.in_progress) for s in report.stacks] == [
        ("sales.orders.dev", "failed", "update", 31, False),
        ("platform.dev", "in-progress", "update", None, True),
        ("finance.ledger.dev", "failed", "update", None, False),
    ]
    assert report.stacks[0].last_update == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert report.stacks[2].last_update == datetime(2026, 11, 23, 9, tzinfo=UTC), (
        "from the history when ls has none"
    )
    argv = [json.loads(line) for line in calls.read_text().splitlines()]
    assert ["stack", "ls", "--json"] in argv
    assert [
        "stack",
        "history",
        "--json",
        "--stack",
        "sales.orders.dev",
        "--page-size",
        "1",
        "--page",
        "1",
    ] in argv

    monkeypatch.setenv("STAND_IN_HISTORY", json.dumps(HISTORY))
    assert provisioned_at(engine.history(report_settings(platform), "sales.orders.dev")) == datetime(
        2026, 11, 20, 10, 4, 12, tzinfo=UTC
    )


def report_settings(platform: LoadedPlatform) -> WorkspaceSettings:
    return workspace_settings(
        platform.config,
        "dev",
        platform_dir=platform.path.parent,
        project=project_name(platform.config.organization),
        folder="_status",
    )
