"""Guardrails: the security rules a product stack must pass before it is applied.

Each rule is a plain function over a `ResourceGraph`, so the same rules run on a graph
synthesized offline (`mesh plan`), on one loaded from saved JSON, and later behind a
CrossGuard adapter. This module imports no pulumi.

Every rule has a stable id (`MESH-…`), a severity and, where one exists, the control it
enforces: an AWS Foundational Security Best Practices (FSBP) id for AWS rules, a CIS
Google Cloud Platform Foundations Benchmark recommendation for GCP rules. Mandatory rules block
provisioning and can never be disabled; advisory rules warn and can be turned off per
platform or environment (`guardrails.disabled`, `environments.<env>.disabledGuardrails`).

A rule yields one finding per resource it examined, passed or not, so a report shows
what was checked; a rule with nothing to examine (a GCP graph for the AWS rules, and the
other way round) yields nothing. Rules about a bucket report against the bucket's URN, whichever of its
sub-resources (public access block, policy, encryption, …) is at fault; the message
names that sub-resource. Rules fail closed: a policy document that cannot be parsed,
or an account that cannot be established, is a failure, not a pass.

Limits, stated rather than hidden:
- Bucket settings are read from the separate pulumi-aws resources mesh's components
  create (`BucketPublicAccessBlock`, `BucketVersioning`, …); the deprecated inline
  forms on `aws.s3.Bucket` (`versioning=`, `logging=`, …) are not read, so a bucket
  configured that way fails with "has no …". An inline bucket `policy` is read.
- Documents are read as written; what IAM would conclude across several documents
  (boundary ∩ identity policy ∩ resource policy) is proven elsewhere (the access proof).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from infra.graph import Resource, ResourceGraph, placeholder
from infra.spec import REQUIRED_TAGS

# Resource types the rules read (pulumi-aws v7 type tokens).
BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
KMS_KEY = "aws:kms/key:Key"
KMS_ALIAS = "aws:kms/alias:Alias"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
GLUE_DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"
GLUE_SECURITY_CONFIGURATION = "aws:glue/securityConfiguration:SecurityConfiguration"
GLUE_JOB = "aws:glue/job:Job"
GLUE_TRIGGER = "aws:glue/trigger:Trigger"
ATHENA_WORKGROUP = "aws:athena/workgroup:Workgroup"
# pulumi-gcp type tokens.
GCS_BUCKET = "gcp:storage/bucket:Bucket"
BQ_DATASET = "gcp:bigquery/dataset:Dataset"
BQ_TABLE = "gcp:bigquery/table:Table"
GCP_CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
# GCP resources that carry labels; the mesh tags become labels with `-` for `:`.
GCP_LABELLED_TYPES: tuple[str, ...] = (GCS_BUCKET, BQ_DATASET, BQ_TABLE, GCP_CRYPTO_KEY)
GCP_REQUIRED_LABELS = tuple(tag.replace(":", "-") for tag in REQUIRED_TAGS)
GCP_PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
GCP_BASIC_ROLES = ("roles/owner", "roles/editor", "roles/viewer")
GCP_MAX_ROTATION_SECONDS = 90 * 24 * 3600

# The mesh resource types that take a `tags` input in pulumi-aws. The others mesh
# creates cannot carry tags at all: bucket sub-configurations (public access block,
# ownership controls, versioning, encryption, lifecycle, logging, bucket policy), KMS
# aliases and key policies, role inline policies, Glue tables (tagged through their
# database) and Glue security configurations. They are attributed through their parent.
TAGGABLE_TYPES: tuple[str, ...] = (
    BUCKET,
    BUCKET_OBJECT,
    KMS_KEY,
    IAM_ROLE,
    IAM_POLICY,
    GLUE_DATABASE,
    GLUE_JOB,
    GLUE_TRIGGER,
    ATHENA_WORKGROUP,
)

PUBLIC_ACCESS_SETTINGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_SSE_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
ATHENA_KMS_OPTIONS = ("SSE_KMS", "CSE_KMS")
# AWS managed policies that amount to `*` on `*` when attached.
ADMIN_MANAGED_POLICIES = ("AdministratorAccess",)

_NOUNS = {
    BUCKET: "bucket",
    BUCKET_POLICY: "bucket policy",
    BUCKET_OBJECT: "bucket object",
    KMS_KEY: "KMS key",
    KEY_POLICY: "key policy",
    IAM_POLICY: "IAM policy",
    IAM_ROLE: "role",
    ROLE_POLICY: "role policy",
    USER_POLICY: "user policy",
    GROUP_POLICY: "group policy",
    ROLE_POLICY_ATTACHMENT: "role policy attachment",
    GLUE_DATABASE: "Glue database",
    GLUE_JOB: "Glue job",
    GLUE_TRIGGER: "Glue trigger",
    ATHENA_WORKGROUP: "Athena workgroup",
    GCS_BUCKET: "GCS bucket",
    BQ_DATASET: "BigQuery dataset",
    BQ_TABLE: "BigQuery table",
    GCP_CRYPTO_KEY: "Cloud KMS key",
}


class Severity(StrEnum):
    """Mandatory failures block provisioning; advisory failures warn and may be disabled."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"


class Finding(NamedTuple):
    """What one rule concluded about one resource."""

    urn: str
    passed: bool
    message: str


@dataclass(frozen=True)
class Guardrail:
    """One rule: its id, what it enforces, how to fix a failure, and the check itself.

    `control` is the AWS Foundational Security Best Practices control id (`"S3.8"`), or
    None where FSBP has no equivalent. `check` yields one `Finding` per resource examined.
    """

    id: str
    title: str
    severity: Severity
    control: str | None
    fix: str
    check: Callable[[ResourceGraph], Iterable[Finding]]


@dataclass(frozen=True)
class GuardrailResult:
    """One rule's verdict on one resource."""

    id: str
    severity: Severity
    control: str | None
    urn: str
    passed: bool
    message: str
    exemption: str | None = None  # why a failure is accepted here (set by mesh's code, never by config)

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape: `{"id", "severity", "control", "urn", "passed", "message"}`,
        plus `"exemption"` when a failure was accepted for a stated reason."""
        shape: dict[str, Any] = {
            "id": self.id,
            "severity": str(self.severity),
            "control": self.control,
            "urn": self.urn,
            "passed": self.passed,
            "message": self.message,
        }
        if self.exemption:
            shape["exemption"] = self.exemption
        return shape


@dataclass
class GuardrailReport:
    """Every result of one evaluation, and the advisory rules that were skipped."""

    results: list[GuardrailResult]
    disabled: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> list[GuardrailResult]:
        """Mandatory failures: provisioning must not go ahead."""
        return [r for r in self.results if not r.passed and r.severity is Severity.MANDATORY]

    @property
    def warnings(self) -> list[GuardrailResult]:
        """Advisory failures."""
        return [r for r in self.results if not r.passed and r.severity is Severity.ADVISORY]

    @property
    def passed(self) -> bool:
        """No mandatory rule failed."""
        return not self.blocking

    def as_dicts(self) -> list[dict[str, Any]]:
        """Every result in its JSON shape, in rule order."""
        return [r.as_dict() for r in self.results]


# --- reading resources -------------------------------------------------------------


def _label(resource: Resource) -> str:
    noun = _NOUNS.get(resource.type, resource.type.rsplit(":", 1)[-1])
    return f"{noun} {resource.name}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first(value: Any) -> Any:
    """A nested block pulumi may send as an object or a one-element list."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _block(value: Any) -> dict[str, Any]:
    """A nested input block as a dict (empty when absent or malformed)."""
    value = _first(value)
    return value if isinstance(value, dict) else {}


