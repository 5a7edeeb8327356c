"""Real requests against a LocalStack server, and the behaviour of its runner script.

The ``localstack``-marked tests need a server (see ``conftest.py``): they create a KMS
key with rotation, an S3 bucket with SSE-KMS default encryption, the four public
access blocks and versioning, an IAM role with a trust policy, and ask STS who the
caller is. Every name is unique per test, so the tests can share a long-running server.

The script tests at the end need no server and no Python 3.13.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "localstack" / "mesh_localstack.py"
REGION = "us-east-1"
LOCALSTACK_ACCOUNT = "000000000000"  # the account LocalStack gives the access key "test"

Client = Any
MakeClient = Callable[[str], Client]


def unique(prefix: str) -> str:
    """A lowercase name that no other test (or earlier run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def aws(localstack_endpoint: str) -> MakeClient:
    """Make boto3 clients for the LocalStack endpoint with the dummy credentials."""
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        s3={"addressing_style": "path"},
    )

    def make(service: str) -> Client:
        return boto3.client(
            service,
            endpoint_url=localstack_endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name=REGION,
            config=config,
        )

    return make


@pytest.fixture
def kms_key(aws: MakeClient) -> Iterator[dict[str, Any]]:
    """A fresh symmetric customer managed key with rotation enabled (deletion scheduled after)."""
    kms = aws("kms")
    meta = kms.create_key(
        Description=unique("mesh-test-key"),
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
        Tags=[{"TagKey": "mesh:test", "TagValue": "localstack"}],
    )["KeyMetadata"]
    kms.enable_key_rotation(KeyId=meta["KeyId"])
    yield meta
    kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)


def _empty_and_delete_bucket(s3: Client, bucket: str) -> None:
    """Delete every object version and delete marker, then the bucket."""
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
    for page in pages:
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
    s3.delete_bucket(Bucket=bucket)


@pytest.fixture
def bucket(aws: MakeClient) -> Iterator[str]:
    """A fresh bucket name, emptied and deleted after the test."""
    s3 = aws("s3")
    name = unique("mesh-ls-test")
    s3.create_bucket(Bucket=name)
    yield name
    _empty_and_delete_bucket(s3, name)


@pytest.fixture
def role_name(aws: MakeClient) -> Iterator[str]:
    """A fresh role name; the role (and its inline policies) is deleted after the test."""
    name = unique("mesh-ls-role")
    yield name
    iam = aws("iam")
    try:
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        pass


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


@pytest.mark.localstack
def test_kms_key_with_rotation_reads_back(aws: MakeClient, kms_key: dict[str, Any]) -> None:
    kms = aws("kms")
    status = kms.get_key_rotation_status(KeyId=kms_key["KeyId"])
    assert status["KeyRotationEnabled"] is True

    described = kms.describe_key(KeyId=kms_key["Arn"])["KeyMetadata"]
    assert described["KeyState"] == "Enabled"
    assert described["KeyManager"] == "CUSTOMER"
    assert described["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert described["Arn"].startswith(f"arn:aws:kms:{REGION}:{LOCALSTACK_ACCOUNT}:key/")

    kms.disable_key_rotation(KeyId=kms_key["KeyId"])
    assert kms.get_key_rotation_status(KeyId=kms_key["KeyId"])["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=kms_key["KeyId"])

    # The key really encrypts: a round trip through it.
    blob = kms.encrypt(KeyId=kms_key["KeyId"], Plaintext=b"mesh")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"mesh"


@pytest.mark.localstack
def test_s3_bucket_sse_kms_public_access_block_versioning(
    aws: MakeClient, kms_key: dict[str, Any], bucket: str
) -> None:
    s3 = aws("s3")
    key_arn = kms_key["Arn"]

    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": key_arn,
    }
    assert rule["BucketKeyEnabled"] is True
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    # No SSE parameters on the request: the bucket default applies.
    key = "orders/order_date=2026-01-01/part-0.json"
    first = s3.put_object(Bucket=bucket, Key=key, Body=b'{"order_id": "1"}')
    assert first["ServerSideEncryption"] == "aws:kms"
    assert first["SSEKMSKeyId"] == key_arn
    assert first["BucketKeyEnabled"] is True
    assert first["VersionId"]

    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == b'{"order_id": "1"}'
    assert got["ServerSideEncryption"] == "aws:kms"
    assert got["SSEKMSKeyId"] == key_arn
    assert got["VersionId"] == first["VersionId"]
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-server-side-encryption"] == "aws:kms"
    assert headers["x-amz-server-side-encryption-aws-kms-key-id"] == key_arn

    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn

    # Versioning keeps the overwritten object.
    second = s3.put_object(Bucket=bucket, Key=key, Body=b'{"order_id": "2"}')
    assert second["VersionId"] != first["VersionId"]
    versions = s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]
    assert {v["VersionId"] for v in versions} == {first["VersionId"], second["VersionId"]}
    old = s3.get_object(Bucket=bucket, Key=key, VersionId=first["VersionId"])
    assert old["Body"].read() == b'{"order_id": "1"}'


