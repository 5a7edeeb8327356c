"""Arguments and options several commands share, declared once so their help reads the same."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.console import Output

RequestArgument = Annotated[Path, typer.Argument(help="The data product request (YAML).", show_default=False)]
EnvOption = Annotated[
    str, typer.Option("--env", "-e", help="Environment from mesh.yaml.", show_default=False)
]
DefaultEnvOption = Annotated[
    str | None,
    typer.Option(
        "--env", "-e", help="Environment from mesh.yaml. Default: the first one with the request's cloud."
    ),
]
PlatformOption = Annotated[
    Path | None, typer.Option("--platform", "-p", help="Platform config. Default: the nearest mesh.yaml.")
]
OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table for people, json for machines.")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking for confirmation.")]


class CloudChoice(StrEnum):
    """`infra.model.request.Cloud` for option declarations: importing the request models (pydantic)
    would slow every `mesh --help`. tests/cli/test_wording.py keeps the two equal."""

    AWS = "aws"
    GCP = "gcp"


class ClassificationChoice(StrEnum):
    """`infra.model.request.Classification` for option declarations (see `CloudChoice`)."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"
