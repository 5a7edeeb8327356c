"""The consoles mesh writes to: results on stdout, errors and progress on stderr."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderableType, RenderHook
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text

# C0 controls but tab and newline (ESC starts ANSI and OSC sequences), DEL, C1 controls
# (0x9b is a one-byte CSI) and the bidirectional overrides that reorder what is shown.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_control(text: str) -> str:
    """`text` without the characters a terminal would act on instead of showing."""
    return _CONTROL.sub("", text)


class _Printable:
    """A renderable whose text loses its control characters; rich's own styling, which it
    adds after rendering (and its cursor controls, which are control segments), is kept."""

    def __init__(self, renderable: ConsoleRenderable) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for segment in console.render(self.renderable, options):
            if segment.control or not _CONTROL.search(segment.text):
                yield segment
            else:
                yield Segment(strip_control(segment.text), segment.style)


class _StripControl(RenderHook):
    """Request values, file names and messages reach the terminal as text, never as commands."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Printable(r) for r in renderables]


out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out.push_render_hook(_StripControl())
err.push_render_hook(_StripControl())


def fits(renderable: RenderableType, console: Console = out) -> bool:
    """Whether `renderable` shows at its natural width on `console`, so no cell is wrapped or cut.

    Commands that print tables of names fall back to a list layout when this is false (a
    narrow terminal, or piped output at 80 columns), because a table squeezed to fit would
    shorten physical names and ARNs, which a reviewer must read whole.
    """
    unlimited = console.options.update(max_width=1_000_000)
    return Measurement.get(console, unlimited, renderable).maximum <= console.width


def print_wrapped(text: str, *, indent: int = 0, style: str = "", console: Console = out) -> None:
    """One line of text, indented by `indent` and wrapped at spaces to the console's width.

    Continuation lines are indented two more. Text is not markup. Words (names, ARNs) are
    never split: one longer than the room left stands whole on its own line.
    """
    lines = textwrap.wrap(
        text,
        width=max(console.width, 40),
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + 2),
        break_long_words=False,
        break_on_hyphens=False,
    )
    for line in lines or [""]:
        console.print(Text(line, style=style), soft_wrap=True)


class Output(StrEnum):
    """Result formats shared by commands that offer only a human and a machine view."""

    TABLE = "table"
    JSON = "json"


def print_json(document: Any) -> None:
    """Write one JSON document to stdout, plainly (no colour codes for machines)."""
    print(json.dumps(document, indent=2, sort_keys=False, default=str))
