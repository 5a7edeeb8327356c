"""`mesh review`: a change to a request, reviewed in a data product's terms."""

from __future__ import annotations

import html
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.console import err, out, print_json, print_wrapped, strip_control
from cli.mesh_review import CacheOption, JobsOption
from cli.options import DefaultEnvOption, PlatformOption

if TYPE_CHECKING:
    from infra.plan import PlanResult
    from infra.review import ReviewResult


class ReviewOutput(StrEnum):
    """How `mesh review` shows its result."""

    MARKDOWN = "markdown"
    JSON = "json"
    TABLE = "table"


def review(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="The data product request (YAML); with --all, the folder of requests (default: .).",
            show_default=False,
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Git ref to compare with (the same file at that ref). Default: HEAD."),
    ] = None,
    base_plan: Annotated[
        Path | None,
        typer.Option(
            "--base-plan", help="A saved `mesh plan --output json` to compare with, instead of a git ref."
        ),
    ] = None,
    env: DefaultEnvOption = None,
    platform: PlatformOption = None,
    output: Annotated[
        ReviewOutput,
        typer.Option(
            "--output", "-o", help="markdown (a pull request comment), json, or table (the terminal)."
        ),
    ] = ReviewOutput.TABLE,
    live: Annotated[
        bool,
        typer.Option(
            "--live", help="Also show Pulumi's own preview against the real state (needs a working engine)."
        ),
    ] = False,
    all_requests: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Review the working tree's platform code against every request under the folder (blast radius).",
        ),
    ] = False,
    base_plans: Annotated[
        Path | None,
        typer.Option(
            "--base-plans", help="With --all: a saved `mesh plan --all --output json` to compare with."
        ),
    ] = None,
    jobs: JobsOption = None,
    cache: CacheOption = True,
) -> None:
    """Review what a change to a request does, offline; exit 1 when something blocks it.

    Plans the request now and at the base, then reports resources added, removed, replaced
    and changed (policies statement by statement), contract changes per port (breaking ones
    block unless the major version was raised), grants added and removed, the guardrails
    and the access proof.

    With --all, the change under review is mesh's own code: every request under the folder
    is planned with the working tree and with the base (--base-plans, or --base REF: the
    platform code at that git ref), and the blast radius is reported per product and for
    the mesh. The access proof runs for the products whose policies changed; a proof
    that fails blocks that product.

    Example: mesh review examples/products/sales-orders.yaml --base origin/main --output markdown

    Example: mesh review --all examples --base origin/main --output markdown
    """
    from infra.model.errors import UsageError

    if all_requests:
        from cli.mesh_review import review_all

        if base_plan is not None or live:
            raise UsageError(
                "--base-plan and --live review one request; with --all use --base-plans or --base"
            )
        review_all(
            file or Path(),
            base=base,
            base_plans=base_plans,
            env=env,
            platform=platform,
            output=str(output),
            jobs=jobs,
            cache=cache,
        )
    if file is None:
        raise UsageError("mesh review needs a request file (or --all for every request under a folder)")
    if base_plans is not None:
        raise UsageError("--base-plans goes with --all; for one request use --base-plan")
    from infra.plan import plan_request
    from infra.review import load_base_plan, request_at_ref
    from infra.review import review as run_review

    if base is not None and base_plan is not None:
        raise UsageError("--base and --base-plan are alternatives; pass one of them")
    with err.status(f"Reviewing {file}…"):
        head = plan_request(file, platform_path=platform, environment=env)
        if base_plan is not None:
            base_graph, base_contract = load_base_plan(base_plan)
            label = str(base_plan)
        else:
            ref = base or "HEAD"
            before = plan_request(
                file, platform_path=platform, environment=env, text=request_at_ref(file, ref)
            )
            base_graph, base_contract, label = before.graph, before.spec.contract(), ref
        result = run_review(head, base_graph, base_contract, base=label)
        if live:
            result.live = _live_preview(head, file, platform)
    if output is ReviewOutput.JSON:
        print_json(result.as_dict())
    elif output is ReviewOutput.MARKDOWN:
        print(render_markdown(result))
    else:
        render_terminal(result)
    raise typer.Exit(1 if result.blocked else 0)


