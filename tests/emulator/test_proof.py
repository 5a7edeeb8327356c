"""The access proof on moto: it passes on every AWS example and catches widened and narrowed policies."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.model.graph import Resource, ResourceGraph
from infra.model.spec import ProductSpec
from infra.proof import EVALUATED, EXECUTED, ProofResult, prove
from infra.synth import synthesize_spec
from infra.validation import load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGISTERED = ["sales", "marketing", "finance", "support"]


@pytest.fixture(scope="module")
def sales() -> tuple[ProductSpec, ResourceGraph]:
    spec, _, _ = load_spec(EXAMPLES / "products" / "sales-orders.yaml", platform_path=None, environment=None)
    return spec, synthesize_spec(spec)


@pytest.mark.parametrize("example", ["sales-orders", "finance-payroll"])
def test_proof_passes_on_every_aws_example(example: str) -> None:
    spec, _, _ = load_spec(EXAMPLES / "products" / f"{example}.yaml", platform_path=None, environment=None)
    result = prove(spec, synthesize_spec(spec), registered_domains=REGISTERED)
    assert result.passed, result.mismatches
    methods = {c.method for c in result.cells}
    assert methods == {EXECUTED, EVALUATED}
    # Every principal appears: producer, each consumer, an unrelated domain, the broad
    # same-account identity, an administrator, anonymous.
    principals = {c.principal for c in result.cells}
    assert {
        "producer",
        "anonymous",
        "broad-identity",
        "administrator",
        *(g.domain for g in spec.grants),
    } <= principals
    assert len(principals) == len(spec.grants) + 5


@pytest.mark.parametrize("example", ["sales-orders", "finance-payroll"])
def test_broad_identity_and_administrator_reach_no_data(example: str) -> None:
    spec, _, _ = load_spec(EXAMPLES / "products" / f"{example}.yaml", platform_path=None, environment=None)
    result = prove(spec, synthesize_spec(spec), registered_domains=REGISTERED)
    for who in ("broad-identity", "administrator"):
        data = [c for c in result.cells if c.principal == who and c.operation != "catalog-read"]
        assert len(data) == len(spec.ports) * 6 + 1, who
        assert [c for c in data if c.observed] == [], f"{who} reaches data"
        # moto let the identity's own s3:* through: the perimeter and the key policy refused it.
        denied_by = {c.statement for c in data if c.method == EVALUATED}
        assert denied_by <= {"DenyDataAccessOutsideProduct", "key policy grants nothing to the caller"}, (
            denied_by
        )
        assert "DenyDataAccessOutsideProduct" in denied_by


def test_matrix_shows_consumer_reads_granted_port_and_is_denied_writes(
    sales: tuple[ProductSpec, ResourceGraph],
) -> None:
    spec, graph = sales
    result = prove(spec, graph, registered_domains=REGISTERED)
    cell = {(c.principal, c.port, c.operation): c for c in result.cells}
    assert cell[("marketing", "order_lines", "read")].observed is True
    assert cell[("marketing", "order_lines", "read")].method == EXECUTED
    assert cell[("marketing", "order_lines", "write")].observed is False
    assert cell[("marketing", "order_lines", "write")].detail == "AccessDenied"
    assert cell[("marketing", "daily_revenue", "read")].observed is False
    assert cell[("producer", "daily_revenue", "write")].observed is True
    assert cell[("support", "order_lines", "read")].observed is False
    assert cell[("anonymous", "order_lines", "read")].method == EVALUATED


def _mutate_policy(
    graph: ResourceGraph, role: str, change: Callable[[list[dict[str, Any]]], None]
) -> ResourceGraph:
    resources = []
    for resource in graph.resources:
        if resource.type == "aws:iam/rolePolicy:RolePolicy" and resource.inputs.get("role") == role:
            document = json.loads(resource.inputs["policy"])
            change(document["Statement"])
            inputs = copy.deepcopy(resource.inputs) | {"policy": json.dumps(document)}
            resource = replace(resource, inputs=inputs)  # noqa: PLW2901 - rebuilding the list
        resources.append(resource)
    return ResourceGraph(stack=graph.stack, project=graph.project, resources=resources)


def _give_write(statements: list[dict[str, Any]]) -> None:
    statements.append(
        {
            "Sid": "WidenedWrite",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": ["arn:aws:s3:::acme-dev-sales-orders/data/order_lines/*"],
        }
    )


def _grant_other_port(statements: list[dict[str, Any]]) -> None:
    for statement in statements:
        if statement["Sid"] == "ReadGrantedPorts":
            statement["Resource"].append("arn:aws:s3:::acme-dev-sales-orders/data/daily_revenue/*")


def _drop_read(statements: list[dict[str, Any]]) -> None:
    statements[:] = [s for s in statements if s["Sid"] != "ReadGrantedPorts"]


def _drop_bucket_grant(document: dict[str, Any]) -> None:
    document["Statement"] = [s for s in document["Statement"] if s["Sid"] != "ConsumerFinanceRead"]


@dataclass
class Case:
    reason: str
    role_of: str  # grant domain whose role policy is changed
    change: Callable[[list[dict[str, Any]]], None]
    want: tuple[
        str, str, str, bool, bool, str | None
    ]  # principal, port, operation, expected, observed, statement


CASES = [
    Case(
        "a consumer given write",
        "marketing",
        _give_write,
        ("marketing", "order_lines", "write", False, True, "WidenedWrite"),
    ),
    Case(
        "a consumer granted a port it was not given",
        "marketing",
        _grant_other_port,
        ("marketing", "daily_revenue", "read", False, True, "ReadGrantedPorts"),
    ),
    # Both grants gone (the role's and the bucket policy's): finance can no longer read.
    Case("a missing grant", "finance", _drop_read, ("finance", "daily_revenue", "read", True, False, None)),
]
SUPPORT = "arn:aws:iam::111122223333:role/acme-dev-support-unrelated-reader"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.reason)
def test_proof_catches_widened_and_narrowed_policies(
    case: Case, sales: tuple[ProductSpec, ResourceGraph]
) -> None:
    spec, graph = sales
    role = next(g.aws_role for g in spec.grants if g.domain == case.role_of)
    graph = _mutate_policy(graph, role, case.change)
    if case.change is _drop_read:
        graph = _with_bucket_policy(graph, _drop_bucket_grant)
    result: ProofResult = prove(spec, graph, registered_domains=REGISTERED)
    assert not result.passed, case.reason
    found = [
        (c.principal, c.port, c.operation, c.expected, c.observed, c.statement) for c in result.mismatches
    ]
    assert case.want in found, f"{case.reason}: {found}"
    assert all(c.method == EXECUTED for c in result.mismatches if c.operation in ("read", "write")), (
        case.reason
    )


def _with_bucket_policy(graph: ResourceGraph, change: Callable[[dict[str, Any]], None]) -> ResourceGraph:
    resources: list[Resource] = []
    for resource in graph.resources:
        if resource.type == "aws:s3/bucketPolicy:BucketPolicy":
            document = json.loads(resource.inputs["policy"])
            change(document)
            resource = replace(resource, inputs=resource.inputs | {"policy": json.dumps(document)})  # noqa: PLW2901
        resources.append(resource)
    return ResourceGraph(graph.stack, graph.project, resources)


def _leak_to_support(document: dict[str, Any]) -> None:
    document["Statement"].append({
        "Sid": "LeakToSupport", "Effect": "Allow", "Principal": {"AWS": SUPPORT},
        "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::acme-dev-sales-orders/data/*"],
    })  # fmt: skip


def _open_perimeter_to_support(document: dict[str, Any]) -> None:
    _leak_to_support(document)
    for statement in document["Statement"]:
        if statement["Sid"] == "DenyDataAccessOutsideProduct":
            statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"].append(SUPPORT)


def test_the_perimeter_holds_against_a_bucket_policy_grant_to_an_outsider(
    sales: tuple[ProductSpec, ResourceGraph],
) -> None:
    spec, graph = sales
    result = prove(spec, _with_bucket_policy(graph, _leak_to_support), registered_domains=REGISTERED)
    assert result.passed, result.mismatches


def test_proof_catches_a_perimeter_opened_to_an_unrelated_domain(
    sales: tuple[ProductSpec, ResourceGraph],
) -> None:
    spec, graph = sales
    result = prove(
        spec, _with_bucket_policy(graph, _open_perimeter_to_support), registered_domains=REGISTERED
    )
    leaks = [c for c in result.mismatches if c.principal == "support" and c.operation in ("read", "head")]
    assert {c.port for c in leaks} == {"order_lines", "daily_revenue"}, result.mismatches
    # HEAD needs no data key: the leak shows there. A read still needs the key policy,
    # which does not name support, so the object's data stays sealed.
    assert all(c.operation == "head" and c.statement == "LeakToSupport" for c in leaks), leaks
    assert all(c.method == EVALUATED for c in leaks), leaks


def _with_readers(folder: Path, **platform_change: Any) -> tuple[ProductSpec, ResourceGraph]:
    shutil.copytree(EXAMPLES, folder)
    platform = yaml.safe_load((folder / "mesh.yaml").read_text()) | platform_change
    (folder / "mesh.yaml").write_text(yaml.safe_dump(platform, sort_keys=False))
    spec, _, _ = load_spec(folder / "products" / "sales-orders.yaml", platform_path=None, environment=None)
    return spec, synthesize_spec(spec)


def test_a_platform_reader_lists_the_ports_and_reads_writes_and_decrypts_nothing(tmp_path: Path) -> None:
    spec, graph = _with_readers(
        tmp_path / "repo",
        platformReaders={
            "aws": ["arn:aws:iam::{account}:role/platform/mesh-health", "arn:aws:iam::999988887777:role/ci"]
        },
    )
    result = prove(spec, graph, registered_domains=REGISTERED)

    assert result.passed, result.mismatches
    cells = {(c.port, c.operation): c for c in result.cells if c.principal == "platform-reader"}
    assert len(cells) == len(spec.ports) * 7 + 1, "six S3 operations and a catalog read per port, and the key"
    for port in spec.ports:
        listing = cells[(port.name, "list")]
        assert (listing.expected, listing.observed, listing.method) == (True, True, EXECUTED), listing
        for operation in ("read", "head", "write", "multipart", "delete", "catalog-read"):
            cell = cells[(port.name, operation)]
            assert cell.expected is False and cell.observed is False, cell
        # moto let the reader's own s3:* through; the readers' Deny refused it, by evaluation.
        assert cells[(port.name, "read")].statement == "DenyDataAccessByPlatformReaders"
        assert cells[(port.name, "read")].method == EVALUATED
    assert cells[("*", "decrypt")].observed is False
    assert any("arn:aws:iam::999988887777:role/ci" in n and "does not call" in n for n in result.notes)


def test_a_platform_reader_that_is_also_break_glass_is_proven_as_break_glass(tmp_path: Path) -> None:
    template = ["arn:aws:iam::{account}:role/platform/mesh-health"]
    spec, graph = _with_readers(
        tmp_path / "repo", platformReaders={"aws": template}, breakGlass={"aws": template}
    )
    result = prove(spec, graph, registered_domains=REGISTERED)

    assert result.passed, result.mismatches
    principals = {c.principal for c in result.cells}
    assert "break-glass" in principals and "platform-reader" not in principals
