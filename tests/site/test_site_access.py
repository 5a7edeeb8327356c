"""`infra.site.access`: the request change a consumer proposes is exact — applied, it validates and grants."""

from __future__ import annotations

from pathlib import Path

import yaml

from infra.site.access import access_change, readers
from infra.validation import load_platform, load_request

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _apply(path: Path, snippet: str) -> dict[str, object]:
    """The request document with `spec.access.consumers` replaced by the snippet's."""
    document = yaml.safe_load(path.read_text())
    document["spec"].setdefault("access", {})["consumers"] = yaml.safe_load(snippet)["spec"]["access"][
        "consumers"
    ]
    return document


def test_every_proposed_change_validates_and_grants_every_port(tmp_path: Path) -> None:
    platform = load_platform(EXAMPLES / "mesh.yaml")
    for source in sorted((EXAMPLES / "products").glob("*.yaml")):
        request = load_request(source, platform).request
        for reader in readers(request, platform.config):
            change = access_change(request, reader)
            if not change.needed:
                continue
            changed = tmp_path / source.name
            (tmp_path / "jobs").mkdir(exist_ok=True)
            (tmp_path / "jobs" / "orders.py").write_text("")
            changed.write_text(yaml.safe_dump(_apply(source, change.snippet), sort_keys=False))

            after = load_request(changed, platform).request

            granted = {c.domain: set(c.ports) for c in after.spec.access.consumers}
            assert granted[reader] == {p.name for p in request.spec.output_ports}, (source.name, reader)
            before = {c.domain: set(c.ports) for c in request.spec.access.consumers}
            assert {d: p for d, p in granted.items() if d != reader} == {
                d: p for d, p in before.items() if d != reader
            }, "other grants stay as they are"


def test_the_snippet_marks_what_changes() -> None:
    platform = load_platform(EXAMPLES / "mesh.yaml")
    orders = load_request(EXAMPLES / "products" / "sales-orders.yaml", platform).request

    assert access_change(orders, "marketing").snippet == (
        "spec:\n"
        "  access:\n"
        "    consumers:\n"
        "      - {domain: marketing, ports: [order_lines, daily_revenue]}  # changed: adds daily_revenue\n"
        "      - {domain: finance, ports: [order_lines, daily_revenue]}\n"
    )
    assert access_change(orders, "support").snippet.endswith(
        "      - {domain: support, ports: [order_lines, daily_revenue]}  # added\n"
    )
    finance = access_change(orders, "finance")
    assert not finance.needed and finance.snippet == "" and finance.added_ports == ()


def test_who_may_be_proposed() -> None:
    platform = load_platform(EXAMPLES / "mesh.yaml")
    orders = load_request(EXAMPLES / "products" / "sales-orders.yaml", platform).request
    payroll = load_request(EXAMPLES / "products" / "finance-payroll.yaml", platform).request

    assert readers(orders, platform.config) == ("finance", "marketing", "support")  # never the owner
    # Restricted data cannot be granted outside its domain unless mesh.yaml allows it.
    assert readers(payroll, platform.config) == ()
    allowing = platform.config.model_copy(
        update={
            "guardrails": platform.config.guardrails.model_copy(update={"allow_restricted_sharing": True})
        }
    )
    assert readers(payroll, allowing) == ("marketing", "sales", "support")


def test_names_yaml_would_misread_are_quoted() -> None:
    platform = load_platform(EXAMPLES / "mesh.yaml")
    orders = load_request(EXAMPLES / "products" / "sales-orders.yaml", platform).request

    snippet = access_change(orders, "no").snippet  # YAML 1.1 reads a bare `no` as false

    assert "{domain: 'no', ports: [order_lines, daily_revenue]}" in snippet
    assert yaml.safe_load(snippet)["spec"]["access"]["consumers"][-1]["domain"] == "no"
