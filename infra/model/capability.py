"""What a cloud can do for a product: the capabilities each cloud's home declares.

A request feature a cloud does not implement is refused at validation (located at the
field that asks for it), never dropped; a command a cloud does not support says so.
"""

from __future__ import annotations

from enum import StrEnum

from infra.model.document import FieldPath


class Capability(StrEnum):
    """One thing mesh can do for a product on some cloud."""

    TRANSFORM = "transform"  # compute.transform: a scheduled job that produces the data
    QUERY_LIMIT = "query limit"  # compute.query.bytesScannedLimitGb: a per-product scan cap
    PROOF = "proof"  # mesh prove: access proven with real requests on an emulator
    VERIFY = "verify"  # mesh verify: live resources compared with the plan
    CATALOG = "catalog"  # mesh catalog search / show against the live catalog
    # mesh health's signals, one each, so that a cloud can gain them one at a time:
    FRESHNESS = "freshness"  # each output port's newest object (data/<port>/)
    TRANSFORM_RUNS = "transform runs"  # the transform's last runs and failures
    ACCESS_LOGS = "access logs"  # undesirable requests, read from the storage's access logs


#: What `mesh health` reads of a product, in the order it reports them.
HEALTH_SIGNALS = (Capability.FRESHNESS, Capability.TRANSFORM_RUNS, Capability.ACCESS_LOGS)


#: The request field that asks for a capability, and what it asks for (for those a request can ask for).
REQUEST_FIELDS: dict[Capability, tuple[FieldPath, str]] = {
    Capability.TRANSFORM: (("spec", "compute", "transform"), "a scheduled transform job"),
    Capability.QUERY_LIMIT: (
        ("spec", "compute", "query", "bytesScannedLimitGb"),
        "a per-product limit on bytes scanned by a query",
    ),
}
