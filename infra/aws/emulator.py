"""Apply a ResourceGraph to an AWS API emulator with boto3 — a verification tool.

This is NOT a second way to provision: it exists so that the resources `mesh plan`
synthesizes meet real AWS APIs (input validation, policy parsing, IAM enforcement) on
machines where the Pulumi engine cannot run. It refuses any endpoint that is not
loopback, and in-process moto needs no endpoint at all. Real environments are only
ever changed by `mesh provision` through Pulumi.

Resources are applied in dependency order; placeholders such as `<name.keyId>` are
replaced by the identifiers the emulator returns. Types an emulator does not offer
(LocalStack community has no Glue or Athena) are skipped with the reason recorded.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.aws import types
from infra.aws.types import TYPES
from infra.model.errors import MeshError
from infra.model.graph import Resource, ResourceGraph

PLACEHOLDER = re.compile(r"<[^<>\s]+\.[A-Za-z]+>")
SERVICE_OF_TYPE = {
    "aws:s3": "s3",
    "aws:kms": "kms",
    "aws:iam": "iam",
    "aws:glue": "glue",
    "aws:athena": "athena",
    "aws:sns": "sns",
    "aws:cloudwatch": "events",
}
ALL_SERVICES = frozenset(SERVICE_OF_TYPE.values())
BUCKET_POLICY = types.BUCKET_POLICY.token
LOCALSTACK_COMMUNITY_SERVICES = frozenset({"s3", "kms", "iam", "sts"})


class EmulatorError(MeshError):
    """The emulator refused a resource, or the endpoint is not allowed."""


def require_loopback(endpoint_url: str) -> None:
    """Refuse endpoints that are not on this machine: the applier is for emulators only."""
    host = urlparse(endpoint_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise EmulatorError(
            f"{endpoint_url} is not a loopback address; the emulator applier only talks to emulators on this machine",
            hint="Use 127.0.0.1 or localhost (LocalStack, a moto server). Real environments are changed by `mesh provision`.",
        )


@dataclass(frozen=True)
class Target:
    """Where to apply: in-process moto (no endpoint) or a loopback emulator endpoint."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    services: frozenset[str] = ALL_SERVICES
    access_key: str = "test"
    secret_key: str = "test"  # emulator credentials, not a secret
    moto: bool = False  # moto applies bucket-policy Denies without their conditions (see `for_moto`)

    def session(self) -> boto3.Session:
        """A boto3 session with the emulator credentials."""
        if self.endpoint_url is not None:
            require_loopback(self.endpoint_url)
        return boto3.Session(
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key, region_name=self.region
        )

    def client(
        self, service: str, session: boto3.Session | None = None
    ) -> Any:  # boto3 clients are typed per service; mesh picks the service at run time
        """A client for `service` at the target."""
        chosen: Any = session or self.session()
        return chosen.client(service, endpoint_url=self.endpoint_url, region_name=self.region)


@dataclass
class Applied:
    """What happened to one resource."""

    urn: str
    type: str
    name: str
    status: str  # "created" | "updated" (it existed: a second apply converges) | "skipped"
    reason: str = ""
    physical: str = ""


@dataclass
class ApplyResult:
    """Every resource's outcome and the real values that replaced placeholders."""

    applied: list[Applied] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    withheld: list[str] = field(default_factory=list)  # "<resource>: <Sid> — why", not handed over

    @property
    def created(self) -> list[Applied]:
        """Resources the emulator now holds that this apply created."""
        return [a for a in self.applied if a.status == "created"]

    @property
    def updated(self) -> list[Applied]:
        """Resources that already existed and were brought to the plan's inputs."""
        return [a for a in self.applied if a.status == "updated"]

    @property
    def skipped(self) -> list[Applied]:
        """Resources not applied, each with its reason."""
        return [a for a in self.applied if a.status == "skipped"]


def rewrite_account(graph: ResourceGraph, old: str, new: str) -> ResourceGraph:
    """The same graph with every occurrence of account `old` replaced by `new` (emulators use fixed accounts)."""
    if old == new:
        return graph
    text = json.dumps(graph.as_dict()).replace(f":{old}:", f":{new}:").replace(f'"{old}"', f'"{new}"')
    return ResourceGraph.from_dict(json.loads(text))