def _live_preview(head: PlanResult, file: Path, platform: Path | None) -> list[str]:
    """Pulumi's preview against the real state, one line per step; the reason when it cannot run."""
    from infra.engine import Engine, product_target
    from infra.model.errors import MeshError
    from infra.validation import load_platform, locate_platform

    try:
        loaded = load_platform(locate_platform(platform, near=file))
        target = product_target(
            head.spec, loaded, source=str(file), planned_resources=len(head.graph.cloud_resources())
        )
        engine = Engine()
        engine.ready()
        preview = engine.preview(target)
    except MeshError as e:
        return [f"live preview unavailable: {e.message}"]
    lines = [
        f"{step.op:>8}  {step.type}  {step.name}" for step in preview.steps if step.op not in ("same", "read")
    ]
    summary = ", ".join(f"{n} to {op}" for op, n in sorted(preview.changes.items()))
    return [*lines, f"({summary or 'no changes'})"]


def _one_line(value: object) -> str:
    return strip_control(str(value)).replace("\r", " ").replace("\n", " ")


def _code(value: object) -> str:
    """`value` as an inline code span nothing inside can close: the fence is one backtick
    longer than the longest run of backticks in it, and `|` cannot end a table cell."""
    text = _one_line(value).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _text(value: object) -> str:
    """`value` as plain markdown text: no code span, link, image, HTML tag or table cell break in
    it can take effect. (Emphasis marks stay: `_` inside names such as `order_id` is common,
    and emphasis cannot hide or add content.)"""
    text = _one_line(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`\[\]!|])", r"\\\1", text)


def _fenced(body: str, info: str = "") -> str:
    """`body` as a fenced code block whose fence no line of it can close."""
    body = "\n".join(strip_control(line) for line in body.splitlines())
    fence = "`" * max(3, max((len(run) for run in re.findall("`+", body)), default=0) + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def _details(summary: str, body: str) -> str:
    # The summary sits in raw HTML, where only escaped text is safe.
    return f"<details><summary>{html.escape(_one_line(summary))}</summary>\n\n{body}\n\n</details>\n"


def _resource_details(result: ReviewResult) -> list[tuple[str, list[str], bool]]:
    """Each changed resource's inputs and policy documents: (summary, lines, is a diff)."""
    from infra.review import grouped  # here: infra.review imports the synthesis stack

    blocks: list[tuple[str, list[str], bool]] = []
    for r in result.resources:
        if r.kind == "changed" and r.changes and not r.policies:
            body = [
                f"- {_code(c.path)}: {_code(json.dumps(c.before))} → {_code(json.dumps(c.after))}"
                for c in r.changes[:40]
            ]
            blocks.append((f"`{r.name}`: {len(r.changes)} input(s) changed", body, False))
        for p in r.policies:
            diff = [f"+ {g}" for g in grouped(p.granted)] + [f"- {v}" for v in grouped(p.revoked)]
            summary = f"`{r.name}` {p.document}: {len(p.granted)} granted, {len(p.revoked)} revoked"
            blocks.append((summary, diff, True))
    return blocks


def render_terminal(result: ReviewResult) -> None:
    """The review for a terminal or a log: the markdown's content, every line wrapped at
    spaces (never cut), each collapsed block shown under its own heading."""
    from cli.prove import render_matrix

    def heading(text: str) -> None:
        out.print()
        print_wrapped(text, style="bold")

    verdict = "⛔ blocked" if result.blocked else "✅ nothing blocks"
    print_wrapped(f"mesh review: {result.product} ({result.stack}) — {verdict}", style="bold")
    print_wrapped(
        f"Base {result.base} (version {result.base_version}) → this change (version {result.version})."
    )
    counts = {
        kind: sum(1 for r in result.resources if r.kind == kind)
        for kind in ("added", "removed", "replaced", "changed")
    }
    breaking = sum(1 for c in result.contract if c.breaking)
    grants_added = sum(1 for g in result.grants if g.kind == "added")
    print_wrapped(
        f"Resources: {counts['added']} added, {counts['removed']} removed, {counts['replaced']} replaced, "
        f"{counts['changed']} changed. Contract: {len(result.contract)} change(s), {breaking} breaking. "
        f"Grants: {grants_added} added, {len(result.grants) - grants_added} removed."
    )
    if result.blockers:
        heading("⛔ Blockers")
        for blocker in result.blockers:
            print_wrapped(f"- {blocker}", indent=2)
    heading("Contract")
    for c in result.contract:
        breaks = "breaking" if c.breaking else "not breaking"
        print_wrapped(
            f"- {c.port}: {c.detail} ({breaks}; consumers affected: {', '.join(c.affected) or '—'})", indent=2
        )
    if not result.contract:
        print_wrapped("No change to any output port.", indent=2)
    heading("Grants")
    for g in result.grants:
        verb = "may now read" if g.kind == "added" else "may no longer read"
        print_wrapped(f"{'➕' if g.kind == 'added' else '➖'} domain {g.domain} {verb} {g.port}", indent=2)
    if not result.grants:
        print_wrapped("No consumer grant added or removed.", indent=2)
    heading("Resources")
    if result.resources:
        print_wrapped(f"▸ {len(result.resources)} resource change(s)", indent=2, style="bold")
        for r in result.resources:
            print_wrapped(f"{r.kind:<8} {r.type}  {r.name}", indent=4)
        for summary, body, _ in _resource_details(result):
            print_wrapped(f"▸ {summary.replace('`', '')}", indent=2, style="bold")
            for line in body:
                print_wrapped(line.replace("`", ""), indent=4)
    else:
        print_wrapped("No resource changes.", indent=2)
    report = result.guardrails
    heading("Guardrails")
    passed = sum(1 for r in report.results if r.passed)
    print_wrapped(
        f"{passed} passed, {len(report.blocking)} mandatory failed, {len(report.warnings)} advisory failed.",
        indent=2,
    )
    for rule in report.results:
        if not rule.passed:
            mark = "FAIL" if rule.severity == "mandatory" else "warn"
            print_wrapped(
                f"{mark} {rule.id} ({rule.control or '—'}) on {rule.urn.split('::')[-1]}: {rule.message}",
                indent=2,
            )
    heading("Access proof")
    if result.proof is None:
        for note in result.notes or ["Not run."]:
            print_wrapped(f"- {note}", indent=2)
    else:
        proof = result.proof
        executed = sum(1 for c in proof.cells if c.method == "executed")
        status = "passed" if proof.passed else f"failed: {len(proof.mismatches)} cell(s) differ"
        print_wrapped(
            f"{status} — {len(proof.cells)} cells ({executed} executed on moto, {len(proof.cells) - executed} evaluated).",
            indent=2,
        )
        render_matrix(proof)
    if result.live is not None:
        heading("Live preview (Pulumi)")
        for line in result.live:
            print_wrapped(line, indent=2)


def render_markdown(result: ReviewResult) -> str:
    """The review as GitHub-flavoured markdown, long sections collapsed."""
    verdict = "⛔ blocked" if result.blocked else "✅ nothing blocks"
    lines = [f"## mesh review: {_code(result.product)} ({_text(result.stack)}) — {verdict}", ""]
    lines.append(
        f"Base {_code(result.base)} (version {_text(result.base_version)}) → this change "
        f"(version {_text(result.version)})."
    )
    lines.append("")
    counts = {
        kind: sum(1 for r in result.resources if r.kind == kind)
        for kind in ("added", "removed", "replaced", "changed")
    }
    breaking = sum(1 for c in result.contract if c.breaking)
    lines += [
        "| resources added | removed | replaced | changed | contract changes | breaking | grants added | grants removed |",
        "|---|---|---|---|---|---|---|---|",
        f"| {counts['added']} | {counts['removed']} | {counts['replaced']} | {counts['changed']} | {len(result.contract)} | {breaking} "
        f"| {sum(1 for g in result.grants if g.kind == 'added')} | {sum(1 for g in result.grants if g.kind == 'removed')} |",
        "",
    ]
    if result.blockers:
        lines += ["### ⛔ Blockers", ""] + [f"- {_text(b)}" for b in result.blockers] + [""]
    if result.warnings:
        lines += ["### ⚠ Warnings", ""] + [f"- {_text(w)}" for w in result.warnings] + [""]
    if result.break_glass:
        lines += ["### Break-glass principals (exempt from the data perimeter)", ""]
        lines += [f"- {_code(p)}" for p in result.break_glass] + [""]
    lines += ["### Contract", ""]
    if result.contract:
        lines += ["| port | change | breaking | consumers affected |", "|---|---|---|---|"]
        for c in result.contract:
            lines.append(
                f"| {_code(c.port)} | {_text(c.detail)} | {'**yes**' if c.breaking else 'no'} | {_text(', '.join(c.affected)) or '—'} |"
            )
    else:
        lines.append("No change to any output port.")
    lines.append("")
    lines += ["### Grants", ""]
    if result.grants:
        for g in result.grants:
            verb = "may now read" if g.kind == "added" else "may no longer read"
            lines.append(
                f"- {'➕' if g.kind == 'added' else '➖'} domain {_code(g.domain)} {verb} {_code(g.port)}"
            )
    else:
        lines.append("No consumer grant added or removed.")
    lines.append("")
    lines += ["### Resources", ""]
    if result.resources:
        table = ["| change | type | name |", "|---|---|---|"]
        table += [f"| {_text(r.kind)} | {_code(r.type)} | {_code(r.name)} |" for r in result.resources]
        lines.append(_details(f"{len(result.resources)} resource change(s)", "\n".join(table)))
        for summary, body, diff in _resource_details(result):
            text = "\n".join(body)
            lines.append(_details(summary, _fenced(text, "diff") if diff else text))
    else:
        lines.append("No resource changes.")
    lines.append("")
    report = result.guardrails
    passed = sum(1 for r in report.results if r.passed)
    lines += [
        "### Guardrails",
        "",
        f"{passed} passed, {len(report.blocking)} mandatory failed, {len(report.warnings)} advisory failed.",
        "",
    ]
    failed = [r for r in report.results if not r.passed]
    if failed:
        lines += ["| result | rule | control | resource | message |", "|---|---|---|---|---|"]
        for rule in failed:
            lines.append(
                f"| {'FAIL' if rule.severity == 'mandatory' else 'warn'} | {_text(rule.id)} | {_text(rule.control or '—')} | {_code(rule.urn.split('::')[-1])} | {_text(rule.message)} |"
            )
        lines.append("")
    lines += ["### Access proof", ""]
    if result.proof is None:
        lines += [f"- {_text(n)}" for n in result.notes] or ["Not run."]
    else:
        proof = result.proof
        executed = sum(1 for c in proof.cells if c.method == "executed")
        status = "passed" if proof.passed else f"**failed**: {len(proof.mismatches)} cell(s) differ"
        lines.append(
            f"{status} — {len(proof.cells)} cells ({executed} executed on moto, {len(proof.cells) - executed} evaluated)."
        )
        rows = [
            "| principal | port | operation | expected | observed | how | statement |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in proof.cells:
            mark = "" if c.ok else " ≠"
            rows.append(
                f"| {_text(c.principal)} | {_text(c.port)} | {_text(c.operation)} | {'allow' if c.expected else 'deny'} | {'allow' if c.observed else 'deny'}{mark} | {_text(c.method)} | {_text(c.statement or '—')} |"
            )
        lines.append("")
        lines.append(_details("access matrix", "\n".join(rows)))
    if result.live is not None:
        lines += ["### Live preview (Pulumi)", "", _fenced("\n".join(result.live)), ""]
    return "\n".join(lines).rstrip() + "\n"
