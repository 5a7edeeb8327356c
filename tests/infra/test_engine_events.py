"""Recorded real engine event logs, replayed through mesh's reader, ledger and log files.

The logs in `tests/engine_events` are the engine's own published test data (see the
README there for the source of each). For every one, the test checks the resources and
operations mesh reports, that mesh's count equals the log's own summary event (read
here with plain `json`, not with mesh's code), the failure message of failed runs and
the handling of interrupted ones. Then: a log mesh writes reads back to the same
record, a fake stack streaming a recorded log leaves that log behind, and malformed or
truncated logs get located errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from engine_fakes import EVENT_LOGS, FakeWorkspaces, Script, recorded
from pulumi.automation.events import EngineEvent

from infra.engine import Engine, automation
from infra.engine.eventlog import EventLogInvalid, EventLogs, read_event_log, replay
from infra.engine.ledger import Outcome, RunResult
from infra.engine.target import ConfigEntry, StackTarget, WorkspaceSettings
from infra.progress import ProgressRecord, ResourceStep, Stage, StageFinished, StageStarted


def own_summary(name: str) -> dict[str, int]:
    """The counts of the log's summary event, read with nothing but `json`."""
    for line in (EVENT_LOGS / name).read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        if "summaryEvent" in data:
            return {k: v for k, v in data["summaryEvent"]["resourceChanges"].items() if v}
    raise AssertionError(f"{name} has no summary event")


def own_urns(name: str) -> set[str]:
    """Every resource URN the log's step events touch, read with nothing but `json`."""
    urns = set()
    for line in (EVENT_LOGS / name).read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        for kind in ("resourcePreEvent", "resOutputsEvent", "resOpFailedEvent"):
            if kind in data:
                urns.add(data[kind]["metadata"]["urn"])
    return urns


@dataclass
class Case:
    file: str
    exercises: str
    stage: Stage
    result: RunResult
    resources: dict[str, tuple[str, Outcome]]  # name -> (operation shown, outcome); {} = not listed here
    failures: tuple[str, ...] = ()  # fragments of the failure messages, in order
    hints: tuple[str, ...] = ()  # fragments of the failures' fixes
    at_risk: tuple[str, ...] = ()
    unfinished: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


DONE, FAILED, UNFINISHED = Outcome.DONE, Outcome.FAILED, Outcome.UNFINISHED

