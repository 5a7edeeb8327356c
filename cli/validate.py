"""`mesh validate`: check requests against the request format and the platform config."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from cli.console import Output, err, out, print_json
from cli.options import OutputOption
from infra.model.errors import Severity, UsageError

if TYPE_CHECKING:
    from infra.validation import ValidationReport


def validate(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Request files (YAML) to check; a folder stands for the YAML files under it.",
            show_default=False,
        ),
    ],
    platform: Annotated[
        Path | None,
        typer.Option(
            "--platform", "-p", help="Platform config. Default: the nearest mesh.yaml above the first file."
        ),
    ] = None,
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Also check the request fits this environment.")
    ] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Check data product requests; every problem of every file is reported at once.

    Exit code 0 when all files are valid, 1 when any is not, 2 on a usage error.

    Example: mesh validate examples/products/*.yaml --platform examples/mesh.yaml
    """
    from infra.validation import validate_files

    report = validate_files(request_files(files), platform_path=platform, environment=env)
    if output is Output.JSON:
        print_json(report.as_dict())
    else:
        render(report)
    raise typer.Exit(0 if report.valid else 1)


def request_files(paths: list[Path]) -> list[Path]:
    """The files to check: files as given, and for a folder the `*.yaml`/`*.yml` files under it.

    Hidden folders (`.git`, `.github`, `.mesh`) and platform configs (`mesh.yaml`) are
    skipped; a folder with no request in it is a usage error.
    """
    from infra.model.platform import PLATFORM_FILE

    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(
            p
            for p in path.rglob("*")
            if p.suffix in (".yaml", ".yml")
            and p.is_file()
            and p.name != PLATFORM_FILE
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise UsageError(f"no request files (*.yaml, *.yml) in {path}")
        files += found
    return files


def render(report: ValidationReport) -> None:
    """One line per valid file, one line per problem of an invalid one."""
    for file in report.files:
        warnings = [p for p in file.problems if p.severity is Severity.WARNING]
        errors = [p for p in file.problems if p.severity is Severity.ERROR]
        if file.valid and file.request is not None:
            meta, spec = file.request.metadata, file.request.spec
            consumers = len(spec.access.consumers)
            out.print(
                f"[green]✓[/] {escape(file.file)}: {meta.domain}/{meta.name} {meta.version} "
                f"({spec.cloud}, {spec.classification}) — {len(spec.output_ports)} port(s), "
                f"{consumers} consumer domain(s)",
                markup=True,
            )
        else:
            noun = "problem" if len(errors) == 1 else "problems"
            out.print(f"[red]✗[/] {escape(file.file)}: {len(errors)} {noun}", markup=True)
            for problem in errors:
                out.print(f"  {problem}", markup=False)
        for problem in warnings:
            out.print(f"  [yellow]warning:[/] {escape(str(problem))}", markup=True)
    if not report.valid:
        err.print("Fix the fields named above and run mesh validate again.")
