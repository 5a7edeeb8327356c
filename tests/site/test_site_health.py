"""`infra.site.health`: the health report the static catalog shows, read tolerantly but checked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra.model.errors import DocumentInvalid
from infra.site.health import PortState, Verdict, read_health

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "health.sample.json"


def test_the_sample_report_reads_back() -> None:
    report = read_health(SAMPLE)

    assert report.environment == "prod"
    assert report.generated_at == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # from "now"
    orders = report.products["sales/orders"]
    assert orders.verdict is Verdict.WARN
    assert [(r.level, r.kind, r.message) for r in orders.reasons] == [
        (
            "warn",
            "denied-access",
            "2 denied requests by arn:aws:iam::444455556666:role/analytics in the last 24 h",
        )
    ]
    assert [(p.name, p.state, p.newest) for p in orders.ports] == [
        ("order_lines", PortState.OK, datetime(2026, 12, 2, 2, 14, tzinfo=UTC)),
        ("daily_revenue", PortState.OK, datetime(2026, 12, 2, 2, 20, tzinfo=UTC)),
    ]
    assert orders.port("daily_revenue") is not None and orders.port("nope") is None


def test_reasons_may_be_plain_messages_and_ports_of_every_state(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    path.write_text(
        json.dumps(
            {
                "generatedAt": "2026-12-02T06:00:00+01:00",
                "products": {
                    "sales/orders": {
                        "verdict": "breach",
                        "reasons": ["daily_revenue has no data yet"],
                        "ports": [
                            {"name": "order_lines", "state": "unknown", "newest": "2026-12-02T02:14:00Z"},
                            {"name": "daily_revenue", "state": "never", "newest": None},
                        ],
                    }
                },
            }
        )
    )

    report = read_health(path)

    assert report.generated_at is not None and report.generated_at.isoformat() == "2026-12-02T06:00:00+01:00"
    orders = report.products["sales/orders"]
    assert [(r.level, r.message) for r in orders.reasons] == [(None, "daily_revenue has no data yet")]
    assert [p.state for p in orders.ports] == [PortState.UNKNOWN, PortState.NEVER]


def test_unknown_fields_are_ignored_and_only_the_verdict_is_required(tmp_path: Path) -> None:
    path = tmp_path / "health.json"
    path.write_text(
        json.dumps(
            {
                "schemaVersion": 7,
                "products": {
                    "sales/orders": {
                        "verdict": "breach",
                        "costUsd": 3.5,
                        "ports": [{"name": "x", "state": "late", "ageHours": 30}],
                    },
                    "finance/payroll": {"verdict": "ok"},
                },
            }
        )
    )

    report = read_health(path)

    assert report.environment is None and report.generated_at is None
    assert report.products["sales/orders"].ports[0].state is PortState.LATE
    assert report.products["finance/payroll"].ports == [] and report.products["finance/payroll"].reasons == []


@dataclass
class Case:
    reason: str
    text: str
    want: list[str]


CASES = [
    Case(
        "a verdict outside ok|warn|breach",
        '{"products": {"sales/orders": {"verdict": "fine"}}}',
        [
            "health.json:1:43 products.sales/orders.verdict: 'fine' is not allowed: use 'ok', 'warn' or 'breach'"
        ],
    ),
    Case(
        "a key that is not domain/name",
        '{"products": {"orders": {"verdict": "ok"}}}',
        [
            "health.json:1:15 products.orders: 'orders' is not valid: use a product as domain/name, such as sales/orders"
        ],
    ),
    Case(
        "a port state outside ok|late|never|unknown, and no verdict",
        '{"products": {"sales/orders": {"ports": [{"name": "a", "state": "stale"}]}}}',
        [
            "health.json:1:31 products.sales/orders.verdict: required field 'verdict' is missing",
            "health.json:1:65 products.sales/orders.ports[0].state: 'stale' is not allowed: use 'ok', 'late', 'never' or 'unknown'",
        ],
    ),
    Case(
        "no products at all",
        '{"environment": "prod"}',
        ["health.json:1:1 products: required field 'products' is missing"],
    ),
]


def test_problems_name_the_file_the_position_and_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for case in CASES:
        Path("health.json").write_text(case.text)
        with pytest.raises(DocumentInvalid) as caught:
            read_health(Path("health.json"))
        assert [str(p) for p in caught.value.problems] == case.want, case.reason
        assert "mesh health --output json" in (caught.value.hint or ""), case.reason


def test_a_missing_or_broken_file_is_a_located_problem(tmp_path: Path) -> None:
    with pytest.raises(DocumentInvalid, match="no such file"):
        read_health(tmp_path / "absent.json")
    (tmp_path / "broken.json").write_text('{"products": {')
    with pytest.raises(DocumentInvalid, match="not valid YAML"):
        read_health(tmp_path / "broken.json")
