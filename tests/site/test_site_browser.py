"""The built catalog in a real headless Chromium, opened as file:// pages.

What a consumer does: searches and filters the index, opens a product, reads its
columns, follows the lineage, and picks their domain to see the request change that
grants access. Every page must load nothing but its own files and log no error (a
Content-Security-Policy violation would be logged).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infra.site import build_site

EXAMPLE_NODES = {
    ("finance/payroll", "product"),
    ("marketing/campaign-performance", "product"),
    ("sales/orders", "product"),
    ("support/tickets", "external"),
    ("domain:finance", "domain"),
    ("domain:marketing", "domain"),
    ("domain:sales", "domain"),
}
EXAMPLE_EDGES = {
    ("support/tickets", "sales/orders", "input", "tickets"),
    ("sales/orders", "marketing/campaign-performance", "input", "order_lines"),
    ("sales/orders", "domain:marketing", "grant", "order_lines"),
    ("sales/orders", "domain:finance", "grant", "daily_revenue, order_lines"),
    ("marketing/campaign-performance", "domain:sales", "grant", "campaign_daily"),
}


@dataclass
class Tab:
    """A page, with what it logged and every URL it requested."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def visible_products(self) -> list[str]:
        return self.page.eval_on_selector_all(
            "li.product", "cards => cards.filter(c => !c.hidden).map(c => c.dataset.product)"
        )

    def assert_clean(self) -> None:
        assert self.errors == [], f"the page logged errors: {self.errors}"
        outside = [u for u in self.requests if not u.startswith("file://")]
        assert outside == [], f"the page requested something outside the site: {outside}"


@pytest.fixture
def tab(browser: Any) -> Any:
    page = browser.new_page()
    opened = Tab(page)
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: opened.errors.append(str(e)))
    page.on("request", lambda r: opened.requests.append(r.url))
    yield opened
    page.close()


def test_a_search_narrows_the_index(tab: Tab, example_site: Path) -> None:
    tab.open((example_site / "index.html").as_uri())
    assert tab.visible_products() == ["finance/payroll", "marketing/campaign-performance", "sales/orders"]

    cases = [
        ("revenue", ["sales/orders"]),  # a port name
        ("iban", ["finance/payroll"]),  # a column name
        ("MARKETING analytics", ["marketing/campaign-performance"]),  # owner; case does not matter
        ("order", ["marketing/campaign-performance", "sales/orders"]),  # an input port and a product
        ("orders payroll", []),  # every word must match
    ]
    for words, want in cases:
        tab.page.fill("#q", words)
        assert tab.visible_products() == want, words
        assert tab.page.text_content("#count") == f"{len(want)} of 3 products"
        assert tab.page.is_visible("#none") is (not want)
    tab.page.fill("#q", "")
    assert len(tab.visible_products()) == 3
    tab.assert_clean()


def test_a_filter_by_classification_works(tab: Tab, example_site: Path) -> None:
    tab.open((example_site / "index.html").as_uri())

    for value, want in [
        ("restricted", ["finance/payroll"]),
        ("confidential", ["sales/orders"]),
        ("internal", ["marketing/campaign-performance"]),
        ("public", []),
        ("", ["finance/payroll", "marketing/campaign-performance", "sales/orders"]),
    ]:
        tab.page.select_option("#f-classification", value)
        assert tab.visible_products() == want, value
    # The filter is in the address, so a filtered index can be linked to and reloaded.
    tab.page.select_option("#f-classification", "confidential")
    assert tab.page.evaluate("location.hash") == "#classification=confidential"
    tab.page.reload()
    assert tab.page.input_value("#f-classification") == "confidential"
    assert tab.visible_products() == ["sales/orders"]
    tab.assert_clean()


def test_the_other_filters_and_their_combination(tab: Tab, example_site: Path) -> None:
    tab.open((example_site / "index.html").as_uri())

    cases = [
        ({"domain": "sales"}, ["sales/orders"]),
        ({"cloud": "gcp"}, ["marketing/campaign-performance"]),
        ({"tag": "pii"}, ["finance/payroll", "sales/orders"]),
        ({"tag": "scheduled"}, ["sales/orders"]),
        ({"slo": "breach"}, ["marketing/campaign-performance"]),  # from the health report
        ({"slo": "warn"}, ["sales/orders"]),
        ({"cloud": "aws", "tag": "pii", "slo": "ok"}, ["finance/payroll"]),
        ({"cloud": "gcp", "classification": "restricted"}, []),
    ]
    for chosen, want in cases:
        for name in ("domain", "classification", "cloud", "tag", "slo"):
            tab.page.select_option(f"#f-{name}", chosen.get(name, ""))
        assert tab.visible_products() == want, chosen
    tab.assert_clean()


