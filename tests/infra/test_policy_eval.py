"""The policy evaluator against the examples of AWS's IAM User Guide.

Cases come from "IAM JSON policy elements: Condition operators", "Single-valued vs.
multivalued context keys" (the `aws:TagKeys` tables), "Policy evaluation logic" and the
KMS key policy / permissions boundary chapters; each case names its rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.model.policy_eval import authorize, condition_holds, evaluate

ROLE = "arn:aws:iam::111122223333:role/mesh/acme-dev-sales-orders-producer"
ADMIN = "arn:aws:iam::111122223333:role/Admin"
BUCKET = "arn:aws:s3:::acme-dev-sales-orders"


@dataclass(frozen=True)
class Condition:
    reason: str
    operator: str
    key: str
    values: Any
    context: dict[str, Any]
    want: bool


MISSING: dict[str, Any] = {}
TAGS = ["DataClass", "Owner"]

CONDITIONS = [
    # "If the key is not present in the request context, the values do not match":
    Condition("StringEquals: matching value", "StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin", {"aws:PrincipalTag/job-category": "iamuser-admin"}, True),
    Condition("StringEquals: other value", "StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin", {"aws:PrincipalTag/job-category": "dev-ops"}, False),
    Condition("StringEquals: key missing is false", "StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin", MISSING, False),
    Condition("StringEquals is case-sensitive", "StringEquals", "aws:PrincipalTag/job-category", "iamuser-admin", {"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}, False),
    Condition("StringEqualsIgnoreCase", "StringEqualsIgnoreCase", "aws:PrincipalTag/job-category", "iamuser-admin", {"aws:PrincipalTag/job-category": "IAMUSER-ADMIN"}, True),
    Condition("condition key names are case-insensitive", "StringEquals", "AWS:principaltag/job-category", "iamuser-admin", {"aws:PrincipalTag/job-category": "iamuser-admin"}, True),
    # "...negated operators such as StringNotLike or ArnNotLike: if the key is not present, the condition is true"
    Condition("StringNotEquals: key missing is true", "StringNotEquals", "s3:x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:eu-west-1:111122223333:key/k", MISSING, True),
    Condition("StringNotLike: key missing is true", "StringNotLike", "s3:prefix", "home/*", MISSING, True),
    Condition("ArnNotLike: key missing is true", "ArnNotLike", "aws:PrincipalArn", ROLE, MISSING, True),
    Condition("ArnNotLike: listed principal is false", "ArnNotLike", "aws:PrincipalArn", [ROLE, ADMIN], {"aws:PrincipalArn": ADMIN}, False),
    Condition("ArnNotLike: other principal is true", "ArnNotLike", "aws:PrincipalArn", [ROLE], {"aws:PrincipalArn": ADMIN}, True),
    Condition("ArnLike with a wildcard", "ArnLike", "aws:PrincipalArn", "arn:aws:iam::111122223333:role/mesh/*", {"aws:PrincipalArn": ROLE}, True),
    # Several values for one key are ORed; a negated operator needs none of them to match.
    Condition("values are ORed", "StringEquals", "aws:PrincipalTag/department", ["Finance", "HR", "Legal"], {"aws:PrincipalTag/department": "HR"}, True),
    Condition("StringNotEquals with several values: one matches", "StringNotEquals", "aws:PrincipalTag/department", ["Finance", "HR"], {"aws:PrincipalTag/department": "HR"}, False),
    Condition("StringNotEquals with several values: none matches", "StringNotEquals", "aws:PrincipalTag/department", ["Finance", "HR"], {"aws:PrincipalTag/department": "Legal"}, True),
    Condition("StringLike wildcard", "StringLike", "s3:prefix", ["", "home/", "home/${aws:username}/*"], {"s3:prefix": "home/"}, True),
    Condition("StringLike ? matches one character", "StringLike", "aws:PrincipalTag/team", "a?c", {"aws:PrincipalTag/team": "abc"}, True),
    # ...IfExists: "if the key is not present, the condition is true"
    Condition("StringLikeIfExists: key missing", "StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], MISSING, True),
    Condition("StringLikeIfExists: matching", "StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], {"ec2:InstanceType": "t2.micro"}, True),
    Condition("StringLikeIfExists: not matching", "StringLikeIfExists", "ec2:InstanceType", ["t1.*", "t2.*", "m3.*"], {"ec2:InstanceType": "m5.large"}, False),
    Condition("StringNotEqualsIfExists: key missing", "StringNotEqualsIfExists", "s3:x-amz-server-side-encryption", "aws:kms", MISSING, True),
    Condition("StringNotEqualsIfExists: other algorithm", "StringNotEqualsIfExists", "s3:x-amz-server-side-encryption", "aws:kms", {"s3:x-amz-server-side-encryption": "AES256"}, True),
    Condition("StringNotEqualsIfExists: same algorithm", "StringNotEqualsIfExists", "s3:x-amz-server-side-encryption", "aws:kms", {"s3:x-amz-server-side-encryption": "aws:kms"}, False),
    Condition("BoolIfExists: MFA key missing (long-term keys)", "BoolIfExists", "aws:MultiFactorAuthPresent", "false", MISSING, True),
    Condition("BoolIfExists: MFA present", "BoolIfExists", "aws:MultiFactorAuthPresent", "false", {"aws:MultiFactorAuthPresent": "true"}, False),
    # Null checks existence: "true" means the key must be absent.
    Condition("Null true: temporary credentials absent", "Null", "aws:TokenIssueTime", "true", MISSING, True),
    Condition("Null true: key present", "Null", "aws:TokenIssueTime", "true", {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, False),
    Condition("Null false: key present", "Null", "aws:TokenIssueTime", "false", {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}, True),
    Condition("Null false: key missing", "Null", "aws:TokenIssueTime", "false", MISSING, False),
    # Bool, numeric, date and IP address examples of the operator reference.
    Condition("Bool: insecure transport", "Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": False}, True),
    Condition("Bool: TLS", "Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "true"}, False),
    Condition("Bool: key missing", "Bool", "aws:SecureTransport", "false", MISSING, False),
    Condition("NumericLessThanEquals within", "NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "7"}, True),
    Condition("NumericLessThanEquals over", "NumericLessThanEquals", "s3:max-keys", "10", {"s3:max-keys": "11"}, False),
    Condition("NumericNotEquals: key missing", "NumericNotEquals", "s3:max-keys", "10", MISSING, True),
    Condition("DateGreaterThan after", "DateGreaterThan", "aws:CurrentTime", "2020-04-01T00:00:00Z", {"aws:CurrentTime": "2021-01-01T00:00:00Z"}, True),
    Condition("DateGreaterThan before", "DateGreaterThan", "aws:CurrentTime", "2020-04-01T00:00:00Z", {"aws:CurrentTime": "2019-01-01T00:00:00Z"}, False),
    Condition("IpAddress in range", "IpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "203.0.113.7"}, True),
    Condition("NotIpAddress outside range", "NotIpAddress", "aws:SourceIp", "203.0.113.0/24", {"aws:SourceIp": "198.51.100.7"}, True),
    Condition("NotIpAddress: key missing", "NotIpAddress", "aws:SourceIp", "203.0.113.0/24", MISSING, True),
    # The aws:TagKeys tables: ForAllValues is true for a missing key; ForAnyValue is false.
    Condition("ForAllValues: key missing", "ForAllValues:StringEquals", "aws:TagKeys", TAGS, MISSING, True),
    Condition("ForAllValues: empty set", "ForAllValues:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": []}, True),
    Condition("ForAllValues: none listed", "ForAllValues:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["Dept", "SIC"]}, False),
    Condition("ForAllValues: one not listed", "ForAllValues:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["DataClass", "Dept"]}, False),
    Condition("ForAllValues: subset", "ForAllValues:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["DataClass"]}, True),
    Condition("ForAllValues: all listed", "ForAllValues:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["DataClass", "Owner"]}, True),
    Condition("ForAllValues: one extra", "ForAllValues:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["DataClass", "Owner", "Dept"]}, False),
    Condition("ForAnyValue: key missing", "ForAnyValue:StringEquals", "aws:TagKeys", TAGS, MISSING, False),
    Condition("ForAnyValue: empty set", "ForAnyValue:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": []}, False),
    Condition("ForAnyValue: none listed", "ForAnyValue:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["Dept", "SIC"]}, False),
    Condition("ForAnyValue: one listed", "ForAnyValue:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["DataClass", "Dept"]}, True),
    Condition("ForAnyValue: superset", "ForAnyValue:StringEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["DataClass", "Owner", "Dept"]}, True),
    Condition("ForAllValues:StringLike prefix", "ForAllValues:StringLike", "aws:TagKeys", "key1*", {"aws:TagKeys": ["key1a", "key1b"]}, True),
    Condition("ForAllValues:StringNotLike: key missing", "ForAllValues:StringNotLike", "aws:TagKeys", "key1*", MISSING, True),
    Condition("ForAnyValue:StringNotEquals: key missing", "ForAnyValue:StringNotEquals", "aws:TagKeys", TAGS, MISSING, False),
    Condition("ForAnyValue:StringNotEquals: one not listed", "ForAnyValue:StringNotEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["DataClass", "Dept"]}, True),
    Condition("ForAnyValue:StringNotEquals: all listed", "ForAnyValue:StringNotEquals", "aws:TagKeys", TAGS, {"aws:TagKeys": ["DataClass", "Owner"]}, False),
    Condition("ForAnyValue:StringEquals on kms:ResourceAliases", "ForAnyValue:StringEquals", "kms:ResourceAliases", ["alias/a"], {"kms:ResourceAliases": ["alias/b", "alias/a"]}, True),
]  # fmt: skip


@pytest.mark.parametrize("case", CONDITIONS, ids=[c.reason for c in CONDITIONS])
def test_condition_operators_follow_the_iam_user_guide(case: Condition) -> None:
    got = condition_holds(case.operator, case.key, case.values, case.context)
    assert got is case.want, case.reason


def test_an_unknown_operator_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="StringSoundsLike"):
        condition_holds("StringSoundsLike", "aws:username", "bob", {"aws:username": "bob"})


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@dataclass(frozen=True)
class Request:
    reason: str
    document: dict[str, Any]
    action: str
    resource: str
    want: bool
    principal: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    sid: str | None = None


KEY = "arn:aws:kms:eu-west-1:111122223333:key/k"
DENY_OTHER_KEY = _doc(
    {
        "Sid": "DenyUploadsWithOtherKey",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"{BUCKET}/*",
        "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY}},
    },
    {
        "Sid": "Producer",
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "s3:*",
        "Resource": f"{BUCKET}/*",
    },
)
PERIMETER = _doc(
    {
        "Sid": "DataPerimeter",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:GetObject*", "s3:PutObject*", "s3:ListBucket*"],
        "Resource": [BUCKET, f"{BUCKET}/*"],
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": [ROLE]}},
    }
)

REQUESTS = [
    Request("Allow on a matching action", _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}), "s3:GetObject", f"{BUCKET}/x", True),
    Request("actions match case-insensitively", _doc({"Effect": "Allow", "Action": "S3:getobject", "Resource": f"{BUCKET}/*"}), "s3:GetObject", f"{BUCKET}/x", True),
    Request("action wildcards", _doc({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}), "s3:GetObjectVersion", f"{BUCKET}/x", True),
    Request("resources match case-sensitively", _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/Data/*"}), "s3:GetObject", f"{BUCKET}/data/x", False),
    Request("no statement applies: implicit deny", _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}), "s3:PutObject", f"{BUCKET}/x", False),
    Request("an explicit Deny overrides an Allow", _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Sid": "No", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}), "s3:DeleteObject", f"{BUCKET}/x", False, sid="No"),
    Request("NotAction allows all but the listed", _doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), "s3:GetObject", f"{BUCKET}/x", True),
    Request("NotAction excludes the listed", _doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), "iam:CreateUser", "*", False),
    Request("NotResource excludes the listed", _doc({"Effect": "Allow", "Action": "s3:*", "NotResource": f"{BUCKET}/secret/*"}), "s3:GetObject", f"{BUCKET}/secret/x", False),
    Request("a Deny on StringNotEquals applies when the header is missing", DENY_OTHER_KEY, "s3:PutObject", f"{BUCKET}/x", False, principal=ROLE, sid="DenyUploadsWithOtherKey"),
    Request("... and not when the header names the key", DENY_OTHER_KEY, "s3:PutObject", f"{BUCKET}/x", True, principal=ROLE, context={"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY}),
    Request("the perimeter denies a principal not listed", PERIMETER, "s3:GetObject", f"{BUCKET}/data/x", False, principal=ADMIN, sid="DataPerimeter"),
    Request("the perimeter spares a listed role (no Allow here: implicit deny)", PERIMETER, "s3:GetObject", f"{BUCKET}/data/x", False, principal=ROLE, sid=None),
    Request("a Principal statement does not apply to another principal", _doc({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": "*"}), "s3:GetObject", f"{BUCKET}/x", False, principal=ADMIN),
    Request("an unsigned request does not match a named principal", _doc({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:GetObject", "Resource": "*"}), "s3:GetObject", f"{BUCKET}/x", False),
]  # fmt: skip


@pytest.mark.parametrize("case", REQUESTS, ids=[c.reason for c in REQUESTS])
def test_single_policy_evaluation(case: Request) -> None:
    decision = evaluate(
        case.document,
        action=case.action,
        resource=case.resource,
        principal=case.principal,
        context=case.context,
    )
    assert decision.allowed is case.want, case.reason
    if case.sid is not None or not case.want:
        assert decision.statement == case.sid, case.reason


ALL_S3 = _doc({"Effect": "Allow", "Action": ["s3:*", "kms:*"], "Resource": "*"})
ROOT = "arn:aws:iam::111122223333:root"


@dataclass(frozen=True)
class Combined:
    reason: str
    identity: list[dict[str, Any]]
    want: bool
    resource_policy: dict[str, Any] | None = None
    boundary: dict[str, Any] | None = None
    key_policy: bool = False
    action: str = "s3:GetObject"
    resource: str = f"{BUCKET}/data/x"
    principal: str = ADMIN


COMBINED = [
    Combined("same account: an identity Allow is enough without a bucket policy", [ALL_S3], True),
    Combined("same account: a bucket policy Allow naming the role is enough", [], True, resource_policy=_doc({"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"})),
    Combined("the perimeter's Deny beats the broad identity's Allow", [ALL_S3], False, resource_policy=PERIMETER),
    Combined("a boundary caps what identity policies grant", [ALL_S3], False, boundary=_doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})),
    Combined("a boundary caps a resource policy's grant to the role ARN", [], False, resource_policy=_doc({"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"}), boundary=_doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})),
    Combined("KMS: a key policy that does not name the caller denies whatever IAM says", [ALL_S3], False, resource_policy=_doc({"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:*", "Resource": "*"}), key_policy=True, action="kms:Decrypt", resource=KEY),
    Combined("KMS: a key policy naming the account delegates to IAM, which allows", [ALL_S3], True, resource_policy=_doc({"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}), key_policy=True, action="kms:Decrypt", resource=KEY),
    Combined("KMS: delegation without an IAM Allow denies", [], False, resource_policy=_doc({"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}), key_policy=True, action="kms:Decrypt", resource=KEY),
    Combined("KMS: a key policy naming the role is enough", [], True, resource_policy=_doc({"Effect": "Allow", "Principal": {"AWS": ADMIN}, "Action": "kms:Decrypt", "Resource": "*"}), key_policy=True, action="kms:Decrypt", resource=KEY),
]  # fmt: skip


@pytest.mark.parametrize("case", COMBINED, ids=[c.reason for c in COMBINED])
def test_policy_evaluation_logic_across_documents(case: Combined) -> None:
    decision = authorize(
        action=case.action,
        resource=case.resource,
        principal=case.principal,
        identity=case.identity,
        boundary=case.boundary,
        resource_policy=case.resource_policy,
        key_policy=case.key_policy,
    )
    assert decision.allowed is case.want, case.reason