def for_moto(document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A bucket policy as moto can hold it faithfully, and the Sids left out.

    moto applies a bucket policy's Deny statements while ignoring their conditions and
    principals, so a conditional Deny (TLS only, the data perimeter, "uploads must use
    the product key") refuses every request, the product's own roles included. Those
    statements are left out; what they decide is proven by evaluation (`mesh prove`).
    """
    keep, dropped = [], []
    for statement in document.get("Statement", []):
        if statement.get("Effect") == "Deny" and statement.get("Condition"):
            dropped.append(str(statement.get("Sid", "?")))
        else:
            keep.append(statement)
    return {**document, "Statement": keep}, dropped


def is_moto(endpoint_url: str) -> bool:
    """Whether a loopback endpoint is a moto server (it answers `/moto-api/`)."""
    import urllib.error  # noqa: PLC0415 - only `mesh emulate` asks
    import urllib.request  # noqa: PLC0415

    require_loopback(endpoint_url)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(endpoint_url.rstrip("/") + "/moto-api/data.json", timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


# Error codes that mean "it is already there": a second apply updates instead of failing.
ALREADY_EXISTS = frozenset(
    {"EntityAlreadyExists", "AlreadyExistsException", "BucketAlreadyOwnedByYou", "BucketAlreadyExists"}
)


def order(graph: ResourceGraph) -> list[Resource]:
    """Cloud resources in dependency order (stable: registration order among equals)."""
    resources = graph.cloud_resources()
    position = {r.urn: i for i, r in enumerate(resources)}
    done: set[str] = set()
    ordered: list[Resource] = []

    def visit(resource: Resource, trail: tuple[str, ...]) -> None:
        if resource.urn in done:
            return
        if resource.urn in trail:
            raise ValueError(f"dependency cycle through {resource.urn}")
        for dependency in resource.dependencies:
            if dependency in position:
                visit(resources[position[dependency]], (*trail, resource.urn))
        done.add(resource.urn)
        ordered.append(resource)

    for resource in resources:
        visit(resource, ())
    return ordered


def _substitute(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), value)
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, values) for k, v in value.items()}
    return value


def _tags(inputs: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted((inputs.get("tags") or {}).items())]


class _Exists(Exception):
    """Raised by an applier that found its resource from an earlier apply (its physical id)."""


class _Applier:
    """One boto3 call (or a few) per resource type."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.session = target.session()
        self.clients: dict[str, Any] = {}
        self.values: dict[str, str] = {}
        self.withheld: list[str] = []

    def client(
        self, service: str
    ) -> Any:  # boto3 clients are typed per service; mesh picks the service at run time
        if service not in self.clients:
            self.clients[service] = self.target.client(service, self.session)
        return self.clients[service]

    def account(self) -> str:
        """The emulator's account id."""
        return str(self.client("sts").get_caller_identity()["Account"])

    # --- S3 -------------------------------------------------------------------------
    def bucket(self, r: Resource, i: dict[str, Any]) -> str:
        s3 = self.client("s3")
        kwargs: dict[str, Any] = {"Bucket": i["bucket"]}
        if self.target.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.target.region}
        s3.create_bucket(**kwargs)
        if i.get("tags"):
            s3.put_bucket_tagging(Bucket=i["bucket"], Tagging={"TagSet": _tags(i)})
        return str(i["bucket"])

    def converge_bucket(self, r: Resource, i: dict[str, Any]) -> str:
        if i.get("tags"):
            self.client("s3").put_bucket_tagging(Bucket=i["bucket"], Tagging={"TagSet": _tags(i)})
        return str(i["bucket"])

    def public_access_block(self, r: Resource, i: dict[str, Any]) -> str:
        self.client("s3").put_public_access_block(
            Bucket=i["bucket"],
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": bool(i.get("blockPublicAcls")),
                "IgnorePublicAcls": bool(i.get("ignorePublicAcls")),
                "BlockPublicPolicy": bool(i.get("blockPublicPolicy")),
                "RestrictPublicBuckets": bool(i.get("restrictPublicBuckets")),
            },
        )
        return str(i["bucket"])

    def ownership(self, r: Resource, i: dict[str, Any]) -> str:
        self.client("s3").put_bucket_ownership_controls(
            Bucket=i["bucket"],
            OwnershipControls={"Rules": [{"ObjectOwnership": i["rule"]["objectOwnership"]}]},
        )
        return str(i["bucket"])

    def versioning(self, r: Resource, i: dict[str, Any]) -> str:
        self.client("s3").put_bucket_versioning(
            Bucket=i["bucket"], VersioningConfiguration={"Status": i["versioningConfiguration"]["status"]}
        )
        return str(i["bucket"])

    def encryption(self, r: Resource, i: dict[str, Any]) -> str:
        rules = []
        for rule in i["rules"]:
            default = rule["applyServerSideEncryptionByDefault"]
            entry: dict[str, Any] = {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": default["sseAlgorithm"]}
            }
            if default.get("kmsMasterKeyId"):
                entry["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] = default["kmsMasterKeyId"]
            if "bucketKeyEnabled" in rule:
                entry["BucketKeyEnabled"] = bool(rule["bucketKeyEnabled"])
            rules.append(entry)
        self.client("s3").put_bucket_encryption(
            Bucket=i["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
        )
        return str(i["bucket"])

    def lifecycle(self, r: Resource, i: dict[str, Any]) -> str:
        rules = []
        for rule in i["rules"]:
            entry: dict[str, Any] = {
                "ID": rule["id"],
                "Status": rule["status"],
                "Filter": {"Prefix": (rule.get("filter") or {}).get("prefix", "")},
            }
            if "expiration" in rule:
                entry["Expiration"] = {"Days": rule["expiration"]["days"]}
            if "noncurrentVersionExpiration" in rule:
                entry["NoncurrentVersionExpiration"] = {
                    "NoncurrentDays": rule["noncurrentVersionExpiration"]["noncurrentDays"]
                }
            if "abortIncompleteMultipartUpload" in rule:
                entry["AbortIncompleteMultipartUpload"] = {
                    "DaysAfterInitiation": rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"]
                }
            rules.append(entry)
        self.client("s3").put_bucket_lifecycle_configuration(
            Bucket=i["bucket"], LifecycleConfiguration={"Rules": rules}
        )
        return str(i["bucket"])

    def logging(self, r: Resource, i: dict[str, Any]) -> str:
        s3 = self.client("s3")
        target = i["targetBucket"]
        try:
            s3.head_bucket(Bucket=target)
        except ClientError:
            # The access-log bucket belongs to the platform stack; stand it in so logging can point at it.
            kwargs: dict[str, Any] = {"Bucket": target}
            if self.target.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.target.region}
            s3.create_bucket(**kwargs)
            delivery = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "S3ServerAccessLogsDelivery",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{target}/*",
                    }
                ],
            }
            s3.put_bucket_policy(Bucket=target, Policy=json.dumps(delivery))
        s3.put_bucket_logging(
            Bucket=i["bucket"],
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": i.get("targetPrefix", "")}
            },
        )
        return str(i["bucket"])

    def bucket_policy(self, r: Resource, i: dict[str, Any]) -> str:
        policy = i["policy"]
        if self.target.moto:
            document, dropped = for_moto(json.loads(policy))
            policy = json.dumps(document)
            self.withheld += [
                f"{r.name}: {sid} — moto would apply this conditional Deny to every request"
                for sid in dropped
            ]
        self.client("s3").put_bucket_policy(Bucket=i["bucket"], Policy=policy)
        return str(i["bucket"])

    def bucket_object(self, r: Resource, i: dict[str, Any]) -> str:
        body: bytes = b""
        source = i.get("source")
        if isinstance(source, dict) and "fileAsset" in source:
            body = Path(source["fileAsset"]).read_bytes()
        elif isinstance(i.get("content"), str):
            body = i["content"].encode()
        kwargs: dict[str, Any] = {"Bucket": i["bucket"], "Key": i["key"], "Body": body}
        if i.get("serverSideEncryption"):
            kwargs["ServerSideEncryption"] = i["serverSideEncryption"]
        if i.get("kmsKeyId"):
            kwargs["SSEKMSKeyId"] = i["kmsKeyId"]
        if i.get("contentType"):
            kwargs["ContentType"] = i["contentType"]
        self.client("s3").put_object(**kwargs)
        return f"{i['bucket']}/{i['key']}"

    # --- KMS ------------------------------------------------------------------------
    def key(self, r: Resource, i: dict[str, Any]) -> str:
        kms = self.client("kms")
        existing = self._existing_key(i)
        if existing is not None:
            self.values[f"<{r.name}.keyId>"] = existing["KeyId"]
            self.values[f"<{r.name}.arn>"] = existing["Arn"]
            raise _Exists(str(existing["KeyId"]))
        created = kms.create_key(
            Description=i.get("description", ""),
            KeyUsage=i.get("keyUsage", "ENCRYPT_DECRYPT"),
            KeySpec=i.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT"),
            Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in _tags(i)],
        )["KeyMetadata"]
        if i.get("enableKeyRotation"):
            kms.enable_key_rotation(KeyId=created["KeyId"])
        self.values[f"<{r.name}.keyId>"] = created["KeyId"]
        self.values[f"<{r.name}.arn>"] = created["Arn"]
        return str(created["KeyId"])

    def _existing_key(self, i: dict[str, Any]) -> dict[str, Any] | None:
        """A key an earlier apply created for this resource: same description and tags."""
        kms = self.client("kms")
        wanted = {t["Key"]: t["Value"] for t in _tags(i)}
        for listed in kms.list_keys()["Keys"]:
            metadata = kms.describe_key(KeyId=listed["KeyId"])["KeyMetadata"]
            if metadata.get("KeyState") != "Enabled" or metadata.get("Description") != i.get(
                "description", ""
            ):
                continue
            tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=listed["KeyId"])["Tags"]}
            if tags == wanted:
                return dict(metadata)
        return None

    def alias(self, r: Resource, i: dict[str, Any]) -> str:
        self.client("kms").create_alias(AliasName=i["name"], TargetKeyId=i["targetKeyId"])
        return str(i["name"])

    def converge_alias(self, r: Resource, i: dict[str, Any]) -> str:
        self.client("kms").update_alias(AliasName=i["name"], TargetKeyId=i["targetKeyId"])
        return str(i["name"])

    def key_policy(self, r: Resource, i: dict[str, Any]) -> str:
        self.client("kms").put_key_policy(KeyId=i["keyId"], PolicyName="default", Policy=i["policy"])
        return str(i["keyId"])

    # --- IAM ------------------------------------------------------------------------
    def policy(self, r: Resource, i: dict[str, Any]) -> str:
        created = self.client("iam").create_policy(
            PolicyName=i["name"],
            Path=i.get("path", "/"),
            PolicyDocument=i["policy"],
            Description=i.get("description", ""),
            Tags=_tags(i),
        )["Policy"]
        return str(created["Arn"])

    def converge_policy(self, r: Resource, i: dict[str, Any]) -> str:
        iam = self.client("iam")
        arn = f"arn:aws:iam::{self.account()}:policy{i.get('path', '/')}{i['name']}"
        for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=i["policy"], SetAsDefault=True)
        return arn

    def role(self, r: Resource, i: dict[str, Any]) -> str:
        kwargs: dict[str, Any] = {
            "RoleName": i["name"],
            "Path": i.get("path", "/"),
            "AssumeRolePolicyDocument": i["assumeRolePolicy"],
            "Description": i.get("description", ""),
            "MaxSessionDuration": i.get("maxSessionDuration", 3600),
            "Tags": _tags(i),
        }
        if i.get("permissionsBoundary"):
            kwargs["PermissionsBoundary"] = i["permissionsBoundary"]
        created = self.client("iam").create_role(**kwargs)["Role"]
        self.values[f"<{r.name}.uniqueId>"] = created["RoleId"]
        return str(created["Arn"])

    def converge_role(self, r: Resource, i: dict[str, Any]) -> str:
        iam = self.client("iam")
        iam.update_assume_role_policy(RoleName=i["name"], PolicyDocument=i["assumeRolePolicy"])
        if i.get("permissionsBoundary"):
            iam.put_role_permissions_boundary(
                RoleName=i["name"], PermissionsBoundary=i["permissionsBoundary"]
            )
        role = iam.get_role(RoleName=i["name"])["Role"]
        self.values[f"<{r.name}.uniqueId>"] = role["RoleId"]
        return str(role["Arn"])

    def role_policy(self, r: Resource, i: dict[str, Any]) -> str:
        self.client("iam").put_role_policy(
            RoleName=i["role"], PolicyName=i["name"], PolicyDocument=i["policy"]
        )
        return f"{i['role']}:{i['name']}"

    # --- Glue and Athena --------------------------------------------------------------
    def database(self, r: Resource, i: dict[str, Any]) -> str:
        glue = self.client("glue")
        glue.create_database(
            DatabaseInput={
                "Name": i["name"],
                "Description": i.get("description", ""),
                "LocationUri": i.get("locationUri", ""),
                "Parameters": i.get("parameters", {}),
            },
            Tags=i.get("tags") or {},
        )
        return str(i["name"])

    def converge_table(self, r: Resource, i: dict[str, Any]) -> str:
        # Recreate rather than diff: the table input is rebuilt by `table` itself.
        self.client("glue").delete_table(DatabaseName=i["databaseName"], Name=i["name"])
        return self.table(r, i)

    def table(self, r: Resource, i: dict[str, Any]) -> str:
        sd = i.get("storageDescriptor") or {}
        descriptor: dict[str, Any] = {
            "Columns": [
                {
                    "Name": c["name"],
                    "Type": c["type"],
                    **({"Comment": c["comment"]} if c.get("comment") else {}),
                }
                for c in sd.get("columns", [])
            ],
            "Location": sd.get("location", ""),
        }
        if sd.get("inputFormat"):
            descriptor |= {
                "InputFormat": sd["inputFormat"],
                "OutputFormat": sd["outputFormat"],
                "Compressed": bool(sd.get("compressed")),
                "SerdeInfo": {
                    "SerializationLibrary": sd["serDeInfo"]["serializationLibrary"],
                    "Parameters": sd["serDeInfo"].get("parameters", {}),
                },
            }
        table_input: dict[str, Any] = {
            "Name": i["name"],
            "Description": i.get("description", ""),
            "TableType": i.get("tableType", "EXTERNAL_TABLE"),
            "Parameters": i.get("parameters", {}),
            "StorageDescriptor": descriptor,
            "PartitionKeys": [
                {
                    "Name": k["name"],
                    "Type": k["type"],
                    **({"Comment": k["comment"]} if k.get("comment") else {}),
                }
                for k in i.get("partitionKeys", [])
            ],
        }
        self.client("glue").create_table(DatabaseName=i["databaseName"], TableInput=table_input)
        return f"{i['databaseName']}.{i['name']}"

    def security_configuration(self, r: Resource, i: dict[str, Any]) -> str:
        enc = i["encryptionConfiguration"]
        self.client("glue").create_security_configuration(
            Name=i["name"],
            EncryptionConfiguration={
                "S3Encryption": [
                    {
                        "S3EncryptionMode": enc["s3Encryption"]["s3EncryptionMode"],
                        "KmsKeyArn": enc["s3Encryption"].get("kmsKeyArn", ""),
                    }
                ],
                "CloudWatchEncryption": {
                    "CloudWatchEncryptionMode": enc["cloudwatchEncryption"]["cloudwatchEncryptionMode"],
                    "KmsKeyArn": enc["cloudwatchEncryption"].get("kmsKeyArn", ""),
                },
                "JobBookmarksEncryption": {
                    "JobBookmarksEncryptionMode": enc["jobBookmarksEncryption"]["jobBookmarksEncryptionMode"],
                    "KmsKeyArn": enc["jobBookmarksEncryption"].get("kmsKeyArn", ""),
                },
            },
        )
        return str(i["name"])

    def job(self, r: Resource, i: dict[str, Any]) -> str:
        command = i["command"]
        self.client("glue").create_job(
            Name=i["name"],
            Role=i["roleArn"],
            Command={
                "Name": command["name"],
                "ScriptLocation": command["scriptLocation"],
                "PythonVersion": command.get("pythonVersion", "3"),
            },
            DefaultArguments=i.get("defaultArguments", {}),
            GlueVersion=i.get("glueVersion", "4.0"),
            SecurityConfiguration=i.get("securityConfiguration", ""),
            MaxRetries=i.get("maxRetries", 0),
            Timeout=i.get("timeout", 60),
            WorkerType=i.get("workerType", "G.1X"),
            NumberOfWorkers=i.get("numberOfWorkers", 2),
            Tags=i.get("tags") or {},
        )
        return str(i["name"])

    def trigger(self, r: Resource, i: dict[str, Any]) -> str:
        self.client("glue").create_trigger(
            Name=i["name"],
            Type=i["type"],
            Schedule=i.get("schedule", ""),
            Actions=[{"JobName": a["jobName"]} for a in i.get("actions", [])],
            StartOnCreation=bool(i.get("startOnCreation")),
            Tags=i.get("tags") or {},
        )
        return str(i["name"])

    def workgroup(self, r: Resource, i: dict[str, Any]) -> str:
        config = i.get("configuration") or {}
        results = config.get("resultConfiguration") or {}
        encryption = results.get("encryptionConfiguration") or {}
        configuration: dict[str, Any] = {
            "EnforceWorkGroupConfiguration": bool(config.get("enforceWorkgroupConfiguration")),
            "PublishCloudWatchMetricsEnabled": bool(config.get("publishCloudwatchMetricsEnabled")),
            "ResultConfiguration": {"OutputLocation": results.get("outputLocation", "")},
        }
        if encryption:
            configuration["ResultConfiguration"]["EncryptionConfiguration"] = {
                "EncryptionOption": encryption["encryptionOption"],
                **({"KmsKey": encryption["kmsKeyArn"]} if encryption.get("kmsKeyArn") else {}),
            }
        if config.get("bytesScannedCutoffPerQuery"):
            configuration["BytesScannedCutoffPerQuery"] = int(config["bytesScannedCutoffPerQuery"])
        self.client("athena").create_work_group(
            Name=i["name"], Description=i.get("description", ""), Configuration=configuration, Tags=_tags(i)
        )
        return str(i["name"])

    # --- SNS and EventBridge (signals) ------------------------------------------------
    def topic(self, r: Resource, i: dict[str, Any]) -> str:
        attributes = {"DisplayName": i.get("displayName", "")}
        if i.get("kmsMasterKeyId"):
            attributes["KmsMasterKeyId"] = i["kmsMasterKeyId"]
        created = self.client("sns").create_topic(Name=i["name"], Attributes=attributes, Tags=_tags(i))
        return str(created["TopicArn"])

    def topic_policy(self, r: Resource, i: dict[str, Any]) -> str:
        self.client("sns").set_topic_attributes(
            TopicArn=i["arn"], AttributeName="Policy", AttributeValue=i["policy"]
        )
        return str(i["arn"])

    def subscription(self, r: Resource, i: dict[str, Any]) -> str:
        created = self.client("sns").subscribe(
            TopicArn=i["topic"], Protocol=i["protocol"], Endpoint=i["endpoint"], ReturnSubscriptionArn=True
        )
        return str(created["SubscriptionArn"])

    def event_rule(self, r: Resource, i: dict[str, Any]) -> str:
        created = self.client("events").put_rule(
            Name=i["name"],
            EventPattern=i["eventPattern"],
            State=i.get("state", "ENABLED"),
            Description=i.get("description", ""),
            Tags=_tags(i),
        )
        return str(created["RuleArn"])

    def event_target(self, r: Resource, i: dict[str, Any]) -> str:
        target: dict[str, Any] = {"Id": i["targetId"], "Arn": i["arn"]}
        transformer = i.get("inputTransformer")
        if transformer:
            target["InputTransformer"] = {
                "InputPathsMap": transformer.get("inputPaths", {}),
                "InputTemplate": transformer["inputTemplate"],
            }
        self.client("events").put_targets(Rule=i["rule"], Targets=[target])
        return f"{i['rule']}/{i['targetId']}"


def _converge(applier: _Applier, resource: Resource, inputs: dict[str, Any]) -> str:
    """Bring a resource an earlier apply created to the plan's inputs (a second apply)."""
    descriptor = TYPES.get(resource.type)
    if descriptor is not None and descriptor.converger:
        return str(getattr(applier, descriptor.converger)(resource, inputs))
    # Databases, security configurations, jobs, triggers and workgroups keep what the first
    # apply gave them; the plan's names are what later resources refer to.
    return str(inputs.get("name") or inputs.get("bucket") or resource.name)


#: The applier of every AWS type whose descriptor names one (`infra/aws/types.py`).
APPLIERS: dict[str, Callable[[_Applier, Resource, dict[str, Any]], str]] = {
    t.token: getattr(_Applier, t.applier) for t in TYPES.values() if t.applier
}
SUPPORTED_TYPES = frozenset(APPLIERS)


def service_of(type_: str) -> str:
    """`aws:s3/bucket:Bucket` → `s3`."""
    return SERVICE_OF_TYPE.get(type_.split("/", 1)[0], type_)


def apply_graph(
    graph: ResourceGraph, target: Target, *, on_resource: Callable[[Applied], None] | None = None
) -> ApplyResult:
    """Create every resource of `graph` on `target`, in dependency order.

    Raises `EmulatorError` naming the resource when the emulator rejects one; what was
    created before stays (an emulator is thrown away after use). Applying the same graph
    again converges: what exists is updated (status "updated"), not created twice. With
    `target.moto`, the bucket-policy statements moto cannot hold faithfully are left out
    and listed in `result.withheld`.
    """
    applier = _Applier(target)
    result = ApplyResult(values=applier.values)
    # Bucket policies last: nothing depends on them, and an emulator that judges their
    # conditional Denies without the request's context would refuse the deployer's own
    # uploads (the job script) made after them.
    resources = order(graph)
    resources = [r for r in resources if r.type != BUCKET_POLICY] + [
        r for r in resources if r.type == BUCKET_POLICY
    ]
    for resource in resources:
        service = service_of(resource.type)
        apply = APPLIERS.get(resource.type)
        if apply is None:
            outcome = Applied(
                resource.urn,
                resource.type,
                resource.name,
                "skipped",
                f"mesh has no emulator applier for {resource.type}",
            )
        elif service not in target.services:
            outcome = Applied(
                resource.urn,
                resource.type,
                resource.name,
                "skipped",
                f"this emulator does not offer {service}",
            )
        else:
            inputs = _substitute(resource.inputs, applier.values)
            status = "created"
            try:
                try:
                    physical = apply(applier, resource, inputs)
                except _Exists as found:
                    physical, status = str(found), "updated"
                except ClientError as e:
                    if _error_code(e) not in ALREADY_EXISTS and not _already_created(e):
                        raise
                    physical, status = _converge(applier, resource, inputs), "updated"
            except (ClientError, BotoCoreError, KeyError) as e:
                raise EmulatorError(
                    f"the emulator rejected {resource.name} ({resource.type}): {e}",
                    hint="The resource's inputs are shown by `mesh plan --output json`.",
                ) from e
            outcome = Applied(resource.urn, resource.type, resource.name, status, physical=physical)
        result.applied.append(outcome)
        if on_resource is not None:
            on_resource(outcome)
    result.withheld = list(applier.withheld)
    return result


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _already_created(error: ClientError) -> bool:
    """Athena says a workgroup exists with a generic code and a message."""
    return _error_code(error) == "InvalidRequestException" and "already" in str(error).lower()


def types_in(graph: ResourceGraph) -> Iterable[str]:
    """The distinct cloud resource types of a graph."""
    return sorted({r.type for r in graph.cloud_resources()})
