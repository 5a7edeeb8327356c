"""`mesh plan --all` and `mesh review --all`: every product of the mesh, planned and compared.

The commands in `cli.plan` and `cli.review` hand over here when `--all` is given.
Markdown output escapes every value that comes from a request, a file name or a
message (GitHub renders HTML inside `<details>`, and `@` or `|` would ping people or
break tables), so a product cannot change how the comment reads.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.status import Status
from rich.table import Table

from cli.console import err, out

if TYPE_CHECKING:
    from infra.mesh_review import MeshPlan, MeshReview, ProductReview

JobsOption = Annotated[
    int | None,
    typer.Option("--jobs", "-j", min=1, help="Processes that plan in parallel. Default: the CPUs available."),
]
CacheOption = Annotated[
    bool,
    typer.Option(
        "--cache/--no-cache",
        help="Reuse plans from .mesh/cache/plans (keyed by request, platform config and mesh's code).",
    ),
]

_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&:/\"'=$%^;,?])")
#: After `@`, so `@team` in a request never notifies a GitHub team or user.
_ZERO_WIDTH_SPACE = "\u200b"


def md(text: object) -> str:
    """Untrusted text for a markdown table cell or list item: every ASCII punctuation
    character backslash-escaped (CommonMark renders it literally), line breaks as spaces,
    and `@` followed by a zero-width space (a backslash does not stop a mention)."""
    escaped = _PUNCTUATION.sub(r"\\\1", " ".join(str(text).split()))
    return escaped.replace("@", "@" + _ZERO_WIDTH_SPACE)


def _summary(text: str) -> str:
    """Text inside `<summary>` (HTML, where markdown escapes do not apply)."""
    return html.escape(" ".join(text.split()), quote=True).replace("@", "@" + _ZERO_WIDTH_SPACE)


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>\n"


def _progress(label: str) -> tuple[Status, Callable[[int, int], None]]:
    status = err.status(label)

    def update(done: int, total: int) -> None:
        status.update(f"{label} {done}/{total}")

    return status, update


def _workers(jobs: int | None) -> int:
    from infra.parallel_plan import default_workers

    return jobs or default_workers()


def _cache_dir(folder: Path, enabled: bool) -> Path | None:
    from infra.mesh_review import default_cache_dir

    return default_cache_dir(folder) if enabled else None


def plan_all(
    folder: Path, *, env: str | None, platform: Path | None, json_output: bool, jobs: int | None, cache: bool
) -> None:
    """`mesh plan --all DIR`: every request's plan; exit 1 when any product is blocked."""
    from infra.mesh_review import plan_mesh

    status, update = _progress("Planning every request…")
    with status:
        result = plan_mesh(
            folder,
            platform=platform,
            environment=env,
            workers=_workers(jobs),
            cache_dir=_cache_dir(folder, cache),
            progress=update,
        )
    if json_output:
        print(result.to_json())
    else:
        render_mesh_plan(result)
    raise typer.Exit(1 if result.blocked else 0)


def render_mesh_plan(result: MeshPlan) -> None:
    """One row per product: environment, resources, guardrail failures, blocked."""
    table = Table(title="Every product", title_justify="left")
    for column in ("request", "product", "environment", "resources", "mandatory failed", "result"):
        table.add_column(column, overflow="fold")
    for p in result.products:
        if p.plan is None:
            table.add_row(
                escape(p.request), "—", escape(p.environment or "—"), "—", "—", "[red]cannot be planned[/]"
            )
            continue
        resources = sum(1 for r in p.plan["resources"] if not str(r["type"]).startswith("mesh:"))
        failed = sum(1 for g in p.plan["guardrails"] if not g["passed"] and g["severity"] == "mandatory")
        table.add_row(
            escape(p.request),
            escape(p.product),
            escape(p.environment or ""),
            str(resources),
            str(failed),
            "[red]blocked[/]" if p.blocked else "[green]ok[/]",
        )
    out.print(table)
    for p in result.products:
        if p.error:
            err.print(f"[red]{escape(p.request)}[/]: {escape(p.error)}")


