"""Athena workgroup rules: enforced, KMS-encrypted results and a scan limit."""

from __future__ import annotations

from collections.abc import Iterable

from infra.aws import types
from infra.model.graph import ResourceGraph
from infra.rule import Finding, Guardrail, Severity, label, nested

ATHENA_WORKGROUP = types.ATHENA_WORKGROUP.token
ATHENA_KMS_OPTIONS = ("SSE_KMS", "CSE_KMS")


def check_athena_workgroup(graph: ResourceGraph) -> Iterable[Finding]:
    """Every workgroup enforces its configuration and KMS-encrypts query results."""
    for workgroup in graph.of_type(ATHENA_WORKGROUP):
        config = nested(workgroup.inputs.get("configuration"))
        problems = []
        # pulumi-aws defaults enforceWorkgroupConfiguration to true; only an explicit false weakens it.
        if config.get("enforceWorkgroupConfiguration", True) is not True:
            problems.append(
                "does not enforce its configuration, so clients can override result encryption and location"
            )
        encryption = nested(nested(config.get("resultConfiguration")).get("encryptionConfiguration"))
        option = encryption.get("encryptionOption")
        if option not in ATHENA_KMS_OPTIONS:
            problems.append(
                f"encrypts query results with {option or 'nothing'} instead of SSE_KMS or CSE_KMS"
            )
        elif not encryption.get("kmsKeyArn"):
            problems.append(f"uses {option} without kmsKeyArn")
        if problems:
            yield Finding(workgroup.urn, False, f"{label(workgroup)} {' and '.join(problems)}")
        else:
            yield Finding(
                workgroup.urn,
                True,
                f"{label(workgroup)} enforces its configuration and encrypts results with {option}",
            )


ATHENA_WORKGROUP_RULE = Guardrail(
    id="MESH-ATHENA-WORKGROUP",
    title="Athena workgroups enforce their configuration and KMS-encrypt results",
    severity=Severity.MANDATORY,
    control=None,
    fix="set configuration.enforceWorkgroupConfiguration=True and resultConfiguration.encryptionConfiguration to SSE_KMS with the product's key ARN",
    check=check_athena_workgroup,
    examines=(ATHENA_WORKGROUP,),
)


def check_athena_scan_limit(graph: ResourceGraph) -> Iterable[Finding]:
    """Every workgroup caps the bytes one query may scan."""
    for workgroup in graph.of_type(ATHENA_WORKGROUP):
        config = nested(workgroup.inputs.get("configuration"))
        cutoff = config.get("bytesScannedCutoffPerQuery")
        if isinstance(cutoff, int | float) and not isinstance(cutoff, bool) and cutoff > 0:
            yield Finding(
                workgroup.urn, True, f"{label(workgroup)} stops queries after {int(cutoff)} bytes scanned"
            )
        else:
            yield Finding(
                workgroup.urn,
                False,
                f"{label(workgroup)} sets no bytesScannedCutoffPerQuery, so one query can scan without limit",
            )


ADV_ATHENA_SCAN_LIMIT_RULE = Guardrail(
    id="MESH-ADV-ATHENA-SCAN-LIMIT",
    title="Athena workgroups limit bytes scanned per query",
    severity=Severity.ADVISORY,
    control=None,
    fix="set configuration.bytesScannedCutoffPerQuery (the request's compute.query.bytesScannedLimitGb)",
    check=check_athena_scan_limit,
    examines=(ATHENA_WORKGROUP,),
)
