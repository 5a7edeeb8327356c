"""The consoles mesh writes to: results on stdout, errors and progress on stderr."""

from __future__ import annotations

import json
import textwrap
from enum import StrEnum
from typing import Any

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.text import Text

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


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