def test_a_product_page_lists_its_columns(tab: Tab, example_site: Path) -> None:
    tab.open((example_site / "products" / "sales" / "orders.html").as_uri())

    assert tab.page.text_content("h1#product").split() == ["sales/orders", "1.2.0"]
    rows = tab.page.eval_on_selector_all(
        "section[data-port=order_lines] table.columns tbody tr",
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent.trim()))",
    )
    assert rows == [
        ["order_id", "string", "yes", "", "", "Order number."],
        ["line_no", "int", "yes", "", "", ""],
        ["sku", "string", "yes", "", "", ""],
        ["quantity", "int", "", "", "", ""],
        ["amount", "decimal(12,2)", "", "", "", ""],
        ["customer_email", "string", "", "PII", "", ""],
        ["order_date", "date", "yes", "", "yes", ""],
    ]
    revenue = tab.page.eval_on_selector_all(
        "section[data-port=daily_revenue] tbody tr", "rows => rows.map(r => r.dataset.column)"
    )
    assert revenue == ["day", "revenue", "orders"]
    about = tab.page.inner_text("dl.about")
    assert "sales-data@example.com" in about and "data at most 24 hours old" in about
    # The live state: the verdict, its reason, and each port's freshness.
    assert "2 denied requests by arn:aws:iam::444455556666:role/analytics in the last 24 h" in about
    assert tab.page.inner_text("section[data-port=order_lines] h3").split() == [
        "order_lines",
        "parquet",
        "ok",
        "·",
        "newest",
        "2026-12-02T02:14:00+00:00",
    ]
    consumers = tab.page.eval_on_selector_all("tr[data-consumer]", "rows => rows.map(r => r.innerText)")
    assert consumers == ["marketing\torder_lines", "finance\torder_lines, daily_revenue"]
    assert tab.page.inner_text("ul.inputs") == "support/tickets (no request in this repository), port tickets"
    tab.assert_clean()


def test_the_lineage_graph_has_the_expected_nodes_and_edges(tab: Tab, example_site: Path) -> None:
    tab.open((example_site / "lineage.html").as_uri())

    nodes = tab.page.eval_on_selector_all(
        "#graph svg .node", "ns => ns.map(n => [n.dataset.node, n.classList[1]])"
    )
    edges = tab.page.eval_on_selector_all(
        "#graph svg .edge",
        "es => es.map(e => [e.dataset.from, e.dataset.to, e.classList[1], e.dataset.ports])",
    )
    assert {tuple(n) for n in nodes} == EXAMPLE_NODES
    assert len(nodes) == len(EXAMPLE_NODES)
    assert {tuple(e) for e in edges} == EXAMPLE_EDGES
    # Drawn where they can be seen: every node inside the drawing, flows left to right.
    boxes = {
        n: tab.page.locator(f'#graph svg .node[data-node="{n}"]').bounding_box() for n, _ in EXAMPLE_NODES
    }
    assert all(b is not None and b["width"] > 0 and b["height"] > 0 for b in boxes.values())
    for source, target, _, _ in EXAMPLE_EDGES:
        assert boxes[source]["x"] < boxes[target]["x"], (source, target)

    # With #domain/name in the address, the whole mesh highlights that product's lineage.
    tab.open((example_site / "lineage.html").as_uri() + "#marketing/campaign-performance")
    marks = dict(
        tab.page.eval_on_selector_all(
            "#graph svg .node",
            "ns => ns.map(n => [n.dataset.node, ['focus','upstream','downstream','dim'].find(c => n.classList.contains(c))])",
        )
    )
    assert marks == {
        "marketing/campaign-performance": "focus",
        "sales/orders": "upstream",
        "support/tickets": "upstream",
        "domain:sales": "downstream",
        "finance/payroll": "dim",
        "domain:finance": "dim",
        "domain:marketing": "dim",
    }
    tab.assert_clean()


def test_a_product_page_highlights_its_upstream_and_downstream(tab: Tab, example_site: Path) -> None:
    tab.open((example_site / "products" / "sales" / "orders.html").as_uri())

    marks = dict(
        tab.page.eval_on_selector_all(
            "svg.lineage .node",
            "ns => ns.map(n => [n.dataset.node, ['focus','upstream','downstream'].find(c => n.classList.contains(c))])",
        )
    )
    # Only what lies on a path through sales/orders; finance/payroll has nothing to do with it.
    assert marks == {
        "sales/orders": "focus",
        "support/tickets": "upstream",
        "marketing/campaign-performance": "downstream",
        "domain:marketing": "downstream",
        "domain:finance": "downstream",
        "domain:sales": "downstream",
    }
    edges = tab.page.eval_on_selector_all(
        "svg.lineage .edge", "es => es.map(e => [e.dataset.from, e.dataset.to, e.classList[2]])"
    )
    assert sorted(map(tuple, edges)) == [
        ("marketing/campaign-performance", "domain:sales", "downstream"),
        ("sales/orders", "domain:finance", "downstream"),
        ("sales/orders", "domain:marketing", "downstream"),
        ("sales/orders", "marketing/campaign-performance", "downstream"),
        ("support/tickets", "sales/orders", "upstream"),
    ]
    # A product node opens that product's page.
    tab.page.click('svg.lineage .node[data-node="marketing/campaign-performance"]')
    tab.page.wait_for_url("**/products/marketing/campaign-performance.html")
    assert tab.page.text_content("h1#product").split()[0] == "marketing/campaign-performance"
    tab.assert_clean()


