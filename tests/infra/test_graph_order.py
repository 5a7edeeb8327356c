"""`dependency_order`: the same resources in any registration order give the same list."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from infra.model.graph import Resource, dependency_order


def _resource(urn: str, *, parent: str | None = None, dependencies: tuple[str, ...] = ()) -> Resource:
    return Resource(urn=urn, type="t", name=urn, parent=parent, inputs={}, dependencies=dependencies)


@dataclass
class Case:
    reason: str
    given: list[Resource]
    want: list[str]


CASES = [
    Case(
        "independent resources sort by URN", [_resource("c"), _resource("a"), _resource("b")], ["a", "b", "c"]
    ),
    Case(
        "a dependency comes first even when its URN sorts last",
        [_resource("a", dependencies=("z",)), _resource("z"), _resource("m")],
        ["m", "z", "a"],
    ),
    Case(
        "a parent comes before its children",
        [_resource("a", parent="p"), _resource("p"), _resource("b", parent="p")],
        ["p", "a", "b"],
    ),
    Case(
        "references outside the list are kept but do not hold a resource back",
        [_resource("b", dependencies=("elsewhere",)), _resource("a")],
        ["a", "b"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.reason)
def test_order_depends_only_on_the_graph(case: Case) -> None:
    shuffler = random.Random(7)
    for _ in range(10):
        given = list(case.given)
        shuffler.shuffle(given)
        assert [r.urn for r in dependency_order(given)] == case.want, case.reason


def test_dependencies_are_sorted_and_kept() -> None:
    ordered = dependency_order(
        [_resource("a", dependencies=("y", "x", "outside")), _resource("x"), _resource("y")]
    )
    assert ordered[-1].urn == "a"
    assert ordered[-1].dependencies == ("outside", "x", "y")


def test_a_cycle_keeps_every_resource() -> None:
    ordered = dependency_order([_resource("a", dependencies=("b",)), _resource("b", dependencies=("a",))])
    assert sorted(r.urn for r in ordered) == ["a", "b"]
