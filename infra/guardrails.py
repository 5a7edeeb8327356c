"""Guardrails: the security rules a product stack must pass before it is applied.

Each rule is a plain function over a `ResourceGraph` with its metadata beside it, in its
cloud's home: `infra/aws/guardrails/<family>.py`, `infra/gcp/guardrails/<family>.py`.
This module discovers them and is the one evaluator, so the same rules run on a graph
synthesized offline (`mesh plan`), on one loaded from saved JSON, and later behind a
CrossGuard adapter. It imports no pulumi.

Every rule has a stable id (`MESH-…`), a severity and, where one exists, the control it
enforces: an AWS Foundational Security Best Practices (FSBP) id for AWS rules, a CIS
Google Cloud Platform Foundations Benchmark recommendation for GCP rules. Mandatory rules block
provisioning and can never be disabled; advisory rules warn and can be turned off per
platform or environment (`guardrails.disabled`, `environments.<env>.disabledGuardrails`).

A rule yields one finding per resource it examined, passed or not, so a report shows
what was checked; a rule with nothing to examine (a GCP graph for the AWS rules, and the
other way round) yields nothing. Rules fail closed: a policy document that cannot be
parsed, or an account that cannot be established, is a failure, not a pass.

Rules are reported per cloud (AWS, then GCP), mandatory before advisory, families in
their package's `FAMILIES` order and rules in the order their module defines them.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from infra.aws import guardrails as aws_guardrails
from infra.aws.guardrails.documents import home_accounts
from infra.gcp import guardrails as gcp_guardrails
from infra.model.graph import ResourceGraph
from infra.rule import Finding, Guardrail, Severity

__all__ = [
    "RULES",
    "Finding",
    "Guardrail",
    "GuardrailReport",
    "GuardrailResult",
    "Severity",
    "check_disabled",
    "discover",
    "evaluate",
    "home_accounts",
    "rule",
]

#: Modules of a rules package that hold shared reading code rather than rules.
_SHARED_MODULES = frozenset({"documents"})


@dataclass(frozen=True)
class GuardrailResult:
    """One rule's verdict on one resource."""

    id: str
    severity: Severity
    control: str | None
    urn: str
    passed: bool
    message: str
    exemption: str | None = None  # why a failure is accepted here (set by mesh's code, never by config)

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape: `{"id", "severity", "control", "urn", "passed", "message"}`,
        plus `"exemption"` when a failure was accepted for a stated reason."""
        shape: dict[str, Any] = {
            "id": self.id,
            "severity": str(self.severity),
            "control": self.control,
            "urn": self.urn,
            "passed": self.passed,
            "message": self.message,
        }
        if self.exemption:
            shape["exemption"] = self.exemption
        return shape


@dataclass
class GuardrailReport:
    """Every result of one evaluation, and the advisory rules that were skipped."""

    results: list[GuardrailResult]
    disabled: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[GuardrailResult]:
        """Mandatory failures: provisioning must not go ahead."""
        return [r for r in self.results if not r.passed and r.severity is Severity.MANDATORY]

    @property
    def warnings(self) -> list[GuardrailResult]:
        """Advisory failures."""
        return [r for r in self.results if not r.passed and r.severity is Severity.ADVISORY]

    @property
    def passed(self) -> bool:
        """No mandatory rule failed."""
        return not self.blocking

    def as_dicts(self) -> list[dict[str, Any]]:
        """Every result in its JSON shape, in rule order."""
        return [r.as_dict() for r in self.results]


def discover(package: ModuleType) -> tuple[Guardrail, ...]:
    """The rules of one cloud's rules package: every `Guardrail` its family modules define.

    `ValueError` (a programming error) when a module of the package is not named in its
    `FAMILIES`, so a new rule module cannot be left out silently.
    """
    families: tuple[str, ...] = package.FAMILIES
    modules = {m.name for m in pkgutil.iter_modules(package.__path__)} - _SHARED_MODULES
    unlisted = sorted(modules - set(families))
    if unlisted:
        raise ValueError(f"{package.__name__}: add {', '.join(unlisted)} to FAMILIES")
    found: list[Guardrail] = []
    for family in families:
        module = importlib.import_module(f"{package.__name__}.{family}")
        found += [value for value in vars(module).values() if isinstance(value, Guardrail)]
    severity_order = list(Severity)
    return tuple(sorted(found, key=lambda g: severity_order.index(g.severity)))


RULES: tuple[Guardrail, ...] = (*discover(aws_guardrails), *discover(gcp_guardrails))

_BY_ID = {r.id: r for r in RULES}


def rule(rule_id: str) -> Guardrail:
    """The rule with `rule_id`; `KeyError` when there is none (use `check_disabled` for user input)."""
    try:
        return _BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"unknown guardrail {rule_id!r}") from None


def check_disabled(ids: Iterable[str]) -> list[str]:
    """One message for the user per id that cannot be disabled: unknown ids and mandatory rules."""
    advisory = [r.id for r in RULES if r.severity is Severity.ADVISORY]
    messages = []
    for rule_id in ids:
        found = _BY_ID.get(rule_id)
        if found is None:
            close = difflib.get_close_matches(rule_id.upper(), list(_BY_ID), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"advisory guardrails are {', '.join(advisory)}"
            messages.append(f"unknown guardrail '{rule_id}' — {hint}")
        elif found.severity is Severity.MANDATORY:
            messages.append(
                f"guardrail '{rule_id}' ({found.title}) is mandatory: mandatory guardrails cannot be disabled; only {', '.join(advisory)} can"
            )
    return messages


def evaluate(
    graph: ResourceGraph,
    *,
    disabled: Collection[str] = (),
    exemptions: Mapping[tuple[str, str], str] | None = None,
) -> GuardrailReport:
    """Run every rule over `graph`, skipping the advisory rules named in `disabled`.

    Mandatory rules always run, even when named in `disabled`, and unknown ids are
    ignored: validate user input with `check_disabled` first. A failure's message ends
    with the rule's fix. `report.disabled` lists the advisory rules actually skipped.

    `exemptions` maps `(rule id, resource URN)` to the reason a failure is accepted there;
    only mesh's own code passes them (the platform stack's log bucket), never a config
    file. An exempted failure is reported as passed, with its message and the reason.
    """
    results: list[GuardrailResult] = []
    skipped: list[str] = []
    accepted = exemptions or {}
    for guardrail in RULES:
        if guardrail.id in disabled and guardrail.severity is Severity.ADVISORY:
            skipped.append(guardrail.id)
            continue
        for finding in guardrail.check(graph):
            reason = None if finding.passed else accepted.get((guardrail.id, finding.urn))
            if finding.passed:
                message = finding.message
            elif reason:
                message = f"{finding.message} — exempt: {reason}"
            else:
                message = f"{finding.message} — fix: {guardrail.fix}"
            results.append(
                GuardrailResult(
                    id=guardrail.id,
                    severity=guardrail.severity,
                    control=guardrail.control,
                    urn=finding.urn,
                    passed=finding.passed or reason is not None,
                    message=message,
                    exemption=reason,
                )
            )
    return GuardrailReport(results=results, disabled=skipped)
