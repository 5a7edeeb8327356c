"""`mesh schema`: the JSON Schema of a request (or of the platform config), for editors."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from cli.console import print_json


class SchemaKind(StrEnum):
    """Which document's schema to print."""

    REQUEST = "request"
    PLATFORM = "platform"


def schema(
    kind: Annotated[
        SchemaKind, typer.Option("--kind", help="request (a DataProduct) or platform (mesh.yaml).")
    ] = SchemaKind.REQUEST,
) -> None:
    """Print the JSON Schema of a data product request.

    Save it and point your editor at it to get completion and checks while you type,
    e.g. add `# yaml-language-server: $schema=./mesh-request.schema.json` at the top of
    a request (see the README).
    """
    from infra.schemas import json_schema  # the pydantic models: not for every `mesh --help`

    print_json(json_schema(str(kind)))
