"""Guardrails over a ResourceGraph: every rule passes on the AWS examples, and each one
catches the deliberately broken graph it exists for.

Broken graphs are copies of a synthesized example with one resource's inputs changed
(or the resource removed), so each case shows exactly which input a rule reads.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from infra.guardrails import (
    RULES,
    Guardrail,
    GuardrailReport,
    GuardrailResult,
    Severity,
    check_disabled,
    evaluate,
    home_accounts,
    rule,
)
from infra.model.graph import Resource, ResourceGraph
from infra.model.spec import REQUIRED_TAGS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
AWS_EXAMPLES = ("sales-orders", "finance-payroll")
EXAMPLES_ALL = (*AWS_EXAMPLES, "marketing-campaigns")
GCP_RULES = {
    "MESH-GCS-PUBLIC-ACCESS", "MESH-GCP-PUBLIC-MEMBER", "MESH-GCP-BASIC-ROLES", "MESH-GCP-CMEK",
    "MESH-GCP-KMS-ROTATION", "MESH-GCP-LABELS", "MESH-ADV-GCS-VERSIONING",
}  # fmt: skip
FOREIGN_ACCOUNT = "999988887777"

Inputs = dict[str, Any]
Change = Callable[[Inputs], Inputs | None]


def _synthesize(example: str, environment: str | None = None) -> ResourceGraph:
    from infra.synth import CloudContext, synthesize
    from infra.validation import load_spec
    from stacks.product import product_program

    spec, _, _ = load_spec(
        EXAMPLES / "products" / f"{example}.yaml", platform_path=None, environment=environment
    )
    cloud = (
        CloudContext(account=spec.aws.account, region=spec.aws.region, partition=spec.aws.partition)
        if spec.aws
        else CloudContext()
    )
    return synthesize(product_program(spec), project=spec.project, stack=spec.stack, cloud=cloud)


@pytest.fixture(scope="module")
def graphs() -> dict[str, ResourceGraph]:
    """Each example synthesized once for the module."""
    return {example: _synthesize(example) for example in EXAMPLES_ALL}


# --- building broken graphs ----------------------------------------------------------


def broken(graph: ResourceGraph, name: str, change: Change) -> ResourceGraph:
    """A copy of `graph` whose resource `name` has `change` applied to deep-copied inputs
    (removed when `change` returns None)."""
    resources: list[Resource] = []
    found = False
    for resource in graph.resources:
        if resource.name != name:
            resources.append(resource)
            continue
        found = True
        inputs = change(copy.deepcopy(resource.inputs))
        if inputs is not None:
            resources.append(dataclasses.replace(resource, inputs=inputs))
    assert found, f"no resource named {name} in stack {graph.stack}"
    return dataclasses.replace(graph, resources=resources)


def removed(_: Inputs) -> None:
    return None


def setting(*path: str, value: Any) -> Change:
    """Set a nested input (intermediate blocks must exist)."""

    def change(inputs: Inputs) -> Inputs:
        target = inputs
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
        return inputs

    return change


def without(*path: str) -> Change:
    """Drop a nested input."""

    def change(inputs: Inputs) -> Inputs:
        target = inputs
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
        return inputs

    return change


def edit_policy(edit: Callable[[dict[str, Any]], Any], key: str = "policy") -> Change:
    """Parse the JSON document in `key`, let `edit` change it in place, write it back."""

    def change(inputs: Inputs) -> Inputs:
        document = json.loads(inputs[key])
        edit(document)
        inputs[key] = json.dumps(document)
        return inputs

    return change


def add_statement(statement: dict[str, Any], key: str = "policy") -> Change:
    return edit_policy(lambda d: d["Statement"].append(statement), key)


def drop_statement(sid: str) -> Change:
    def edit(document: dict[str, Any]) -> None:
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]

    return edit_policy(edit)


def replace_statement(sid: str, new: Callable[[dict[str, Any]], dict[str, Any]]) -> Change:
    def edit(document: dict[str, Any]) -> None:
        document["Statement"] = [new(s) if s.get("Sid") == sid else s for s in document["Statement"]]

    return edit_policy(edit)


def failing_ids(report: GuardrailReport) -> set[str]:
    return {r.id for r in report.results if not r.passed}


def describe(results: list[GuardrailResult]) -> str:
    return "\n".join(f"  {r.id} {r.urn}: {r.message}" for r in results)


# --- every rule passes on the examples -----------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES_ALL)
@pytest.mark.parametrize("guardrail", RULES, ids=lambda g: g.id)
def test_every_rule_passes_on_the_examples(
    example: str, guardrail: Guardrail, graphs: dict[str, ResourceGraph]
) -> None:
    graph = graphs[example]
    findings = list(guardrail.check(graph))
    urns = {r.urn for r in graph.resources}
    for finding in findings:
        assert finding.passed, f"{finding.urn}: {guardrail.id} fails on {example}: {finding.message}"
        assert finding.urn in urns, (
            f"{finding.urn}: {guardrail.id} reports a resource that is not in the graph"
        )
        assert finding.message, f"{finding.urn}: {guardrail.id} passes without saying what holds"
    # sales-orders has every AWS resource kind, a transform and consumers; the GCP example every GCP kind.
    if example == ("marketing-campaigns" if guardrail.id in GCP_RULES else "sales-orders"):
        assert findings, f"{guardrail.id} examined nothing in stack {graph.stack}"
    if example == "marketing-campaigns" and guardrail.id not in GCP_RULES:
        assert not findings, f"{guardrail.id} is an AWS rule but examined the GCP stack {graph.stack}"


@pytest.mark.parametrize("example", AWS_EXAMPLES)
def test_the_examples_pass_as_a_whole(example: str, graphs: dict[str, ResourceGraph]) -> None:
    report = evaluate(graphs[example])
    assert report.passed, f"blocking in {example}:\n{describe(report.blocking)}"
    assert not report.warnings, f"warnings in {example}:\n{describe(report.warnings)}"
    assert report.disabled == []


@pytest.mark.parametrize("example", AWS_EXAMPLES)
def test_one_finding_per_examined_resource(example: str, graphs: dict[str, ResourceGraph]) -> None:
    report = evaluate(graphs[example])
    seen = [(r.id, r.urn) for r in report.results]
    duplicates = {pair for pair in seen if seen.count(pair) > 1}
    assert not duplicates, f"more than one finding per rule and resource: {sorted(duplicates)}"
    graph = graphs[example]
    taggable = [r for r in graph.cloud_resources() if "tags" in r.inputs]
    tagged = {r.urn for r in report.results if r.id == "MESH-TAGS"}
    for resource in taggable:
        assert resource.urn in tagged, f"{resource.urn}: has tags but MESH-TAGS did not examine it"


# --- each rule catches its broken graph ----------------------------------------------


@dataclass
class Case:
    reason: str
    resource: str  # logical name of the resource changed (sales-orders example)
    change: Change
    rule: str  # the rule that must fail
    urn_of: str  # logical name of the resource the failure is reported against
    message_has: tuple[str, ...] = ()
    also_fails: tuple[str, ...] = ()  # other rules the same change rightly breaks
    example: str = "sales-orders"


GCS = "marketing-campaign-performance-storage-bucket"
GCP_KEY = "marketing-campaign-performance-key-key"
GCP_DATASET = "marketing-campaign-performance-catalog-dataset"
GCP_TABLE = "marketing-campaign-performance-catalog-table-campaign_daily"
GCP_TABLE_READER = "marketing-campaign-performance-access-consumer-sales-table-campaign_daily"
GCP_BUCKET_READER = "marketing-campaign-performance-access-consumer-sales-storage"
GCP_DATASET_WRITER = "marketing-campaign-performance-access-producer-dataset"
BUCKET = "sales-orders-storage-bucket"
PAB = "sales-orders-storage-public-access-block"
BUCKET_POLICY = "sales-orders-access-bucket-policy"
KEY = "sales-orders-storage-key"
KEY_POLICY = "sales-orders-access-key-policy"
PRODUCER = "sales-orders-access-producer"
PRODUCER_POLICY = "sales-orders-access-producer-policy"
CONSUMER = "sales-orders-access-consumer-marketing"
BOUNDARY = "sales-orders-access-boundary"
WORKGROUP = "sales-orders-compute-workgroup-marketing"
TOPIC = "sales-orders-signals-topic"
TOPIC_POLICY = "sales-orders-signals-topic-policy"
GCP_TOPIC = "marketing-campaign-performance-signals-topic"
ALLOW_EVERYONE = {
    "Sid": "Everyone",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::acme-dev-sales-orders/*",
}
FOREIGN_ROLE = f"arn:aws:iam::{FOREIGN_ACCOUNT}:role/intruder"

BROKEN = [
    Case("a public access block leaves restrictPublicBuckets off", PAB, setting("restrictPublicBuckets", value=False),
         "MESH-S3-PUBLIC-ACCESS", BUCKET, (PAB, "restrictPublicBuckets")),
    Case("a public access block that omits a setting leaves it at the AWS default (false)", PAB, without("blockPublicPolicy"),
         "MESH-S3-PUBLIC-ACCESS", BUCKET, (PAB, "blockPublicPolicy")),
    Case("a bucket without any public access block", PAB, removed,
         "MESH-S3-PUBLIC-ACCESS", BUCKET, ("has no public access block",)),
    Case("the bucket policy lost its TLS statement", BUCKET_POLICY, drop_statement("DenyInsecureTransport"),
         "MESH-S3-TLS-ONLY", BUCKET, (BUCKET_POLICY, "aws:SecureTransport")),
    Case("the TLS statement covers the objects but not the bucket itself", BUCKET_POLICY,
         replace_statement("DenyInsecureTransport", lambda s: s | {"Resource": "arn:aws:s3:::acme-dev-sales-orders/*"}),
         "MESH-S3-TLS-ONLY", BUCKET, (BUCKET_POLICY,)),
    Case("the TLS statement denies only GetObject", BUCKET_POLICY,
         replace_statement("DenyInsecureTransport", lambda s: s | {"Action": ["s3:GetObject"]}),
         "MESH-S3-TLS-ONLY", BUCKET, (BUCKET_POLICY,)),
    Case("a bucket without a bucket policy", BUCKET_POLICY, removed,
         "MESH-S3-TLS-ONLY", BUCKET, ("has no bucket policy",), also_fails=("MESH-DATA-PERIMETER",)),
    Case("a bucket policy that is not JSON cannot be checked", BUCKET_POLICY, setting("policy", value="{not json"),
         "MESH-S3-TLS-ONLY", BUCKET, ("not a readable policy document",),
         also_fails=("MESH-S3-PUBLIC-POLICY", "MESH-S3-CROSS-ACCOUNT", "MESH-IAM-NO-ADMIN", "MESH-DATA-PERIMETER")),
    Case("default encryption with AES256", "sales-orders-storage-encryption",
         setting("rules", value=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]),
         "MESH-S3-KMS-ENCRYPTION", BUCKET, ("sales-orders-storage-encryption", "AES256")),
    Case("aws:kms without a key falls back to the AWS managed key", "sales-orders-storage-encryption",
         setting("rules", value=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]),
         "MESH-S3-KMS-ENCRYPTION", BUCKET, ("kmsMasterKeyId",)),
    Case("ACLs left enabled", "sales-orders-storage-ownership", setting("rule", value={"objectOwnership": "ObjectWriter"}),
         "MESH-S3-OWNER-ENFORCED", BUCKET, ("sales-orders-storage-ownership", "ObjectWriter")),
    Case("versioning suspended", "sales-orders-storage-versioning", setting("versioningConfiguration", "status", value="Suspended"),
         "MESH-ADV-VERSIONING", BUCKET, ("sales-orders-storage-versioning", "Suspended")),
    Case("no lifecycle configuration", "sales-orders-storage-lifecycle", removed,
         "MESH-ADV-LIFECYCLE", BUCKET, ("has no lifecycle configuration",)),
    Case("no server access logging", "sales-orders-storage-access-logging", removed,
         "MESH-ADV-LOGGING", BUCKET, ("has no server access logging",)),
    Case("key rotation off", KEY, setting("enableKeyRotation", value=False),
         "MESH-KMS-ROTATION", KEY, ("enableKeyRotation",)),
    Case("key rotation not set at all (the AWS default is off)", KEY, without("enableKeyRotation"),
         "MESH-KMS-ROTATION", KEY, ("enableKeyRotation",)),
    Case("a role policy allows * on *", PRODUCER_POLICY, add_statement({"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}),
         "MESH-IAM-NO-ADMIN", PRODUCER_POLICY, ("statement Everything", "action * on resource *")),
    Case("the boundary allows *:* on * (lists, no Sid)", BOUNDARY, add_statement({"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["*"]}),
         "MESH-IAM-NO-ADMIN", BOUNDARY, ("statement #",)),
    Case("a role gets AdministratorAccess attached", CONSUMER, setting("managedPolicyArns", value=["arn:aws:iam::aws:policy/AdministratorAccess"]),
         "MESH-IAM-NO-ADMIN", CONSUMER, ("AdministratorAccess",)),
    Case("the bucket policy allows Principal * without a condition", BUCKET_POLICY, add_statement(ALLOW_EVERYONE),
         "MESH-S3-PUBLIC-POLICY", BUCKET_POLICY, ("statement Everyone", "Principal *")),
    Case("a single-statement bucket policy (a dict, not a list) allowing {AWS: *}", BUCKET_POLICY,
         edit_policy(lambda d: d.update(Statement=ALLOW_EVERYONE | {"Principal": {"AWS": "*"}})),
         "MESH-S3-PUBLIC-POLICY", BUCKET_POLICY, ("statement Everyone",),
         also_fails=("MESH-S3-TLS-ONLY", "MESH-DATA-PERIMETER")),
    Case("an Allow with NotPrincipal reaches everyone else", BUCKET_POLICY,
         add_statement({"Sid": "AllButOne", "Effect": "Allow", "NotPrincipal": {"AWS": FOREIGN_ROLE}, "Action": "s3:GetObject", "Resource": "*"}),
         "MESH-S3-PUBLIC-POLICY", BUCKET_POLICY, ("statement AllButOne", "NotPrincipal")),
    Case("the key policy allows {AWS: [*]} without a condition", KEY_POLICY,
         add_statement({"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "kms:Decrypt", "Resource": "*"}),
         "MESH-KMS-PUBLIC-POLICY", KEY_POLICY, ("statement Anyone",), also_fails=("MESH-DATA-PERIMETER",)),
    Case("anyone may assume a role", CONSUMER, add_statement({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}, key="assumeRolePolicy"),
         "MESH-IAM-PUBLIC-TRUST", CONSUMER, ("trust policy of role",)),
    Case("a role without a permissions boundary", CONSUMER, without("permissionsBoundary"),
         "MESH-IAM-BOUNDARY", CONSUMER, ("no permissions boundary",)),
    Case("the bucket policy grants a role of another account", BUCKET_POLICY,
         replace_statement("ConsumerMarketingRead", lambda s: s | {"Principal": {"AWS": FOREIGN_ROLE}}),
         "MESH-S3-CROSS-ACCOUNT", BUCKET_POLICY, ("statement ConsumerMarketingRead", FOREIGN_ACCOUNT, "111122223333")),
    Case("the bucket policy grants another account by its bare id", BUCKET_POLICY,
         replace_statement("ProducerList", lambda s: s | {"Principal": {"AWS": [FOREIGN_ACCOUNT]}}),
         "MESH-S3-CROSS-ACCOUNT", BUCKET_POLICY, (FOREIGN_ACCOUNT,)),
    Case("the key policy lets another account's root decrypt", KEY_POLICY,
         add_statement({"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN_ACCOUNT}:root"}, "Action": "kms:Decrypt", "Resource": "*"}),
         "MESH-KMS-CROSS-ACCOUNT", KEY_POLICY, ("statement Partner", FOREIGN_ACCOUNT)),
    Case("a workgroup that does not enforce its configuration", WORKGROUP, setting("configuration", "enforceWorkgroupConfiguration", value=False),
         "MESH-ATHENA-WORKGROUP", WORKGROUP, ("does not enforce",)),
    Case("a workgroup encrypting results with SSE_S3", WORKGROUP,
         setting("configuration", "resultConfiguration", "encryptionConfiguration", value={"encryptionOption": "SSE_S3"}),
         "MESH-ATHENA-WORKGROUP", WORKGROUP, ("SSE_S3",)),
    Case("a workgroup without a scan limit", WORKGROUP, without("configuration", "bytesScannedCutoffPerQuery"),
         "MESH-ADV-ATHENA-SCAN-LIMIT", WORKGROUP, ("bytesScannedCutoffPerQuery",)),
    Case("a bucket lost its owner tag", BUCKET, without("tags", "mesh:owner"),
         "MESH-TAGS", BUCKET, ("mesh:owner",)),
    Case("a workgroup has no tags at all", WORKGROUP, without("tags"),
         "MESH-TAGS", WORKGROUP, REQUIRED_TAGS),
    Case("the Glue job's security configuration leaves S3 unencrypted", "sales-orders-compute-job-security",
         setting("encryptionConfiguration", "s3Encryption", value={"s3EncryptionMode": "DISABLED"}),
         "MESH-ADV-GLUE-ENCRYPTION", "sales-orders-compute-job", ("sales-orders-compute-job-security", "DISABLED")),
    Case("the Glue job's logs are not encrypted", "sales-orders-compute-job-security",
         setting("encryptionConfiguration", "cloudwatchEncryption", value={"cloudwatchEncryptionMode": "DISABLED"}),
         "MESH-ADV-GLUE-ENCRYPTION", "sales-orders-compute-job",
         ("CloudWatch logs: cloudwatchEncryptionMode DISABLED without kmsKeyArn instead of SSE-KMS",)),
    Case("the Glue job's bookmarks have no key", "sales-orders-compute-job-security",
         without("encryptionConfiguration", "jobBookmarksEncryption", "kmsKeyArn"),
         "MESH-ADV-GLUE-ENCRYPTION", "sales-orders-compute-job", ("job bookmarks: jobBookmarksEncryptionMode CSE-KMS without kmsKeyArn",)),
    Case("a Glue job without a security configuration", "sales-orders-compute-job", without("securityConfiguration"),
         "MESH-ADV-GLUE-ENCRYPTION", "sales-orders-compute-job", ("without a security configuration",)),
    Case("a GCS bucket without public access prevention", GCS, setting("publicAccessPrevention", value="inherited"),
         "MESH-GCS-PUBLIC-ACCESS", GCS, ("publicAccessPrevention is inherited",), example="marketing-campaigns"),
    Case("a GCS bucket with object ACLs", GCS, setting("uniformBucketLevelAccess", value=False),
         "MESH-GCS-PUBLIC-ACCESS", GCS, ("uniformBucketLevelAccess",), example="marketing-campaigns"),
    Case("a table readable by allUsers", GCP_TABLE_READER, setting("member", value="allUsers"),
         "MESH-GCP-PUBLIC-MEMBER", GCP_TABLE_READER, ("roles/bigquery.dataViewer to allUsers",), example="marketing-campaigns"),
    Case("a bucket grant to allAuthenticatedUsers", GCP_BUCKET_READER, setting("member", value="allAuthenticatedUsers"),
         "MESH-GCP-PUBLIC-MEMBER", GCP_BUCKET_READER, ("allAuthenticatedUsers",), example="marketing-campaigns"),
    Case("a basic role on the dataset", GCP_DATASET_WRITER, setting("role", value="roles/editor"),
         "MESH-GCP-BASIC-ROLES", GCP_DATASET_WRITER, ("roles/editor",), example="marketing-campaigns"),
    Case("a table without CMEK", GCP_TABLE, without("encryptionConfiguration"),
         "MESH-GCP-CMEK", GCP_TABLE, ("encryptionConfiguration.kmsKeyName",), example="marketing-campaigns"),
    Case("a bucket without CMEK", GCS, without("encryption"),
         "MESH-GCP-CMEK", GCS, ("encryption.defaultKmsKeyName",), example="marketing-campaigns"),
    Case("a Cloud KMS key that rotates yearly", GCP_KEY, setting("rotationPeriod", value="31536000s"),
         "MESH-GCP-KMS-ROTATION", GCP_KEY, ("rotationPeriod 31536000s",), example="marketing-campaigns"),
    Case("a Cloud KMS key that never rotates", GCP_KEY, without("rotationPeriod"),
         "MESH-GCP-KMS-ROTATION", GCP_KEY, ("no rotationPeriod",), example="marketing-campaigns"),
    Case("a dataset without its owner label", GCP_DATASET, without("labels", "mesh-owner"),
         "MESH-GCP-LABELS", GCP_DATASET, ("mesh-owner",), example="marketing-campaigns"),
    Case("a GCS bucket without versioning", GCS, without("versioning"),
         "MESH-ADV-GCS-VERSIONING", GCS, ("does not enable versioning",), example="marketing-campaigns"),
    Case("finance-payroll: rotation off", "finance-payroll-storage-key", setting("enableKeyRotation", value=False),
         "MESH-KMS-ROTATION", "finance-payroll-storage-key", ("finance-payroll-storage-key",), example="finance-payroll"),
    Case("the signals topic rests unencrypted", TOPIC, without("kmsMasterKeyId"),
         "MESH-SNS-KMS-ENCRYPTION", TOPIC, ("sets no kmsMasterKeyId",)),
    Case("the signals topic uses the AWS-managed SNS key", TOPIC, setting("kmsMasterKeyId", value="alias/aws/sns"),
         "MESH-SNS-KMS-ENCRYPTION", TOPIC, ("alias/aws/sns",)),
    Case("the topic policy lets everyone publish", TOPIC_POLICY,
         add_statement({"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": "*"}),
         "MESH-SNS-PUBLIC-POLICY", TOPIC_POLICY, ("statement Anyone of the topic policy",)),
    Case("the failed-runs rule lost its tags", "sales-orders-signals-failed-runs", without("tags"),
         "MESH-TAGS", "sales-orders-signals-failed-runs", REQUIRED_TAGS),
    Case("the Pub/Sub topic has no product key", GCP_TOPIC, without("kmsKeyName"),
         "MESH-GCP-CMEK", GCP_TOPIC, ("Pub/Sub topic marketing-campaign-performance-signals-topic sets no kmsKeyName",), example="marketing-campaigns"),
    Case("the Pub/Sub topic lost its owner label", GCP_TOPIC, without("labels", "mesh-owner"),
         "MESH-GCP-LABELS", GCP_TOPIC, ("mesh-owner",), example="marketing-campaigns"),
]  # fmt: skip


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: c.reason)
def test_each_rule_catches_its_broken_graph(case: Case, graphs: dict[str, ResourceGraph]) -> None:
    graph = broken(graphs[case.example], case.resource, case.change)
    urn = graphs[case.example].named(case.urn_of).urn
    report = evaluate(graph)
    failures = [r for r in report.results if r.id == case.rule and not r.passed]
    assert len(failures) == 1, (
        f"{urn}: {case.reason}: want one {case.rule} failure, got\n{describe(failures)}"
    )
    failure = failures[0]
    assert failure.urn == urn, f"{urn}: {case.reason}: reported against {failure.urn}"
    assert failure.severity is rule(case.rule).severity, f"{urn}: {case.reason}"
    assert failure.control == rule(case.rule).control, f"{urn}: {case.reason}"
    for text in (case.urn_of, *case.message_has):
        assert text in failure.message, f"{urn}: {case.reason}: {text!r} not in {failure.message!r}"
    assert failure.message.endswith(rule(case.rule).fix), (
        f"{urn}: {case.reason}: the message does not say how to fix it"
    )
    assert failing_ids(report) == {case.rule, *case.also_fails}, (
        f"{urn}: {case.reason}: unexpected failures\n{describe([r for r in report.results if not r.passed])}"
    )
    assert report.passed is (rule(case.rule).severity is Severity.ADVISORY and not case.also_fails), (
        f"{urn}: {case.reason}"
    )


@dataclass
class Still:
    reason: str
    resource: str
    change: Change
    # Rules that must still examine the changed graph (and pass).
    rules: tuple[str, ...] = field(default_factory=tuple)


STILL_PASSING = [
    Still("an Allow to Principal * with a Condition is not public", BUCKET_POLICY,
          add_statement(ALLOW_EVERYONE | {"Condition": {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}}),
          ("MESH-S3-PUBLIC-POLICY", "MESH-S3-CROSS-ACCOUNT")),
    Still("a Deny to Principal * is fine", KEY_POLICY,
          add_statement({"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}),
          ("MESH-KMS-PUBLIC-POLICY", "MESH-IAM-NO-ADMIN", "MESH-KMS-CROSS-ACCOUNT")),
    Still("a foreign account in a Deny grants nothing", BUCKET_POLICY,
          add_statement({"Effect": "Deny", "Principal": {"AWS": FOREIGN_ROLE}, "Action": "s3:*", "Resource": "*"}),
          ("MESH-S3-CROSS-ACCOUNT",)),
    Still("the TLS statement written as strings, a bucket-wide pattern and a boolean", BUCKET_POLICY,
          replace_statement("DenyInsecureTransport", lambda s: s | {
              "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "arn:aws:s3:::acme-dev-sales-orders*",
              "Condition": {"Bool": {"aws:SecureTransport": False}},
          }),
          ("MESH-S3-TLS-ONLY",)),
    # (kms:* for the account root would delegate key use to IAM: MESH-DATA-PERIMETER refuses that.)
    Still("kms:Put* on * is not action * (a key administrator statement)", KEY_POLICY,
          add_statement({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:Put*", "Resource": "*"}),
          ("MESH-IAM-NO-ADMIN", "MESH-KMS-CROSS-ACCOUNT")),
    Still("a workgroup that leaves enforceWorkgroupConfiguration to its default (true)", WORKGROUP,
          without("configuration", "enforceWorkgroupConfiguration"), ("MESH-ATHENA-WORKGROUP",)),
]  # fmt: skip


@pytest.mark.parametrize("case", STILL_PASSING, ids=lambda c: c.reason)
def test_what_is_not_a_violation(case: Still, graphs: dict[str, ResourceGraph]) -> None:
    graph = broken(graphs["sales-orders"], case.resource, case.change)
    urn = graph.named(case.resource).urn
    report = evaluate(graph)
    assert report.passed and not report.warnings, (
        f"{urn}: {case.reason}:\n{describe(report.blocking + report.warnings)}"
    )
    for rule_id in case.rules:
        examined = [r for r in report.results if r.id == rule_id]
        assert examined, f"{urn}: {case.reason}: {rule_id} examined nothing"


def test_the_product_account_is_read_from_the_graph(graphs: dict[str, ResourceGraph]) -> None:
    for example in AWS_EXAMPLES:
        graph = graphs[example]
        assert home_accounts(graph) == {"111122223333"}, f"{graph.stack}: {example}"


def test_an_unknown_account_fails_closed(graphs: dict[str, ResourceGraph]) -> None:
    # Only the bucket policy is left: nothing in the graph says which account the product lives in.
    graph = graphs["sales-orders"]
    only_policy = dataclasses.replace(graph, resources=[graph.named(BUCKET_POLICY)])
    report = evaluate(only_policy)
    failures = [r for r in report.results if r.id == "MESH-S3-CROSS-ACCOUNT" and not r.passed]
    urn = graph.named(BUCKET_POLICY).urn
    assert [r.urn for r in failures] == [urn], f"{urn}: {describe(report.results)}"
    assert "cannot be read from the graph" in failures[0].message, f"{urn}: {failures[0].message}"


# --- disabling -----------------------------------------------------------------------


def test_disabled_advisory_rules_are_skipped(graphs: dict[str, ResourceGraph]) -> None:
    graph = broken(graphs["sales-orders"], "sales-orders-storage-access-logging", removed)
    assert "MESH-ADV-LOGGING" in {r.id for r in evaluate(graph).warnings}
    report = evaluate(graph, disabled=["MESH-ADV-LOGGING"])
    assert not [r for r in report.results if r.id == "MESH-ADV-LOGGING"], describe(report.results)
    assert report.disabled == ["MESH-ADV-LOGGING"]
    assert report.passed and not report.warnings, describe(report.warnings)


def test_mandatory_rules_run_even_when_named_in_disabled(graphs: dict[str, ResourceGraph]) -> None:
    graph = broken(graphs["sales-orders"], KEY, setting("enableKeyRotation", value=False))
    report = evaluate(graph, disabled=["MESH-KMS-ROTATION", "NO-SUCH-RULE"])
    assert [r.id for r in report.blocking] == ["MESH-KMS-ROTATION"], describe(report.results)
    assert report.disabled == []
    assert not report.passed


def test_the_preview_environment_disables_only_valid_ids() -> None:
    from infra.validation import load_platform

    platform = load_platform(EXAMPLES / "mesh.yaml").config
    for name, env in platform.environments.items():
        assert check_disabled(env.disabled_guardrails) == [], f"environment {name}: {env.disabled_guardrails}"
    assert platform.environments["preview"].disabled_guardrails == ["MESH-ADV-LOGGING"]


@dataclass
class DisableCase:
    reason: str
    given: list[str]
    want: list[tuple[str, ...]]  # per message, the substrings it must contain


DISABLE_CASES = [
    DisableCase("an advisory rule may be disabled", ["MESH-ADV-LOGGING", "MESH-ADV-VERSIONING"], []),
    DisableCase("a mandatory rule may not", ["MESH-S3-PUBLIC-ACCESS"],
                [("MESH-S3-PUBLIC-ACCESS", "mandatory guardrails cannot be disabled", "MESH-ADV-LOGGING")]),
    DisableCase("a typo gets a suggestion", ["MESH-ADV-LOGING"], [("unknown guardrail 'MESH-ADV-LOGING'", "did you mean MESH-ADV-LOGGING?")]),
    DisableCase("lower case gets a suggestion", ["mesh-adv-logging"], [("did you mean MESH-ADV-LOGGING?",)]),
    DisableCase("nothing close lists the advisory rules", ["S3.9"], [("unknown guardrail 'S3.9'", "advisory guardrails are", "MESH-ADV-LOGGING")]),
    DisableCase("one message per bad id, in order", ["MESH-TAGS", "MESH-ADV-LOGGING", "nope"],
                [("MESH-TAGS", "mandatory"), ("unknown guardrail 'nope'",)]),
]  # fmt: skip


@pytest.mark.parametrize("case", DISABLE_CASES, ids=lambda c: c.reason)
def test_check_disabled(case: DisableCase) -> None:
    messages = check_disabled(case.given)
    assert len(messages) == len(case.want), f"{case.reason}: {messages}"
    for message, parts in zip(messages, case.want, strict=True):
        for part in parts:
            assert part in message, f"{case.reason}: {part!r} not in {message!r}"


# --- the rule table and the report ----------------------------------------------------


FSBP_CONTROLS = {
    "MESH-S3-PUBLIC-ACCESS": "S3.8",
    "MESH-S3-TLS-ONLY": "S3.5",
    "MESH-S3-KMS-ENCRYPTION": "S3.17",
    "MESH-S3-OWNER-ENFORCED": "S3.12",
    "MESH-ADV-VERSIONING": "S3.14",
    "MESH-ADV-LIFECYCLE": "S3.13",
    "MESH-ADV-LOGGING": "S3.9",
    "MESH-KMS-ROTATION": "KMS.4",
    "MESH-IAM-NO-ADMIN": "IAM.1",
    "MESH-IAM-BOUNDARY": None,
    "MESH-TAGS": None,
    "MESH-GCS-PUBLIC-ACCESS": "CIS GCP 5.1, 5.2",
    "MESH-GCP-PUBLIC-MEMBER": "CIS GCP 5.1, 7.1",
    "MESH-GCP-CMEK": "CIS GCP 7.2, 7.3",
    "MESH-GCP-KMS-ROTATION": "CIS GCP 1.10",
}


def test_rule_table() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)), f"duplicate rule ids: {ids}"
    for guardrail in RULES:
        assert guardrail.id.startswith("MESH-") and guardrail.id == guardrail.id.upper(), guardrail.id
        assert guardrail.id.startswith("MESH-ADV-") == (guardrail.severity is Severity.ADVISORY), guardrail.id
        assert guardrail.title and guardrail.fix, guardrail.id
        assert rule(guardrail.id) is guardrail
    for rule_id, control in FSBP_CONTROLS.items():
        assert rule(rule_id).control == control, f"{rule_id}: control {rule(rule_id).control}, want {control}"
    with pytest.raises(KeyError, match="NOPE"):
        rule("NOPE")


def test_result_and_report_shapes(graphs: dict[str, ResourceGraph]) -> None:
    graph = broken(graphs["finance-payroll"], "finance-payroll-storage-versioning", removed)
    report = evaluate(graph)
    for row in report.as_dicts():
        assert set(row) == {"id", "severity", "control", "urn", "passed", "message"}, row
        assert row["severity"] in ("mandatory", "advisory"), row
    json.dumps(report.as_dicts())
    assert [r.id for r in report.warnings] == ["MESH-ADV-VERSIONING"]
    assert report.blocking == [] and report.passed


def test_a_graph_loaded_from_json_gives_the_same_report(graphs: dict[str, ResourceGraph]) -> None:
    graph = broken(graphs["sales-orders"], BUCKET_POLICY, add_statement(ALLOW_EVERYONE))
    loaded = ResourceGraph.from_dict(json.loads(json.dumps(graph.as_dict())))
    assert evaluate(loaded).as_dicts() == evaluate(graph).as_dicts()


def test_a_bare_gcp_bucket_fails_the_gcp_rules_only() -> None:
    urn = "urn:pulumi:s::p::gcp:storage/bucket:Bucket::b"
    graph = ResourceGraph(
        stack="s",
        project="p",
        resources=[
            Resource(urn=urn, type="gcp:storage/bucket:Bucket", name="b", parent=None, inputs={"labels": {}})
        ],
    )
    report = evaluate(graph)
    assert failing_ids(report) == {
        "MESH-GCS-PUBLIC-ACCESS", "MESH-GCP-CMEK", "MESH-GCP-LABELS", "MESH-ADV-GCS-VERSIONING",
    }, describe(report.results)  # fmt: skip
    assert {r.urn for r in report.results} == {urn}


def test_the_gcp_example_passes_and_gets_no_aws_findings(graphs: dict[str, ResourceGraph]) -> None:
    report = evaluate(graphs["marketing-campaigns"])
    assert report.passed and not report.warnings, describe(report.blocking + report.warnings)
    assert {r.id for r in report.results} == GCP_RULES, describe(report.results)


def test_guardrails_do_not_import_pulumi() -> None:
    code = (
        "import sys, infra.guardrails; sys.exit(1 if any(m.startswith('pulumi') for m in sys.modules) else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"infra.guardrails imports pulumi: {done.stderr}"