def _bucket_id(bucket: Resource) -> str:
    """What a bucket's sub-resources put in their `bucket` input (the bucket's id)."""
    name = bucket.inputs.get("bucket")
    return name if isinstance(name, str) and name else placeholder(bucket.name, "bucket")


def _bucket_configs(graph: ResourceGraph, type_: str, bucket: Resource) -> list[Resource]:
    bucket_id = _bucket_id(bucket)
    return [r for r in graph.of_type(type_) if r.inputs.get("bucket") == bucket_id]


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard matching: `*` any run of characters, `?` one character."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


# --- policy documents --------------------------------------------------------------


@dataclass(frozen=True)
class _Document:
    """A policy document held by a resource; `statements` is None when it cannot be parsed."""

    resource: Resource
    where: str  # the input holding it, for messages
    kind: str  # "bucket policy", "key policy", "trust policy", "identity policy"
    statements: tuple[dict[str, Any], ...] | None

    @property
    def label(self) -> str:
        """`bucket policy x` for a policy resource; `trust policy of role x` for a document inside another resource."""
        if self.resource.type in _POLICY_RESOURCES:
            return _label(self.resource)
        inline = f" ({self.where})" if self.where.startswith("inline") else ""
        return f"{self.kind} of {_label(self.resource)}{inline}"


# Resources that are nothing but one policy document.
_POLICY_RESOURCES = (BUCKET_POLICY, KEY_POLICY, IAM_POLICY, ROLE_POLICY, USER_POLICY, GROUP_POLICY)


# Which inputs of which types hold a policy document, and what kind of document it is.
_DOCUMENT_INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    BUCKET_POLICY: (("policy", "bucket policy"),),
    BUCKET: (("policy", "bucket policy"),),
    KEY_POLICY: (("policy", "key policy"),),
    KMS_KEY: (("policy", "key policy"),),
    IAM_ROLE: (("assumeRolePolicy", "trust policy"),),
    IAM_POLICY: (("policy", "identity policy"),),
    ROLE_POLICY: (("policy", "identity policy"),),
    USER_POLICY: (("policy", "identity policy"),),
    GROUP_POLICY: (("policy", "identity policy"),),
}


def _parse_statements(raw: Any) -> tuple[dict[str, Any], ...] | None:
    """The statements of a document given as a dict or a JSON string; None when unreadable."""
    document = raw
    if isinstance(raw, str):
        try:
            document = json.loads(raw)
        except ValueError:
            return None
    if not isinstance(document, dict):
        return None
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        return None
    return tuple(statements)


def _documents(resource: Resource) -> list[_Document]:
    """Every policy document `resource` holds (absent inputs are skipped)."""
    found = [
        _Document(resource, key, kind, _parse_statements(resource.inputs[key]))
        for key, kind in _DOCUMENT_INPUTS.get(resource.type, ())
        if resource.inputs.get(key) not in (None, "")
    ]
    if resource.type == IAM_ROLE:
        for i, inline in enumerate(_as_list(resource.inputs.get("inlinePolicies"))):
            if isinstance(inline, dict) and inline.get("policy") not in (None, ""):
                name = inline.get("name") or f"#{i + 1}"
                found.append(
                    _Document(
                        resource,
                        f"inline policy {name}",
                        "identity policy",
                        _parse_statements(inline["policy"]),
                    )
                )
    return found


def _graph_documents(graph: ResourceGraph, *kinds: str) -> Iterator[tuple[Resource, list[_Document]]]:
    """Resources holding documents of `kinds`, each with those documents, in graph order."""
    for resource in graph.cloud_resources():
        documents = [d for d in _documents(resource) if d.kind in kinds]
        if documents:
            yield resource, documents