CASES = [
    Case(
        "up.json",
        "a real update: one create among unchanged resources",
        Stage.UPDATE,
        RunResult.SUCCEEDED,
        {
            "eks-dev": ("same", DONE),
            "eks-role": ("same", DONE),
            "eks-rpa-service-policy": ("same", DONE),
            "eks-rpa-cluster-policy": ("same", DONE),
            "eks-sg": ("same", DONE),
            "eks-cluster": ("create", DONE),
        },
    ),
    Case(
        "up-3.json",
        "a real first update: every resource created, the stack too",
        Stage.UPDATE,
        RunResult.SUCCEEDED,
        {
            "eks-dev": ("create", DONE),
            "eks-role": ("create", DONE),
            "eks-sg": ("create", DONE),
            "eks-rpa-service-policy": ("create", DONE),
            "eks-rpa-cluster-policy": ("create", DONE),
            "eks-cluster": ("create", DONE),
        },
    ),
    Case(
        "up-4.json",
        "a real in-place update of one resource",
        Stage.UPDATE,
        RunResult.SUCCEEDED,
        {
            "eks-dev": ("same", DONE),
            "eks-role": ("same", DONE),
            "eks-rpa-service-policy": ("same", DONE),
            "eks-rpa-cluster-policy": ("same", DONE),
            "eks-sg": ("update", DONE),
            "eks-cluster": ("same", DONE),
        },
    ),
    Case(
        "template-body.json",
        "a real preview of 58 resources, components nested three deep",
        Stage.PREVIEW,
        RunResult.SUCCEEDED,
        {},
        extra={"resources": 58, "updated": ["cluster-nodes"]},
    ),
    Case(
        "webserver-userdata.json",
        "a real preview replacing an instance: three steps, counted once",
        Stage.PREVIEW,
        RunResult.SUCCEEDED,
        {
            "aws-ts-webserver-dev": ("same", DONE),
            "web-secgrp": ("same", DONE),
            "web-server-www": ("replace", DONE),
        },
    ),
    Case(
        "failed-stacks-dont-rewrite-operations.json",
        "a real failed update: the failed resource, and the engine's corruption warning",
        Stage.UPDATE,
        RunResult.FAILED,
        {
            "test-dev": ("same", DONE),
            "test-x": ("update", FAILED),
            "test-r": ("delete-replaced", DONE),
        },
        failures=("the engine reported the operation failed, without a reason",),
        hints=("then run `mesh provision` again",),
        extra={"maybe_corrupt": True},
    ),
    Case(
        "destroy-with-components.json",
        "a destroy of a component and its child",
        Stage.DESTROY,
        RunResult.SUCCEEDED,
        {"myproject-dev": ("same", DONE), "mychild": ("delete", DONE), "mycomponent": ("delete", DONE)},
    ),
    Case(
        "destroy-with-custom-resource-parent.json",
        "a destroy deleting an S3 bucket: data at risk",
        Stage.DESTROY,
        RunResult.SUCCEEDED,
        {"myproject-dev": ("same", DONE), "myobject": ("delete", DONE), "mybucket": ("delete", DONE)},
        at_risk=("mybucket",),
    ),
    Case(
        "destroy-with-deep-hierarchy.json",
        "a destroy of a three-level component tree",
        Stage.DESTROY,
        RunResult.SUCCEEDED,
        {
            "myproject-dev": ("same", DONE),
            "mygrandchild": ("delete", DONE),
            "mychild": ("delete", DONE),
            "myparent": ("delete", DONE),
        },
    ),
    Case(
        "up-interrupted.json",
        "an update stopped with three resources in flight",
        Stage.UPDATE,
        RunResult.INTERRUPTED,
        {
            "myproject-dev": ("same", DONE),
            "completed-bucket": ("create", DONE),
            "interrupted-component": ("create", UNFINISHED),
            "interrupted-instance": ("create", UNFINISHED),
            "interrupted-db": ("update", UNFINISHED),
        },
        unfinished=("interrupted-component", "interrupted-instance", "interrupted-db"),
    ),
    Case(
        "lifecycle-protect-3-delete-protected.json",
        "the engine refusing to delete a protected resource",
        Stage.DESTROY,
        RunResult.FAILED,
        {"resA": ("delete", FAILED)},
        failures=(
            'resource "urn:pulumi:test::test::pkgA:m:typA::resA" cannot be deleted because it is protected',
        ),
        hints=("pulumi state unprotect 'urn:pulumi:test::test::pkgA:m:typA::resA' --stack test",),
    ),
    Case(
        "lifecycle-protect-1-replace-protected-preview.json",
        "a preview refused because the replacement would hit a protected resource",
        Stage.PREVIEW,
        RunResult.FAILED,
        {"resA": ("replace", DONE)},
        failures=("unable to replace resource", "as it is currently marked for protection"),
        hints=("mesh never protects resources itself",),
    ),
    Case(
        "lifecycle-explicit-delete-before-replace.json",
        "a replacement behind an explicit provider, which counts as a resource",
        Stage.UPDATE,
        RunResult.SUCCEEDED,
        {"provA": ("same", DONE), "resA": ("replace", DONE), "resB": ("same", DONE)},
    ),
]


def test_at_least_ten_recorded_logs_are_replayed_and_each_is_a_case() -> None:
    on_disk = {p.name for p in EVENT_LOGS.glob("*.json")}
    assert len(CASES) >= 10
    assert {c.file for c in CASES} == on_disk, "every recorded log in tests/engine_events has its case"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_a_recorded_log_replays_to_what_the_engine_did(case: Case) -> None:
    records: list[ProgressRecord] = []
    result = replay(EVENT_LOGS / case.file, records.append)
    record = result.record

    assert record.stage is case.stage, case.exercises
    assert record.result is case.result, f"{case.exercises}: {record.failures} {record.interruption}"
    assert {r.urn for r in record.resources} == own_urns(case.file), f"{case.exercises}: every resource named"
    if case.resources:
        assert {r.name: (r.op, r.outcome) for r in record.resources} == case.resources, case.exercises
    assert record.counted == own_summary(case.file), f"{case.exercises}: mesh counts as the engine did"
    assert record.changes == own_summary(case.file), case.exercises
    messages = [f.message for f in record.failures]
    for fragment in case.failures:
        assert any(fragment in m for m in messages), f"{case.exercises}: {fragment!r} not in {messages}"
    for fragment in case.hints:
        assert any(fragment in f.hint for f in record.failures), (
            f"{case.exercises}: {fragment!r} not in hints"
        )
    assert not case.failures or record.failures, case.exercises
    assert tuple(r.name for r in record.at_risk) == case.at_risk, case.exercises
    assert tuple(r.name for r in record.unfinished) == case.unfinished, case.exercises
    if case.result is RunResult.INTERRUPTED:
        assert "stopped while resources were still being changed" in record.interruption
    if "resources" in case.extra:
        assert len(record.resources) == case.extra["resources"]
        assert [r.name for r in record.resources if r.op == "update"] == case.extra["updated"]
    assert record.maybe_corrupt is case.extra.get("maybe_corrupt", False)
    assert isinstance(records[0], StageStarted) and isinstance(records[-1], StageFinished)
    finished = records[-1]
    assert (finished.ok, finished.changes) == (record.ok, record.changes)
    assert finished.interrupted is (case.result is RunResult.INTERRUPTED)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.file)
