"""Untrusted text where mesh renders it: review markdown and the terminal."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.table import Table

from cli.console import _StripControl, strip_control
from cli.review import _code, _details, _fenced, _text

HOSTILE = (
    "x` </details> ![p](https://evil.example/p.png) <img src=https://evil.example/q.png> | [l](https://e)"
)


def _code_span_content(span: str) -> str:
    """What a CommonMark reader shows for an inline code span made by `_code`."""
    fence = re.match("`+", span)
    assert fence is not None
    inner = span[len(fence.group()) : -len(fence.group())]
    assert not inner.startswith(fence.group()[0] * len(fence.group())), "the fence closes early"
    return inner


def test_a_code_span_cannot_be_closed_from_inside() -> None:
    span = _code(HOSTILE)
    fence = re.match("`+", span)
    assert fence is not None

    longest_inside = max(len(run) for run in re.findall("`+", span[len(fence.group()) : -len(fence.group())]))
    assert len(fence.group()) > longest_inside, span
    assert span.endswith(fence.group()) and "\n" not in span
    assert "\\|" in _code_span_content(span), "a pipe cannot end a table cell"


def test_a_value_starting_with_a_backtick_is_padded() -> None:
    assert _code("`x") == "`` `x ``"


def test_plain_text_has_no_live_link_image_or_tag() -> None:
    text = _text(HOSTILE + "\nsecond line")

    assert "<" not in text and ">" not in text, text
    assert "](" not in text.replace("\\](", ""), "every ] is escaped"
    assert "\\![" not in text or "\\!\\[" in text
    assert "\n" not in text
    assert "\\`" in text and "\\|" in text


def test_a_fenced_block_cannot_be_closed_by_its_content() -> None:
    block = _fenced("+ allow\n```\n![x](https://evil.example/x.png)\n- deny", "diff")
    fence = block.split("\n", 1)[0].removesuffix("diff")

    body_lines = block.splitlines()[1:-1]
    assert len(fence) == 4
    assert all(not line.startswith(fence) for line in body_lines)
    assert block.endswith("\n" + fence)


def test_a_details_summary_is_escaped_html() -> None:
    details = _details("`name</summary></details><img src=x>`", "body")

    assert details.startswith(
        "<details><summary>`name&lt;/summary&gt;&lt;/details&gt;&lt;img src=x&gt;`</summary>"
    )
    assert details.count("</details>") == 1


@pytest.mark.parametrize(
    "given",
    [
        "\x1b[2J\x1b[31mred",  # ANSI: clear the screen, colour
        "\x1b]0;title\x07",  # OSC: set the window title
        "\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\",  # OSC 8 hyperlink
        "\x9b2J",  # one-byte CSI
        "\u202eevil",  # bidi override
        "bell\x07back\x08",
    ],
)
def test_the_terminal_gets_no_control_character(given: str) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard", width=200, highlight=False)
    console.push_render_hook(_StripControl())
    table = Table("value")
    table.add_row(given)

    console.print(f"[green]ok[/] {given}", markup=True)
    console.print(given, markup=False)
    console.print(table)

    written = buffer.getvalue()
    for sequence in ("\x1b[2J", "\x1b[31m", "\x1b]", "\x9b", "\u202e", "\x07", "\x08"):
        assert sequence not in written, repr(written)
    without_own_styles = re.sub(r"\x1b\[(0|1|32)?m", "", written)  # rich's reset, bold and green stay
    assert "\x1b" not in without_own_styles, repr(written)
    assert "\x1b[32m" in written, "styling still works"


def test_strip_control_keeps_text_tabs_and_newlines() -> None:
    assert strip_control("a\tb\nc\x1b[0m é 😀") == "a\tb\nc[0m é 😀"


def test_a_hostile_review_renders_as_text() -> None:
    from cli.review import render_markdown
    from infra.guardrails import GuardrailReport
    from infra.review import ContractChange, GrantChange, InputChange, ResourceChange, ReviewResult

    result = ReviewResult(
        stack="sales.orders.dev",
        product="sales/orders",
        base="--base-ref`</details>",
        base_version="1.0.0",
        version="1.0.0",
        resources=[
            ResourceChange(
                urn="urn:pulumi:dev::p::aws:glue/catalogTable:CatalogTable::t",
                type="aws:glue/catalogTable:CatalogTable",
                name="t` <img src=x>",
                kind="changed",
                changes=(InputChange("description", "Orders.", HOSTILE),),
            )
        ],
        contract=[
            ContractChange("order_lines", "column-removed", f"column {HOSTILE} is removed", True, ("x|y",))
        ],
        grants=[GrantChange("marketing", "order_lines`![i](https://evil.example/i.png)", "added")],
        guardrails=GuardrailReport(results=[]),
        notes=[HOSTILE],
    )

    markdown = render_markdown(result)

    outside_code = re.sub(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", "", markdown)  # code spans show text as is
    assert "<img" not in outside_code and "</summary></details>" not in markdown, outside_code
    # An HTML block ends only at a line starting with its tag: a value never starts a line.
    assert len(re.findall("^</details>", markdown, re.MULTILINE)) == markdown.count("<details>")
    assert all(
        line.startswith(("<details><summary>", "</details>"))
        for line in markdown.splitlines()
        if line.startswith("<")
    ), markdown
    assert "![" not in outside_code.replace("\\![", ""), "no image renders"
    assert "](https://evil.example" not in outside_code.replace("\\](https://evil.example", ""), "no link"