def review_all(
    folder: Path,
    *,
    base: str | None,
    base_plans: Path | None,
    env: str | None,
    platform: Path | None,
    output: str,
    jobs: int | None,
    cache: bool,
) -> None:
    """`mesh review --all [DIR]`: the blast radius of the working tree's code over every product."""
    from infra.mesh_review import (
        load_mesh_plan,
        plan_at_ref,
        plan_mesh,
        prove_changed_policies,
        review_mesh,
        to_prove,
    )
    from infra.model.errors import UsageError

    if (base is None) == (base_plans is None):
        raise UsageError(
            "mesh review --all compares with a base: pass --base-plans base.json or --base REF",
            hint="Save base plans with `mesh plan --all DIR --output json > base.json` before the change.",
        )
    workers, cache_dir = _workers(jobs), _cache_dir(folder, cache)
    status, update = _progress("Planning every request with this change…")
    with status:
        head = plan_mesh(
            folder, platform=platform, environment=env, workers=workers, cache_dir=cache_dir, progress=update
        )
        if base_plans is not None:
            before, label = load_mesh_plan(base_plans), str(base_plans)
        else:
            assert base is not None
            status.update(f"Planning every request with the code at {base}…")
            before = plan_at_ref(
                folder, base, platform=platform, environment=env, workers=workers, cache_dir=cache_dir
            )
            label = base
        status.update("Comparing…")
        result = review_mesh(before, head, base_label=label)
        proving = len(to_prove(result))
        if proving:
            status.update(f"Proving access for the {proving} product(s) whose policies changed…")
        prove_changed_policies(result, folder, platform=platform, workers=workers, progress=update)
    if output == "json":
        print(json.dumps(result.as_dict(), indent=1, sort_keys=False))
    elif output == "markdown":
        print(render_markdown(result), end="")
    else:
        from rich.markdown import Markdown

        out.print(Markdown(render_markdown(result)))
    if os.environ.get("MESH_REVIEW_STATS"):
        err.print(f"{result.planned} planned, {result.cached} from the cache")
    raise typer.Exit(1 if result.blocked else 0)


def _row(p: ProductReview) -> str:
    verdict = "⛔ blocked" if p.blocked else ("changed" if p.status == "changed" else p.status)
    return (
        f"| {md(p.product)} | {md(p.environment or '—')} | {verdict} | {p.count('added')} | {p.count('replaced')} "
        f"| {p.count('removed')} | {p.count('changed')} | {len(p.at_risk)} | {len(p.grants('granted'))} "
        f"| {len(p.grants('revoked'))} | {len(p.guardrails)} |"
    )


