"""What mesh implements on AWS."""

from __future__ import annotations

from infra.model.capability import Capability

CAPABILITIES = frozenset(
    {
        Capability.TRANSFORM,  # a Glue job and its trigger (components/aws/compute.py)
        Capability.QUERY_LIMIT,  # the Athena workgroup's bytesScannedCutoffPerQuery
        Capability.PROOF,  # moto enforces assumed roles' identity policies (infra/proof.py)
        Capability.VERIFY,  # boto3 checks of the live resources (infra/aws/verify.py)
        Capability.CATALOG,  # the Glue Data Catalog (infra/catalog.py)
    }
)
