"""The live state the static catalog shows: a health report, read from a file.

The report is what `mesh health --output json` prints: one verdict per product, why,
and the freshness of each of its output ports. The catalog reads only the fields below
and ignores any other (runs, access, time to data, ...), so the report can grow without
breaking the site:

```json
{
  "environment": "prod",                      // optional
  "now": "2026-12-02T06:00:00Z",              // optional, ISO 8601 (or "generatedAt")
  "products": {
    "sales/orders": {                         // domain/name
      "verdict": "warn",                      // ok | warn | breach
      "reasons": [                            // optional; objects, or plain strings
        {"level": "warn", "kind": "never", "message": "port daily_revenue has no data yet"}
      ],
      "ports": [                              // optional; state: ok | late | never | unknown
        {"name": "order_lines", "state": "ok", "newest": "2026-12-02T02:14:00Z"}
      ]
    }
  }
}
```

A problem in the file raises `DocumentInvalid` located at the field, like a request's.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from infra.model.document import read_document
from infra.model.errors import DocumentInvalid
from infra.model.request import PATTERN_HELP
from infra.validation import problems_from_pydantic

PRODUCT_KEY = r"^[a-z][a-z0-9]{1,19}/[a-z][a-z0-9-]*$"
PATTERN_HELP.setdefault(PRODUCT_KEY, "a product as domain/name, such as sales/orders")


class Verdict(StrEnum):
    """A product's overall health."""

    OK = "ok"
    WARN = "warn"
    BREACH = "breach"


class PortState(StrEnum):
    """How fresh an output port's data is against the product's freshness SLO."""

    OK = "ok"
    LATE = "late"
    NEVER = "never"  # no data has ever landed
    UNKNOWN = "unknown"  # data landed, but the product has no freshness SLO to judge it by


class _Report(BaseModel):
    # Unknown fields are ignored on purpose: the report belongs to another command.
    model_config = ConfigDict(extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True)


class PortHealth(_Report):
    """The freshness of one output port."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    state: PortState
    newest: datetime | None = None


class Reason(_Report):
    """Why a product has its verdict: a message for people, and what kind of problem it is."""

    message: Annotated[str, StringConstraints(max_length=2000)]
    level: str | None = None
    kind: str | None = None


class ProductHealth(_Report):
    """One product's verdict, why, and its ports' freshness."""

    verdict: Verdict
    reasons: list[Reason] = Field(default_factory=list)
    ports: list[PortHealth] = Field(default_factory=list)

    @field_validator("reasons", mode="before")
    @classmethod
    def _plain_reasons(cls, value: object) -> object:
        # A reason may also be given as its message alone.
        if isinstance(value, list):
            return [{"message": item} if isinstance(item, str) else item for item in value]
        return value

    def port(self, name: str) -> PortHealth | None:
        """The health of the port called `name`, if the report has it."""
        return next((p for p in self.ports if p.name == name), None)


class HealthReport(_Report):
    """Every product's health in one environment, keyed by `domain/name`."""

    environment: str | None = None
    generated_at: datetime | None = Field(default=None, validation_alias=AliasChoices("now", "generatedAt"))
    products: dict[Annotated[str, StringConstraints(pattern=PRODUCT_KEY)], ProductHealth]


def read_health(path: Path) -> HealthReport:
    """Read a health report (JSON, or the same document in YAML)."""
    try:
        # A report covers the whole mesh: read valid JSON directly, and locate problems
        # (which needs the slower YAML reader's positions) only when there are some.
        return HealthReport.model_validate(json.loads(path.read_bytes()), by_name=False)
    except (OSError, ValueError):
        pass
    doc = read_document(path)
    try:
        return HealthReport.model_validate(doc.data, by_name=False)
    except ValidationError as e:
        raise DocumentInvalid(
            problems_from_pydantic(e, doc, HealthReport),
            hint="The catalog reads the shape `mesh health --output json` prints (see the README, `mesh catalog build`).",
        ) from e
