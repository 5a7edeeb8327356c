"""`mesh plan`: what a request creates, offline, and what the guardrails say about it."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from cli.console import err, fits, out, print_json, print_wrapped
from cli.mesh_review import CacheOption, JobsOption
from cli.options import DefaultEnvOption, PlatformOption, RequestArgument

if TYPE_CHECKING:
    from infra.guardrails import GuardrailReport
    from infra.model.graph import Resource, ResourceGraph
    from infra.plan import PlanResult


class PlanOutput(StrEnum):
    """How `mesh plan` shows its result."""

    TABLE = "table"
    TREE = "tree"
    JSON = "json"


def plan(
    file: RequestArgument,
    env: DefaultEnvOption = None,
    platform: PlatformOption = None,
    output: Annotated[
        PlanOutput,
        typer.Option("--output", "-o", help="table, tree (by component) or json (documented shape)."),
    ] = PlanOutput.TABLE,
    all_requests: Annotated[
        bool,
        typer.Option(
            "--all",
            help="FILE is a folder: plan every request under it (each with its nearest mesh.yaml) into one document.",
        ),
    ] = False,
    jobs: JobsOption = None,
    cache: CacheOption = True,
) -> None:
    """Show every resource a request creates and the guardrail results — offline.

    Needs no cloud credentials, no state and no Pulumi CLI: the product's Pulumi program
    runs under mocks, so names, tags and policy documents are the real ones.
    Exit code 0 when no mandatory guardrail fails, 1 when one does or the request is invalid.

    With --all, FILE is a folder and every request under it is planned (in parallel, from
    the plan cache when nothing changed); `--output json` then writes one document holding
    every product's plan, the base that `mesh review --all --base-plans` compares with.

    Example: mesh plan examples/products/sales-orders.yaml --env dev --output tree

    Example: mesh plan --all examples --output json > base.json
    """
    if all_requests:
        from cli.mesh_review import plan_all

        plan_all(
            file, env=env, platform=platform, json_output=output is PlanOutput.JSON, jobs=jobs, cache=cache
        )
    from infra.plan import plan_request

    if output is not PlanOutput.JSON:
        with err.status(f"Planning {file} offline…"):
            result = plan_request(file, platform_path=platform, environment=env)
    else:
        result = plan_request(file, platform_path=platform, environment=env)
    if output is PlanOutput.JSON:
        print_json(result.as_dict())
    else:
        render(result, tree=output is PlanOutput.TREE)
    raise typer.Exit(1 if result.blocked else 0)


def _physical(resource: Resource) -> str:
    for key in ("bucket", "name", "key", "role"):
        value = resource.inputs.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _resource_table(graph: ResourceGraph) -> Table:
    table = Table(title=f"Resources of stack {graph.stack}", title_justify="left", show_lines=False)
    table.add_column("type")
    table.add_column("logical name")
    table.add_column("physical name / target")
    for resource in graph.cloud_resources():
        table.add_row(escape(resource.type), escape(resource.name), escape(_physical(resource)))
    return table


def _resource_list(graph: ResourceGraph) -> None:
    """The table's content as one entry per resource, for a console too narrow for the table."""
    out.print(f"Resources of stack {escape(graph.stack)}")
    for resource in graph.cloud_resources():
        print_wrapped(f"{resource.type}  {resource.name}", indent=2)
        physical = _physical(resource)
        if physical:
            print_wrapped(f"→ {physical}", indent=4, style="dim")


def _resource_outline(graph: ResourceGraph) -> None:
    """The tree as indented lines, for a console too narrow for the tree's guides."""
    out.print(f"[bold]{escape(graph.stack)}[/] ({len(graph.cloud_resources())} resources)")
    depth: dict[str | None, int] = {None: 0}
    for resource in graph.resources:
        level = depth.get(resource.parent, 0) + 1
        depth[resource.urn] = level
        print_wrapped(f"{resource.type} {resource.name}", indent=2 * level)
        physical = _physical(resource)
        if physical:
            print_wrapped(f"→ {physical}", indent=2 * level + 2, style="dim")


