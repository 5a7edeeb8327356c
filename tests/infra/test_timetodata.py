"""Time to data: events from git and records, spans, and the mesh's median and p90."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from infra.timetodata import (
    TimeToData,
    emulated_apply,
    mesh_summary,
    percentile,
    record_emulated_apply,
    request_history,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _commit(folder: Path, message: str, when: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when)
    env |= {
        "GIT_AUTHOR_NAME": "d",
        "GIT_AUTHOR_EMAIL": "d@e.x",
        "GIT_COMMITTER_NAME": "d",
        "GIT_COMMITTER_EMAIL": "d@e.x",
    }
    subprocess.run(["git", "add", "-A"], cwd=folder, check=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=folder, check=True, env=env)


REQUEST = "apiVersion: mesh/v1\nkind: DataProduct\nspec:\n  access:\n    consumers:\n{consumers}"


def test_first_commit_and_grants_follow_renames_and_a_leading_dash(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    first = tmp_path / "orders.yaml"
    first.write_text(REQUEST.format(consumers="      - {domain: marketing, ports: [a]}\n"))
    _commit(tmp_path, "add", "2026-01-01T10:00:00Z")
    renamed = tmp_path / "-orders.yaml"  # a path git would read as an option without `--`
    first.rename(renamed)
    _commit(tmp_path, "rename", "2026-01-02T10:00:00Z")
    renamed.write_text(
        REQUEST.format(
            consumers="      - {domain: marketing, ports: [a]}\n      - {domain: finance, ports: [a]}\n"
        )
    )
    _commit(tmp_path, "grant finance", "2026-01-03T10:00:00Z")

    history = request_history(renamed)

    assert history.problem is None
    assert history.committed == at("2026-01-01T10:00:00Z"), "the first commit, across the rename"
    assert dict(history.grants) == {
        "marketing": at("2026-01-01T10:00:00Z"),
        "finance": at("2026-01-03T10:00:00Z"),
    }


def test_outside_git_or_uncommitted_the_event_is_missing_with_the_reason(tmp_path: Path) -> None:
    loose = tmp_path / "r.yaml"
    loose.write_text("x: 1\n")
    history = request_history(loose)
    assert history.committed is None and "not in a git repository" in (history.problem or "")

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    history = request_history(loose)
    assert history.committed is None and "has no commit that adds it" in (history.problem or "")


def test_mesh_emulate_keeps_the_first_apply(tmp_path: Path) -> None:
    assert emulated_apply(tmp_path, "dev", "sales.orders.dev") is None
    record_emulated_apply(tmp_path, "dev", "sales.orders.dev", at("2026-01-01T00:00:00Z"))
    record_emulated_apply(tmp_path, "dev", "sales.orders.dev", at("2026-01-05T00:00:00Z"))
    assert emulated_apply(tmp_path, "dev", "sales.orders.dev") == at("2026-01-01T00:00:00Z")
    assert (tmp_path / ".mesh" / ".gitignore").read_text().endswith("*\n"), "never committed"


@dataclass(frozen=True)
class Case:
    reason: str
    given: list[float]
    want: float | None


PERCENTILES = [
    Case("nearest rank: p90 of ten values is the ninth", [float(v) for v in range(10, 0, -1)], 9.0),
    Case("one value is every percentile", [4.0], 4.0),
    Case("two values: p90 is the larger", [1.0, 3.0], 3.0),
    Case("nothing measured", [], None),
]


@pytest.mark.parametrize("case", PERCENTILES, ids=lambda c: c.reason)
def test_p90_by_nearest_rank(case: Case) -> None:
    assert percentile(case.given, 90) == case.want, case.reason


def test_missing_events_are_listed_and_their_spans_are_none() -> None:
    ttd = TimeToData(
        committed=at("2026-01-01T00:00:00Z"),
        provisioned=None,
        first_data={"a": at("2026-01-02T00:00:00Z"), "b": None},
        grants={"marketing": at("2026-01-01T00:00:00Z")},
        first_reads={"marketing": None},
    )
    assert ttd.spans() == {
        "requestToProvisioned": None,
        "provisionedToFirstData": None,
        "requestToFirstData": 24.0,
        "requestToFirstRead": None,
    }
    assert ttd.missing() == ["provisioned", "firstData.b", "firstRead.marketing"]
    summary = mesh_summary({"x/y": ttd})
    assert summary["requestToFirstData"] == {"median": 24.0, "p90": 24.0, "measured": 1, "of": 1}
    assert summary["grantToFirstRead"] == {"median": None, "p90": None, "measured": 0, "of": 1}
