"""`mesh init`: ask a few questions and write a request that validates — and, in a folder
without a `mesh.yaml`, a platform config for one domain and one environment first."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.console import err, out
from cli.options import ClassificationChoice, CloudChoice, PlatformOption
from infra.model.errors import UsageError

# The request models, validation and scaffolding load pydantic; they are imported in the
# command bodies so that `mesh --help` does not pay for them.
PLATFORM_FILE = "mesh.yaml"  # infra.model.platform.PLATFORM_FILE

DEFAULT_REGION = {"aws": "us-east-1", "gcp": "us-central1"}


def _ask(
    field: str,
    question: str,
    given: str | None,
    default: str | None,
    interactive: bool,
    choices: list[str] | None = None,
    option: str | None = None,
) -> str:
    from infra.scaffold import check_answer

    option = option or field
    if given is not None:
        problem = check_answer(field, given)
        if choices and given not in choices:
            problem = f"'{given}' is not one of: {', '.join(choices)}"
        if problem:
            raise UsageError(f"--{option}: {problem}")
        return given
    if not interactive:
        if default is None:
            raise UsageError(f"--{option} is required with --no-input", hint=f"Pass --{option} VALUE.")
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
    cloud: Annotated[CloudChoice | None, typer.Option(help="Where it lives.")] = None,
    classification: Annotated[
        ClassificationChoice | None, typer.Option(help="How sensitive the data is.")
    ] = None,
    port: Annotated[str | None, typer.Option(help="Name of the first output port (a table).")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Where to write. Default: DOMAIN-NAME.yaml.")
    ] = None,
    platform: PlatformOption = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Do not ask; take answers from options and defaults.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
    organization: Annotated[
        str | None,
        typer.Option(
            help="No mesh.yaml yet: write one for this organisation (the prefix of every name, e.g. acme).",
            rich_help_panel="New mesh.yaml",
        ),
    ] = None,
    cost_center: Annotated[
        str | None,
        typer.Option(
            help="No mesh.yaml yet: the domain's cost centre (e.g. CC-1001).", rich_help_panel="New mesh.yaml"
        ),
    ] = None,
    environment: Annotated[
        str | None,
        typer.Option(
            help="No mesh.yaml yet: the first environment's name. Default: dev.",
            rich_help_panel="New mesh.yaml",
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            help="No mesh.yaml yet, AWS: the environment's 12-digit account id.",
            rich_help_panel="New mesh.yaml",
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            help="No mesh.yaml yet, GCP: the environment's project id.", rich_help_panel="New mesh.yaml"
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            help="No mesh.yaml yet: the environment's region. Default: us-east-1 (AWS), us-central1 (GCP).",
            rich_help_panel="New mesh.yaml",
        ),
    ] = None,
) -> None:
    """Write a new data product request by answering a few questions.

    The file validates as written; edit its schema, then run `mesh validate` and `mesh plan`.
    In a folder with no mesh.yaml (here or above), it first offers to write one: your
    organisation, your domain and one environment (with --no-input: pass --organization).

    Example: mesh init --no-input --domain sales --name orders --owner sales-data@example.com
    --description "One row per order line."

    Example, from an empty folder: mesh init --no-input --organization acme --domain sales
    --cost-center CC-1001 --account 111122223333 --name orders --owner sales-data@example.com
    --description "One row per order line."
    """
    from infra.model.platform import PlatformConfig, find_platform_file
    from infra.scaffold import Answers, render_request, write_request
    from infra.validation import load_platform

    where = file.parent if file else Path.cwd()
    platform_path = platform or find_platform_file(where)
    config: PlatformConfig | None = load_platform(platform_path).config if platform_path else None
    interactive = not no_input
    if config is None and (organization is not None or (interactive and _offer_platform(where))):
        _init_with_platform(
            where,
            interactive=interactive,
            request_file=file,
            force=force,
            given={
                "organization": organization,
                "domain": domain,
                "name": name,
                "owner": owner,
                "description": description,
                "cloud": str(cloud) if cloud else None,
                "classification": str(classification) if classification else None,
                "port": port,
                "cost-center": cost_center,
                "environment": environment,
                "account": account,
                "project": project,
                "region": region,
            },
        )
        return
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
            "cloud",
            "Cloud",
            str(cloud) if cloud else None,
            "aws",
            interactive,
            [c.value for c in CloudChoice],
        ),
        classification=_ask(
            "classification",
            "Classification",
            str(classification) if classification else None,
            "internal",
            interactive,
            [c.value for c in ClassificationChoice],
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


def _offer_platform(where: Path) -> bool:
    err.print(f"No {PLATFORM_FILE} in {escape(str(where.resolve()))} or any folder above it.", markup=True)
    return typer.confirm(
        f"Write a {PLATFORM_FILE} here for your organisation, one domain and one environment?", default=True
    )


def _init_with_platform(
    where: Path, *, interactive: bool, request_file: Path | None, force: bool, given: dict[str, str | None]
) -> None:
    """Ask for the platform config and the request together, validate both, then write both."""
    from infra.scaffold import (
        Answers,
        PlatformAnswers,
        render_platform,
        render_request,
        write_platform,
        write_request,
    )
    from infra.validation import LoadedPlatform, load_request

    def ask(field: str, question: str, default: str | None = None, choices: list[str] | None = None) -> str:
        return _ask(field, question, given.get(field), default, interactive, choices)

    organization = ask("organization", "Organisation (prefix of every name, e.g. acme)")
    domain = ask("domain", "Your domain (e.g. sales)")
    owner = ask("owner", "Owner email (a team address)")
    cost_center = ask("cost-center", "The domain's cost centre (e.g. CC-1001)")
    environment = ask("environment", "First environment", "dev")
    cloud = ask("cloud", "Cloud", "aws", [c.value for c in CloudChoice])
    if cloud == "aws":
        account, project = ask("account", "AWS account id (12 digits)"), None
    else:
        account, project = None, ask("project", "GCP project id")
    chosen_region = _ask(
        f"{cloud}-region", "Region", given.get("region"), DEFAULT_REGION[cloud], interactive, option="region"
    )
    answers = Answers(
        domain=domain,
        name=ask("name", "Product name"),
        owner=owner,
        description=ask("description", "One-sentence description"),
        cloud=cloud,
        classification=ask(
            "classification", "Classification", "internal", [c.value for c in ClassificationChoice]
        ),
        port=ask("port", "First output port (table) name", "records"),
    )
    platform_text = render_platform(
        PlatformAnswers(
            organization=organization,
            domain=domain,
            owner=owner,
            cost_center=cost_center,
            environment=environment,
            cloud=cloud,
            account=account,
            project=project,
            region=chosen_region,
        )
    )
    target = request_file or Path(f"{answers.domain}-{answers.name}.yaml")
    if target.exists() and not force:
        raise UsageError(
            f"{target} already exists", hint="Choose another --file, or pass --force to overwrite it."
        )
    loaded: LoadedPlatform = write_platform(where, platform_text)
    request_text = render_request(answers)
    try:
        load_request(target, loaded, text=request_text)
    except Exception:
        (where / PLATFORM_FILE).unlink(missing_ok=True)  # leave the folder as it was found
        raise
    write_request(target, request_text, loaded, force=force)
    out.print(
        f"[green]✓[/] wrote {escape(str(where / PLATFORM_FILE))} and {escape(str(target))}", markup=True
    )
    out.print(f"Next: mesh plan {target}   (offline: no cloud account needed)", markup=False)
