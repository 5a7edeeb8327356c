"""Real clients against a product `mesh emulate`d to a moto server with IAM enforcement on.

One moto server for the module: the sales/orders plan is applied once (as `mesh emulate`
applies it: moto detected, the conditional Denies moto would misjudge left out), roles
are assumed, then moto enforces identity policies. Each client is its own test:
pyarrow and DuckDB (httpfs from its PyPI package, no download) write Parquet as the
producer; DuckDB, pyarrow's S3 filesystem (reading a directory) and boto3 read it back
as a granted consumer; a non-granted domain is refused. The broad same-account identity
is refused by the bucket and key policies, which moto does not enforce: that request is
decided by evaluation, and its execution on moto is an expected failure with the reason.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from infra.aws.emulator import Target, apply_graph, is_moto, rewrite_account
from infra.model.policy_eval import authorize
from infra.model.spec import ProductSpec
from infra.synth import synthesize_spec
from infra.validation import load_spec

duckdb = pytest.importorskip("duckdb")
httpfs = pytest.importorskip("duckdb_extension_httpfs")
pa = pytest.importorskip("pyarrow")
pafs = pytest.importorskip("pyarrow.fs")
pq = pytest.importorskip("pyarrow.parquet")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ACCOUNT = "123456789012"
PORT = "order_lines"
OTHER_PORT = (
    "daily_revenue"  # non-Parquet test objects go here, so a directory read of PORT sees Parquet only
)
BROAD_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"}],
}


@dataclass
class Emulated:
    spec: ProductSpec
    graph_policies: dict[str, Any]
    url: str
    host: str
    port: int
    creds: dict[str, dict[str, str]]
    key_arn: str
    first_apply: list[str]
    second_apply: list[str]

    @property
    def bucket(self) -> str:
        return self.spec.require_aws().bucket

    def s3(self, who: str) -> Any:
        c = self.creds[who]
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.spec.require_aws().region,
            aws_access_key_id=c["AccessKeyId"],
            aws_secret_access_key=c["SecretAccessKey"],
            aws_session_token=c["SessionToken"],
        )

    def arrow(self, who: str) -> Any:
        c = self.creds[who]
        return pafs.S3FileSystem(
            access_key=c["AccessKeyId"],
            secret_key=c["SecretAccessKey"],
            session_token=c["SessionToken"],
            endpoint_override=f"{self.host}:{self.port}",
            scheme="http",
            region=self.spec.require_aws().region,
        )

    def duck(self, who: str) -> Any:
        c = self.creds[who]
        extension = (
            Path(httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
        )
        con = duckdb.connect()
        con.execute(f"LOAD '{extension}'")
        con.execute(
            "CREATE SECRET emulator (TYPE s3, KEY_ID ?, SECRET ?, SESSION_TOKEN ?, ENDPOINT ?, "
            "URL_STYLE 'path', USE_SSL false, REGION ?)".replace("?", "'{}'").format(
                c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], f"{self.host}:{self.port}",
                self.spec.require_aws().region,
            )
        )  # fmt: skip
        return con


def _moto_api(url: str, path: str, body: bytes) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        url + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    with opener.open(request, timeout=10) as response:
        response.read()


@pytest.fixture(scope="module")
def emulated() -> Iterator[Emulated]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        spec, _, _ = load_spec(
            EXAMPLES / "products" / "sales-orders.yaml", platform_path=None, environment=None
        )
        aws = spec.require_aws()
        graph = rewrite_account(synthesize_spec(spec), aws.account, ACCOUNT)
        spec = _in_account(spec)
        aws = spec.require_aws()
        target = Target(endpoint_url=url, region=aws.region, moto=is_moto(url))
        first = apply_graph(graph, target)
        second = apply_graph(graph, target)
        key_arn = next(v for k, v in second.values.items() if k.endswith("-key.arn>"))
        session = boto3.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name=aws.region
        )
        iam, sts = session.client("iam", endpoint_url=url), session.client("sts", endpoint_url=url)
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})  # fmt: skip
        support_bucket = "arn:aws:s3:::acme-dev-support-*"
        outsiders = {
            "support": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [support_bucket, f"{support_bucket}/*"]}]},
            "broad": BROAD_POLICY,
        }  # fmt: skip
        roles = {"producer": aws.role_arn(aws.producer_role)} | {
            g.domain: aws.role_arn(g.aws_role) for g in spec.grants
        }
        for who, policy in outsiders.items():
            name = f"acme-dev-{who}-{uuid.uuid4().hex[:6]}"
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
            iam.put_role_policy(RoleName=name, PolicyName="own", PolicyDocument=json.dumps(policy))
            roles[who] = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        creds = {
            who: sts.assume_role(RoleArn=arn, RoleSessionName=f"client-{who}")["Credentials"]
            for who, arn in roles.items()
        }
        seed = {who: {k: str(v) for k, v in c.items()} for who, c in creds.items()}
        policies = {
            "bucket": next(r.policy() for r in graph.of_type("aws:s3/bucketPolicy:BucketPolicy")),
            "key": next(r.policy() for r in graph.of_type("aws:kms/keyPolicy:KeyPolicy")),
            "broad-arn": roles["broad"],
        }
        _moto_api(url, "/moto-api/reset-auth", b"0")  # identity policies enforced from here on
        emulated = Emulated(
            spec, policies, url, host, port, seed, key_arn,
            [a.status for a in first.applied], [a.status for a in second.applied],
        )  # fmt: skip
        table = pa.table({"order_id": ["o-1", "o-2"], "amount": [12.5, 7.25]})
        pq.write_table(
            table, f"{emulated.bucket}/data/{PORT}/seed.parquet", filesystem=emulated.arrow("producer")
        )
        yield emulated
    finally:
        _moto_api(url, "/moto-api/reset-auth", b"inf")  # the setting is process-wide: switch it off
        server.stop()


def _in_account(spec: ProductSpec) -> ProductSpec:
    import dataclasses

    return dataclasses.replace(spec, aws=dataclasses.replace(spec.require_aws(), account=ACCOUNT))


def _denied(call: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return str(refused.value.response["Error"]["Code"])


def test_a_second_emulate_converges_instead_of_failing(emulated: Emulated) -> None:
    assert set(emulated.first_apply) == {"created"}
    assert len(emulated.second_apply) == len(emulated.first_apply)
    # Roles, the boundary, the key and its alias, the catalog: found and updated, never duplicated.
    assert emulated.second_apply.count("updated") >= 8, emulated.second_apply


def test_producer_writes_parquet_with_pyarrow(emulated: Emulated) -> None:
    table = pa.table({"order_id": ["o-3"], "amount": [1.0]})
    path = f"{emulated.bucket}/data/{PORT}/arrow-{uuid.uuid4().hex[:6]}.parquet"
    pq.write_table(table, path, filesystem=emulated.arrow("producer"))
    assert pq.read_table(path, filesystem=emulated.arrow("producer")).num_rows == 1


def test_producer_writes_parquet_with_duckdb(emulated: Emulated) -> None:
    key = f"data/{PORT}/duck-{uuid.uuid4().hex[:6]}.parquet"
    con = emulated.duck("producer")
    con.execute(
        f"COPY (SELECT 'o-4' AS order_id, 3.5 AS amount) TO 's3://{emulated.bucket}/{key}' (FORMAT parquet)"
    )
    head = emulated.s3("producer").head_object(Bucket=emulated.bucket, Key=key)
    assert head["ContentLength"] > 0


def test_an_upload_without_a_header_lands_under_the_product_key(emulated: Emulated) -> None:
    s3 = emulated.s3("producer")
    key = f"data/{OTHER_PORT}/plain-{uuid.uuid4().hex[:6]}.json"
    s3.put_object(Bucket=emulated.bucket, Key=key, Body=b"{}")
    head = s3.head_object(Bucket=emulated.bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == emulated.key_arn


def test_producer_completes_a_multipart_upload(emulated: Emulated) -> None:
    s3, key = emulated.s3("producer"), f"data/{OTHER_PORT}/multipart-{uuid.uuid4().hex[:6]}.bin"
    upload = s3.create_multipart_upload(Bucket=emulated.bucket, Key=key)["UploadId"]
    parts = [
        {"PartNumber": n, "ETag": s3.upload_part(Bucket=emulated.bucket, Key=key, UploadId=upload, PartNumber=n, Body=body)["ETag"]}
        for n, body in ((1, b"a" * 5 * 1024 * 1024), (2, b"b"))
    ]  # fmt: skip
    s3.list_parts(Bucket=emulated.bucket, Key=key, UploadId=upload)
    s3.complete_multipart_upload(
        Bucket=emulated.bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": parts}
    )
    assert s3.head_object(Bucket=emulated.bucket, Key=key)["ContentLength"] == 5 * 1024 * 1024 + 1


def test_granted_consumer_reads_with_duckdb(emulated: Emulated) -> None:
    rows = (
        emulated.duck("marketing")
        .execute(f"SELECT count(*) FROM read_parquet('s3://{emulated.bucket}/data/{PORT}/seed.parquet')")
        .fetchone()
    )
    assert rows == (2,)


def test_granted_consumer_reads_a_port_as_a_directory_with_pyarrow(emulated: Emulated) -> None:
    # Arrow HEADs the bare key data/<port> before listing: that must be "not found", not "denied".
    table = pq.read_table(f"{emulated.bucket}/data/{PORT}/", filesystem=emulated.arrow("marketing"))
    assert table.num_rows >= 2
    assert set(table.column_names) >= {"order_id", "amount"}


def test_granted_consumer_reads_with_boto3(emulated: Emulated) -> None:
    s3 = emulated.s3("marketing")
    listed = s3.list_objects_v2(Bucket=emulated.bucket, Prefix=f"data/{PORT}/")
    assert any(o["Key"].endswith("seed.parquet") for o in listed["Contents"])
    body = s3.get_object(Bucket=emulated.bucket, Key=f"data/{PORT}/seed.parquet")["Body"].read()
    assert body.startswith(b"PAR1")
    assert _denied(lambda: s3.head_object(Bucket=emulated.bucket, Key=f"data/{PORT}")) == "404"
    assert (
        _denied(lambda: s3.put_object(Bucket=emulated.bucket, Key=f"data/{PORT}/x", Body=b"x"))
        == "AccessDenied"
    )


def test_a_non_granted_domain_is_refused(emulated: Emulated) -> None:
    s3 = emulated.s3("support")
    assert (
        _denied(lambda: s3.get_object(Bucket=emulated.bucket, Key=f"data/{PORT}/seed.parquet"))
        == "AccessDenied"
    )
    with pytest.raises(duckdb.Error, match=r"403|AccessDenied|Forbidden"):
        emulated.duck("support").execute(
            f"SELECT count(*) FROM read_parquet('s3://{emulated.bucket}/data/{PORT}/seed.parquet')"
        ).fetchone()
    with pytest.raises(OSError, match=r"ACCESS_DENIED|AccessDenied|403"):
        pq.read_table(f"{emulated.bucket}/data/{PORT}/", filesystem=emulated.arrow("support"))


def test_the_broad_identity_is_refused_by_the_bucket_and_key_policies(emulated: Emulated) -> None:
    aws = emulated.spec.require_aws()
    for action, resource, policy, key_policy in (
        (
            "s3:GetObject",
            f"{aws.bucket_arn}/data/{PORT}/seed.parquet",
            emulated.graph_policies["bucket"],
            False,
        ),
        ("s3:ListBucket", aws.bucket_arn, emulated.graph_policies["bucket"], False),
        ("s3:PutObject", f"{aws.bucket_arn}/data/{PORT}/x", emulated.graph_policies["bucket"], False),
        ("kms:Decrypt", emulated.key_arn, emulated.graph_policies["key"], True),
    ):
        decision = authorize(
            action=action,
            resource=resource,
            principal=emulated.graph_policies["broad-arn"],
            identity=[BROAD_POLICY],
            resource_policy=policy,
            key_policy=key_policy,
            context={"aws:SecureTransport": "true"},
        )
        assert decision.allowed is False, (action, decision)


@pytest.mark.xfail(
    strict=True,
    reason="moto does not enforce bucket or key policies: the perimeter that refuses the broad "
    "identity on AWS is not handed over to moto (mesh emulate says so) and is proven by evaluation",
)
def test_the_broad_identity_is_refused_when_executed_on_moto(emulated: Emulated) -> None:
    s3 = emulated.s3("broad")
    assert (
        _denied(lambda: s3.get_object(Bucket=emulated.bucket, Key=f"data/{PORT}/seed.parquet"))
        == "AccessDenied"
    )
