"""MESH-DATA-PERIMETER: a plan fails when its policies let a principal outside the product touch data,
or let a platform reader do more than list the bucket."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.aws.guardrails.perimeter import check_data_perimeter
from infra.guardrails import rule
from infra.model.graph import ResourceGraph
from infra.synth import synthesize_spec
from infra.validation import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OUTSIDER = "arn:aws:iam::111122223333:role/data-platform-admin"
READER = "arn:aws:iam::111122223333:role/platform/mesh-health"


@pytest.fixture(scope="module")
def graph() -> ResourceGraph:
    spec, _, _ = load_spec(EXAMPLES / "products" / "sales-orders.yaml", platform_path=None, environment=None)
    return synthesize_spec(spec)


def _synthesize_with(folder: Path, **platform_change: Any) -> ResourceGraph:
    """sales/orders synthesized under a copy of the examples whose mesh.yaml has `platform_change`."""
    shutil.copytree(EXAMPLES, folder)
    platform = yaml.safe_load((folder / "mesh.yaml").read_text()) | platform_change
    (folder / "mesh.yaml").write_text(yaml.safe_dump(platform, sort_keys=False))
    spec, _, _ = load_spec(folder / "products" / "sales-orders.yaml", platform_path=None, environment=None)
    return synthesize_spec(spec)


@pytest.fixture(scope="module")
def reader_graph(tmp_path_factory: pytest.TempPathFactory) -> ResourceGraph:
    """sales/orders with a platform reader (`platformReaders.aws` in mesh.yaml)."""
    return _synthesize_with(
        tmp_path_factory.mktemp("readers") / "repo",
        platformReaders={"aws": ["arn:aws:iam::{account}:role/platform/mesh-health"]},
    )


def _edit(graph: ResourceGraph, type_: str, change: Callable[[dict[str, Any]], None]) -> ResourceGraph:
    resources = []
    for resource in graph.resources:
        if resource.type == type_:
            document = json.loads(resource.inputs["policy"])
            change(document)
            resource = replace(resource, inputs=resource.inputs | {"policy": json.dumps(document)})  # noqa: PLW2901
        resources.append(resource)
    return ResourceGraph(graph.stack, graph.project, resources)


def _statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in document["Statement"] if s["Sid"] == sid)


def _drop_perimeter(document: dict[str, Any]) -> None:
    document["Statement"] = [s for s in document["Statement"] if not s["Sid"].startswith("DenyDataAccess")]


def _not_principal(document: dict[str, Any]) -> None:
    perimeter = _statement(document, "DenyDataAccessOutsideProduct")
    perimeter["NotPrincipal"] = {"AWS": perimeter.pop("Condition")["ArnNotLike"]["aws:PrincipalArn"]}
    perimeter.pop("Principal")


def _spare_outsider(document: dict[str, Any]) -> None:
    _statement(document, "DenyDataAccessOutsideProduct")["Condition"]["ArnNotLike"][
        "aws:PrincipalArn"
    ].append(OUTSIDER)


def _spare_everyone_in_the_account(document: dict[str, Any]) -> None:
    condition = _statement(document, "DenyDataAccessOutsideProduct")["Condition"]["ArnNotLike"]
    condition["aws:PrincipalArn"] = ["arn:aws:iam::111122223333:role/*"]


def _delegate_to_account(document: dict[str, Any]) -> None:
    document["Statement"].append({
        "Sid": "AccountEncryptsViaS3", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
    })  # fmt: skip


@dataclass(frozen=True)
class Case:
    reason: str
    type_: str
    change: Callable[[dict[str, Any]], None]
    want: str


BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
CASES = [
    Case("no perimeter", BUCKET_POLICY, _drop_perimeter, "nothing denies s3:GetObject, s3:PutObject, s3:DeleteObject, s3:ListBucket"),
    Case("a NotPrincipal perimeter", BUCKET_POLICY, _not_principal, "NotPrincipal"),
    Case("an outsider spared", BUCKET_POLICY, _spare_outsider, f"{OUTSIDER} is spared by the perimeter and may s3:GetObject"),
    Case("a wildcard exception", BUCKET_POLICY, _spare_everyone_in_the_account, "nothing denies s3:GetObject"),
    Case("key use delegated to the account", KEY_POLICY, _delegate_to_account, "statement AccountEncryptsViaS3 delegates it to the account's IAM"),
]  # fmt: skip


def _reader_denies_nothing(document: dict[str, Any]) -> None:
    document["Statement"] = [
        s for s in document["Statement"] if s["Sid"] != "DenyDataAccessByPlatformReaders"
    ]


def _reader_may_read(document: dict[str, Any]) -> None:
    statement = _statement(document, "DenyDataAccessByPlatformReaders")
    statement["Action"] = [a for a in statement["Action"] if a != "s3:GetObject*"]


def _reader_may_list_versions(document: dict[str, Any]) -> None:
    statement = _statement(document, "DenyDataAccessByPlatformReaders")
    statement["Action"] = [a for a in statement["Action"] if a != "s3:ListBucketVersions"]


def _reader_decrypts_directly(document: dict[str, Any]) -> None:
    _statement(document, "PlatformReadersPublishSignals").pop("Condition")


def _reader_decrypts_through_s3(document: dict[str, Any]) -> None:
    _statement(document, "PlatformReadersPublishSignals")["Condition"] = {
        "StringEquals": {"kms:ViaService": ["sns.eu-west-1.amazonaws.com", "s3.eu-west-1.amazonaws.com"]}
    }


def _outsider_spared_to_list(document: dict[str, Any]) -> None:
    _spare_outsider(document)
    document["Statement"].append(
        _statement(document, "DenyDataAccessByPlatformReaders")
        | {"Sid": "DenyDataAccessByOutsider", "Condition": {"ArnLike": {"aws:PrincipalArn": [OUTSIDER]}}}
    )


READER_CASES = [
    Case("the readers' own Deny is gone", BUCKET_POLICY, _reader_denies_nothing, f"{READER} is spared by the perimeter and may s3:GetObject, s3:PutObject, s3:DeleteObject"),
    Case("a reader may read objects", BUCKET_POLICY, _reader_may_read, f"{READER} is spared by the perimeter and may s3:GetObject"),
    Case("a reader may list object versions", BUCKET_POLICY, _reader_may_list_versions, f"{READER} is spared by the perimeter and may s3:ListBucket, s3:ListBucketVersions"),
    Case("a reader may use the key directly", KEY_POLICY, _reader_decrypts_directly, f"lets platform reader {READER} use the key beyond publishing: kms:Decrypt (PlatformReadersPublishSignals)"),
    Case("a reader may decrypt through S3", KEY_POLICY, _reader_decrypts_through_s3, f"lets platform reader {READER} use the key beyond publishing: kms:Decrypt"),
    Case("an outsider that is no platform reader is spared to list", BUCKET_POLICY, _outsider_spared_to_list, f"{OUTSIDER} is spared by the perimeter and may s3:ListBucket"),
]  # fmt: skip


def test_the_examples_hold_the_perimeter(graph: ResourceGraph) -> None:
    (finding,) = check_data_perimeter(graph)
    assert finding.passed, finding.message
    assert rule("MESH-DATA-PERIMETER").severity == "mandatory"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.reason)
def test_a_plan_that_lets_an_outsider_touch_data_fails(case: Case, graph: ResourceGraph) -> None:
    (finding,) = check_data_perimeter(_edit(graph, case.type_, case.change))
    assert not finding.passed, case.reason
    assert case.want in finding.message, f"{case.reason}: {finding.message}"


def test_a_graph_without_product_roles_has_no_perimeter_to_check(graph: ResourceGraph) -> None:
    without_roles = ResourceGraph(
        graph.stack, graph.project, [r for r in graph.resources if r.type != "aws:iam/role:Role"]
    )
    assert list(check_data_perimeter(without_roles)) == []


def test_a_platform_reader_spared_only_to_list_passes(reader_graph: ResourceGraph) -> None:
    (finding,) = check_data_perimeter(reader_graph)
    assert finding.passed, finding.message
    assert f"platform readers list it only: {READER}" in finding.message


@pytest.mark.parametrize("case", READER_CASES, ids=lambda c: c.reason)
def test_a_platform_reader_that_could_read_write_or_decrypt_fails(
    case: Case, reader_graph: ResourceGraph
) -> None:
    (finding,) = check_data_perimeter(_edit(reader_graph, case.type_, case.change))
    assert not finding.passed, case.reason
    assert case.want in finding.message, f"{case.reason}: {finding.message}"


def test_a_platform_reader_that_is_also_break_glass_keeps_its_break_glass_access(tmp_path: Path) -> None:
    template = "arn:aws:iam::{account}:role/platform/mesh-health"
    graph = _synthesize_with(
        tmp_path / "repo", platformReaders={"aws": [template]}, breakGlass={"aws": [template]}
    )
    (finding,) = check_data_perimeter(graph)
    assert finding.passed, finding.message
    assert f"break-glass: {READER}" in finding.message
