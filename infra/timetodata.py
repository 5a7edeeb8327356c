"""Time to data: how long a team takes from writing a request to a consumer reading the data.

Events per product, each read from where it is recorded and never guessed:
- `committed`: the request file first committed (`git log --follow --diff-filter=A`);
- `provisioned`: the end of the stack's first successful update since its last destroy
  (`infra.engine.history.provisioned_at`, read by `infra.health`), or on an emulator the
  first apply recorded by `mesh emulate` (`<repo>/.mesh/emulated/<env>.json`);
- `firstData[port]`: the oldest object under `data/<port>/` (while retention has not
  expired it, this is when the port first landed);
- `grantMerged[domain]`: the first commit of the request that grants the domain a port;
- `firstRead[domain]`: the domain's consumer role's first successful request in the access logs.

An event that cannot be established is `None` and listed in `missing`; every span that
needs it is `None` too. Spans are in hours. The mesh figures are the median and the
90th percentile (nearest rank) over the products that have the span.
"""

from __future__ import annotations

import math
import statistics
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from infra.ledger import mesh_dir, read_json, write_json_atomic

GIT_TIMEOUT = 20
SPANS = (
    "requestToProvisioned",
    "provisionedToFirstData",
    "requestToFirstData",
    "requestToFirstRead",
)


