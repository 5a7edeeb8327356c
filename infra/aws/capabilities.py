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
        Capability.FRESHNESS,  # S3 listings of data/<port>/ (infra/health.py)
        Capability.TRANSFORM_RUNS,  # glue:GetJobRuns (infra/health.py)
        Capability.ACCESS_LOGS,  # S3 server access logs in the log bucket (infra/access_log.py)
    }
)