def test_a_log_mesh_writes_back_reads_to_the_same_record(case: Case, tmp_path: Path) -> None:
    """mesh writes the Automation API's parsed events back as JSON lines: nothing it reads is lost."""
    events, _ = recorded(case.file)
    copy = tmp_path / case.file
    copy.write_text("".join(json.dumps(automation.event_json(e)) + "\n" for e in events), encoding="utf-8")

    original = replay(EVENT_LOGS / case.file).record.as_dict()
    again = replay(copy).record.as_dict()

    assert again == original, case.exercises


def _target(tmp_path: Path, stack: str) -> StackTarget:
    settings = WorkspaceSettings(
        project="mesh-acme",
        backend_url=f"file://{tmp_path}/state",
        secrets_provider="passphrase",
        mesh_dir=tmp_path / ".mesh",
        work_dir=tmp_path / ".mesh" / "workspaces" / stack,
    )
    return StackTarget(
        stack=stack,
        environment="dev",
        settings=settings,
        config={"aws:region": ConfigEntry("eu-west-1")},
        tags={},
        program=None,
        source="request.yaml",
    )


def test_every_operation_keeps_its_event_log_per_stack_and_run(tmp_path: Path) -> None:
    target = _target(tmp_path, "sales.orders.dev")
    fake = FakeWorkspaces({target.stack: Script.recorded(preview="webserver-userdata.json", up="up-3.json")})
    records: list[ProgressRecord] = []
    engine = Engine(workspaces=fake, on_progress=records.append, event_logs=EventLogs(run="20261202T163042Z"))

    engine.preview(target)
    engine.up(target)
    engine.destroy(target)  # the fake's destroy streams no events: no log

    folder = tmp_path / ".mesh" / "events" / "sales.orders.dev"
    assert sorted(engine.event_log_paths) == [
        folder / "20261202T163042Z-preview.jsonl",
        folder / "20261202T163042Z-update.jsonl",
    ]
    lines = (folder / "20261202T163042Z-update.jsonl").read_text().splitlines()
    assert len(lines) == len(recorded("up-3.json")[0])
    saved = replay(folder / "20261202T163042Z-update.jsonl").record
    assert saved.stack == "sales.orders.dev", "mesh's own log is named by its folder"
    assert saved.stage is Stage.UPDATE and saved.changes == {"create": 6}
    original = replay(EVENT_LOGS / "up-3.json").record.as_dict()
    assert {**saved.as_dict(), "stack": "dev"} == original
    steps = [r for r in records if isinstance(r, ResourceStep) and r.stage is Stage.UPDATE and r.custom]
    assert len({s.urn for s in steps}) == 5, "five cloud resources; the stack is not one"


def test_event_logs_go_where_asked_and_never_overwrite_each_other(tmp_path: Path) -> None:
    target = _target(tmp_path, "acme/mesh-acme/sales.orders.dev")
    fake = FakeWorkspaces({target.stack: Script.recorded(up="up.json")})
    logs = EventLogs(root=tmp_path / "artifacts", run="20261202T163042Z")

    first, second = Engine(workspaces=fake, event_logs=logs), Engine(workspaces=fake, event_logs=logs)
    first.up(target)
    second.up(target)

    folder = tmp_path / "artifacts" / "acme_mesh-acme_sales.orders.dev"
    assert first.event_log_paths == [folder / "20261202T163042Z-update.jsonl"]
    assert second.event_log_paths == [folder / "20261202T163042Z-update-2.jsonl"]
    assert not (tmp_path / ".mesh" / "events").exists()


