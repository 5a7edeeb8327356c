"""`mesh provision` and `mesh destroy` for real: Automation API, Pulumi CLI, aws provider, LocalStack.

LocalStack community serves S3, IAM, STS and KMS but not Glue or Athena, which every
product also creates. Against it, the update fails at the first Glue or Athena
resource: the test then checks that mesh named that resource, that the S3, KMS and
IAM resources before it exist in LocalStack, that `mesh destroy` removes them, and
marks itself xfail with that reason. Against a LocalStack that has Glue and Athena,
the whole product must provision and destroy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app

pytestmark = pytest.mark.engine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UNSUPPORTED_BY_COMMUNITY = ("aws:glue/", "aws:athena/", "glue", "athena")
runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path, engine_localstack: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository of requests whose `local` environment points at the test's LocalStack."""
    config = yaml.safe_load((EXAMPLES / "mesh.yaml").read_text())
    endpoints = config["environments"]["local"]["aws"]["endpoints"]
    config["environments"]["local"]["aws"]["endpoints"] = dict.fromkeys(endpoints, engine_localstack)
    (tmp_path / "mesh.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copytree(EXAMPLES / "products", tmp_path / "products")
    monkeypatch.setenv("MESH_PASSPHRASE", "engine-tests-only")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    return tmp_path


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def empty(s3: Any, bucket: str) -> None:
    """Delete every object version and delete marker of `bucket`."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


def test_provision_then_destroy_a_product(repo: Path, engine_localstack: str) -> None:
    request = str(repo / "products" / "sales-orders.yaml")
    s3 = client("s3", engine_localstack)
    # Product buckets log to the environment's access-log bucket. `mesh platform up` would make
    # it, but it also encrypts the Glue catalog, which LocalStack community does not serve.
    s3.create_bucket(Bucket="acme-local-platform-access-logs")

    provisioned = runner.invoke(app, ["provision", request, "--env", "local", "--yes", "--output", "json"])
    assert provisioned.stdout.startswith("{"), provisioned.output
    document = json.loads(provisioned.stdout)
    (stack,) = document["stacks"]
    assert stack["stack"] == "sales.orders.local"
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}

    destroyed = runner.invoke(app, ["destroy", request, "--env", "local", "--yes"])
    if destroyed.exit_code != 0 and "BucketNotEmpty" in destroyed.output:
        # Product buckets are versioned and never force-destroyed, so deleting their objects
        # leaves versions behind: emptying the bucket is the user's deliberate step.
        assert "acme-local-sales-orders" in destroyed.output, "the error names the bucket"
        empty(s3, "acme-local-sales-orders")
        destroyed = runner.invoke(app, ["destroy", request, "--env", "local", "--yes"])
    assert destroyed.exit_code == 0, destroyed.output
    remaining = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert "acme-local-sales-orders" not in remaining, "mesh destroy removed the product bucket"

    if provisioned.exit_code != 0:
        message = (stack["error"] or {}).get("message", "")
        assert any(word in message for word in UNSUPPORTED_BY_COMMUNITY), provisioned.output
        assert "acme-local-sales-orders" in buckets, "resources before the Glue failure were created"
        pytest.xfail(f"LocalStack community has no Glue/Athena; mesh reported: {message}")
    assert document["ok"] is True
    assert stack["outputs"]["bucket"] == "acme-local-sales-orders"
    assert "acme-local-sales-orders" in buckets


def test_outputs_of_a_stack_that_was_never_provisioned(repo: Path) -> None:
    request = str(repo / "products" / "finance-payroll.yaml")

    result = runner.invoke(app, ["outputs", request, "--env", "local"])

    assert result.exit_code == 1
    assert "does not exist" in result.output and "mesh provision" in result.output