def iso(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with a `Z`, to the second; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time (a trailing `Z` allowed); naive times are taken as UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def hours(start: datetime | None, end: datetime | None) -> float | None:
    """`end - start` in hours, rounded to 0.01; None when either is missing."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 2) + 0.0  # + 0.0: never print -0.0


# --- git history ----------------------------------------------------------------------------


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: PLW1510 - the caller reads returncode
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT
    )


@dataclass(frozen=True)
class RequestHistory:
    """When a request was first committed, and when each consumer domain was first granted."""

    committed: datetime | None
    grants: Mapping[str, datetime] = field(default_factory=dict)
    problem: str | None = None  # why git could not say (not a repository, file not committed)


def request_history(path: Path) -> RequestHistory:
    """The git history of one request file: its first commit and each grant's first commit."""
    folder = path.resolve().parent
    try:
        top = _git(["rev-parse", "--show-toplevel"], folder)
        if top.returncode != 0:
            return RequestHistory(None, problem=f"{folder} is not in a git repository")
        root = Path(top.stdout.strip())
        relative = path.resolve().relative_to(root.resolve()).as_posix()
        # `--` ends the options: a path that starts with "-" is never read as one.
        added = _git(["log", "--follow", "--diff-filter=A", "--format=%cI", "--", relative], root)
        commits = _git(["log", "--follow", "--name-only", "--format=%x00%H%x09%cI", "--", relative], root)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        return RequestHistory(None, problem=f"git could not read the history of {path}: {e}")
    dates = [line for line in added.stdout.splitlines() if line.strip()]
    committed = parse_time(dates[-1]) if added.returncode == 0 and dates else None
    grants: dict[str, datetime] = {}
    # Oldest first; `--reverse` cannot be used: with `--follow` git then lists one commit only.
    for block in reversed(commits.stdout.split("\x00")[1:] if commits.returncode == 0 else []):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        sha, _, when = lines[0].partition("\t")
        at_commit = lines[-1] if len(lines) > 1 else relative
        shown = _git(["show", f"{sha}:{at_commit}"], root)
        if shown.returncode != 0:
            continue
        for domain in _granted_domains(shown.stdout):
            grants.setdefault(domain, parse_time(when))
    problem = None if committed else f"{path} has no commit that adds it (is it committed?)"
    return RequestHistory(committed, grants, problem)


def _granted_domains(text: str) -> list[str]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    spec = document.get("spec") if isinstance(document, dict) else None
    access = spec.get("access") if isinstance(spec, dict) else None
    consumers = access.get("consumers") if isinstance(access, dict) else None
    return [str(c["domain"]) for c in consumers or [] if isinstance(c, dict) and c.get("domain")]


# --- provisioning history -----------------------------------------------------------------


def _emulated_file(platform_dir: Path, environment: str) -> Path:
    return mesh_dir(platform_dir) / "emulated" / f"{environment}.json"


def record_emulated_apply(platform_dir: Path, environment: str, stack: str, at: datetime) -> None:
    """Remember that `mesh emulate` applied `stack` at `at` (the first apply is kept)."""
    path = _emulated_file(platform_dir, environment)
    records = read_json(path)
    entry = records.get(stack) or {}
    first = entry.get("firstApplied")
    records[stack] = {"firstApplied": first or iso(at), "lastApplied": iso(at)}
    write_json_atomic(path, records)


def emulated_apply(platform_dir: Path, environment: str, stack: str) -> datetime | None:
    """The first time `mesh emulate` applied `stack` in `environment`, if it did."""
    entry = read_json(_emulated_file(platform_dir, environment)).get(stack)
    first = entry.get("firstApplied") if isinstance(entry, dict) else None
    try:
        return parse_time(first) if isinstance(first, str) else None
    except ValueError:
        return None


# --- the KPI -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeToData:
    """One product's events and the spans between them (hours)."""

    committed: datetime | None
    provisioned: datetime | None
    first_data: Mapping[str, datetime | None]  # per port
    grants: Mapping[str, datetime | None]  # per consumer domain: grant merged
    first_reads: Mapping[str, datetime | None]  # per consumer domain
    provisioned_source: str = ""  # "stack history" | "mesh emulate" | ""
    notes: tuple[str, ...] = ()  # why an event is missing, where that is known

    @property
    def earliest_data(self) -> datetime | None:
        """When the first port first landed."""
        landed = [t for t in self.first_data.values() if t is not None]
        return min(landed) if landed else None

    @property
    def earliest_read(self) -> datetime | None:
        """When a consumer domain first read the product."""
        reads = [t for t in self.first_reads.values() if t is not None]
        return min(reads) if reads else None

    def spans(self) -> dict[str, float | None]:
        """The product's spans, in hours (None where an event is missing)."""
        return {
            "requestToProvisioned": hours(self.committed, self.provisioned),
            "provisionedToFirstData": hours(self.provisioned, self.earliest_data),
            "requestToFirstData": hours(self.committed, self.earliest_data),
            "requestToFirstRead": hours(self.committed, self.earliest_read) if self.first_reads else None,
        }

    def missing(self) -> list[str]:
        """The events that could not be established, by name."""
        missing = [
            name
            for name, t in (("committed", self.committed), ("provisioned", self.provisioned))
            if t is None
        ]
        missing += [f"firstData.{p}" for p, t in sorted(self.first_data.items()) if t is None]
        missing += [f"grantMerged.{d}" for d, t in sorted(self.grants.items()) if t is None]
        missing += [f"firstRead.{d}" for d, t in sorted(self.first_reads.items()) if t is None]
        return missing

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `timeToData` for one product."""
        return {
            "events": {
                "committed": iso(self.committed),
                "provisioned": iso(self.provisioned),
                "provisionedFrom": self.provisioned_source or None,
                "firstData": {p: iso(t) for p, t in sorted(self.first_data.items())},
                "grantMerged": {d: iso(t) for d, t in sorted(self.grants.items())},
                "firstRead": {d: iso(t) for d, t in sorted(self.first_reads.items())},
            },
            "spans": self.spans(),
            "consumers": {
                d: {
                    "grantToFirstRead": hours(self.grants.get(d), self.first_reads.get(d)),
                    "requestToFirstRead": hours(self.committed, self.first_reads.get(d)),
                }
                for d in sorted(self.first_reads)
            },
            "missing": self.missing(),
            "notes": list(self.notes),
        }


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile by nearest rank (p90 of 10 values is the 9th smallest); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def mesh_summary(products: Mapping[str, TimeToData]) -> dict[str, Any]:
    """Median and p90 of each span over the products that have it; consumer spans over every grant."""
    summary: dict[str, Any] = {}
    for span in SPANS:
        values = [v for t in products.values() if (v := t.spans()[span]) is not None]
        summary[span] = _stats(values, len(products))
    consumer = [
        v
        for t in products.values()
        for d in t.first_reads
        if (v := hours(t.grants.get(d), t.first_reads.get(d))) is not None
    ]
    summary["grantToFirstRead"] = _stats(consumer, sum(len(t.first_reads) for t in products.values()))
    return summary


def _stats(values: list[float], of: int) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 2) if values else None,
        "p90": percentile(values, 90),
        "measured": len(values),
        "of": of,
    }