def _resource_tree(graph: ResourceGraph) -> Tree:
    root = Tree(f"[bold]{escape(graph.stack)}[/] ({len(graph.cloud_resources())} resources)")
    nodes: dict[str | None, Any] = {None: root}
    for resource in graph.resources:
        parent = nodes.get(resource.parent, root)
        label = f"[cyan]{escape(resource.type)}[/] {escape(resource.name)}"
        physical = _physical(resource)
        if physical:
            label += f" [dim]→ {escape(physical)}[/]"
        nodes[resource.urn] = parent.add(label)
    return root


def _guardrail_list(report: GuardrailReport) -> None:
    out.print("Guardrails")
    for r in report.results:
        if r.passed:
            continue
        mark = "FAIL" if r.severity == "mandatory" else "WARN"
        print_wrapped(f"{mark} {r.id} ({r.control or '—'}) on {r.urn.split('::')[-1]}", indent=2)
        print_wrapped(r.message, indent=4)


def _guardrail_table(report: GuardrailReport) -> Table:
    table = Table(title="Guardrails", title_justify="left")
    table.add_column("result")
    table.add_column("rule")
    table.add_column("control")
    table.add_column("resource")
    table.add_column("message")
    for r in report.results:
        if r.passed:
            continue
        mark = "[red]FAIL[/]" if r.severity == "mandatory" else "[yellow]WARN[/]"
        table.add_row(
            mark, escape(r.id), escape(r.control or "—"), escape(r.urn.split("::")[-1]), escape(r.message)
        )
    return table


def _counts(graph: ResourceGraph) -> str:
    return ", ".join(f"{n} {t.split(':')[-1]}" for t, n in graph.counts().items())


def render(result: PlanResult, *, tree: bool) -> None:
    """The resources (table or tree), their counts, and the guardrail failures and summary."""
    spec = result.spec
    render_graph(
        result.graph, result.guardrails, environment=spec.environment, tree=tree, warnings=result.warnings
    )
    if not result.blocked:
        out.print(
            f"Plan for [bold]{escape(spec.stack)}[/] in {escape(spec.environment)} is ready for review."
        )


def render_graph(
    graph: ResourceGraph,
    report: GuardrailReport,
    *,
    environment: str,
    tree: bool = False,
    warnings: Sequence[object] = (),
) -> None:
    """A planned stack for people: resources, counts, guardrail failures and exemptions, summary."""
    view = _resource_tree(graph) if tree else _resource_table(graph)
    if fits(view):
        out.print(view)
    elif tree:
        _resource_outline(graph)
    else:
        _resource_list(graph)
    out.print(f"[bold]{len(graph.cloud_resources())} resources[/]: {escape(_counts(graph))}")
    for warning in warnings:
        out.print(f"[yellow]warning:[/] {escape(str(warning))}")
    failed = [r for r in report.results if not r.passed]
    if failed:
        table = _guardrail_table(report)
        if fits(table):
            out.print(table)
        else:
            _guardrail_list(report)
    for r in report.results:
        if r.exemption:
            out.print(
                f"[dim]exempt:[/] {escape(r.id)} on {escape(r.urn.split('::')[-1])} — {escape(r.exemption)}"
            )
    passed = sum(1 for r in report.results if r.passed)
    summary = f"Guardrails: {passed} passed, {len(report.blocking)} mandatory failed, {len(report.warnings)} advisory failed"
    if report.disabled:
        summary += f" (disabled in {environment}: {', '.join(report.disabled)})"
    out.print(f"[{'red' if report.blocking else 'green'}]{escape(summary)}[/]")
    if report.blocking:
        err.print("Blocked: fix the mandatory guardrail failures above before provisioning.")