@dataclass
class BadLog:
    reason: str
    content: bytes
    message: str


BAD_LOGS = [
    BadLog("not JSON", b'{"sequence":1,"timestamp":0,"cancelEvent":{}}\nnot json\n', "line 2: not JSON"),
    BadLog(
        "cut off in the middle of the last event",
        (EVENT_LOGS / "up.json").read_bytes()[:3000],
        "the log ends in the middle of an event: the file is truncated",
    ),
    BadLog("a list, not an event", b"[1, 2]\n", "line 1: expected a JSON object"),
    BadLog("no event in the object", b'{"sequence":1}\n', "line 1: no event in this object"),
    BadLog(
        "an unknown operation",
        b'{"sequence":1,"resourcePreEvent":{"metadata":{"urn":"urn:pulumi:s::p::t::n","op":"explode"}}}\n',
        "line 1: resourcePreEvent of urn:pulumi:s::p::t::n has an unknown operation 'explode'",
    ),
    BadLog(
        "a step without a resource",
        b'\n{"sequence":1,"resOutputsEvent":{"metadata":{"op":"create"}}}\n',
        "line 2: resOutputsEvent names no resource",
    ),
    BadLog("empty", b"\n\n", "holds no engine events"),
    BadLog("binary", b'{"sequence":1,"timestamp":0,"cancelEvent":{}}\n\xff\xfe\n', "line 2: not UTF-8 text"),
]


@pytest.mark.parametrize("bad", BAD_LOGS, ids=lambda b: b.reason)
def test_a_malformed_or_truncated_log_gets_a_located_error(bad: BadLog, tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_bytes(bad.content)

    with pytest.raises(EventLogInvalid) as raised:
        replay(path)

    assert bad.message in raised.value.message, bad.reason
    assert raised.value.message.startswith(str(path)), "the file is named"
    assert raised.value.hint


def test_a_truncated_log_counts_its_complete_events(tmp_path: Path) -> None:
    data = (EVENT_LOGS / "up.json").read_bytes()
    cut = data[: data.index(b"\n", 5000) + 40]
    path = tmp_path / "cut.jsonl"
    path.write_bytes(cut)

    with pytest.raises(
        EventLogInvalid, match=r"line (\d+): .*; \1 complete event\(s\)|line \d+: the log ends"
    ) as raised:
        read_event_log(path)
    complete = cut.count(b"\n")
    assert f"line {complete + 1}:" in raised.value.message
    assert f"{complete} complete event(s) before it" in raised.value.message


def test_a_log_that_stops_before_the_summary_is_an_interrupted_run(tmp_path: Path) -> None:
    lines = (EVENT_LOGS / "up-3.json").read_text().splitlines(keepends=True)
    path = tmp_path / "killed.jsonl"
    path.write_text("".join(lines[:9]))  # killed after the first resources, before the summary

    record = replay(path).record

    assert record.result is RunResult.INTERRUPTED
    assert "ends before the engine's summary" in record.interruption
    assert record.summary is None and record.changes == record.counted
    assert [r.name for r in record.unfinished] == ["eks-sg", "eks-rpa-cluster-policy"]


def test_newer_event_kinds_are_skipped_not_fatal(tmp_path: Path) -> None:
    lines = (EVENT_LOGS / "up.json").read_text().splitlines(keepends=True)
    path = tmp_path / "newer.jsonl"
    path.write_text(
        lines[0]
        + '{"sequence":2,"timestamp":0,"progressEvent":{"type":"plugin-download"}}\n'
        + "".join(lines[1:])
    )

    assert replay(path).record.changes == own_summary("up.json")


def test_the_reader_and_the_writer_agree_on_every_event_kind() -> None:
    kinds = set(automation.EVENT_KINDS)
    written = set()
    for case in CASES:
        for event in recorded(case.file)[0]:
            line = automation.event_json(event)
            written |= {k for k in line if k.endswith("Event")}
            assert automation.event_problem(line) is None, line
            again = automation.parse_event(line)
            assert isinstance(again, EngineEvent)
    assert written <= kinds
    assert {
        "resourcePreEvent",
        "resOutputsEvent",
        "resOpFailedEvent",
        "summaryEvent",
        "diagnosticEvent",
    } <= written
