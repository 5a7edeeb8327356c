"""`mesh init`: ask a few questions and write a request that validates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.console import err, out
from cli.options import PlatformOption
from infra.model.errors import UsageError
from infra.model.platform import PlatformConfig, find_platform_file
from infra.model.request import Classification, Cloud
from infra.scaffold import Answers, check_answer, render_request, write_request
from infra.validation import load_platform


def _ask(
    field: str,
    question: str,
    given: str | None,
    default: str | None,
    interactive: bool,
    choices: list[str] | None = None,
) -> str:
    if given is not None:
        problem = check_answer(field, given)
        if choices and given not in choices:
            problem = f"'{given}' is not one of: {', '.join(choices)}"
        if problem:
            raise UsageError(f"--{field}: {problem}")
        return given
    if not interactive:
        if default is None:
            raise UsageError(f"--{field} is required with --no-input", hint=f"Pass --{field} VALUE.")
        return default
    while True:
        suffix = f" ({'/'.join(choices)})" if choices else ""
        answer = typer.prompt(
            f"{question}{suffix}", default=default, show_default=default is not None
        ).strip()
        problem = check_answer(field, answer)
        if choices and answer not in choices:
            problem = f"choose one of: {', '.join(choices)}"
        if problem is None:
            return answer
        err.print(f"  {problem}", markup=False)


def init(
    domain: Annotated[
        str | None, typer.Option(help="Your domain, as registered in mesh.yaml (e.g. sales).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The product's name (e.g. orders).")] = None,
    owner: Annotated[str | None, typer.Option(help="Owner's email: a team address, not a person.")] = None,
    description: Annotated[str | None, typer.Option(help="One sentence: what one row means.")] = None,
    cloud: Annotated[Cloud | None, typer.Option(help="Where it lives.")] = None,
    classification: Annotated[Classification | None, typer.Option(help="How sensitive the data is.")] = None,
    port: Annotated[str | None, typer.Option(help="Name of the first output port (a table).")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Where to write. Default: <domain>-<name>.yaml.")
    ] = None,
    platform: PlatformOption = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Do not ask; take answers from options and defaults.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
) -> None:
    """Write a new data product request by answering a few questions.

    The file validates as written; edit its schema, then run `mesh validate` and `mesh plan`.

    Example: mesh init --no-input --domain sales --name orders --owner sales-data@example.com
    --description "One row per order line."
    """
    where = file.parent if file else Path.cwd()
    platform_path = platform or find_platform_file(where)
    config: PlatformConfig | None = load_platform(platform_path).config if platform_path else None
    interactive = not no_input
    domains = sorted(config.domains) if config else None
    answer_domain = _ask(
        "domain",
        "Domain",
        domain,
        domains[0] if domains and len(domains) == 1 else None,
        interactive,
        domains,
    )
    owners = config.domains[answer_domain].owners if config and answer_domain in config.domains else []
    answers = Answers(
        domain=answer_domain,
        name=_ask("name", "Product name", name, None, interactive),
        owner=_ask("owner", "Owner email", owner, owners[0] if owners else None, interactive),
        description=_ask("description", "One-sentence description", description, None, interactive),
        cloud=_ask(
            "cloud", "Cloud", str(cloud) if cloud else None, "aws", interactive, [c.value for c in Cloud]
        ),
        classification=_ask(
            "classification",
            "Classification",
            str(classification) if classification else None,
            "internal",
            interactive,
            [c.value for c in Classification],
        ),
        port=_ask("port", "First output port (table) name", port, "records", interactive),
    )
    target = file or Path(f"{answers.domain}-{answers.name}.yaml")
    loaded = load_platform(platform_path) if platform_path else None
    write_request(target, render_request(answers), loaded, force=force)
    out.print(f"[green]✓[/] wrote {escape(str(target))}", markup=True)
    out.print(f"Next: edit the schema, then run: mesh validate {target} && mesh plan {target}", markup=False)
    if config is None:
        err.print(
            "[yellow]warning:[/] no mesh.yaml found, so the domain was not checked against a platform config.",
            markup=True,
        )
