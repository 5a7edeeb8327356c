"""What mesh implements on GCP.

Not yet: a transform (no scheduled job is created for a GCP product), a query limit
(BigQuery caps bytes per project or per user, not per dataset), the access proof (no
offline IAM emulator exists for GCP), verify and the live catalog (both read AWS APIs),
and `mesh health`'s signals (freshness from GCS listings, runs, and the bucket's usage and
audit logs are not read yet: a GCP product is reported as `warn`, each signal named).
"""

from __future__ import annotations

from infra.model.capability import Capability

CAPABILITIES: frozenset[Capability] = frozenset()
