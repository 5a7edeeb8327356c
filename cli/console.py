"""The consoles mesh writes to: results on stdout, errors and progress on stderr."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Output(StrEnum):
    """Result formats shared by commands that offer only a human and a machine view."""

    TABLE = "table"
    JSON = "json"


def print_json(document: Any) -> None:
    """Write one JSON document to stdout, plainly (no colour codes for machines)."""
    print(json.dumps(document, indent=2, sort_keys=False, default=str))
