"""How the AWS rules read policy documents, buckets' sub-resources and the product's own account.

Documents are read as written; what IAM would conclude across several documents
(boundary ∩ identity policy ∩ resource policy) is proven elsewhere (the access proof).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from infra.aws import types
from infra.clouds import resource_type
from infra.model.graph import Resource, ResourceGraph, placeholder
from infra.model.iam import as_list, principals, read_statements
from infra.rule import Finding, glob, label

BUCKET_POLICY = types.BUCKET_POLICY.token
KMS_KEY = types.KMS_KEY.token
KMS_ALIAS = types.KMS_ALIAS.token
KEY_POLICY = types.KEY_POLICY.token
IAM_POLICY = types.IAM_POLICY.token
IAM_ROLE = types.IAM_ROLE.token
ROLE_POLICY = types.ROLE_POLICY.token
USER_POLICY = types.USER_POLICY.token
GROUP_POLICY = types.GROUP_POLICY.token
GLUE_DATABASE = types.GLUE_DATABASE.token
GLUE_JOB = types.GLUE_JOB.token
ATHENA_WORKGROUP = types.ATHENA_WORKGROUP.token
# The types that hold a policy document in some input (their descriptors' `documents`).
POLICY_HOLDERS: tuple[str, ...] = tuple(t.token for t in types.TYPES.values() if t.documents)


def bucket_id_of(bucket: Resource) -> str:
    """What a bucket's sub-resources put in their `bucket` input (the bucket's id)."""
    name = bucket.inputs.get("bucket")
    return name if isinstance(name, str) and name else placeholder(bucket.name, "bucket")


def bucket_configs(graph: ResourceGraph, type_: str, bucket: Resource) -> list[Resource]:
    bucket_id = bucket_id_of(bucket)
    return [r for r in graph.of_type(type_) if r.inputs.get("bucket") == bucket_id]


@dataclass(frozen=True)
class PolicyDocument:
    """A policy document held by a resource; `statements` is None when it cannot be parsed."""

    resource: Resource
    where: str  # the input holding it, for messages
    kind: str  # "bucket policy", "key policy", "trust policy", "identity policy"
    statements: tuple[dict[str, Any], ...] | None

    @property
    def label(self) -> str:
        """`bucket policy x` for a policy resource; `trust policy of role x` for a document inside another resource."""
        if self.resource.type in POLICY_RESOURCES:
            return label(self.resource)
        inline = f" ({self.where})" if self.where.startswith("inline") else ""
        return f"{self.kind} of {label(self.resource)}{inline}"


POLICY_RESOURCES = (BUCKET_POLICY, KEY_POLICY, IAM_POLICY, ROLE_POLICY, USER_POLICY, GROUP_POLICY)


def document_inputs(token: str) -> tuple[tuple[str, str], ...]:
    """Which inputs of a `token` resource hold a policy document, and what kind of document each is."""
    descriptor = resource_type(token)
    return descriptor.documents if descriptor else ()


def documents_of(resource: Resource) -> list[PolicyDocument]:
    """Every policy document `resource` holds (absent inputs are skipped)."""
    found = [
        PolicyDocument(resource, key, kind, read_statements(resource.inputs[key]))
        for key, kind in document_inputs(resource.type)
        if resource.inputs.get(key) not in (None, "")
    ]
    if resource.type == IAM_ROLE:
        for i, inline in enumerate(as_list(resource.inputs.get("inlinePolicies"))):
            if isinstance(inline, dict) and inline.get("policy") not in (None, ""):
                name = inline.get("name") or f"#{i + 1}"
                found.append(
                    PolicyDocument(
                        resource,
                        f"inline policy {name}",
                        "identity policy",
                        read_statements(inline["policy"]),
                    )
                )
    return found


def graph_documents(graph: ResourceGraph, *kinds: str) -> Iterator[tuple[Resource, list[PolicyDocument]]]:
    """Resources holding documents of `kinds`, each with those documents, in graph order."""
    for resource in graph.cloud_resources():
        documents = [d for d in documents_of(resource) if d.kind in kinds]
        if documents:
            yield resource, documents


def statement_label(statement: dict[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid}" if isinstance(sid, str) and sid else f"statement #{index + 1}"


def allows(statement: dict[str, Any]) -> bool:
    return str(statement.get("Effect", "")).lower() == "allow"


def is_public(statement: dict[str, Any]) -> bool:
    """An Allow that reaches everyone: a `*` principal, or `NotPrincipal` (everyone but some)."""
    if not allows(statement):
        return False
    if "NotPrincipal" in statement:
        return True
    return any(value == "*" for _, value in principals(statement))


def unreadable_message(document: PolicyDocument) -> str:
    return (
        f"the {document.label} ({document.where}) is not a readable policy document, so it cannot be checked"
    )


def covers(patterns: list[Any], arn: str) -> bool:
    """Some Resource pattern covers `arn` (`arn` given with partition `aws`; the pattern's partition is used)."""
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        candidate = arn
        parts = pattern.split(":", 2)
        if len(parts) == 3 and parts[0] == "arn" and "*" not in parts[1] and "?" not in parts[1]:
            candidate = arn.replace("arn:aws:", f"arn:{parts[1]}:", 1)
        if glob(pattern, candidate):
            return True
    return False


def public_statements(kind: str, what: str) -> Callable[[ResourceGraph], Iterable[Finding]]:
    def check(graph: ResourceGraph) -> Iterable[Finding]:
        for resource, documents in graph_documents(graph, kind):
            problems = []
            for document in documents:
                if document.statements is None:
                    problems.append(unreadable_message(document))
                    continue
                problems += [
                    f"{statement_label(s, i)} of the {document.label} allows {'everyone but NotPrincipal' if 'NotPrincipal' in s else 'Principal *'} without a Condition"
                    for i, s in enumerate(document.statements)
                    if is_public(s) and not s.get("Condition")
                ]
            if problems:
                yield Finding(resource.urn, False, "; ".join(problems))
            else:
                yield Finding(resource.urn, True, f"{label(resource)}: {what}")

    check.__doc__ = f"No Allow in a {kind} reaches a wildcard principal without a Condition."
    return check


_ARN = re.compile(r"arn:([\w-]+):([\w-]+):([\w-]*):(\d{12}):([^\s\"',]+)")


_ACCOUNT = re.compile(r"^\d{12}$")


_PLACEHOLDER = re.compile(r"^<[^<>]+>$")


def iam_path(resource: Resource) -> str:
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
            own.add(("iam", f"role{iam_path(r)}{name}"))
        elif r.type == IAM_POLICY and isinstance(name, str):
            own.add(("iam", f"policy{iam_path(r)}{name}"))
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
    """The account(s) the product lives in (see `_home_accounts`), read once per graph."""
    return set(graph.derived("aws.home_accounts", _home_accounts))


def _home_accounts(graph: ResourceGraph) -> frozenset[str]:
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
    return frozenset(accounts)


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


def same_account(kind: str) -> Callable[[ResourceGraph], Iterable[Finding]]:
    def check(graph: ResourceGraph) -> Iterable[Finding]:
        home: set[str] | None = None
        for resource, documents in graph_documents(graph, kind):
            if home is None:
                home = home_accounts(graph)
            problems = []
            for document in documents:
                if document.statements is None:
                    problems.append(unreadable_message(document))
                    continue
                for i, statement in enumerate(document.statements):
                    if not allows(statement):
                        continue
                    where = f"{statement_label(statement, i)} of the {document.label}"
                    for principal_kind, value in principals(statement):
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
                    resource.urn, True, f"{label(resource)} grants only principals of the product's account"
                )

    check.__doc__ = f"No Allow in a {kind} grants a principal of another account."
    return check
