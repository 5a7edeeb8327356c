"""`mesh review`: a change to a request, reviewed in a data product's terms."""

from __future__ import annotations

import html
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.console import err, out, print_json, strip_control
from cli.options import DefaultEnvOption, PlatformOption, RequestArgument

if TYPE_CHECKING:
    from infra.plan import PlanResult
    from infra.review import ReviewResult


class ReviewOutput(StrEnum):
    """How `mesh review` shows its result."""

    MARKDOWN = "markdown"
    JSON = "json"
    TABLE = "table"


def review(
    file: RequestArgument,
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
) -> None:
    """Review what a change to a request does, offline; exit 1 when something blocks it.

    Plans the request now and at the base, then reports resources added, removed, replaced
    and changed (policies statement by statement), contract changes per port — breaking ones
    block unless the major version was raised —, grants added and removed, the guardrails
    and the access proof.

    Example: mesh review examples/products/sales-orders.yaml --base origin/main --output markdown
    """
    from infra.errors import UsageError
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
        from rich.markdown import Markdown

        out.print(Markdown(render_markdown(result)))
    raise typer.Exit(1 if result.blocked else 0)


def _live_preview(head: PlanResult, file: Path, platform: Path | None) -> list[str]:
    """Pulumi's preview against the real state, one line per step; the reason when it cannot run."""
    from infra.engine import Engine, product_target
    from infra.errors import MeshError
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


def render_markdown(result: ReviewResult) -> str:
    """The review as GitHub-flavoured markdown, long sections collapsed."""
    from infra.review import grouped  # here: infra.review imports the synthesis stack

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
        for r in result.resources:
            if r.kind == "changed" and r.changes and not r.policies:
                body = "\n".join(
                    f"- {_code(c.path)}: {_code(json.dumps(c.before))} → {_code(json.dumps(c.after))}"
                    for c in r.changes[:40]
                )
                lines.append(_details(f"`{r.name}`: {len(r.changes)} input(s) changed", body))
            for p in r.policies:
                diff = "\n".join(
                    [f"+ {g}" for g in grouped(p.granted)] + [f"- {v}" for v in grouped(p.revoked)]
                )
                lines.append(
                    _details(
                        f"`{r.name}` {p.document}: {len(p.granted)} granted, {len(p.revoked)} revoked",
                        _fenced(diff, "diff"),
                    )
                )
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
