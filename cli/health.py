"""`mesh health`: the mesh-wide view of freshness, runs, undesirable access and time to data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.console import Output, err, out, print_json
from cli.options import EnvOption, OutputOption, PlatformOption
from infra.model.errors import UsageError

if TYPE_CHECKING:
    from infra.health import HealthReport

VERDICT_STYLE = {"ok": "green", "warn": "yellow", "breach": "red"}
PORT_STYLE = {"ok": "green", "late": "red", "never": "red", "unknown": "yellow"}


def parse_now(text: str | None) -> datetime:
    """`--now` as an aware UTC time; the current time when not given."""
    if text is None:
        return datetime.now(UTC)
    from infra.timetodata import parse_time

    try:
        return parse_time(text).astimezone(UTC)
    except ValueError:
        raise UsageError(
            f"--now {text!r} is not an ISO 8601 time", hint="Write it like 2026-03-01T06:00:00Z."
        ) from None


def health(
    env: EnvOption,
    requests: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Requests (files or folders) to check. Default: every request under the repository "
            "(the folder of the nearest mesh.yaml).",
            show_default=False,
        ),
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="A loopback emulator (a moto server) instead of real AWS."),
    ] = None,
    output: OutputOption = Output.TABLE,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify",
            help="Publish one message per breach to the product's topic; a breach already published "
            "is never published again (ledger in .mesh/health/ENV.json).",
        ),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option("--now", help="The clock, as ISO 8601 (e.g. 2026-03-01T06:00:00Z). Default: now."),
    ] = None,
    window_hours: Annotated[
        int,
        typer.Option("--window-hours", min=1, help="How far back undesirable access counts for the verdict."),
    ] = 24,
    platform: PlatformOption = None,
) -> None:
    """Is every product fresh, running and read only by whom it should? Exit 1 on any breach.

    Per product: each port's newest object against slo.freshnessHours (ok, late, never); the
    transform's last runs; requests in the bucket's S3 access logs by anyone who is not one
    of the product's roles or a platform reader (mesh.yaml platformReaders), denied ones
    counted apart; a verdict (ok, warn, breach) with its reasons; and the time to data.

    GCP products: mesh does not read GCP health signals yet, so a GCP product is reported
    as warn, with one reason per signal not read (each port's freshness, the transform
    runs, the access logs); no AWS call is made for it.

    Example: mesh health --env prod --output json
    """
    from cli.validate import request_files
    from infra.health import check_health, needs_clients, open_clients, products_to_check
    from infra.health import notify as publish
    from infra.ledger import NotificationLedger
    from infra.validation import locate_platform

    clock = parse_now(now)
    strict = bool(requests)
    if requests:
        files = request_files(list(requests))
    else:
        root = locate_platform(platform, near=Path.cwd()).parent
        files = request_files([root])
    products, skipped, loaded = products_to_check(
        files, platform_path=platform, environment=env, strict=strict
    )
    # No client (and no cloud call) when no product's cloud has a signal mesh reads (GCP today).
    clients = open_clients(loaded.config, env, endpoint_url=endpoint_url) if needs_clients(products) else None
    with err.status(f"Reading the signals of {len(products)} product(s) in {env}…"):
        report = check_health(
            products, clients, environment=env, now=clock, window_hours=window_hours, skipped=skipped
        )
    if notify:
        ledger = NotificationLedger(loaded.path.parent, env)
        publish(report, clients, seen=ledger.seen, record=lambda keys: ledger.record(keys, clock))
    if output is Output.JSON:
        print_json(report.as_dict())
    else:
        render(report)
    raise typer.Exit(1 if report.in_breach else 0)


def render(report: HealthReport) -> None:
    """The health table, each product's reasons and undesirable requests, then the time-to-data table."""
    table = Table(
        title=f"Health of {escape(report.environment)} at {report.now:%Y-%m-%d %H:%M} UTC",
        title_justify="left",
    )
    for column in ("product", "verdict", "ports", "last run", "outsider reads", "denied"):
        table.add_column(column, overflow="fold")
    for p in report.products:
        ports = ", ".join(
            f"{escape(port.name)} [{PORT_STYLE.get(port.state, '')}]{port.state}[/]" for port in p.ports
        )
        last = p.runs[0].state if p.runs else ("—" if p.job is None else "no runs")
        access = p.access
        table.add_row(
            escape(p.product),
            f"[{VERDICT_STYLE[p.verdict]}]{p.verdict}[/]",
            ports,
            escape(last),
            str(len(access.succeeded)) if access else "?",
            str(access.denied) if access else "?",
        )
    out.print(table)
    for p in report.products:
        for reason in p.reasons:
            out.print(
                f"[{VERDICT_STYLE[reason.level]}]{reason.level}[/] {escape(p.product)}: {escape(reason.message)}"
            )
    for p in report.products:
        if p.access and p.access.undesirable:
            out.print(f"[bold]Undesirable access to {escape(p.product)}[/] (last {report.window_hours} h):")
            for e in p.access.undesirable:
                out.print(
                    f"  {e.time:%Y-%m-%d %H:%M:%S} {escape(e.principal)} {escape(e.operation)} "
                    f"{escape(e.key or '(bucket)')} HTTP {e.status} {e.outcome}"
                )
    render_time_to_data(report)
    for file, why in sorted(report.skipped):
        err.print(f"[dim]skipped[/] {escape(file)}: {escape(why)}")
    for n in report.notified:
        err.print(f"notified {escape(n['product'])} ({escape(n['kind'])}): {escape(n['status'])}")
    counts = report.counts()
    out.print(
        f"{counts['ok']} ok, {counts['warn']} warn, "
        f"[{'red' if counts['breach'] else 'green'}]{counts['breach']} breach[/] in {escape(report.environment)}."
    )


SPAN_COLUMNS = (
    ("requestToProvisioned", "request→provisioned"),
    ("provisionedToFirstData", "provisioned→data"),
    ("requestToFirstData", "request→data"),
    ("requestToFirstRead", "request→read"),
)


def render_time_to_data(report: HealthReport) -> None:
    """Per product: the spans (hours), and each consumer's grant→first read; then the mesh's median and p90."""
    spans = Table(title="Time to data (hours)", title_justify="left", caption="– : an event is missing")
    spans.add_column("product", overflow="fold")
    for _, heading in SPAN_COLUMNS:
        spans.add_column(heading, justify="right")
    spans.add_column("grant→read", overflow="fold")
    for p in report.products:
        values = p.time_to_data.spans()
        consumers = p.time_to_data.as_dict()["consumers"]
        spans.add_row(
            escape(p.product),
            *(_hours(values[key]) for key, _ in SPAN_COLUMNS),
            ", ".join(f"{escape(d)} {_hours(c['grantToFirstRead'])}" for d, c in consumers.items()) or "·",
        )
    summary = report.as_dict()["timeToData"]
    for stat in ("median", "p90"):
        spans.add_row(
            f"[bold]mesh {stat}[/]",
            *(_hours(summary[key][stat]) for key, _ in SPAN_COLUMNS),
            _hours(summary["grantToFirstRead"][stat]),
        )
    out.print(spans)


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"