def test_how_to_get_access_shows_the_change_for_the_chosen_domain(tab: Tab, example_site: Path) -> None:
    tab.open((example_site / "products" / "sales" / "orders.html").as_uri())

    def shown() -> str:
        return tab.page.eval_on_selector_all(
            ".access-change", "bs => bs.filter(b => !b.hidden).map(b => b.innerText.trim()).join('|')"
        )

    # marketing reads one of the two ports: the page opens on the first domain that needs a change.
    assert tab.page.input_value("#reader") == "marketing"
    assert shown() == textwrap.dedent(
        """\
        spec:
          access:
            consumers:
              - {domain: marketing, ports: [order_lines, daily_revenue]}  # changed: adds daily_revenue
              - {domain: finance, ports: [order_lines, daily_revenue]}"""
    )
    tab.page.select_option("#reader", "support")
    assert shown().endswith("- {domain: support, ports: [order_lines, daily_revenue]}  # added")
    tab.page.select_option("#reader", "finance")
    assert shown() == "The finance domain already reads every port."
    tab.assert_clean()


def test_every_page_loads_only_its_own_files(tab: Tab, example_site: Path) -> None:
    pages = sorted(example_site.rglob("*.html"))
    assert len(pages) == 5
    for path in pages:
        tab.open(path.as_uri())
        assert tab.page.evaluate("document.styleSheets.length") == 1, path  # the inlined sheet applies
    tab.assert_clean()
    assert {u.split("#")[0] for u in tab.requests} == {p.as_uri() for p in pages}


HOSTILE = """\
apiVersion: mesh/v1
kind: DataProduct
metadata:
  domain: support
  name: tickets
  owner: support-ops@example.com
  description: "</script><script>window.pwned = 1</script><img src=x onerror=\\"window.pwned = 2\\"> & 'quotes'"
spec:
  cloud: aws
  classification: internal
  retentionDays: 30
  outputPorts:
    - name: tickets
      description: "<b onmouseover=alert(1)>bold</b>"
      schema:
        - {name: ticket_id, type: string, description: "\\" data-x=\\"1\\" <svg onload=window.pwned=3>"}
"""


def test_request_text_is_shown_as_text_and_never_runs(tab: Tab, examples_repo: Path, tmp_path: Path) -> None:
    repo = examples_repo
    (repo / "products" / "support-tickets.yaml").write_text(HOSTILE)
    build_site(repo, out=tmp_path / "site")
    dialogs: list[str] = []
    tab.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    tab.open((tmp_path / "site" / "index.html").as_uri())
    tab.page.fill("#q", "pwned")
    assert tab.visible_products() == ["support/tickets"]
    card = tab.page.locator('li[data-product="support/tickets"] .description')
    assert card.text_content() == (
        "</script><script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\"> & 'quotes'"
    )
    tab.open((tmp_path / "site" / "products" / "support" / "tickets.html").as_uri())
    assert tab.page.text_content("section[data-port=tickets] p") == "<b onmouseover=alert(1)>bold</b>"
    assert tab.page.text_content("tr[data-column=ticket_id] td:last-child") == (
        '" data-x="1" <svg onload=window.pwned=3>'
    )
    assert tab.page.evaluate("window.pwned") is None
    assert tab.page.locator("img, b, main svg:not(.lineage)").count() == 0
    assert dialogs == []
    tab.assert_clean()


def test_the_page_policy_runs_no_script_but_its_own(tab: Tab, example_site: Path) -> None:
    tab.open((example_site / "index.html").as_uri())

    tab.page.evaluate(
        """() => {
            const injected = document.createElement("script");
            injected.textContent = "window.injected = true";
            document.body.appendChild(injected);
        }"""
    )

    assert tab.page.evaluate("window.injected") is None
    assert any("Content Security Policy" in e for e in tab.errors)


def test_lineage_svg_opens_on_its_own_with_its_styles(tab: Tab, example_site: Path) -> None:
    tab.open((example_site / "lineage.svg").as_uri())

    nodes = tab.page.eval_on_selector_all("g.node", "ns => ns.map(n => n.dataset.node)")
    fill = tab.page.eval_on_selector("g.node.domain rect", "r => getComputedStyle(r).fill")

    assert sorted(nodes) == sorted(n for n, _ in EXAMPLE_NODES)
    assert fill == "rgb(255, 247, 230)"  # the domain colour from the embedded style sheet
    tab.assert_clean()
