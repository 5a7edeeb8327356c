"""`mesh plan`'s core: validate, resolve, synthesize offline, and run the guardrails.

This module imports pulumi (through `infra.synth`); keep it out of fast commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.guardrails import GuardrailReport, evaluate
from infra.model.errors import Problem
from infra.model.graph import ResourceGraph
from infra.model.platform import PlatformConfig
from infra.model.platform_spec import resolve_platform
from infra.model.spec import Ephemeral, ProductSpec
from infra.synth import CloudContext, synthesize, synthesize_spec
from infra.validation import LoadedPlatform, load_spec


@dataclass
class PlanResult:
    """What a request creates in one environment, and whether the guardrails let it through."""

    spec: ProductSpec
    graph: ResourceGraph
    guardrails: GuardrailReport
    warnings: list[Problem] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        """A mandatory guardrail failed."""
        return bool(self.guardrails.blocking)

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape: `{"stack", "resources", "guardrails"}` plus context."""
        return {
            "stack": self.spec.stack,
            "project": self.spec.project,
            "environment": self.spec.environment,
            "product": f"{self.spec.domain}/{self.spec.product}",
            "cloud": self.spec.cloud,
            "resources": [r.as_dict() for r in self.graph.resources],
            "guardrails": self.guardrails.as_dicts(),
            "disabledGuardrails": list(self.guardrails.disabled),
            "blocked": self.blocked,
            "contract": self.spec.contract(),
        }


def disabled_guardrails(platform: PlatformConfig, environment: str) -> list[str]:
    """Advisory rules the platform config turns off for `environment`."""
    env = platform.environments[environment]
    return sorted(set(platform.guardrails.disabled) | set(env.disabled_guardrails))


def plan_request(
    path: Path,
    *,
    platform_path: Path | None,
    environment: str | None,
    text: str | None = None,
    ephemeral: Ephemeral | None = None,
) -> PlanResult:
    """Validate `path`, resolve it in `environment`, synthesize it and evaluate the guardrails.

    `text` plans the request's content at another revision instead of the file on disk."""
    spec, loaded, platform = load_spec(
        path, platform_path=platform_path, environment=environment, text=text, ephemeral=ephemeral
    )
    graph = synthesize_spec(spec)
    report = evaluate(
        graph, disabled=disabled_guardrails(platform.config, spec.platform_environment or spec.environment)
    )
    return PlanResult(spec=spec, graph=graph, guardrails=report, warnings=loaded.warnings)


@dataclass
class PlatformPlan:
    """What an environment's platform stack creates, and whether the guardrails let it through."""

    stack: str
    environment: str
    graph: ResourceGraph
    guardrails: GuardrailReport

    @property
    def blocked(self) -> bool:
        """A mandatory guardrail failed (exempted failures do not count)."""
        return bool(self.guardrails.blocking)

    def as_dict(self) -> dict[str, Any]:
        """The same shape as a product's plan: `{"stack", "resources", "guardrails", ...}`."""
        return {
            "stack": self.stack,
            "environment": self.environment,
            "resources": [r.as_dict() for r in self.graph.resources],
            "guardrails": self.guardrails.as_dicts(),
            "disabledGuardrails": list(self.guardrails.disabled),
            "blocked": self.blocked,
        }


def plan_platform(platform: LoadedPlatform, environment: str) -> PlatformPlan:
    """Synthesize `environment`'s platform stack offline and evaluate the guardrails on it.

    The same rules as for products apply; the log bucket's stated exemptions
    (`stacks.platform.LOG_BUCKET_EXEMPTIONS`) are the only failures accepted.
    """
    from stacks.platform import platform_exemptions, platform_program  # noqa: PLC0415 - stacks import pulumi

    spec = resolve_platform(platform.config, environment)
    cloud = CloudContext(account=spec.account, region=spec.region, partition=spec.partition)
    graph = synthesize(platform_program(spec), project=spec.project, stack=spec.stack, cloud=cloud)
    report = evaluate(
        graph,
        disabled=disabled_guardrails(platform.config, environment),
        exemptions=platform_exemptions(spec, graph),
    )
    return PlatformPlan(stack=spec.stack, environment=environment, graph=graph, guardrails=report)
