"""The options `mesh contract export` and `mesh product export` share, and where they may
write: standard output, or a file that is never a request or the platform config, an
existing one only with --force, written atomically."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.console import err


class ExportFormat(StrEnum):
    """How an exported document is written."""

    YAML = "yaml"
    JSON = "json"


ExportFormatOption = Annotated[
    ExportFormat,
    typer.Option("--output", "-o", help="yaml (as ODCS and ODPS documents usually are) or json."),
]
ExportFileOption = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="Write the document to this file instead of standard output."),
]

ForceExportOption = Annotated[
    bool,
    typer.Option("--force", help="Overwrite an existing --file (never a request or the platform config)."),
]


def deliver(
    text: str, to: Path | None, *, request: Path, platform_file: Path, force: bool, what: str
) -> None:
    """Print `text`, or write it to `to` (see `write_export`) and say so on stderr, naming `what`."""
    if to is None:
        typer.echo(text, nl=False)
        return
    write_export(to, text, request=request, platform_file=platform_file, force=force)
    err.print(f"Wrote {what} to {to}", markup=False)


def write_export(to: Path, text: str, *, request: Path, platform_file: Path, force: bool) -> None:
    """Write an exported document to `to` atomically, after `_check_export_target`."""
    from infra.model.files import write_atomic

    _check_export_target(to, request=request, platform_file=platform_file, force=force)
    write_atomic(to, text, overwrite=force)


def _check_export_target(to: Path, *, request: Path, platform_file: Path, force: bool) -> None:
    """Refuse to overwrite without --force, and never overwrite a request or mesh.yaml."""
    from infra.model.errors import UsageError
    from infra.model.platform import PLATFORM_FILE

    if not to.exists():
        return
    if to.is_dir():
        raise UsageError(f"--file {to} is a directory", hint="Pass the path of a file.")
    same = {request.resolve(), platform_file.resolve()}
    if to.resolve() in same or to.name == PLATFORM_FILE or _is_mesh_document(to):
        raise UsageError(
            f"--file {to} is a data product request or a platform config; mesh never overwrites one "
            "with an export, even with --force",
            hint="Write the export to a file of its own, e.g. orders.odcs.yaml.",
        )
    if not force:
        raise UsageError(f"--file {to} already exists", hint="Pass --force to overwrite it.")


def _is_mesh_document(path: Path) -> bool:
    """Whether `path` reads as a mesh request or platform config (`apiVersion: mesh/v1`, `kind:
    DataProduct | Platform`); an ODPS descriptor is `kind: DataProduct` too, but not mesh's."""
    from infra.model.document import read_document
    from infra.model.errors import MeshError

    try:
        data = read_document(path).data
    except MeshError:
        return False
    return data.get("apiVersion") == "mesh/v1" and data.get("kind") in ("DataProduct", "Platform")
