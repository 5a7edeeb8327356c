"""Synthesized graphs of the example requests, made once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from infra.model.graph import ResourceGraph
from infra.model.spec import ProductSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def synth(path: Path, environment: str | None = None) -> tuple[ProductSpec, ResourceGraph]:
    """Validate, resolve and synthesize one request."""
    from infra.synth import synthesize_spec
    from infra.validation import load_spec

    spec, _, _ = load_spec(path, platform_path=None, environment=environment)
    return spec, synthesize_spec(spec)


@pytest.fixture(scope="session")
def example_graph() -> Callable[[str], tuple[ProductSpec, ResourceGraph]]:
    """`example_graph("sales-orders")` → (spec, graph), cached for the session."""
    cache: dict[str, tuple[ProductSpec, ResourceGraph]] = {}

    def get(name: str) -> tuple[ProductSpec, ResourceGraph]:
        if name not in cache:
            cache[name] = synth(EXAMPLES / "products" / f"{name}.yaml")
        return cache[name]

    return get
