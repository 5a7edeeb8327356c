"""The AWS components under Pulumi mocks: lockdown, tags, and exactly-scoped policies."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from infra.model.graph import Resource, ResourceGraph
from infra.model.spec import REQUIRED_TAGS, ProductSpec

AWS_EXAMPLES = ["sales-orders", "finance-payroll"]
Graphs = Callable[[str], tuple[ProductSpec, ResourceGraph]]

BUCKET = "aws:s3/bucket:Bucket"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TAGGABLE = {
    BUCKET, "aws:kms/key:Key", ROLE, "aws:iam/policy:Policy", "aws:glue/catalogDatabase:CatalogDatabase",
    "aws:glue/job:Job", "aws:glue/trigger:Trigger", "aws:athena/workgroup:Workgroup",
    "aws:s3/bucketObjectv2:BucketObjectv2", "aws:sns/topic:Topic", "aws:cloudwatch/eventRule:EventRule",
}  # fmt: skip
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(document)}


def config_of(graph: ResourceGraph, type_: str, bucket: str) -> Resource:
    matches = [r for r in graph.of_type(type_) if r.inputs.get("bucket") == bucket]
    assert len(matches) == 1, f"expected one {type_} for bucket {bucket}, found {len(matches)}"
    return matches[0]


def role_policy(graph: ResourceGraph, role_name: str) -> dict[str, Any]:
    for resource in graph.of_type(ROLE_POLICY):
        if resource.inputs.get("role") == role_name:
            document = resource.policy()
            assert document is not None, f"{resource.urn}: policy is not JSON"
            return document
    raise AssertionError(f"no inline policy for role {role_name}")


@pytest.mark.parametrize("example", AWS_EXAMPLES)
def test_every_bucket_is_locked_down(example: str, example_graph: Graphs) -> None:
    spec, graph = example_graph(example)
    buckets = graph.of_type(BUCKET)
    assert [b.inputs["bucket"] for b in buckets] == [spec.require_aws().bucket]
    for bucket in buckets:
        name = bucket.inputs["bucket"]
        assert bucket.inputs["forceDestroy"] is False, f"{bucket.urn}: a product's data outlives a destroy"
        block = config_of(graph, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name)
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"):
            assert block.inputs.get(flag) is True, f"{block.urn}: {flag} is not true"
        ownership = config_of(graph, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", name)
        assert ownership.input("rule", "objectOwnership") == "BucketOwnerEnforced", ownership.urn
        versioning = config_of(graph, "aws:s3/bucketVersioning:BucketVersioning", name)
        assert versioning.input("versioningConfiguration", "status") == "Enabled", versioning.urn
        encryption = config_of(
            graph,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            name,
        )
        default = encryption.input("rules", 0, "applyServerSideEncryptionByDefault")
        assert default["sseAlgorithm"] == "aws:kms", encryption.urn
        assert default["kmsMasterKeyId"].startswith("arn:aws:kms:"), encryption.urn
        logging = config_of(graph, "aws:s3/bucketLogging:BucketLogging", name)
        assert logging.inputs["targetBucket"] == spec.require_aws().log_bucket, logging.urn
        policy = config_of(graph, "aws:s3/bucketPolicy:BucketPolicy", name).policy()
        assert policy is not None
        tls = by_sid(policy)["DenyInsecureTransport"]
        assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "s3:*"), bucket.urn
        assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, bucket.urn
        assert set(tls["Resource"]) == {f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"}, bucket.urn


@pytest.mark.parametrize("example", AWS_EXAMPLES)
def test_lifecycle_follows_retention(example: str, example_graph: Graphs) -> None:
    spec, graph = example_graph(example)
    lifecycle = config_of(
        graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", spec.require_aws().bucket
    )
    rules = {r["id"]: r for r in lifecycle.inputs["rules"]}
    assert rules["retention"]["expiration"]["days"] == spec.retention_days, lifecycle.urn
    assert rules["retention"]["filter"]["prefix"] == "data/", lifecycle.urn
    assert rules["abort-incomplete-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] == 7


@pytest.mark.parametrize("example", AWS_EXAMPLES)
def test_every_taggable_resource_carries_the_mesh_tags(example: str, example_graph: Graphs) -> None:
    spec, graph = example_graph(example)
    taggable = [r for r in graph.cloud_resources() if r.type in TAGGABLE]
    assert len(taggable) >= 6
    for resource in taggable:
        tags = resource.inputs.get("tags") or {}
        for key in REQUIRED_TAGS:
            assert key in tags, f"{resource.urn}: tag {key} missing"
        assert tags["mesh:domain"] == spec.domain and tags["mesh:product"] == spec.product, resource.urn
        assert tags["mesh:environment"] == spec.environment and tags["mesh:managed-by"] == "mesh", (
            resource.urn
        )


@pytest.mark.parametrize("example", AWS_EXAMPLES)
def test_kms_key_rotates_and_policy_names_only_product_roles(example: str, example_graph: Graphs) -> None:
    spec, graph = example_graph(example)
    aws = spec.require_aws()
    (key,) = graph.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True, key.urn
    (key_policy,) = graph.of_type("aws:kms/keyPolicy:KeyPolicy")
    document = key_policy.policy()
    assert document is not None
    users: set[str] = set()
    services = [s for s in statements(document) if "Service" in s["Principal"]]
    if spec.transform:
        logs_arn = f"arn:aws:logs:{aws.region}:{aws.account}:log-group:/aws-glue/*"
        assert services == [
            {
                "Sid": "CloudWatchLogsEncryptGlueJobLogs",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{aws.region}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                ],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": logs_arn}},
            },
            {
                "Sid": "EventBridgePublishesFailedRuns",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:SourceArn": aws.failure_rule_arn}},
            },
        ], (
            f"{key_policy.urn}: CloudWatch Logs may use the key for the job's log groups only, "
            "EventBridge for the failed-runs rule only"
        )
    else:
        assert services == [], f"{key_policy.urn}: no service uses the key without a transform"
    for statement in statements(document):
        if "Service" in statement["Principal"]:
            continue
        principals = as_list(statement["Principal"]["AWS"])
        if statement["Sid"].startswith(("Producer", "Consumers")):
            users |= set(principals)
        assert "kms:*" not in as_list(statement["Action"]), (
            f"{key_policy.urn}: {statement['Sid']} grants kms:*"
        )
    expected = {aws.role_arn(aws.producer_role), *(aws.role_arn(g.aws_role) for g in spec.grants)}
    assert users == expected, key_policy.urn
    admin = by_sid(document)["AccountAdministersKey"]
    assert "kms:Decrypt" not in admin["Action"], f"{key_policy.urn}: admins must not decrypt"


def test_producer_policy_is_exactly_its_own_resources(example_graph: Graphs) -> None:
    spec, graph = example_graph("sales-orders")
    aws = spec.require_aws()
    document = role_policy(graph, aws.producer_role)
    sids = by_sid(document)
    bucket = f"arn:aws:s3:::{aws.bucket}"
    assert sids["ListProductBucket"]["Resource"] == [bucket]
    assert set(sids["ReadWritePorts"]["Resource"]) == {
        f"{bucket}/data/order_lines/*", f"{bucket}/data/daily_revenue/*", f"{bucket}/athena-results/producer/*",
        f"{bucket}/data/order_lines", f"{bucket}/data/daily_revenue",
    }  # fmt: skip
    assert (
        "s3:PutObject" in sids["ReadWritePorts"]["Action"]
        and "s3:DeleteObject" in sids["ReadWritePorts"]["Action"]
    )
    assert set(sids["ReadWriteCatalog"]["Resource"]) == {
        aws.glue_catalog_arn, aws.glue_database_arn, aws.glue_table_arn("order_lines"), aws.glue_table_arn("daily_revenue"),
    }  # fmt: skip
    (key_arn,) = sids["UseProductKey"]["Resource"]
    assert key_arn.startswith(f"arn:aws:kms:{aws.region}:{aws.account}:key/<"), key_arn
    assert sids["QueryInWorkgroup"]["Resource"] == [aws.athena_workgroup_arn]
    # The transform's job runs as the producer, so the producer may read scripts and write logs.
    assert sids["ReadJobScripts"]["Resource"] == [f"{bucket}/scripts/*"]


@dataclass
class GrantCase:
    reason: str
    consumer: str
    readable: set[str]
    unreadable: set[str]


GRANT_CASES = [
    GrantCase("marketing reads only order_lines", "marketing", {"order_lines"}, {"daily_revenue"}),
    GrantCase("finance reads both ports", "finance", {"order_lines", "daily_revenue"}, set()),
]


@pytest.mark.parametrize("case", GRANT_CASES, ids=lambda c: c.reason)
def test_consumer_policy_grants_read_on_granted_ports_only(case: GrantCase, example_graph: Graphs) -> None:
    spec, graph = example_graph("sales-orders")
    aws = spec.require_aws()
    grant = next(g for g in spec.grants if g.domain == case.consumer)
    document = role_policy(graph, grant.aws_role)
    bucket = f"arn:aws:s3:::{aws.bucket}"
    granted_objects: set[str] = set()
    for statement in statements(document):
        actions = set(as_list(statement["Action"]))
        assert statement["Effect"] == "Allow", case.reason
        writes = {a for a in actions if a.startswith("s3:") and ("Put" in a or "Delete" in a)}
        if writes:
            # The only write a consumer has is its own Athena results prefix.
            assert statement["Sid"] == "OwnQueryResults", f"{case.reason}: {statement['Sid']} writes {writes}"
            assert statement["Resource"] == [f"{bucket}/athena-results/{case.consumer}/*"], case.reason
        if "s3:GetObject" in actions and statement["Sid"] == "ReadGrantedPorts":
            granted_objects |= set(statement["Resource"])
        assert not any(
            a.startswith("glue:") and not a.startswith("glue:Get") and a != "glue:BatchGetPartition"
            for a in actions
        ), case.reason
        kms_actions = {a for a in actions if a.startswith("kms:")}
        assert kms_actions <= {"kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"}, case.reason
        if "kms:GenerateDataKey" in kms_actions:
            assert (
                statement["Condition"]["StringEquals"]["kms:ViaService"] == f"s3.{aws.region}.amazonaws.com"
            )
    # Each granted port's objects, and its bare key (clients HEAD `data/<port>` as a directory).
    assert granted_objects == {
        arn for p in case.readable for arn in (f"{bucket}/data/{p}/*", f"{bucket}/data/{p}")
    }, case.reason
    tables = set(by_sid(document)["ReadGrantedTables"]["Resource"])
    for port in case.readable:
        assert aws.glue_table_arn(port) in tables, case.reason
    for port in case.unreadable:
        assert aws.glue_table_arn(port) not in tables, case.reason
        assert f"{bucket}/data/{port}/*" not in granted_objects, case.reason


def test_roles_trust_only_the_platform_principals_and_carry_the_boundary(example_graph: Graphs) -> None:
    spec, graph = example_graph("sales-orders")
    aws = spec.require_aws()
    (boundary,) = graph.of_type("aws:iam/policy:Policy")
    roles = {r.inputs["name"]: r for r in graph.of_type(ROLE)}
    assert set(roles) == {aws.producer_role, *(g.aws_role for g in spec.grants)}
    expected_trust = {aws.producer_role: set(spec.producer_aws_principals)} | {
        g.aws_role: set(g.aws_principals) for g in spec.grants
    }
    assert expected_trust[aws.producer_role] == {"arn:aws:iam::111122223333:role/sales-engineers"}
    for name, role in roles.items():
        assert role.inputs["permissionsBoundary"] == aws.policy_arn(boundary.inputs["name"]), role.urn
        trust = json.loads(role.inputs["assumeRolePolicy"])
        principals = {p for s in statements(trust) for p in as_list(s["Principal"].get("AWS", []))}
        assert principals == expected_trust[name], role.urn
        services = {p for s in statements(trust) for p in as_list(s["Principal"].get("Service", []))}
        assert services == ({"glue.amazonaws.com"} if name == aws.producer_role else set()), role.urn


def test_no_policy_allows_everything_or_everyone(example_graph: Graphs) -> None:
    for example in AWS_EXAMPLES:
        _, graph = example_graph(example)
        for resource in graph.cloud_resources():
            for key in ("policy", "assumeRolePolicy"):
                document = resource.policy(key)
                if document is None:
                    continue
                for statement in statements(document):
                    actions = set(as_list(statement.get("Action", [])))
                    resources = set(as_list(statement.get("Resource", [])))
                    assert not ({"*", "*:*"} & actions and "*" in resources), f"{resource.urn}: * on *"
                    principal = statement.get("Principal")
                    if statement["Effect"] == "Allow" and principal is not None:
                        wildcard = principal == "*" or "*" in as_list(principal.get("AWS", []))
                        assert not (wildcard and "Condition" not in statement), (
                            f"{resource.urn}: wildcard principal"
                        )


def test_catalog_tables_follow_the_ports(example_graph: Graphs) -> None:
    spec, graph = example_graph("sales-orders")
    aws = spec.require_aws()
    (database,) = graph.of_type("aws:glue/catalogDatabase:CatalogDatabase")
    assert database.inputs["name"] == aws.glue_database
    params = database.inputs["parameters"]
    assert (params["mesh:owner"], params["mesh:classification"], params["mesh:version"]) == (
        "sales-data@example.com",
        "confidential",
        "1.2.0",
    )
    assert params["mesh:slo-freshness-hours"] == "24" and params["mesh:consumers"] == "marketing,finance"
    tables = {t.inputs["name"]: t for t in graph.of_type("aws:glue/catalogTable:CatalogTable")}
    lines = tables["order_lines"]
    assert lines.inputs["databaseName"] == aws.glue_database, lines.urn
    descriptor = lines.inputs["storageDescriptor"]
    assert descriptor["location"] == f"s3://{aws.bucket}/data/order_lines/", lines.urn
    assert descriptor["serDeInfo"]["serializationLibrary"].endswith("ParquetHiveSerDe"), lines.urn
    assert [c["name"] for c in descriptor["columns"]] == [
        "order_id",
        "line_no",
        "sku",
        "quantity",
        "amount",
        "customer_email",
    ]
    assert [(k["name"], k["type"]) for k in lines.inputs["partitionKeys"]] == [("order_date", "date")], (
        lines.urn
    )
    assert descriptor["columns"][5]["comment"].startswith("[pii]"), lines.urn
    revenue = tables["daily_revenue"]
    assert revenue.inputs["openTableFormatInput"]["icebergInput"]["metadataOperation"] == "CREATE", (
        revenue.urn
    )


def test_workgroups_enforce_encrypted_results_and_the_scan_limit(example_graph: Graphs) -> None:
    spec, graph = example_graph("sales-orders")
    aws = spec.require_aws()
    groups = {w.inputs["name"]: w for w in graph.of_type("aws:athena/workgroup:Workgroup")}
    assert set(groups) == {aws.athena_workgroup, *(g.athena_workgroup for g in spec.grants)}
    for group in groups.values():
        config = group.inputs["configuration"]
        assert config["enforceWorkgroupConfiguration"] is True, group.urn
        assert config["bytesScannedCutoffPerQuery"] == 50 * 1024**3, group.urn
        results = config["resultConfiguration"]
        assert results["encryptionConfiguration"]["encryptionOption"] == "SSE_KMS", group.urn
        assert results["outputLocation"].startswith(f"s3://{aws.bucket}/athena-results/"), group.urn


def test_transform_job_runs_as_producer_on_schedule(example_graph: Graphs) -> None:
    spec, graph = example_graph("sales-orders")
    aws = spec.require_aws()
    (job,) = graph.of_type("aws:glue/job:Job")
    assert job.inputs["roleArn"] == aws.role_arn(aws.producer_role), job.urn
    assert job.inputs["command"]["scriptLocation"] == f"s3://{aws.bucket}/scripts/orders.py", job.urn
    (trigger,) = graph.of_type("aws:glue/trigger:Trigger")
    assert trigger.inputs["schedule"] == "cron(0 2 * * ? *)", trigger.urn
    assert trigger.inputs["actions"] == [{"jobName": aws.glue_job}], trigger.urn
    script = next(
        o
        for o in graph.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if o.inputs["key"] == "scripts/orders.py"
    )
    assert script.inputs["source"]["fileAsset"].endswith("examples/products/jobs/orders.py"), script.urn


def test_product_without_transform_or_consumers_has_no_job_and_one_role(example_graph: Graphs) -> None:
    spec, graph = example_graph("finance-payroll")
    assert graph.of_type("aws:glue/job:Job") == []
    assert graph.of_type("aws:glue/trigger:Trigger") == []
    assert [r.inputs["name"] for r in graph.of_type(ROLE)] == [spec.require_aws().producer_role]


def test_every_child_is_parented_under_the_product_component(example_graph: Graphs) -> None:
    _, graph = example_graph("sales-orders")
    (root,) = [r for r in graph.resources if r.parent is None]
    assert root.type == "mesh:aws:DataProduct", root.urn
    for resource in graph.resources:
        if resource is root:
            continue
        assert resource.parent is not None, f"{resource.urn} has no parent"
        assert graph.get(resource.parent).type.startswith("mesh:aws:"), resource.urn


@pytest.mark.parametrize("example", AWS_EXAMPLES)
def test_signals_topic_is_encrypted_with_the_product_key_and_reaches_the_owner(
    example: str, example_graph: Graphs
) -> None:
    spec, graph = example_graph(example)
    aws = spec.require_aws()
    (topic,) = graph.of_type(TOPIC)
    (key,) = graph.of_type("aws:kms/key:Key")
    assert topic.inputs["name"] == aws.topic, topic.urn
    assert (
        topic.inputs["kmsMasterKeyId"] == f"arn:aws:kms:{aws.region}:{aws.account}:key/<{key.name}.keyId>"
    ), f"{topic.urn}: not encrypted with the product key"
    (subscription,) = graph.of_type(SUBSCRIPTION)
    assert (
        subscription.inputs["protocol"],
        subscription.inputs["endpoint"],
        subscription.inputs["topic"],
    ) == (
        "email",
        spec.owner,
        aws.topic_arn,
    ), subscription.urn
    (policy,) = graph.of_type(TOPIC_POLICY)
    document = policy.policy()
    assert document is not None and policy.inputs["arn"] == aws.topic_arn, policy.urn
    sids = by_sid(document)
    assert sids["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, (
        policy.urn
    )
    allows = [s for s in statements(document) if s["Effect"] == "Allow"]
    if spec.transform is None:
        assert allows == [], f"{policy.urn}: nothing publishes without a transform"
        assert graph.of_type(EVENT_RULE) == [] and graph.of_type(EVENT_TARGET) == [], policy.urn
        return
    assert allows == [
        {
            "Sid": "EventBridgePublishesFailedRuns",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": aws.topic_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": aws.failure_rule_arn}},
        }
    ], f"{policy.urn}: only EventBridge, only for the failed-runs rule"
    (rule,) = graph.of_type(EVENT_RULE)
    assert rule.inputs["name"] == aws.failure_rule, rule.urn
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        "detail": {"jobName": [aws.glue_job], "state": ["FAILED", "TIMEOUT"]},
    }, rule.urn
    (target,) = graph.of_type(EVENT_TARGET)
    assert (target.inputs["rule"], target.inputs["arn"]) == (aws.failure_rule, aws.topic_arn), target.urn
    assert "<job>" in target.inputs["inputTransformer"]["inputTemplate"], target.urn
