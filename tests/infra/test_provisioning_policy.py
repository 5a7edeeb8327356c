"""The provisioning identity's policy covers every resource type, and every resource by name,
that the examples' plans and the platform stack's plan create."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import pytest

from infra.model.graph import Resource
from infra.plan import plan_platform, plan_request
from infra.provisioning_policy import AWS_ACTIONS, GCP_ROLES, aws_policy, scope_of
from infra.validation import load_platform

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REQUESTS = sorted((EXAMPLES / "products").glob("*.yaml"))


@pytest.fixture(scope="module")
def planned() -> list[Resource]:
    platform = load_platform(EXAMPLES / "mesh.yaml")
    resources = list(plan_platform(platform, "dev").graph.cloud_resources())
    for request in REQUESTS:
        plan = plan_request(request, platform_path=EXAMPLES / "mesh.yaml", environment="dev")
        resources += plan.graph.cloud_resources()
    return resources


def test_every_type_mesh_creates_has_its_permissions(planned: list[Resource]) -> None:
    types = {r.type for r in planned}
    assert {"aws:s3/bucket:Bucket", "gcp:bigquery/table:Table", "aws:glue/job:Job"} <= types
    missing = sorted(t for t in types if t not in AWS_ACTIONS and t not in GCP_ROLES)
    assert not missing, f"resource types without provisioning permissions: {missing}"


def _allows(policy: dict, action: str, arn: str) -> bool:
    return any(
        action in s["Action"]
        and any(
            fnmatch.fnmatchcase(arn, r)
            for r in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
        )
        for s in policy["Statement"]
    )


def test_the_scopes_reach_every_named_resource_and_nothing_of_another_environment(
    planned: list[Resource],
) -> None:
    platform = load_platform(EXAMPLES / "mesh.yaml").config
    policy = aws_policy(scope_of(platform.organization, "dev", platform.environments["dev"]))
    account, region = "111122223333", "eu-west-1"
    checked = 0
    for r in planned:
        wanted: list[tuple[str, str]] = []
        if r.type == "aws:s3/bucket:Bucket":
            wanted = [("s3:CreateBucket", f"arn:aws:s3:::{r.inputs['bucket']}")]
        elif r.type == "aws:iam/role:Role":
            wanted = [("iam:CreateRole", f"arn:aws:iam::{account}:role{r.inputs['path']}{r.inputs['name']}")]
        elif r.type == "aws:iam/policy:Policy":
            wanted = [
                ("iam:CreatePolicy", f"arn:aws:iam::{account}:policy{r.inputs['path']}{r.inputs['name']}")
            ]
        elif r.type == "aws:kms/alias:Alias":
            wanted = [("kms:CreateAlias", f"arn:aws:kms:{region}:{account}:{r.inputs['name']}")]
        elif r.type == "aws:athena/workgroup:Workgroup":
            wanted = [
                ("athena:CreateWorkGroup", f"arn:aws:athena:{region}:{account}:workgroup/{r.inputs['name']}")
            ]
        elif r.type == "aws:glue/catalogDatabase:CatalogDatabase":
            wanted = [("glue:CreateDatabase", f"arn:aws:glue:{region}:{account}:database/{r.inputs['name']}")]
        elif r.type == "aws:glue/job:Job":
            wanted = [("glue:CreateJob", f"arn:aws:glue:{region}:{account}:job/{r.inputs['name']}")]
        elif r.type == "aws:glue/trigger:Trigger":
            wanted = [("glue:CreateTrigger", f"arn:aws:glue:{region}:{account}:trigger/{r.inputs['name']}")]
        for action, arn in wanted:
            checked += 1
            assert _allows(policy, action, arn), f"{r.urn}: {action} on {arn} is not allowed"
    assert checked >= 20
    assert not _allows(policy, "s3:CreateBucket", "arn:aws:s3:::acme-prod-sales-orders")
    assert not _allows(policy, "iam:CreateRole", f"arn:aws:iam::{account}:role/admin")
    assert not any(s["Action"] == "*" or "*" in s["Action"] for s in policy["Statement"])


def test_doctor_prints_the_policy_for_an_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    monkeypatch.chdir(EXAMPLES)
    result = CliRunner().invoke(app, ["doctor", "--print-policy", "--env", "prod"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    state = next(s for s in document["Statement"] if s["Sid"] == "PulumiState")
    assert state["Resource"] == ["arn:aws:s3:::acme-mesh-state-prod", "arn:aws:s3:::acme-mesh-state-prod/*"]
    secrets = next(s for s in document["Statement"] if s["Sid"] == "PulumiSecrets")
    assert secrets["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/acme-mesh-state"}
    }
    assert "roles/bigquery.dataOwner" in result.stderr
    unknown = CliRunner().invoke(app, ["doctor", "--print-policy", "--env", "nowhere"])
    assert unknown.exit_code == 2
    assert "--env nowhere: no such environment" in unknown.stderr
