"""The ResourceGraph: what a program registers, as data a reviewer and the guardrails can read.

Built by `infra.synth` from a Pulumi program run under mocks. Inputs keep Pulumi's
camelCase keys; values that only exist after apply are stable placeholders of the form
`<logical-name.property>` (for example `<sales-orders-key.keyId>`).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

T = TypeVar("T")

PLACEHOLDER_OPEN = "<"
PLACEHOLDER_CLOSE = ">"


def placeholder(name: str, prop: str) -> str:
    """The stand-in for a value the cloud assigns at apply time."""
    return f"{PLACEHOLDER_OPEN}{name}.{prop}{PLACEHOLDER_CLOSE}"


def dependency_order(resources: Iterable[Resource]) -> list[Resource]:
    """`resources` with parents and dependencies first, ties broken by URN; dependencies sorted.

    Pulumi registers resources in whatever order its event loop resolves them, so the
    same program gives a different order on each run. This order depends only on the
    graph: the same input gives the same bytes. References to resources outside the
    list (none in a synthesized graph) are ignored for ordering and kept.
    """
    by_urn = {r.urn: _sorted_dependencies(r) for r in resources}
    waiting: dict[str, set[str]] = {
        urn: {d for d in (*r.dependencies, r.parent or "") if d in by_urn and d != urn}
        for urn, r in by_urn.items()
    }
    dependents: dict[str, list[str]] = {urn: [] for urn in by_urn}
    for urn, before in waiting.items():
        for dependency in before:
            dependents[dependency].append(urn)
    ready = [urn for urn, before in waiting.items() if not before]
    heapq.heapify(ready)
    ordered: list[Resource] = []
    while ready:
        urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for dependent in dependents[urn]:
            waiting[dependent].discard(urn)
            if not waiting[dependent]:
                heapq.heappush(ready, dependent)
    # A cycle cannot come out of Pulumi; keep its members rather than drop them, by URN.
    placed = {r.urn for r in ordered}
    ordered.extend(by_urn[urn] for urn in sorted(by_urn) if urn not in placed)
    return ordered


def _sorted_dependencies(resource: Resource) -> Resource:
    ordered = tuple(sorted(set(resource.dependencies)))
    if ordered == resource.dependencies:
        return resource
    return replace(resource, dependencies=ordered)


@dataclass(frozen=True)
class Resource:
    """One registered resource (a cloud resource, or a component when `custom` is false)."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    custom: bool = True

    def input(self, *path: str | int, default: Any = None) -> Any:
        """A nested input value, `default` when any step is missing."""
        value: Any = self.inputs
        for step in path:
            if isinstance(step, int):
                if not isinstance(value, list) or step >= len(value):
                    return default
                value = value[step]
            else:
                if not isinstance(value, dict) or step not in value:
                    return default
                value = value[step]
        return value

    def policy(self, key: str = "policy") -> dict[str, Any] | None:
        """A JSON policy document input parsed into a dict (None when absent or not JSON)."""
        raw = self.inputs.get(key)
        if isinstance(raw, dict):
            return raw
        if not isinstance(raw, str):
            return None
        try:
            parsed = json.loads(raw)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of one resource."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "inputs": self.inputs,
            "dependencies": list(self.dependencies),
        }


@dataclass
class ResourceGraph:
    """Every resource of one stack, in dependency order (see `dependency_order`)."""

    stack: str
    project: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    _derived: dict[str, tuple[int, Any]] = field(default_factory=dict, repr=False, compare=False)

    def derived(self, name: str, compute: Callable[[ResourceGraph], T]) -> T:
        """`compute(self)`, computed once while the graph keeps the same resources (several
        guardrails read the same fact, such as the product's account, from one graph).
        Resources are values: a change replaces a resource, which computes it again."""
        stamp = hash(tuple(map(id, self.resources)))
        kept = self._derived.get(name)
        if kept is None or kept[0] != stamp:
            kept = (stamp, compute(self))
            self._derived[name] = kept
        return cast(T, kept[1])

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def of_type(self, *types: str) -> list[Resource]:
        """Resources whose type token is one of `types`."""
        return [r for r in self.resources if r.type in types]

    def get(self, urn: str) -> Resource:
        """The resource with `urn`; `KeyError` when absent."""
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def named(self, name: str) -> Resource:
        """The resource with logical name `name`; `KeyError` when absent."""
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(name)

    def children(self, urn: str) -> list[Resource]:
        """Direct children of `urn`."""
        return [r for r in self.resources if r.parent == urn]

    def cloud_resources(self) -> list[Resource]:
        """Resources a provider creates (components left out)."""
        return [r for r in self.resources if r.custom]

    def counts(self) -> dict[str, int]:
        """How many cloud resources of each type."""
        counts: dict[str, int] = {}
        for resource in self.cloud_resources():
            counts[resource.type] = counts.get(resource.type, 0) + 1
        return dict(sorted(counts.items()))

    def as_dict(self) -> dict[str, Any]:
        """`{"stack", "project", "resources": [...], "outputs"}`."""
        return {
            "stack": self.stack,
            "project": self.project,
            "resources": [r.as_dict() for r in self.resources],
            "outputs": self.outputs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResourceGraph:
        """Rebuild a graph from `as_dict()` output (a saved `mesh plan --output json`)."""
        resources = [
            Resource(
                urn=r["urn"],
                type=r["type"],
                name=r["name"],
                parent=r.get("parent"),
                inputs=r.get("inputs") or {},
                dependencies=tuple(r.get("dependencies") or ()),
                custom=not r["type"].startswith("mesh:"),
            )
            for r in data.get("resources", [])
        ]
        return cls(
            stack=data["stack"],
            project=data.get("project", ""),
            resources=resources,
            outputs=data.get("outputs") or {},
        )
