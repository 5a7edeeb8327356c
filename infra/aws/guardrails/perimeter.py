"""The data perimeter: only the product's roles (and break-glass principals) reach its data;
the platform's readers may list the bucket and nothing more."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from infra.aws import types
from infra.aws.guardrails.documents import (
    allows,
    bucket_configs,
    bucket_id_of,
    documents_of,
    home_accounts,
    iam_path,
)
from infra.model.graph import ResourceGraph
from infra.model.iam import as_list, principals
from infra.model.policy_eval import evaluate as decide
from infra.rule import Finding, Guardrail, Severity, label

BUCKET = types.BUCKET.token
BUCKET_POLICY = types.BUCKET_POLICY.token
KEY_POLICY = types.KEY_POLICY.token
IAM_ROLE = types.IAM_ROLE.token
# The operators a perimeter's Deny spares principals with (by `aws:PrincipalArn`).
_SPARING_OPERATORS = ("ArnNotLike", "ArnNotEquals", "StringNotLike", "StringNotEquals")
_KEY_USE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom")
# The one request a platform reader may make of a product bucket (`mesh health` reads freshness).
LIST_ONLY = "s3:ListBucket"


def check_data_perimeter(graph: ResourceGraph) -> Iterable[Finding]:
    """Only the product's roles (and break-glass principals) can touch a product bucket's data.

    Judged by evaluating the documents for a probe principal of the product's account
    that is none of its roles: the bucket policy must deny it every object and list
    action (an explicit Deny: an administrator's own IAM permissions must not reach the
    data), and the key policy must not let it use the key, directly or by delegating to
    the account's IAM. Principals a perimeter spares besides the product's roles must be
    break-glass principals (named by the key policy's `BreakGlass…` statement), be
    denied the data by another statement (the deployer), or be platform readers (named
    by the key policy's `PlatformReaders…` statement) denied everything but
    `s3:ListBucket`. A platform reader must not be able to use the key but through SNS
    (to publish a notification): never directly, never through S3 to decrypt data. A
    graph without IAM roles (the platform stack) has no product perimeter to check.
    """
    roles = graph.of_type(IAM_ROLE)
    if not roles:
        return
    accounts = sorted(home_accounts(graph))
    if len(accounts) != 1:
        for bucket in graph.of_type(BUCKET):
            yield Finding(bucket.urn, False, f"{label(bucket)}: the product's account cannot be established")
        return
    account = accounts[0]
    own = {
        f"arn:{partition}:iam::{account}:role{iam_path(r)}{r.inputs.get('name')}"
        for r in roles
        for partition in ("aws", "aws-cn", "aws-us-gov")
    }
    probe = f"arn:aws:iam::{account}:role/mesh-perimeter-probe"
    key_statements = [
        st for d in (documents_of(k)[0] for k in graph.of_type(KEY_POLICY)) for st in (d.statements or ())
    ]
    break_glass = {
        value
        for st in key_statements
        if str(st.get("Sid", "")).startswith("BreakGlass")
        for _, value in principals(st)
    }
    readers = (
        {
            value
            for st in key_statements
            if str(st.get("Sid", "")).startswith("PlatformReaders")
            for _, value in principals(st)
        }
        - own
        - break_glass
    )
    secure = {"aws:SecureTransport": "true"}
    for bucket in graph.of_type(BUCKET):
        policies = bucket_configs(graph, BUCKET_POLICY, bucket)
        documents = [d for p in policies for d in documents_of(p)] or [
            d for d in documents_of(bucket) if d.kind == "bucket policy"
        ]
        if not documents or any(d.statements is None for d in documents):
            yield Finding(
                bucket.urn, False, f"{label(bucket)} has no readable bucket policy, so no data perimeter"
            )
            continue
        document = {"Statement": [st for d in documents for st in (d.statements or ())]}
        arn = f"arn:aws:s3:::{bucket_id_of(bucket)}"
        requests = [
            ("s3:GetObject", f"{arn}/data/perimeter-probe"),
            ("s3:PutObject", f"{arn}/data/perimeter-probe"),
            ("s3:DeleteObject", f"{arn}/data/perimeter-probe"),
            ("s3:ListBucket", arn),
        ]
        # What a reader spared for listing must still be denied, besides the probe's requests.
        reader_requests = [
            *requests,
            ("s3:GetObjectVersion", f"{arn}/data/perimeter-probe"),
            ("s3:ListBucketVersions", arn),
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
        if any("NotPrincipal" in st for st in document["Statement"] if not allows(st)):
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
            if not allows(st)
            for operator, entries in (st.get("Condition") or {}).items()
            if operator.rpartition(":")[2] in _SPARING_OPERATORS
            for key, values in entries.items()
            if key.lower() == "aws:principalarn"
            for value in as_list(values)
        }
        listing_only = []
        for principal in sorted(spared - own - break_glass):
            leaks = denied(principal, reader_requests) if principal in readers else denied(principal)
            if principal in readers and leaks == [LIST_ONLY]:
                listing_only.append(principal)
            elif leaks:
                problems.append(f"{principal} is spared by the perimeter and may {', '.join(leaks)}")
        for key_policy in graph.of_type(KEY_POLICY):
            kms = {"Statement": [st for d in documents_of(key_policy) for st in (d.statements or ())]}
            # Try the request through every service the key policy names, and directly.
            vias = {
                str(value)
                for st in kms["Statement"]
                for entries in (st.get("Condition") or {}).values()
                for key, values in entries.items()
                if key.lower() == "kms:viaservice"
                for value in as_list(values)
            }
            contexts = [{"kms:CallerAccount": account}] + [
                {"kms:CallerAccount": account, "kms:ViaService": via} for via in sorted(vias)
            ]
            for action in _KEY_USE:
                for context in contexts:
                    verdict = decide(kms, action=action, resource="*", principal=probe, context=context)
                    if verdict.allowed:
                        how = "delegates it to the account's IAM" if verdict.through_account else "grants it"
                        problems.append(f"{label(key_policy)} statement {verdict.statement} {how} ({action})")
            # A reader publishes to the encrypted topic through SNS; any other use would reach data.
            not_sns = [c for c in contexts if not str(c.get("kms:ViaService", "")).startswith("sns.")]
            for reader in sorted(readers):
                verdicts = [
                    (action, decide(kms, action=action, resource="*", principal=reader, context=context))
                    for action in _KEY_USE
                    for context in not_sns
                ]
                uses = sorted({f"{action} ({v.statement})" for action, v in verdicts if v.allowed})
                if uses:
                    problems.append(
                        f"{label(key_policy)} lets platform reader {reader} use the key beyond publishing: "
                        + ", ".join(uses)
                    )
        if problems:
            yield Finding(bucket.urn, False, f"{label(bucket)}: {'; '.join(problems)}")
        else:
            glass = f"; break-glass: {', '.join(sorted(break_glass))}" if break_glass else ""
            listing = f"; platform readers list it only: {', '.join(listing_only)}" if listing_only else ""
            yield Finding(
                bucket.urn,
                True,
                f"{label(bucket)}: only the product's roles reach its data and use its key{glass}{listing}",
            )


DATA_PERIMETER_RULE = Guardrail(
    id="MESH-DATA-PERIMETER",
    title="Only the product's roles reach its data (data perimeter)",
    severity=Severity.MANDATORY,
    control=None,
    fix='deny every object and list action on the bucket to principals outside the product with {"Effect": "Deny", "Principal": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": [product role ARNs, break-glass ARNs, platform reader ARNs]}}} (never NotPrincipal), deny the platform readers every data action but s3:ListBucket, and grant key use only to the product\'s roles in the key policy (readers only through SNS), never to the account root',
    check=check_data_perimeter,
    examines=(BUCKET, BUCKET_POLICY, KEY_POLICY, IAM_ROLE),
)