def _statement_label(statement: dict[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid}" if isinstance(sid, str) and sid else f"statement #{index + 1}"


def _allows(statement: dict[str, Any]) -> bool:
    return str(statement.get("Effect", "")).lower() == "allow"


def _principals(statement: dict[str, Any]) -> list[tuple[str, str]]:
    """`(kind, value)` pairs of a statement's Principal: `("*", "*")` for a bare `"*"`."""
    principal = statement.get("Principal")
    if principal is None:
        return []
    if isinstance(principal, str):
        return [("*", principal)] if principal == "*" else [("AWS", principal)]
    if isinstance(principal, dict):
        return [(str(kind), str(value)) for kind, values in principal.items() for value in _as_list(values)]
    return [("?", str(principal))]


def _is_public(statement: dict[str, Any]) -> bool:
    """An Allow that reaches everyone: a `*` principal, or `NotPrincipal` (everyone but some)."""
    if not _allows(statement):
        return False
    if "NotPrincipal" in statement:
        return True
    return any(value == "*" for _, value in _principals(statement))


def _unreadable(document: _Document) -> str:
    return (
        f"the {document.label} ({document.where}) is not a readable policy document, so it cannot be checked"
    )


# --- S3 bucket rules ---------------------------------------------------------------


def _each_bucket(
    graph: ResourceGraph,
    type_: str,
    what: str,
    judge: Callable[[Resource], list[str]],
    holds: str,
) -> Iterator[Finding]:
    """One finding per bucket: its `type_` sub-resources exist and `judge` finds no problem."""
    for bucket in graph.of_type(BUCKET):
        configs = _bucket_configs(graph, type_, bucket)
        if not configs:
            yield Finding(bucket.urn, False, f"{_label(bucket)} has no {what}")
            continue
        problems = [problem for config in configs for problem in judge(config)]
        if problems:
            yield Finding(bucket.urn, False, f"{_label(bucket)}: {'; '.join(problems)}")
        else:
            yield Finding(
                bucket.urn, True, f"{_label(bucket)}: {holds} ({', '.join(c.name for c in configs)})"
            )


def check_public_access_block(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has a public access block with all four settings true."""

    def judge(block: Resource) -> list[str]:
        off = [s for s in PUBLIC_ACCESS_SETTINGS if block.inputs.get(s) is not True]
        return [f"public access block {block.name} does not set {', '.join(off)} to true"] if off else []

    return _each_bucket(
        graph,
        PUBLIC_ACCESS_BLOCK,
        "public access block",
        judge,
        "all four public access block settings are true",
    )


def check_ownership_controls(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has ownership controls `BucketOwnerEnforced` (ACLs disabled)."""

    def judge(controls: Resource) -> list[str]:
        ownership = _block(controls.inputs.get("rule")).get("objectOwnership")
        if ownership == "BucketOwnerEnforced":
            return []
        return [
            f"ownership controls {controls.name} set objectOwnership to {ownership or 'nothing'}, which leaves ACLs enabled"
        ]

    return _each_bucket(
        graph, OWNERSHIP_CONTROLS, "ownership controls", judge, "ACLs are disabled (BucketOwnerEnforced)"
    )


def check_versioning(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has versioning enabled."""

    def judge(versioning: Resource) -> list[str]:
        status = versioning.input("versioningConfiguration", "status")
        return [] if status == "Enabled" else [f"versioning {versioning.name} has status {status or 'unset'}"]

    return _each_bucket(graph, VERSIONING, "versioning configuration", judge, "versioning is enabled")


def check_lifecycle(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has a lifecycle configuration with at least one enabled rule."""

    def judge(lifecycle: Resource) -> list[str]:
        rules = [r for r in _as_list(lifecycle.inputs.get("rules")) if isinstance(r, dict)]
        if any(r.get("status") == "Enabled" for r in rules):
            return []
        return [f"lifecycle configuration {lifecycle.name} has no enabled rule"]

    return _each_bucket(
        graph, LIFECYCLE, "lifecycle configuration", judge, "a lifecycle configuration expires data"
    )


def check_access_logging(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket logs server access to another bucket."""

    def judge(logging: Resource) -> list[str]:
        target = logging.inputs.get("targetBucket")
        if not target:
            return [f"access logging {logging.name} names no target bucket"]
        if target == logging.inputs.get("bucket"):
            return [
                f"access logging {logging.name} logs into the bucket itself, which feeds its own logs back"
            ]
        return []

    return _each_bucket(
        graph, LOGGING, "server access logging", judge, "server access logs go to another bucket"
    )


def check_kms_encryption(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket encrypts by default with SSE-KMS and a named customer managed key."""

    def judge(encryption: Resource) -> list[str]:
        rules = [r for r in _as_list(encryption.inputs.get("rules")) if isinstance(r, dict)]
        if not rules:
            return [f"encryption configuration {encryption.name} has no rule"]
        problems = []
        for rule_ in rules:
            default = _block(rule_.get("applyServerSideEncryptionByDefault"))
            algorithm = default.get("sseAlgorithm")
            if algorithm not in KMS_SSE_ALGORITHMS:
                problems.append(
                    f"encryption configuration {encryption.name} uses {algorithm or 'no algorithm'} instead of aws:kms"
                )
            elif not default.get("kmsMasterKeyId"):
                problems.append(
                    f"encryption configuration {encryption.name} uses aws:kms without kmsMasterKeyId, so S3 falls back to the AWS managed key"
                )
        return problems

    return _each_bucket(
        graph,
        ENCRYPTION,
        "default encryption configuration",
        judge,
        "default encryption is SSE-KMS with a customer managed key",
    )


def _covers(patterns: list[Any], arn: str) -> bool:
    """Some Resource pattern covers `arn` (`arn` given with partition `aws`; the pattern's partition is used)."""
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        candidate = arn
        parts = pattern.split(":", 2)
        if len(parts) == 3 and parts[0] == "arn" and "*" not in parts[1] and "?" not in parts[1]:
            candidate = arn.replace("arn:aws:", f"arn:{parts[1]}:", 1)
        if _glob(pattern, candidate):
            return True
    return False


def _denies_insecure_transport(statement: dict[str, Any], bucket_id: str) -> bool:
    """Deny, to everyone, every S3 action on the bucket and its objects when TLS is not used."""
    if str(statement.get("Effect", "")).lower() != "deny":
        return False
    if not any(value == "*" for _, value in _principals(statement)):
        return False
    actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
    if not any(_glob(a, "s3:*", ignore_case=True) for a in actions):
        return False
    resources = _as_list(statement.get("Resource"))
    if not (
        _covers(resources, f"arn:aws:s3:::{bucket_id}") and _covers(resources, f"arn:aws:s3:::{bucket_id}/*")
    ):
        return False
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for operator, tests in condition.items():
        if str(operator).lower() not in ("bool", "boolifexists") or not isinstance(tests, dict):
            continue
        for key, value in tests.items():
            if str(key).lower() == "aws:securetransport" and any(
                str(v).lower() == "false" for v in _as_list(value)
            ):
                return True
    return False


def check_tls_only(graph: ResourceGraph) -> Iterable[Finding]:
    """Every bucket has a policy denying `s3:*` to `*` on the bucket and its objects without TLS."""
    for bucket in graph.of_type(BUCKET):
        bucket_id = _bucket_id(bucket)
        documents = [
            d for r in (bucket, *_bucket_configs(graph, BUCKET_POLICY, bucket)) for d in _documents(r)
        ]
        if not documents:
            yield Finding(
                bucket.urn,
                False,
                f"{_label(bucket)} has no bucket policy, so it accepts requests without TLS",
            )
            continue
        unreadable = [_unreadable(d) for d in documents if d.statements is None]
        if unreadable:
            yield Finding(bucket.urn, False, f"{_label(bucket)}: {'; '.join(unreadable)}")
            continue
        names = ", ".join(d.resource.name for d in documents)
        if any(_denies_insecure_transport(s, bucket_id) for d in documents for s in d.statements or ()):
            yield Finding(bucket.urn, True, f"{_label(bucket)}: requests without TLS are denied ({names})")
        else:
            yield Finding(
                bucket.urn,
                False,
                f"{_label(bucket)}: bucket policy {names} has no statement denying s3:* to Principal * on the bucket and its objects when aws:SecureTransport is false",
            )


# --- KMS -----------------------------------------------------------------------------


def check_key_rotation(graph: ResourceGraph) -> Iterable[Finding]:
    """Every symmetric KMS key has automatic rotation on (AWS cannot rotate other key specs)."""
    for key in graph.of_type(KMS_KEY):
        spec = key.inputs.get("customerMasterKeySpec") or key.inputs.get("keySpec") or "SYMMETRIC_DEFAULT"
        if spec != "SYMMETRIC_DEFAULT":
            yield Finding(
                key.urn, True, f"{_label(key)} is a {spec} key, which AWS cannot rotate automatically"
            )
        elif key.inputs.get("enableKeyRotation") is True:
            yield Finding(key.urn, True, f"{_label(key)} rotates automatically")
        else:
            yield Finding(key.urn, False, f"{_label(key)} does not set enableKeyRotation to true")


# --- IAM and resource policies -------------------------------------------------------


def _is_admin(statement: dict[str, Any]) -> bool:
    actions = _as_list(statement.get("Action"))
    resources = _as_list(statement.get("Resource"))
    return _allows(statement) and any(a in ("*", "*:*") for a in actions) and "*" in resources


def _attached_admin_policies(resource: Resource) -> list[str]:
    if resource.type == IAM_ROLE:
        arns = _as_list(resource.inputs.get("managedPolicyArns"))
    elif resource.type == ROLE_POLICY_ATTACHMENT:
        arns = _as_list(resource.inputs.get("policyArn"))
    else:
        return []
    return [
        a
        for a in arns
        if isinstance(a, str) and a.rsplit("/", 1)[-1] in ADMIN_MANAGED_POLICIES and ":iam::aws:policy/" in a
    ]


def check_no_admin_statements(graph: ResourceGraph) -> Iterable[Finding]:
    """No document allows action `*` on resource `*`, and no role gets AdministratorAccess attached."""
    for resource in graph.cloud_resources():
        documents = _documents(resource)
        if not documents and resource.type not in (IAM_ROLE, ROLE_POLICY_ATTACHMENT):
            continue
        problems = [f"{_label(resource)} attaches {arn}" for arn in _attached_admin_policies(resource)]
        for document in documents:
            if document.statements is None:
                problems.append(_unreadable(document))
                continue
            problems += [
                f"{_statement_label(s, i)} of the {document.label} allows action * on resource *"
                for i, s in enumerate(document.statements)
                if _is_admin(s)
            ]
        if problems:
            yield Finding(resource.urn, False, "; ".join(problems))
        else:
            yield Finding(resource.urn, True, f"{_label(resource)} grants no action * on resource *")


def check_data_perimeter(graph: ResourceGraph) -> Iterable[Finding]:
    """Only the product's roles (and break-glass principals) can touch a product bucket's data.

    Judged by evaluating the documents for a probe principal of the product's account
    that is none of its roles: the bucket policy must deny it every object and list
    action (an explicit Deny: an administrator's own IAM permissions must not reach the
    data), and the key policy must not let it use the key, directly or by delegating to
    the account's IAM. Principals a perimeter spares besides the product's roles must be
    break-glass principals (named by the key policy's `BreakGlass…` statement) or be
    denied the data by another statement (the deployer). A graph without IAM roles (the
    platform stack) has no product perimeter to check.
    """
    from infra.policy_eval import evaluate as decide  # noqa: PLC0415 - the evaluator is only needed here

    roles = graph.of_type(IAM_ROLE)
    if not roles:
        return
    accounts = sorted(home_accounts(graph))
    if len(accounts) != 1:
        for bucket in graph.of_type(BUCKET):
            yield Finding(bucket.urn, False, f"{_label(bucket)}: the product's account cannot be established")
        return
    account = accounts[0]
    own = {
        f"arn:{partition}:iam::{account}:role{_iam_path(r)}{r.inputs.get('name')}"
        for r in roles
        for partition in ("aws", "aws-cn", "aws-us-gov")
    }
    probe = f"arn:aws:iam::{account}:role/mesh-perimeter-probe"
    key_statements = [
        st for d in (_documents(k)[0] for k in graph.of_type(KEY_POLICY)) for st in (d.statements or ())
    ]
    break_glass = {
        value
        for st in key_statements
        if str(st.get("Sid", "")).startswith("BreakGlass")
        for _, value in _principals(st)
    }
    secure = {"aws:SecureTransport": "true"}
    for bucket in graph.of_type(BUCKET):
        policies = _bucket_configs(graph, BUCKET_POLICY, bucket)
        documents = [d for p in policies for d in _documents(p)] or [
            d for d in _documents(bucket) if d.kind == "bucket policy"
        ]
        if not documents or any(d.statements is None for d in documents):
            yield Finding(
                bucket.urn, False, f"{_label(bucket)} has no readable bucket policy, so no data perimeter"
            )
            continue
        document = {"Statement": [st for d in documents for st in (d.statements or ())]}
        arn = f"arn:aws:s3:::{_bucket_id(bucket)}"
        requests = [
            ("s3:GetObject", f"{arn}/data/perimeter-probe"),
            ("s3:PutObject", f"{arn}/data/perimeter-probe"),
            ("s3:DeleteObject", f"{arn}/data/perimeter-probe"),
            ("s3:ListBucket", arn),
        ]

        def denied(
            principal: str, requests: list[tuple[str, str]] = requests, document: dict[str, Any] = document
        ) -> list[str]:
            return [
                action
                for action, resource in requests
                if not decide(
                    document, action=action, resource=resource, principal=principal, context=secure
                ).explicit_deny
            ]

        problems = []
        if any("NotPrincipal" in st for st in document["Statement"] if not _allows(st)):
            problems.append(
                "a Deny uses NotPrincipal, which AWS applies to every role with a permissions boundary"
            )
        open_to_probe = denied(probe)
        if open_to_probe:
            problems.append(
                f"nothing denies {', '.join(open_to_probe)} to a principal that is not one of the product's roles"
            )
        spared = {
            value
            for st in document["Statement"]
            if not _allows(st)
            for operator, entries in (st.get("Condition") or {}).items()
            if operator.rpartition(":")[2]
            in ("ArnNotLike", "ArnNotEquals", "StringNotLike", "StringNotEquals")
            for key, values in entries.items()
            if key.lower() == "aws:principalarn"
            for value in _as_list(values)
        }
        for principal in sorted(spared - own - break_glass):
            leaks = denied(principal)
            if leaks:
                problems.append(f"{principal} is spared by the perimeter and may {', '.join(leaks)}")
        for key_policy in graph.of_type(KEY_POLICY):
            kms = {"Statement": [st for d in _documents(key_policy) for st in (d.statements or ())]}
            # Try the request through every service the key policy names, and directly.
            vias = {
                str(value)
                for st in kms["Statement"]
                for entries in (st.get("Condition") or {}).values()
                for key, values in entries.items()
                if key.lower() == "kms:viaservice"
                for value in _as_list(values)
            }
            contexts = [{"kms:CallerAccount": account}] + [
                {"kms:CallerAccount": account, "kms:ViaService": via} for via in sorted(vias)
            ]
            for action, context in (
                (a, c)
                for a in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom")
                for c in contexts
            ):
                verdict = decide(kms, action=action, resource="*", principal=probe, context=context)
                if verdict.allowed:
                    how = "delegates it to the account's IAM" if verdict.through_account else "grants it"
                    problems.append(f"{_label(key_policy)} statement {verdict.statement} {how} ({action})")
        if problems:
            yield Finding(bucket.urn, False, f"{_label(bucket)}: {'; '.join(problems)}")
        else:
            glass = f"; break-glass: {', '.join(sorted(break_glass))}" if break_glass else ""
            yield Finding(
                bucket.urn,
                True,
                f"{_label(bucket)}: only the product's roles reach its data and use its key{glass}",
            )


def _public_statements(kind: str, what: str) -> Callable[[ResourceGraph], Iterable[Finding]]:
    def check(graph: ResourceGraph) -> Iterable[Finding]:
        for resource, documents in _graph_documents(graph, kind):
            problems = []
            for document in documents:
                if document.statements is None:
                    problems.append(_unreadable(document))
                    continue
                problems += [
                    f"{_statement_label(s, i)} of the {document.label} allows {'everyone but NotPrincipal' if 'NotPrincipal' in s else 'Principal *'} without a Condition"
                    for i, s in enumerate(document.statements)
                    if _is_public(s) and not s.get("Condition")
                ]
            if problems:
                yield Finding(resource.urn, False, "; ".join(problems))
            else:
                yield Finding(resource.urn, True, f"{_label(resource)}: {what}")

    check.__doc__ = f"No Allow in a {kind} reaches a wildcard principal without a Condition."
    return check


_ARN = re.compile(r"arn:([\w-]+):([\w-]+):([\w-]*):(\d{12}):([^\s\"',]+)")
_ACCOUNT = re.compile(r"^\d{12}$")
_PLACEHOLDER = re.compile(r"^<[^<>]+>$")


def _iam_path(resource: Resource) -> str:
    path = resource.inputs.get("path")
    if not isinstance(path, str) or not path:
        return "/"
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


def _own_arn_resources(graph: ResourceGraph) -> set[tuple[str, str]]:
    """`(service, resource)` of the ARNs of resources this graph creates."""
    own: set[tuple[str, str]] = set()
    for r in graph.cloud_resources():
        name = r.inputs.get("name")
        if r.type == KMS_KEY:
            own.add(("kms", f"key/{placeholder(r.name, 'keyId')}"))
        elif r.type == KMS_ALIAS and isinstance(name, str):
            own.add(("kms", name))
        elif r.type == IAM_ROLE and isinstance(name, str):
            own.add(("iam", f"role{_iam_path(r)}{name}"))
        elif r.type == IAM_POLICY and isinstance(name, str):
            own.add(("iam", f"policy{_iam_path(r)}{name}"))
        elif r.type == GLUE_DATABASE and isinstance(name, str):
            own.add(("glue", f"database/{name}"))
        elif r.type == GLUE_JOB and isinstance(name, str):
            own.add(("glue", f"job/{name}"))
        elif r.type == ATHENA_WORKGROUP and isinstance(name, str):
            own.add(("athena", f"workgroup/{name}"))
    return own


def _strings_outside_principals(value: Any) -> Iterator[str]:
    """Every string in `value`, JSON documents opened, Principal blocks left out (they are what is judged)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key not in ("Principal", "NotPrincipal"):
                yield from _strings_outside_principals(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_outside_principals(item)
    elif isinstance(value, str):
        if value.lstrip().startswith("{"):
            try:
                yield from _strings_outside_principals(json.loads(value))
                return
            except ValueError:
                pass
        yield value


def home_accounts(graph: ResourceGraph) -> set[str]:
    """The account(s) the product lives in, as the graph itself shows it.

    Read from ARNs that name a resource the graph creates (its keys, roles, boundary,
    database, workgroups, job) wherever they appear outside a Principal block: a key
    ARN in the encryption configuration, the boundary ARN on a role, the workgroup ARN
    in a policy's Resource. Principals are left out because they are what is judged.
    """
    own = _own_arn_resources(graph)
    accounts: set[str] = set()
    for resource in graph.cloud_resources():
        for text in _strings_outside_principals(resource.inputs):
            for _, service, _, account, rest in _ARN.findall(text):
                if (service, rest) in own:
                    accounts.add(account)
    return accounts


def _principal_account(kind: str, value: str) -> str | None:
    """The account of an account-bearing principal; "" when it has none to check; None when unknowable."""
    if kind == "Service" or value == "*":
        return ""
    if kind == "Federated" and not value.startswith("arn:"):
        return ""  # a web identity provider (accounts.google.com, cognito-identity.amazonaws.com)
    if kind == "CanonicalUser":
        return None
    if _ACCOUNT.match(value):
        return value
    if _PLACEHOLDER.match(value):
        return "<self>"  # a value of a resource in this very stack
    parts = value.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and _ACCOUNT.match(parts[4]):
        return parts[4]
    return None


def _same_account(kind: str) -> Callable[[ResourceGraph], Iterable[Finding]]:
    def check(graph: ResourceGraph) -> Iterable[Finding]:
        home: set[str] | None = None
        for resource, documents in _graph_documents(graph, kind):
            if home is None:
                home = home_accounts(graph)
            problems = []
            for document in documents:
                if document.statements is None:
                    problems.append(_unreadable(document))
                    continue
                for i, statement in enumerate(document.statements):
                    if not _allows(statement):
                        continue
                    where = f"{_statement_label(statement, i)} of the {document.label}"
                    for principal_kind, value in _principals(statement):
                        account = _principal_account(principal_kind, value)
                        if account in ("", "<self>"):
                            continue
                        if account is None:
                            problems.append(f"{where} grants {value}, whose account cannot be verified")
                        elif not home:
                            problems.append(
                                f"{where} grants {value}, but the product's own account cannot be read from the graph"
                            )
                        elif account not in home:
                            problems.append(
                                f"{where} grants {value} in account {account}, outside the product's account {', '.join(sorted(home))}"
                            )
            if problems:
                yield Finding(resource.urn, False, "; ".join(problems))
            else:
                yield Finding(
                    resource.urn, True, f"{_label(resource)} grants only principals of the product's account"
                )

    check.__doc__ = f"No Allow in a {kind} grants a principal of another account."
    return check


def check_permissions_boundary(graph: ResourceGraph) -> Iterable[Finding]:
    """Every role is confined by a permissions boundary."""
    boundaries = {f"policy{_iam_path(p)}{p.inputs.get('name')}": p for p in graph.of_type(IAM_POLICY)}
    for role in graph.of_type(IAM_ROLE):
        boundary = role.inputs.get("permissionsBoundary")
        if not isinstance(boundary, str) or not boundary:
            yield Finding(role.urn, False, f"{_label(role)} has no permissions boundary")
            continue
        policy = boundaries.get(boundary.split(":", 5)[-1])
        yield Finding(
            role.urn, True, f"{_label(role)} is confined by boundary {policy.name if policy else boundary}"
        )


# --- Athena, Glue ---------------------------------------------------------------------


def check_athena_workgroup(graph: ResourceGraph) -> Iterable[Finding]:
    """Every workgroup enforces its configuration and KMS-encrypts query results."""
    for workgroup in graph.of_type(ATHENA_WORKGROUP):
        config = _block(workgroup.inputs.get("configuration"))
        problems = []
        # pulumi-aws defaults enforceWorkgroupConfiguration to true; only an explicit false weakens it.
        if config.get("enforceWorkgroupConfiguration", True) is not True:
            problems.append(
                "does not enforce its configuration, so clients can override result encryption and location"
            )
        encryption = _block(_block(config.get("resultConfiguration")).get("encryptionConfiguration"))
        option = encryption.get("encryptionOption")
        if option not in ATHENA_KMS_OPTIONS:
            problems.append(
                f"encrypts query results with {option or 'nothing'} instead of SSE_KMS or CSE_KMS"
            )
        elif not encryption.get("kmsKeyArn"):
            problems.append(f"uses {option} without kmsKeyArn")
        if problems:
            yield Finding(workgroup.urn, False, f"{_label(workgroup)} {' and '.join(problems)}")
        else:
            yield Finding(
                workgroup.urn,
                True,
                f"{_label(workgroup)} enforces its configuration and encrypts results with {option}",
            )


def check_athena_scan_limit(graph: ResourceGraph) -> Iterable[Finding]:
    """Every workgroup caps the bytes one query may scan."""
    for workgroup in graph.of_type(ATHENA_WORKGROUP):
        config = _block(workgroup.inputs.get("configuration"))
        cutoff = config.get("bytesScannedCutoffPerQuery")
        if isinstance(cutoff, int | float) and not isinstance(cutoff, bool) and cutoff > 0:
            yield Finding(
                workgroup.urn, True, f"{_label(workgroup)} stops queries after {int(cutoff)} bytes scanned"
            )
        else:
            yield Finding(
                workgroup.urn,
                False,
                f"{_label(workgroup)} sets no bytesScannedCutoffPerQuery, so one query can scan without limit",
            )


GLUE_ENCRYPTION = (  # (block, mode key, the mode mesh requires, what it protects)
    ("s3Encryption", "s3EncryptionMode", "SSE-KMS", "S3 output"),
    ("jobBookmarksEncryption", "jobBookmarksEncryptionMode", "CSE-KMS", "job bookmarks"),
    ("cloudwatchEncryption", "cloudwatchEncryptionMode", "SSE-KMS", "CloudWatch logs"),
)


def check_glue_job_encryption(graph: ResourceGraph) -> Iterable[Finding]:
    """Every Glue job runs under a security configuration that encrypts its S3 output, its job
    bookmarks and its CloudWatch logs with a KMS key."""
    configurations = {r.inputs.get("name"): r for r in graph.of_type(GLUE_SECURITY_CONFIGURATION)}
    for job in graph.of_type(GLUE_JOB):
        name = job.inputs.get("securityConfiguration")
        configuration = configurations.get(name) if name else None
        if not name:
            yield Finding(
                job.urn,
                False,
                f"{_label(job)} runs without a security configuration, so its S3 output, bookmarks and logs are not KMS-encrypted",
            )
            continue
        if configuration is None:
            yield Finding(
                job.urn,
                False,
                f"{_label(job)} names security configuration {name}, which this stack does not create, so its encryption cannot be checked",
            )
            continue
        encryption = _block(configuration.inputs.get("encryptionConfiguration"))
        gaps = []
        for block, key, wanted, what in GLUE_ENCRYPTION:
            settings = _block(encryption.get(block))
            mode = settings.get(key)
            if mode != wanted or not settings.get("kmsKeyArn"):
                key_note = "" if settings.get("kmsKeyArn") else " without kmsKeyArn"
                gaps.append(f"{what}: {key} {mode or 'unset'}{key_note} instead of {wanted} with a key")
        if gaps:
            yield Finding(
                job.urn,
                False,
                f"{_label(job)}: security configuration {configuration.name} leaves " + "; ".join(gaps),
            )
        else:
            yield Finding(
                job.urn,
                True,
                f"{_label(job)} encrypts its S3 output, bookmarks and logs with KMS ({configuration.name})",
            )


# --- GCP ------------------------------------------------------------------------------


def check_gcs_public_access(graph: ResourceGraph) -> Iterable[Finding]:
    """Every GCS bucket enforces public access prevention and uniform bucket-level access."""
    for bucket in graph.of_type(GCS_BUCKET):
        problems = []
        if bucket.inputs.get("publicAccessPrevention") != "enforced":
            problems.append(
                f"publicAccessPrevention is {bucket.inputs.get('publicAccessPrevention') or 'unset'}"
            )
        if bucket.inputs.get("uniformBucketLevelAccess") is not True:
            problems.append("uniformBucketLevelAccess is not true (object ACLs could grant access)")
        if problems:
            yield Finding(bucket.urn, False, f"{_label(bucket)}: {'; '.join(problems)}")
        else:
            yield Finding(
                bucket.urn, True, f"{_label(bucket)} enforces public access prevention, uniform access"
            )


def _gcp_grants(graph: ResourceGraph) -> Iterator[tuple[Resource, list[str], str]]:
    """Every GCP IAM member or binding resource: its members and its role."""
    for resource in graph.cloud_resources():
        kind = resource.type.rsplit(":", 1)[-1].lower()
        if resource.type.startswith("gcp:") and kind.endswith(("iammember", "iambinding")):
            members = [
                str(m)
                for m in _as_list(resource.inputs.get("member")) + _as_list(resource.inputs.get("members"))
            ]
            yield resource, members, str(resource.inputs.get("role", ""))


def check_gcp_public_members(graph: ResourceGraph) -> Iterable[Finding]:
    """No IAM grant reaches allUsers or allAuthenticatedUsers."""
    for resource, members, role in _gcp_grants(graph):
        public = [m for m in members if m in GCP_PUBLIC_MEMBERS]
        if public:
            yield Finding(resource.urn, False, f"{_label(resource)} grants {role} to {', '.join(public)}")
        else:
            yield Finding(resource.urn, True, f"{_label(resource)} grants {role} to named principals only")


def check_gcp_basic_roles(graph: ResourceGraph) -> Iterable[Finding]:
    """No IAM grant uses a basic role (owner, editor, viewer), which spans every service."""
    for resource, _, role in _gcp_grants(graph):
        if role in GCP_BASIC_ROLES:
            yield Finding(resource.urn, False, f"{_label(resource)} grants the basic role {role}")
        else:
            yield Finding(resource.urn, True, f"{_label(resource)} grants {role}")


def check_gcp_cmek(graph: ResourceGraph) -> Iterable[Finding]:
    """Buckets, datasets and tables encrypt with the product's Cloud KMS key (CMEK)."""
    settings = {
        GCS_BUCKET: ("encryption", "defaultKmsKeyName"),
        BQ_DATASET: ("defaultEncryptionConfiguration", "kmsKeyName"),
        BQ_TABLE: ("encryptionConfiguration", "kmsKeyName"),
    }
    for resource in graph.of_type(*settings):
        block, key = settings[resource.type]
        name = _block(resource.inputs.get(block)).get(key)
        if name:
            yield Finding(resource.urn, True, f"{_label(resource)} encrypts with {name}")
        else:
            yield Finding(
                resource.urn, False, f"{_label(resource)} sets no {block}.{key}, so Google-managed keys apply"
            )


def _seconds(duration: Any) -> int | None:
    match = re.fullmatch(r"(\d+)(?:\.\d+)?s", str(duration or ""))
    return int(match.group(1)) if match else None


def check_gcp_key_rotation(graph: ResourceGraph) -> Iterable[Finding]:
    """Every Cloud KMS key rotates at least every 90 days."""
    for key in graph.of_type(GCP_CRYPTO_KEY):
        period = key.inputs.get("rotationPeriod")
        seconds = _seconds(period)
        if seconds is not None and 0 < seconds <= GCP_MAX_ROTATION_SECONDS:
            yield Finding(key.urn, True, f"{_label(key)} rotates every {seconds // 86400} days")
        else:
            what = f"rotationPeriod {period}" if period else "no rotationPeriod"
            yield Finding(key.urn, False, f"{_label(key)} has {what}; at most 90 days (7776000s) is required")


def check_gcp_labels(graph: ResourceGraph) -> Iterable[Finding]:
    """Every labelled GCP resource carries the mesh labels cost attribution and the sweep read."""
    return _carries(graph, GCP_LABELLED_TYPES, "labels", GCP_REQUIRED_LABELS, "label")


def check_gcs_versioning(graph: ResourceGraph) -> Iterable[Finding]:
    """Every GCS bucket keeps noncurrent versions, so an overwrite or delete can be undone."""
    for bucket in graph.of_type(GCS_BUCKET):
        if _block(bucket.inputs.get("versioning")).get("enabled") is True:
            yield Finding(bucket.urn, True, f"{_label(bucket)} keeps object versions")
        else:
            yield Finding(bucket.urn, False, f"{_label(bucket)} does not enable versioning")


# --- tags -------------------------------------------------------------------------------


def _carries(
    graph: ResourceGraph, types: tuple[str, ...], key: str, required: tuple[str, ...], noun: str
) -> Iterator[Finding]:
    """One finding per resource of `types`: its `key` map (tags, labels) has every `required` entry."""
    for resource in graph.of_type(*types):
        given = resource.inputs.get(key)
        given = given if isinstance(given, dict) else {}
        missing = [name for name in required if not given.get(name)]
        if missing:
            yield Finding(resource.urn, False, f"{_label(resource)} lacks the {key} {', '.join(missing)}")
        else:
            yield Finding(resource.urn, True, f"{_label(resource)} carries every required mesh {noun}")


def check_required_tags(graph: ResourceGraph) -> Iterable[Finding]:
    """Every taggable resource carries the mesh tags cost attribution and the orphan sweep read."""
    return _carries(graph, TAGGABLE_TYPES, "tags", REQUIRED_TAGS, "tag")


# --- the rule table ----------------------------------------------------------------------


RULES: tuple[Guardrail, ...] = (
    Guardrail(
        id="MESH-S3-PUBLIC-ACCESS",
        title="S3 buckets block all public access",
        severity=Severity.MANDATORY,
        control="S3.8",
        fix="attach an aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true",
        check=check_public_access_block,
    ),
    Guardrail(
        id="MESH-S3-TLS-ONLY",
        title="S3 buckets deny requests without TLS",
        severity=Severity.MANDATORY,
        control="S3.5",
        fix='add a bucket policy statement {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [bucket ARN, bucket ARN + "/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}',
        check=check_tls_only,
    ),
    Guardrail(
        id="MESH-DATA-PERIMETER",
        title="Only the product's roles reach its data (data perimeter)",
        severity=Severity.MANDATORY,
        control=None,
        fix='deny every object and list action on the bucket to principals outside the product with {"Effect": "Deny", "Principal": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": [product role ARNs, break-glass ARNs]}}} (never NotPrincipal), and grant key use only to the product\'s roles in the key policy, never to the account root',
        check=check_data_perimeter,
    ),
    Guardrail(
        id="MESH-S3-KMS-ENCRYPTION",
        title="S3 buckets encrypt by default with a KMS key",
        severity=Severity.MANDATORY,
        control="S3.17",
        fix="attach an aws.s3.BucketServerSideEncryptionConfiguration whose rule sets sseAlgorithm aws:kms and kmsMasterKeyId to the product's key ARN",
        check=check_kms_encryption,
    ),
    Guardrail(
        id="MESH-S3-OWNER-ENFORCED",
        title="S3 buckets disable ACLs",
        severity=Severity.MANDATORY,
        control="S3.12",
        fix="attach an aws.s3.BucketOwnershipControls with rule objectOwnership BucketOwnerEnforced",
        check=check_ownership_controls,
    ),
    Guardrail(
        id="MESH-S3-PUBLIC-POLICY",
        title="Bucket policies grant nothing to everyone unconditionally",
        severity=Severity.MANDATORY,
        control="S3.2",
        fix="name the principals (role ARNs) in the Allow statement, or add a Condition that restricts who matches",
        check=_public_statements(
            "bucket policy", "no Allow reaches a wildcard principal without a Condition"
        ),
    ),
    Guardrail(
        id="MESH-S3-CROSS-ACCOUNT",
        title="Bucket policies grant only principals of the product's account",
        severity=Severity.MANDATORY,
        control="S3.6",
        fix="grant only roles of the product's own account; other domains read through their consumer role in this account",
        check=_same_account("bucket policy"),
    ),
    Guardrail(
        id="MESH-KMS-ROTATION",
        title="KMS keys rotate automatically",
        severity=Severity.MANDATORY,
        control="KMS.4",
        fix="set enableKeyRotation=True on the aws.kms.Key",
        check=check_key_rotation,
    ),
    Guardrail(
        id="MESH-KMS-PUBLIC-POLICY",
        title="Key policies grant nothing to everyone unconditionally",
        severity=Severity.MANDATORY,
        control="KMS.5",
        fix="name the principals (role ARNs or the account root) in the Allow statement, or add a Condition that restricts who matches",
        check=_public_statements("key policy", "no Allow reaches a wildcard principal without a Condition"),
    ),
    Guardrail(
        id="MESH-KMS-CROSS-ACCOUNT",
        title="Key policies grant only principals of the product's account",
        severity=Severity.MANDATORY,
        control=None,
        fix="grant only the product's account root and its own roles in the key policy",
        check=_same_account("key policy"),
    ),
    Guardrail(
        id="MESH-IAM-NO-ADMIN",
        title="No policy allows action * on resource *",
        severity=Severity.MANDATORY,
        control="IAM.1",
        fix="list the exact actions and resource ARNs the principal needs (see components/aws/policies.py) instead of * on *",
        check=check_no_admin_statements,
    ),
    Guardrail(
        id="MESH-IAM-PUBLIC-TRUST",
        title="Roles cannot be assumed by everyone",
        severity=Severity.MANDATORY,
        control=None,
        fix="trust only the named principals of the platform config (and AWS services) in assumeRolePolicy, or add a Condition",
        check=_public_statements("trust policy", "only named principals may assume it"),
    ),
    Guardrail(
        id="MESH-IAM-BOUNDARY",
        title="Roles have a permissions boundary",
        severity=Severity.MANDATORY,
        control=None,
        fix="set permissionsBoundary on the aws.iam.Role to the product's boundary policy ARN",
        check=check_permissions_boundary,
    ),
    Guardrail(
        id="MESH-ATHENA-WORKGROUP",
        title="Athena workgroups enforce their configuration and KMS-encrypt results",
        severity=Severity.MANDATORY,
        control=None,
        fix="set configuration.enforceWorkgroupConfiguration=True and resultConfiguration.encryptionConfiguration to SSE_KMS with the product's key ARN",
        check=check_athena_workgroup,
    ),
    Guardrail(
        id="MESH-TAGS",
        title="Taggable resources carry the mesh tags",
        severity=Severity.MANDATORY,
        control=None,
        fix=f"pass tags=dict(spec.tags) to the resource; it must carry {', '.join(REQUIRED_TAGS)}",
        check=check_required_tags,
    ),
    Guardrail(
        id="MESH-ADV-VERSIONING",
        title="S3 buckets keep object versions",
        severity=Severity.ADVISORY,
        control="S3.14",
        fix="attach an aws.s3.BucketVersioning with versioningConfiguration status Enabled",
        check=check_versioning,
    ),
    Guardrail(
        id="MESH-ADV-LIFECYCLE",
        title="S3 buckets expire data by lifecycle rules",
        severity=Severity.ADVISORY,
        control="S3.13",
        fix="attach an aws.s3.BucketLifecycleConfiguration with an enabled rule (mesh derives expiry from retentionDays)",
        check=check_lifecycle,
    ),
    Guardrail(
        id="MESH-ADV-LOGGING",
        title="S3 buckets log server access",
        severity=Severity.ADVISORY,
        control="S3.9",
        fix="attach an aws.s3.BucketLogging whose targetBucket is the environment's access-log bucket",
        check=check_access_logging,
    ),
    Guardrail(
        id="MESH-ADV-ATHENA-SCAN-LIMIT",
        title="Athena workgroups limit bytes scanned per query",
        severity=Severity.ADVISORY,
        control=None,
        fix="set configuration.bytesScannedCutoffPerQuery (the request's compute.query.bytesScannedLimitGb)",
        check=check_athena_scan_limit,
    ),
    Guardrail(
        id="MESH-ADV-GLUE-ENCRYPTION",
        title="Glue jobs encrypt their S3 output, bookmarks and logs with KMS",
        severity=Severity.ADVISORY,
        control=None,
        fix="create an aws.glue.SecurityConfiguration with s3Encryption SSE-KMS, jobBookmarksEncryption CSE-KMS and cloudwatchEncryption SSE-KMS, each with the product's key, and name it in the job's securityConfiguration",
        check=check_glue_job_encryption,
    ),
    Guardrail(
        id="MESH-GCS-PUBLIC-ACCESS",
        title="GCS buckets prevent public access and use uniform bucket-level access",
        severity=Severity.MANDATORY,
        control="CIS GCP 5.1, 5.2",
        fix='set public_access_prevention="enforced" and uniform_bucket_level_access=True on the gcp.storage.Bucket',
        check=check_gcs_public_access,
    ),
    Guardrail(
        id="MESH-GCP-PUBLIC-MEMBER",
        title="No IAM grant reaches allUsers or allAuthenticatedUsers",
        severity=Severity.MANDATORY,
        control="CIS GCP 5.1, 7.1",
        fix="grant to named service accounts or groups; mesh grants consumers through their own service accounts",
        check=check_gcp_public_members,
    ),
    Guardrail(
        id="MESH-GCP-BASIC-ROLES",
        title="No IAM grant uses a basic role (owner, editor, viewer)",
        severity=Severity.MANDATORY,
        control=None,
        fix="use a predefined role scoped to the resource, such as roles/storage.objectViewer or roles/bigquery.dataViewer",
        check=check_gcp_basic_roles,
    ),
    Guardrail(
        id="MESH-GCP-CMEK",
        title="GCS buckets, BigQuery datasets and tables encrypt with the product's Cloud KMS key",
        severity=Severity.MANDATORY,
        control="CIS GCP 7.2, 7.3",
        fix="set encryption.default_kms_key_name on the bucket, default_encryption_configuration.kms_key_name on the dataset and encryption_configuration.kms_key_name on each table",
        check=check_gcp_cmek,
    ),
    Guardrail(
        id="MESH-GCP-KMS-ROTATION",
        title="Cloud KMS keys rotate at least every 90 days",
        severity=Severity.MANDATORY,
        control="CIS GCP 1.10",
        fix='set rotation_period="7776000s" (or less) on the gcp.kms.CryptoKey',
        check=check_gcp_key_rotation,
    ),
    Guardrail(
        id="MESH-GCP-LABELS",
        title="GCP resources carry the mesh labels",
        severity=Severity.MANDATORY,
        control=None,
        fix="label the resource with the product's labels (spec.labels): mesh-domain, mesh-product, mesh-environment, mesh-owner, mesh-managed-by",
        check=check_gcp_labels,
    ),
    Guardrail(
        id="MESH-ADV-GCS-VERSIONING",
        title="GCS buckets keep object versions",
        severity=Severity.ADVISORY,
        control=None,
        fix='set versioning={"enabled": True} on the gcp.storage.Bucket',
        check=check_gcs_versioning,
    ),
)

_BY_ID = {r.id: r for r in RULES}


def rule(rule_id: str) -> Guardrail:
    """The rule with `rule_id`; `KeyError` when there is none (use `check_disabled` for user input)."""
    try:
        return _BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"unknown guardrail {rule_id!r}") from None


def check_disabled(ids: Iterable[str]) -> list[str]:
    """One message for the user per id that cannot be disabled: unknown ids and mandatory rules."""
    advisory = [r.id for r in RULES if r.severity is Severity.ADVISORY]
    messages = []
    for rule_id in ids:
        found = _BY_ID.get(rule_id)
        if found is None:
            close = difflib.get_close_matches(rule_id.upper(), list(_BY_ID), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"advisory guardrails are {', '.join(advisory)}"
            messages.append(f"unknown guardrail '{rule_id}' — {hint}")
        elif found.severity is Severity.MANDATORY:
            messages.append(
                f"guardrail '{rule_id}' ({found.title}) is mandatory: mandatory guardrails cannot be disabled; only {', '.join(advisory)} can"
            )
    return messages


def evaluate(
    graph: ResourceGraph,
    *,
    disabled: Collection[str] = (),
    exemptions: Mapping[tuple[str, str], str] | None = None,
) -> GuardrailReport:
    """Run every rule over `graph`, skipping the advisory rules named in `disabled`.

    Mandatory rules always run, even when named in `disabled`, and unknown ids are
    ignored: validate user input with `check_disabled` first. A failure's message ends
    with the rule's fix. `report.disabled` lists the advisory rules actually skipped.

    `exemptions` maps `(rule id, resource URN)` to the reason a failure is accepted there;
    only mesh's own code passes them (the platform stack's log bucket), never a config
    file. An exempted failure is reported as passed, with its message and the reason.
    """
    results: list[GuardrailResult] = []
    skipped: list[str] = []
    accepted = exemptions or {}
    for guardrail in RULES:
        if guardrail.id in disabled and guardrail.severity is Severity.ADVISORY:
            skipped.append(guardrail.id)
            continue
        for finding in guardrail.check(graph):
            reason = None if finding.passed else accepted.get((guardrail.id, finding.urn))
            if finding.passed:
                message = finding.message
            elif reason:
                message = f"{finding.message} — exempt: {reason}"
            else:
                message = f"{finding.message} — fix: {guardrail.fix}"
            results.append(
                GuardrailResult(
                    id=guardrail.id,
                    severity=guardrail.severity,
                    control=guardrail.control,
                    urn=finding.urn,
                    passed=finding.passed or reason is not None,
                    message=message,
                    exemption=reason,
                )
            )
    return GuardrailReport(results=results, disabled=skipped)
