"""`infra.lineage`: the graph of the mesh, its layout and its SVG."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from infra.lineage import CHAR_WIDTH, EdgeKind, LineageGraph, NodeKind, layout, lineage, render_svg
from infra.model.request import DataProductRequest
from infra.validation import load_platform, load_request

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _examples() -> list[DataProductRequest]:
    platform = load_platform(EXAMPLES / "mesh.yaml")
    return [load_request(p, platform).request for p in sorted((EXAMPLES / "products").glob("*.yaml"))]


def _request(name: str, *, inputs: tuple[str, ...] = (), readers: tuple[str, ...] = ()) -> DataProductRequest:
    domain, product = name.split("/")
    return DataProductRequest.model_validate(
        {
            "apiVersion": "mesh/v1",
            "kind": "DataProduct",
            "metadata": {"domain": domain, "name": product, "owner": "a@example.com", "description": "x"},
            "spec": {
                "cloud": "aws",
                "classification": "internal",
                "retentionDays": 1,
                "outputPorts": [{"name": "rows", "schema": [{"name": "id", "type": "string"}]}],
                "inputPorts": [{"product": i, "port": "rows"} for i in inputs],
                "access": {"consumers": [{"domain": r, "ports": ["rows"]} for r in readers]},
            },
        }
    )


def test_the_examples_give_products_external_inputs_and_reading_domains() -> None:
    graph = lineage(_examples())

    assert [(n.id, n.kind) for n in graph.nodes] == [
        ("domain:finance", NodeKind.DOMAIN),
        ("domain:marketing", NodeKind.DOMAIN),
        ("domain:sales", NodeKind.DOMAIN),
        ("finance/payroll", NodeKind.PRODUCT),
        ("marketing/campaign-performance", NodeKind.PRODUCT),
        ("sales/orders", NodeKind.PRODUCT),
        ("support/tickets", NodeKind.EXTERNAL),
    ]
    assert [(e.source, e.target, e.kind, e.ports) for e in graph.edges] == [
        ("marketing/campaign-performance", "domain:sales", EdgeKind.GRANT, ("campaign_daily",)),
        ("sales/orders", "domain:finance", EdgeKind.GRANT, ("daily_revenue", "order_lines")),
        ("sales/orders", "domain:marketing", EdgeKind.GRANT, ("order_lines",)),
        ("sales/orders", "marketing/campaign-performance", EdgeKind.INPUT, ("order_lines",)),
        ("support/tickets", "sales/orders", EdgeKind.INPUT, ("tickets",)),
    ]


@dataclass
class Case:
    reason: str
    requests: list[DataProductRequest]
    node: str
    upstream: set[str]
    downstream: set[str]


CASES = [
    Case(
        "a chain: everything before is upstream, everything after downstream",
        [
            _request("aa/one"),
            _request("bb/two", inputs=("aa/one",)),
            _request("cc/three", inputs=("bb/two",)),
        ],
        "bb/two",
        {"aa/one"},
        {"cc/three"},
    ),
    Case(
        "a diamond with readers: both branches, and the domains reading what comes after",
        [
            _request("aa/src"),
            _request("bb/left", inputs=("aa/src",)),
            _request("bb/right", inputs=("aa/src",), readers=("dd",)),
            _request("cc/sink", inputs=("bb/left", "bb/right"), readers=("ee",)),
        ],
        "aa/src",
        set(),
        {"bb/left", "bb/right", "cc/sink", "domain:dd", "domain:ee"},
    ),
    Case(
        "a cycle: a product is never its own upstream or downstream",
        [_request("aa/xx", inputs=("bb/yy",)), _request("bb/yy", inputs=("aa/xx",))],
        "aa/xx",
        {"bb/yy"},
        {"bb/yy"},
    ),
]


def test_upstream_and_downstream() -> None:
    for case in CASES:
        graph = lineage(case.requests)
        assert graph.upstream(case.node) == case.upstream, case.reason
        assert graph.downstream(case.node) == case.downstream, case.reason
        around = graph.around(case.node)
        assert {n.id for n in around.nodes} == case.upstream | case.downstream | {case.node}, case.reason


def test_around_keeps_only_paths_through_the_product() -> None:
    graph = lineage(_examples())

    around = graph.around("marketing/campaign-performance")

    assert {n.id for n in around.nodes} == {
        "marketing/campaign-performance",
        "sales/orders",
        "support/tickets",
        "domain:sales",
    }
    # sales/orders -> domain:marketing is beside the path, not on it.
    assert {(e.source, e.target) for e in around.edges} == {
        ("support/tickets", "sales/orders"),
        ("sales/orders", "marketing/campaign-performance"),
        ("marketing/campaign-performance", "domain:sales"),
    }


def test_layout_flows_left_to_right_with_readers_last_and_never_cuts_a_label() -> None:
    long_name = "a" + "b" * 39
    graph = lineage(
        [
            _request("src/raw"),
            _request(f"mid/{long_name}", inputs=("src/raw",)),
            _request("top/report", inputs=(f"mid/{long_name}", "src/raw"), readers=("fin",)),
            _request("solo/alone"),
        ]
    )

    placed = layout(graph)

    assert placed.columns == (
        ("src/raw", "solo/alone"),  # a product with no lineage goes below the flows
        (f"mid/{long_name}",),
        ("top/report",),
        ("domain:fin",),
    )
    for edge in graph.edges:
        assert placed.boxes[edge.source].x < placed.boxes[edge.target].x
    box = placed.boxes[f"mid/{long_name}"]
    assert box.width >= len(f"mid/{long_name}") * CHAR_WIDTH
    assert placed.width >= max(b.x + b.width for b in placed.boxes.values())
    assert placed.height >= max(b.y + b.height for b in placed.boxes.values())


def test_a_cycle_still_gets_a_layout_and_a_drawing() -> None:
    graph = lineage([_request("aa/xx", inputs=("bb/yy",)), _request("bb/yy", inputs=("aa/xx",))])

    svg = render_svg(graph, focus="aa/xx")

    assert set(layout(graph).boxes) == {"aa/xx", "bb/yy"}
    assert svg.count('class="edge input') == 2


def test_the_svg_is_deterministic_and_marks_the_focus() -> None:
    requests = _examples()

    svg = render_svg(lineage(requests), focus="sales/orders", link=lambda n: f"p/{n.id}.html")

    assert svg == render_svg(
        lineage(list(reversed(requests))), focus="sales/orders", link=lambda n: f"p/{n.id}.html"
    )
    marks = {node: mark for mark, node in re.findall(r'class="node \w+ (\w+)" data-node="([^"]+)"', svg)}
    assert marks == {
        "sales/orders": "focus",
        "support/tickets": "upstream",
        "marketing/campaign-performance": "downstream",
        "domain:finance": "downstream",
        "domain:marketing": "downstream",
        "domain:sales": "downstream",
        "finance/payroll": "dim",
    }
    assert '<a href="p/sales/orders.html">' in svg


def test_svg_text_is_escaped() -> None:
    graph = LineageGraph(nodes=(), edges=())

    svg = render_svg(graph, title='<script>"x"</script>')

    assert "<script>" not in svg
    assert "&lt;script&gt;&quot;x&quot;&lt;/script&gt;" in svg
