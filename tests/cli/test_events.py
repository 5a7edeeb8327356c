"""`mesh events` on recorded engine logs, and `mesh provision` rendering a recorded log end to end.

The provision test streams recorded real logs through the fake workspace (the Automation
API's own event objects), then replays the log mesh kept with `mesh events`: the lines
of the live view and of the replay must be the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from engine_fakes import EVENT_LOGS, FakeWorkspaces, Script
from typer.testing import CliRunner

from cli.app import app
from infra.engine import automation

runner = CliRunner()


def events(*args: str) -> Any:
    return runner.invoke(app, ["events", *args])


def flat(text: str) -> str:
    return " ".join(text.split())


def test_a_successful_update_names_every_resource_and_the_counts() -> None:
    result = events(str(EVENT_LOGS / "up-3.json"))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "dev: updating…"
    for name in (
        "eks-dev",
        "eks-role",
        "eks-sg",
        "eks-rpa-service-policy",
        "eks-rpa-cluster-policy",
        "eks-cluster",
    ):
        assert any(line.endswith(f" {name}") and " + created " in line for line in lines), name
    assert "dev:  + created aws:eks/cluster:Cluster eks-cluster" in lines
    assert lines[-1] == "dev: updated in 8m22s (create 6)"


def test_a_destroy_that_deletes_a_bucket_says_its_data_is_gone() -> None:
    result = events(str(EVENT_LOGS / "destroy-with-custom-resource-parent.json"))

    assert result.exit_code == 0, result.output
    assert "dev:  - deleted aws:s3/bucket:Bucket mybucket" in result.stdout
    assert (
        "dev:  ! data at risk: deleted aws:s3/bucket:Bucket mybucket: the data it held is gone with it"
        in result.stdout
    )
    assert "dev: destroyed in 7.0s (delete 2, same 1)" in result.stdout


def test_a_failed_run_exits_1_with_the_failure_and_its_fix() -> None:
    result = events(str(EVENT_LOGS / "lifecycle-protect-3-delete-protected.json"))

    assert result.exit_code == 1, result.output
    text = flat(result.stdout)
    assert "test: ✗ delete failed: pkgA:m:typA resA" in text, "type names are printed as they are"
    assert "cannot be deleted because it is protected" in text
    assert "Hint: mesh never protects resources itself" in text
    assert "pulumi state unprotect 'urn:pulumi:test::test::pkgA:m:typA::resA' --stack test" in text
    assert "test: destroy failed in 1.0s (no changes)" in text


def test_an_interrupted_run_exits_1_and_lists_what_was_in_flight() -> None:
    result = events(str(EVENT_LOGS / "up-interrupted.json"))

    assert result.exit_code == 1, result.output
    assert "dev: update interrupted in 7.0s (create 1, same 1)" in result.stdout
    for name in ("interrupted-component", "interrupted-instance", "interrupted-db"):
        assert re.search(rf"… unfinished: \S+ \S+ {name} \(the run stopped", result.stdout), name
    assert "interrupted: the engine stopped while resources were still being changed" in result.stdout


def test_json_is_one_document_with_every_resource() -> None:
    result = events(str(EVENT_LOGS / "webserver-userdata.json"), "--output", "json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {
        "file", "events", "stack", "operation", "result", "resources", "changes", "summary", "counted",
        "seconds", "failures", "dataAtRisk", "unfinished", "interruption", "warnings", "maybeCorrupt",
    }  # fmt: skip
    assert (document["operation"], document["result"]) == ("preview", "succeeded")
    assert document["changes"] == document["summary"] == document["counted"] == {"replace": 1, "same": 2}
    assert [(r["name"], r["op"], r["outcome"]) for r in document["resources"]] == [
        ("aws-ts-webserver-dev", "same", "done"),
        ("web-secgrp", "same", "done"),
        ("web-server-www", "replace", "done"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'{"sequence":1,"timestamp":0,"cancelEvent":{}}\n{"sequence": 2, "resourcePre',
            "line 2: the log ends in the middle of an event",
        ),
        (b"hello\n", "line 1: not JSON"),
    ],
    ids=["truncated", "not a log"],
)
def test_a_bad_log_is_a_located_error_not_a_traceback(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)

    result = events(str(path))

    assert result.exit_code == 1
    assert f"Error: {path}: {message}" in flat(result.output)
    assert "Traceback" not in result.output and "unexpected" not in result.output


def test_a_missing_file_says_where_logs_are() -> None:
    result = events("/nonexistent/run.jsonl")

    assert result.exit_code == 1
    assert "does not exist" in result.output and ".mesh/events" in result.output


# --- Live provisioning and its replay print the same ----------------------------------------


def _progress_lines(text: str, stack: str, stage_word: str) -> list[str]:
    """One stack's stage: the lines after its start line, through its closing line and the lines under it.

    The start line is left out (live, it also says how many resources the offline plan
    counted, which no event log holds); durations are blanked.
    """
    lines = [line for line in text.splitlines() if line.startswith(f"{stack}:")]
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{stack}: {stage_word}"))
    closing = re.compile(rf"^{re.escape(stack)}: \S.* in [0-9.ms]+ \(.*\)$")
    block: list[str] = []
    closed = False
    for line in lines[start + 1 :]:
        if closed and not line.startswith(f"{stack}:  "):
            break
        if closing.match(line):
            closed = True
        block.append(re.sub(r" in [0-9.ms]+ \(", " in <time> (", line) if closing.match(line) else line)
    assert closed, f"no closing line for {stage_word}"
    return block


def test_provision_renders_recorded_logs_live_exactly_as_mesh_events_replays_them(
    monkeypatch: pytest.MonkeyPatch,
    write_request: Callable[..., Path],
    minimal_request: dict[str, Any],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("MESH_PASSPHRASE", "test-only")
    request = str(write_request(minimal_request))
    stack = "sales.orders.dev"
    fake = FakeWorkspaces({stack: Script.recorded(preview="webserver-userdata.json", up="up-3.json")})
    monkeypatch.setattr(automation, "default_workspaces", lambda on_progress=None: fake)
    logs = tmp_path / "ci-artifacts"

    live = runner.invoke(app, ["provision", request, "--env", "dev", "--yes", "--event-log", str(logs)])

    assert live.exit_code == 0, live.output
    saved = sorted((logs / stack).glob("*.jsonl"))
    assert [p.name.split("-", 1)[1] for p in saved] == ["preview.jsonl", "update.jsonl"]
    assert all(f"event log: {p}" in flat(live.stderr) for p in saved), "the run says where its logs are"
    for path, word in zip(saved, ("previewing", "updating"), strict=True):
        replayed = events(str(path))
        assert replayed.exit_code == 0, replayed.output
        shown_live = _progress_lines(live.stderr, stack, word)
        shown_again = _progress_lines(replayed.stdout, stack, word)
        assert shown_again == shown_live, f"{path.name}: the replay differs from what provisioning showed"
    update = _progress_lines(live.stderr, stack, "updating")
    assert f"{stack}:  + created aws:eks/cluster:Cluster eks-cluster" in update
    assert update[-1] == f"{stack}: updated in <time> (create 6)"


def test_on_a_terminal_the_live_table_runs_and_the_closing_lines_still_print() -> None:
    import io

    from rich.console import Console

    from cli.provision import LiveProgress
    from infra.engine.eventlog import replay

    screen = io.StringIO()
    view = LiveProgress(console=Console(file=screen, force_terminal=True, width=200, soft_wrap=True))
    assert view.animated

    with view:
        result = replay(EVENT_LOGS / "destroy-with-custom-resource-parent.json", view)

    text = flat(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue()))
    assert result.record.ok
    assert "! data at risk: deleted aws:s3/bucket:Bucket mybucket" in text
    assert "- deleted aws:s3/bucket:Bucket mybucket" not in text, (
        "per-resource lines are the table's job here"
    )
    (state,) = view.board.snapshot()
    assert (state.stack, state.done, state.finished) == ("dev", 2, True), (
        "two cloud resources; the stack is not one"
    )


def test_engine_text_is_shown_as_text_never_as_markup_or_terminal_control(tmp_path: Path) -> None:
    lines = (EVENT_LOGS / "lifecycle-protect-3-delete-protected.json").read_text().splitlines(keepends=True)
    hostile = {
        "sequence": 0,
        "timestamp": 0,
        "diagnosticEvent": {
            "message": "[bold red]boom[/] :m: \x1b]0;owned\x07 done\n",
            "color": "raw",
            "severity": "error",
        },
    }
    path = tmp_path / "hostile.jsonl"
    path.write_text(lines[0] + json.dumps(hostile) + "\n" + "".join(lines[1:]))

    result = events(str(path))

    assert result.exit_code == 1
    assert "[bold red]boom[/] :m: \\x1b]0;owned\\x07 done" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
