"""`mesh plan`, `mesh prove`, `mesh verify` and `mesh emulate` as a user runs them: exit codes and output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SALES = str(EXAMPLES / "products" / "sales-orders.yaml")
runner = CliRunner()


def test_plan_table_lists_real_names_and_passes_guardrails() -> None:
    result = runner.invoke(app, ["plan", SALES, "--env", "dev"])
    assert result.exit_code == 0, result.output
    assert "acme-dev-sales-orders" in result.output
    assert "aws:iam/role:Role" in result.output
    assert "0 mandatory failed" in result.output
    assert "ready for review" in result.output


def test_plan_tree_nests_resources_under_components() -> None:
    result = runner.invoke(app, ["plan", SALES, "--output", "tree"])
    assert result.exit_code == 0, result.output
    assert "mesh:aws:DataProduct" in result.output and "mesh:aws:ProductStorage" in result.output
    assert "→ acme-dev-sales-orders" in result.output


def test_plan_json_has_the_documented_shape() -> None:
    result = runner.invoke(app, ["plan", SALES, "--output", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["stack"] == "sales.orders.dev"
    resource = document["resources"][0]
    assert set(resource) == {"urn", "type", "name", "parent", "inputs", "dependencies"}
    guardrail = document["guardrails"][0]
    assert set(guardrail) == {"id", "severity", "control", "urn", "passed", "message"}
    bucket = next(r for r in document["resources"] if r["type"] == "aws:s3/bucket:Bucket")
    assert bucket["inputs"]["bucket"] == "acme-dev-sales-orders"
    policy = next(r for r in document["resources"] if r["type"] == "aws:s3/bucketPolicy:BucketPolicy")
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    assert any("acme-dev-sales-orders-marketing-consumer" in json.dumps(s) for s in statements)


def test_plan_preview_environment_disables_only_the_advisory_logging_rule() -> None:
    result = runner.invoke(app, ["plan", SALES, "--env", "preview", "--output", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["disabledGuardrails"] == ["MESH-ADV-LOGGING"]
    assert not any(g["id"] == "MESH-ADV-LOGGING" for g in document["guardrails"])


def test_plan_exits_non_zero_when_a_mandatory_guardrail_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deliberately weakened component: key rotation off. The guardrail must block the plan.
    from components.aws import storage

    original = storage.aws.kms.Key

    def no_rotation(*args: object, **kwargs: object) -> object:
        kwargs["enable_key_rotation"] = False
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(storage.aws.kms, "Key", no_rotation)
    result = runner.invoke(app, ["plan", SALES])
    assert result.exit_code == 1, result.output
    assert "MESH-KMS-ROTATION" in result.output
    assert "KMS.4" in result.output
    assert "Blocked" in result.output


def test_plan_of_an_invalid_request_names_the_field(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "mesh.yaml", tmp_path / "mesh.yaml")
    shutil.copytree(EXAMPLES / "products" / "jobs", tmp_path / "jobs")
    request = yaml.safe_load(Path(SALES).read_text())
    request["spec"]["retentionDays"] = 0
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(request))
    result = runner.invoke(app, ["plan", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 1
    assert "spec.retentionDays" in result.output
    assert "Traceback" not in result.output


def test_plan_unknown_environment_is_a_usage_error() -> None:
    result = runner.invoke(app, ["plan", SALES, "--env", "staging"])
    assert result.exit_code == 2
    assert "environment 'staging' is not defined" in result.output
    assert "dev" in result.output


def test_prove_passes_and_prints_the_matrix() -> None:
    result = runner.invoke(app, ["prove", SALES])
    assert result.exit_code == 0, result.output
    assert "Proof passed" in result.output
    assert "marketing" in result.output and "anonymous" in result.output


def test_prove_json_marks_executed_and_evaluated_cells() -> None:
    result = runner.invoke(
        app, ["prove", str(EXAMPLES / "products" / "finance-payroll.yaml"), "--output", "json"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["passed"] is True and document["mismatches"] == 0
    assert {c["method"] for c in document["cells"]} == {"executed", "evaluated"}


def test_prove_refuses_gcp_products_with_a_reason() -> None:
    result = runner.invoke(app, ["prove", str(EXAMPLES / "products" / "marketing-campaigns.yaml")])
    assert result.exit_code == 1
    assert "on gcp" in result.output


def test_emulate_refuses_a_non_loopback_endpoint() -> None:
    result = runner.invoke(app, ["emulate", SALES, "--endpoint-url", "https://s3.eu-west-1.amazonaws.com"])
    assert result.exit_code == 1
    assert "not a loopback address" in result.output


def test_verify_against_a_moto_server_reports_no_drift_then_drift(tmp_path: Path) -> None:
    from moto.server import ThreadedMotoServer

    platform = yaml.safe_load((EXAMPLES / "mesh.yaml").read_text())
    platform["environments"]["moto"] = {"aws": {"account": "123456789012", "region": "us-east-1"}}
    (tmp_path / "mesh.yaml").write_text(yaml.safe_dump(platform))
    shutil.copytree(EXAMPLES / "products", tmp_path / "products")
    request = str(tmp_path / "products" / "finance-payroll.yaml")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        applied = runner.invoke(
            app,
            [
                "emulate",
                request,
                "--env",
                "moto",
                "--endpoint-url",
                url,
                "--services",
                "s3,iam,sts,kms,glue,athena,sns,events",
            ],
        )
        assert applied.exit_code == 0, applied.output
        assert "20 created, 0 updated, 0 skipped" in applied.output
        # moto would apply the conditional Denies to everyone: they are not handed over, and
        # verify says exactly that, and nothing else.
        assert (
            "not handed over: finance-payroll-access-bucket-policy: DenyDataAccessOutsideProduct"
            in applied.output
        )
        withheld = {("bucket", "TLS-only bucket policy"), ("bucket", "bucket policy as planned")}
        clean = runner.invoke(
            app, ["verify", request, "--env", "moto", "--endpoint-url", url, "--output", "json"]
        )
        assert clean.exit_code == 1, clean.output
        found = {(c["kind"], c["name"]) for c in json.loads(clean.output)["checks"] if c["status"] == "drift"}
        assert found == withheld
        import boto3

        s3 = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        s3.put_bucket_versioning(
            Bucket="acme-moto-finance-payroll", VersioningConfiguration={"Status": "Suspended"}
        )
        drifted = runner.invoke(
            app, ["verify", request, "--env", "moto", "--endpoint-url", url, "--output", "json"]
        )
        assert drifted.exit_code == 1
        document = json.loads(drifted.output)
        assert [
            (c["kind"], c["name"], c["detail"])
            for c in document["checks"]
            if c["status"] == "drift" and (c["kind"], c["name"]) not in withheld
        ] == [("bucket", "versioning enabled", "Suspended")]
    finally:
        server.stop()