_HEADER = (
    "| product | environment | result | added | replaced | removed | changed | data at risk "
    "| statements granted | revoked | guardrail changes |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def _product_details(p: ProductReview) -> str:
    from infra.review import grouped

    lines: list[str] = []
    if p.blockers:
        lines += ["**Blocked:**", ""] + [f"- {md(b)}" for b in p.blockers] + [""]
    if p.at_risk:
        lines += ["**Data at risk:**", ""]
        lines += [f"- {md(r.kind)} {md(r.type)} {md(r.name)}" for r in p.at_risk] + [""]
    if p.resources:
        lines += ["| change | type | name |", "|---|---|---|"]
        lines += [f"| {md(r.kind)} | {md(r.type)} | {md(r.name)} |" for r in p.resources]
        lines.append("")
        for r in p.resources:
            if r.kind in ("changed", "replaced") and r.changes:
                lines += [f"{md(r.name)}:", ""]
                lines += [
                    f"- {md(c.path)}: {md(json.dumps(c.before))} → {md(json.dumps(c.after))}"
                    for c in r.changes
                ]
                lines.append("")
            for policy in r.policies:
                lines += [f"{md(r.name)} {md(policy.document)}:", ""]
                lines += [f"- ➕ {md(g)}" for g in grouped(policy.granted)]
                lines += [f"- ➖ {md(g)}" for g in grouped(policy.revoked)]
                lines.append("")
    if p.guardrails:
        lines += ["| guardrail | severity | resource | change | message |", "|---|---|---|---|---|"]
        lines += [
            f"| {md(g.id)} | {md(g.severity)} | {md(g.resource)} | {md(g.change)} | {md(g.message)} |"
            for g in p.guardrails
        ]
        lines.append("")
    if p.contract:
        lines += [
            f"- contract: {md(c.port)}: {md(c.detail)}{' (breaking)' if c.breaking else ''}"
            for c in p.contract
        ]
        lines.append("")
    if p.proof is not None:
        lines += _proof_lines(p.proof)
    if not lines:
        lines = ["No resource, policy, guardrail or contract change."]
    return "\n".join(lines).rstrip()


def _proof_lines(proof: dict[str, Any]) -> list[str]:
    if proof.get("error"):
        return [f"**Access proof:** could not run: {md(proof['error'])}", ""]
    head = (
        f"**Access proof:** {'passed' if proof['passed'] else 'failed'} — {proof['cells']} cells "
        f"({proof['executed']} executed on moto, {proof['evaluated']} evaluated)."
    )
    lines = [head, ""]
    if proof["mismatches"]:
        lines += [
            "| principal | port | operation | expected | observed | statement |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {md(c['principal'])} | {md(c['port'])} | {md(c['operation'])} | "
            f"{'allow' if c['expected'] else 'deny'} | {'allow' if c['observed'] else 'deny'} | "
            f"{md(c.get('statement') or '—')} |"
            for c in proof["mismatches"]
        ]
        lines.append("")
    return lines


def render_markdown(result: MeshReview) -> str:
    """The mesh review for a pull request: verdict, summary table, then each product folded."""
    blocked = result.blocked
    changed = [p for p in result.products if p.status != "unchanged" or p.blocked]
    verdict = f"⛔ {len(blocked)} product(s) blocked" if blocked else "✅ nothing blocks"
    lines = [
        f"## mesh review --all: {len(changed)} of {len(result.products)} product(s) change — {verdict}",
        "",
        f"Base: {md(result.base)}. Resources: {result.total('added')} added, {result.total('replaced')} replaced, "
        f"{result.total('removed')} removed, {result.total('changed')} changed; "
        f"{sum(len(p.at_risk) for p in result.products)} holding data replaced or removed.",
        "",
    ]
    if changed:
        lines += [_HEADER, *(_row(p) for p in changed), ""]
    else:
        lines += ["No product changes.", ""]
    if blocked:
        lines += ["### ⛔ Blocked products", ""]
        lines += [
            f"- {md(p.product)}: {md(p.blockers[0])}"
            + (f" (+{len(p.blockers) - 1} more)" if len(p.blockers) > 1 else "")
            for p in blocked
        ]
        lines.append("")
    if result.proved:
        failed = [p for p in result.proved if not (p.proof or {}).get("passed")]
        lines += [
            f"Access proof, run for the {len(result.proved)} product(s) whose policies changed: "
            + (f"⛔ {len(failed)} failed." if failed else "every cell as the requests imply."),
            "",
        ]
    if result.grants:
        lines += ["### Policy statements across the mesh", ""]
        rows = ["| | statement | products |", "|---|---|---|"]
        for g in result.grants:
            sign = "➕ granted" if g.change == "granted" else "➖ revoked"
            rows.append(f"| {sign} | {md(g.statement)} | {len(g.products)} |")
        lines.append(_details(f"{len(result.grants)} statement shape(s) granted or revoked", "\n".join(rows)))
    guardrails = [(p, g) for p in result.products for g in p.guardrails]
    if guardrails:
        lines += ["### Guardrail results that change", ""]
        lines += ["| product | guardrail | resource | change |", "|---|---|---|---|"]
        lines += [
            f"| {md(p.product)} | {md(g.id)} | {md(g.resource)} | {md(g.change)} |" for p, g in guardrails
        ]
        lines.append("")
    if changed:
        lines += ["### Products", ""]
        for p in changed:
            lines.append(_details(f"{_summary(p.product)} — {_summary(p.status)}", _product_details(p)))
    return "\n".join(lines).rstrip() + "\n"
