"""How a consumer gets read access: the exact change to the producer's request.

Access in mesh is declared by the producer, in its request's `spec.access.consumers`,
and reviewed like any other change. So the catalog shows, for each domain that could
read a product, that list as it would be after the change: the reader's entry added
(or its missing ports added to its entry), every other line as it is today.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from infra.model.platform import PlatformConfig
from infra.model.request import Classification, DataProductRequest


@dataclass(frozen=True)
class AccessChange:
    """The request change that lets `reader` read every port of a product.

    `snippet` is the YAML of `spec.access.consumers` after the change (the changed line
    marked with a comment); empty when `reader` already reads every port.
    """

    reader: str
    snippet: str
    added_ports: tuple[str, ...]

    @property
    def needed(self) -> bool:
        """False when the reader already reads every port."""
        return bool(self.added_ports)


_RESOLVER = yaml.resolver.Resolver()


def _scalar(text: str) -> str:
    """`text` as a YAML plain scalar when it reads back as a string (`no` would not), else quoted.

    Domain and port names are lowercase letters, digits and underscores, so single quotes
    never need escaping."""
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    return text if tag == "tag:yaml.org,2002:str" else f"'{text}'"


def _entry(domain: str, ports: list[str]) -> str:
    return f"- {{domain: {_scalar(domain)}, ports: [{', '.join(_scalar(p) for p in ports)}]}}"


def access_change(request: DataProductRequest, reader: str) -> AccessChange:
    """The change to `request` that grants `reader` every output port."""
    every_port = [p.name for p in request.spec.output_ports]
    lines = ["spec:", "  access:", "    consumers:"]
    added: list[str] = []
    found = False
    for consumer in request.spec.access.consumers:
        ports = list(dict.fromkeys(consumer.ports))
        if consumer.domain != reader:
            lines.append(f"      {_entry(consumer.domain, ports)}")
            continue
        found = True
        added = [p for p in every_port if p not in ports]
        note = f"  # changed: adds {', '.join(added)}" if added else ""
        lines.append(f"      {_entry(reader, ports + added)}{note}")
    if not found:
        added = every_port
        lines.append(f"      {_entry(reader, every_port)}  # added")
    return AccessChange(
        reader=reader, snippet="\n".join(lines) + "\n" if added else "", added_ports=tuple(added)
    )


def readers(request: DataProductRequest, platform: PlatformConfig) -> tuple[str, ...]:
    """The registered domains that may be granted access (every one but the owner's), sorted.

    Empty for a restricted product when the platform does not allow restricted sharing:
    validation would refuse any grant outside the owning domain.
    """
    if (
        request.spec.classification is Classification.RESTRICTED
        and not platform.guardrails.allow_restricted_sharing
    ):
        return ()
    return tuple(sorted(d for d in platform.domains if d != request.metadata.domain))
