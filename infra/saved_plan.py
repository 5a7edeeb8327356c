"""A saved `mesh plan --output json`, read back as the base of `mesh review --base-plan`.

The file comes from outside (an artifact of an earlier CI run, a colleague's laptop), so
it is read like any input: a regular file with a size cap, JSON no deeper than a plan
ever is, and the shape `mesh review` relies on checked field by field, every problem
named by its path in the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from infra.model.document import format_path
from infra.model.errors import DocumentInvalid, Problem
from infra.model.files import MAX_PLAN_BYTES, read_input
from infra.model.graph import ResourceGraph
from infra.model.request import SEMVER_PATTERN

# A plan's deepest value (a policy condition inside a statement inside a resource's
# inputs) is about 10 levels down.
MAX_DEPTH = 64

_HINT = "Save a base plan with `mesh plan FILE --output json > base.json` (same mesh version)."


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class SavedResource(_Shape):
    """One resource of the saved graph."""

    urn: str
    type: str
    name: str
    parent: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    dependencies: list[str] = Field(default_factory=list)


class SavedColumn(_Shape):
    """A column as `ProductSpec.contract()` writes it."""

    name: str
    type: str
    required: bool
    pii: bool


class SavedPort(_Shape):
    """An output port as `ProductSpec.contract()` writes it."""

    format: str
    columns: list[SavedColumn]
    partitionedBy: list[str]  # noqa: N815 - the key as it appears in the JSON


class SavedContract(_Shape):
    """What consumers depend on, as `ProductSpec.contract()` writes it."""

    version: Annotated[str, StringConstraints(pattern=SEMVER_PATTERN)] | None = None
    classification: str | None = None
    ports: dict[str, SavedPort]
    consumers: dict[str, list[str]]


class SavedPlan(_Shape):
    """The part of `mesh plan --output json` a review compares with."""

    stack: str
    project: str = ""
    resources: list[SavedResource]
    outputs: dict[str, Any] = Field(default_factory=dict)
    contract: SavedContract


def _depth(value: Any, limit: int) -> int:
    """How deep `value` is nested, counted until it passes `limit`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if level > limit:
            break
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def _problem(file: Path, message: str, *, path: str = "", line: int = 0, column: int = 0) -> Problem:
    return Problem(file=str(file), path=path, message=message, line=line, column=column)


def read_json(file: Path, *, limit: int, what: str, max_depth: int, hint: str) -> Any:
    """A JSON document mesh wrote (a saved plan): a regular file of at most `limit` bytes,
    valid JSON nested at most `max_depth` levels; else `DocumentInvalid` naming the file."""
    text = read_input(file, limit=limit, what=what)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DocumentInvalid(
            [_problem(file, f"not valid JSON: {e.msg}", line=e.lineno, column=e.colno)], hint=hint
        ) from e
    except (ValueError, RecursionError) as e:  # 4,300+ digit numbers, 1,000+ levels of brackets
        raise DocumentInvalid([_problem(file, f"cannot be read as a plan ({e})")], hint=hint) from e
    if _depth(data, max_depth) > max_depth:
        raise DocumentInvalid(
            [_problem(file, f"nested more than {max_depth} levels deep; no plan is")], hint=hint
        )
    return data


def load_saved_plan(file: Path) -> tuple[ResourceGraph, dict[str, Any]]:
    """The graph and the contract of a saved plan; `DocumentInvalid` naming each problem."""
    data = read_json(
        file, limit=MAX_PLAN_BYTES, what="`mesh plan --output json` document", max_depth=MAX_DEPTH, hint=_HINT
    )
    if not isinstance(data, dict):
        raise DocumentInvalid(
            [_problem(file, f"is a JSON {type(data).__name__}, expected the object `mesh plan` writes")],
            hint=_HINT,
        )
    try:
        plan = SavedPlan.model_validate(data)
    except ValidationError as e:
        problems = [
            _problem(file, error["msg"], path=format_path(tuple(error["loc"]))) for error in e.errors()
        ]
        raise DocumentInvalid(problems, hint=_HINT) from e
    graph = ResourceGraph.from_dict(plan.model_dump())
    return graph, plan.contract.model_dump(exclude_none=True)
