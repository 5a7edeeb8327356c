"""The platform stack goes through the product guardrails; its log bucket's two exemptions
are stated, narrow, and cannot hide anything else."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from infra.guardrails import evaluate
from infra.model.graph import ResourceGraph
from infra.model.platform_spec import resolve_platform
from infra.plan import plan_platform
from infra.validation import LoadedPlatform, load_platform
from stacks.platform import LOG_BUCKET_EXEMPTIONS, platform_exemptions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


@pytest.fixture(scope="module")
def platform() -> LoadedPlatform:
    return load_platform(EXAMPLES / "mesh.yaml")


@pytest.mark.parametrize("environment", ["dev", "prod", "local"])
def test_each_environment_passes_with_only_the_log_bucket_exemptions(
    platform: LoadedPlatform, environment: str
) -> None:
    result = plan_platform(platform, environment)

    assert not result.blocked, [r.message for r in result.guardrails.blocking]
    exempt = {(r.id, r.urn.rsplit("::", 1)[-1]) for r in result.guardrails.results if r.exemption}
    assert exempt == {(rule, f"acme-{environment}-platform-access-logs") for rule in LOG_BUCKET_EXEMPTIONS}
    assert all(r.passed for r in result.guardrails.results)


def test_an_unencrypted_log_bucket_is_not_exempt(platform: LoadedPlatform) -> None:
    graph = plan_platform(platform, "dev").graph
    without_encryption = dataclasses.replace(
        graph, resources=[r for r in graph.resources if r.type != ENCRYPTION]
    )
    spec = resolve_platform(platform.config, "dev")

    report = evaluate(without_encryption, exemptions=platform_exemptions(spec, without_encryption))

    failures = [r for r in report.blocking if r.id == "MESH-S3-KMS-ENCRYPTION"]
    assert len(failures) == 1 and failures[0].exemption is None, [r.message for r in report.results]
    assert "has no" in failures[0].message and "— fix:" in failures[0].message


def test_an_exemption_names_one_rule_on_one_resource(platform: LoadedPlatform) -> None:
    graph: ResourceGraph = plan_platform(platform, "dev").graph
    bucket = next(r for r in graph.of_type("aws:s3/bucket:Bucket"))

    report = evaluate(graph, exemptions={("MESH-ADV-LOGGING", bucket.urn): "a stated reason"})

    kms = [r for r in report.results if r.id == "MESH-S3-KMS-ENCRYPTION"]
    assert [(r.passed, r.exemption) for r in kms] == [(False, None)], "only the named rule is exempted"
    logging = [r for r in report.results if r.id == "MESH-ADV-LOGGING"]
    assert [(r.passed, r.exemption) for r in logging] == [(True, "a stated reason")]
    assert logging[0].as_dict()["exemption"] == "a stated reason"
    assert logging[0].message.endswith("— exempt: a stated reason")