@pytest.mark.localstack
def test_iam_role_with_trust_policy_reads_back(aws: MakeClient, role_name: str) -> None:
    iam = aws("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "glue.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": LOCALSTACK_ACCOUNT}},
            }
        ],
    }
    created = iam.create_role(
        RoleName=role_name,
        Path="/mesh/",
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="mesh LocalStack test role",
        MaxSessionDuration=3600,
        Tags=[{"Key": "mesh:domain", "Value": "sales"}],
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::{LOCALSTACK_ACCOUNT}:role/mesh/{role_name}"

    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["AssumeRolePolicyDocument"] == trust  # boto3 decodes the URL-encoded JSON
    assert role["Path"] == "/mesh/"
    assert role["MaxSessionDuration"] == 3600
    assert {"Key": "mesh:domain", "Value": "sales"} in role["Tags"]

    read_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::mesh-sales-orders", "arn:aws:s3:::mesh-sales-orders/*"],
            }
        ],
    }
    iam.put_role_policy(RoleName=role_name, PolicyName="read", PolicyDocument=json.dumps(read_only))
    assert iam.get_role_policy(RoleName=role_name, PolicyName="read")["PolicyDocument"] == read_only

    # Malformed policy documents are rejected as on AWS.
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName="no-resource",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}
            ),
        )


@pytest.mark.localstack
def test_sts_get_caller_identity(aws: MakeClient) -> None:
    identity = aws("sts").get_caller_identity()
    assert identity["Account"] == LOCALSTACK_ACCOUNT
    assert identity["Arn"] == f"arn:aws:iam::{LOCALSTACK_ACCOUNT}:root"


@pytest.mark.localstack
def test_known_gap_community_edition_enforces_no_policies(
    aws: MakeClient, bucket: str, role_name: str
) -> None:
    """LocalStack community evaluates no IAM, bucket or trust policy.

    Isolation cannot be proven here by a denied request; mesh proves it with moto
    (identity policies of assumed roles) or by evaluating the documents. If a
    LocalStack upgrade starts enforcing, this test fails: then the proofs can use it.
    """
    s3, iam, sts = aws("s3"), aws("iam"), aws("sts")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        ),
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"  # AWS: AccessDenied

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "glue.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    # The trust policy names only Glue, yet the account root may assume it here.
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="mesh-test")["Credentials"]
    assert creds["AccessKeyId"]


# --------------------------------------------------------------------------------------
# The runner script (no server needed)
# --------------------------------------------------------------------------------------


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _run_script(
    *args: str, state_dir: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the script with its pid/log files in ``state_dir`` (never the repository's)."""
    env = {**os.environ, "MESH_LOCALSTACK_STATE_DIR": str(state_dir), **(extra_env or {})}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_script_status_exits_1_when_nothing_listens(tmp_path: Path) -> None:
    port = _free_port()
    done = _run_script("status", "--port", str(port), state_dir=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"LocalStack is not running at http://127.0.0.1:{port}" in done.stdout
    assert "nothing answers" in done.stdout
    assert "mesh_localstack.py start" in done.stdout


def test_script_env_prints_export_lines(tmp_path: Path) -> None:
    done = _run_script("env", state_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "export AWS_ENDPOINT_URL=http://127.0.0.1:4566",
        "export AWS_ACCESS_KEY_ID=test",
        "export AWS_SECRET_ACCESS_KEY=test",
        "export AWS_DEFAULT_REGION=us-east-1",
    ]
    other = _run_script("env", "--port", "4599", state_dir=tmp_path)
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:4599" in other.stdout.splitlines()


def test_script_stop_when_not_running_exits_0(tmp_path: Path) -> None:
    done = _run_script("stop", state_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "not running" in done.stdout

    # A pid file left by a dead process is cleaned up, and nothing is signalled.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "localstack.pid").write_text(f"{dead.pid}\n", encoding="utf-8")
    done = _run_script("stop", state_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "stale pid file" in done.stdout
    assert not (tmp_path / "localstack.pid").exists()


def test_script_start_without_python313_says_how_to_get_it(tmp_path: Path) -> None:
    done = _run_script(
        "start",
        "--port",
        str(_free_port()),
        state_dir=tmp_path / "state",
        extra_env={
            "MESH_PYTHON313": str(tmp_path / "no-such-python3.13"),
            "MESH_LOCALSTACK_VENV": str(tmp_path / "venv"),
        },
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "The LocalStack tests need Python 3.13" in done.stderr
    assert "pyenv install 3.13" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_script_help_lists_the_commands(tmp_path: Path) -> None:
    done = _run_script("--help", state_dir=tmp_path)
    assert done.returncode == 0
    for command in ("start", "status", "stop", "env", "MESH_LOCALSTACK=1"):
        assert command in done.stdout
