"""Every resource type mesh can create has one descriptor, and its token lives in one source file."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from infra.aws import emulator, verify
from infra.aws.types import TYPES as AWS_TYPES
from infra.clouds import RESOURCE_TYPES, STATEFUL_TYPES, resource_type
from infra.gcp.types import TYPES as GCP_TYPES
from infra.model.resource_type import CloudContext, ResourceType
from infra.plan import plan_platform, plan_request
from infra.pulumi_sdk import type_token
from infra.validation import load_platform

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# A resource type token: `aws:s3/bucket:Bucket`; invoke tokens (`aws:index/getRegion:getRegion`) end in lowercase.
TOKEN = re.compile(r"""["']((?:aws|gcp):[A-Za-z0-9]+/[A-Za-z0-9]+:[A-Z][A-Za-z0-9]*)["']""")
DESCRIPTOR_FILES = {"infra/aws/types.py", "infra/gcp/types.py"}
SDK_MODULES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp"}


def _example_graph_types() -> set[str]:
    platform_path = EXAMPLES / "mesh.yaml"
    found: set[str] = set()
    for request in sorted((EXAMPLES / "products").glob("*.yaml")):
        plan = plan_request(request, platform_path=platform_path, environment=None)
        found |= {r.type for r in plan.graph.cloud_resources()}
    platform = load_platform(platform_path)
    for environment in ("dev", "prod", "local"):
        found |= {r.type for r in plan_platform(platform, environment).graph.cloud_resources()}
    return found


def _component_types() -> dict[str, str]:
    """Token → where a component constructs it (`components/aws/storage.py:57`)."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "components").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            if not (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Attribute)
                and isinstance(func.value.value, ast.Name)
                and func.value.value.id in SDK_MODULES
                and func.attr[:1].isupper()
            ):
                continue
            module = importlib.import_module(f"{SDK_MODULES[func.value.value.id]}.{func.value.attr}")
            token = type_token(getattr(module, func.attr))
            assert token, f"{path.relative_to(ROOT)}:{node.lineno}: {func.attr} has no type token"
            found.setdefault(token, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_type_in_an_example_graph_has_a_descriptor() -> None:
    types = _example_graph_types()

    assert types, "the examples synthesized no resources"
    assert sorted(t for t in types if resource_type(t) is None) == []


def test_every_type_a_component_creates_has_a_descriptor() -> None:
    created = _component_types()

    assert len(created) >= 20, sorted(created)
    missing = {token: where for token, where in created.items() if resource_type(token) is None}
    assert missing == {}, "add a descriptor to infra/<cloud>/types.py for each"


def test_each_token_is_written_in_one_source_file_only() -> None:
    outside: dict[str, list[str]] = {}
    for folder in ("cli", "components", "stacks", "infra"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            if where in DESCRIPTOR_FILES:
                continue
            for token in TOKEN.findall(path.read_text()):
                outside.setdefault(token, []).append(where)

    assert outside == {}, "use the descriptor's .token from infra/aws/types.py or infra/gcp/types.py"


def test_descriptors_are_filed_under_their_own_cloud() -> None:
    assert all(t.cloud == "aws" for t in AWS_TYPES.values())
    assert all(t.cloud == "gcp" for t in GCP_TYPES.values())
    assert set(RESOURCE_TYPES) == set(AWS_TYPES) | set(GCP_TYPES)


@pytest.mark.parametrize("descriptor", [t for t in AWS_TYPES.values() if t.applier], ids=lambda t: t.token)
def test_a_named_applier_exists(descriptor: ResourceType) -> None:
    assert emulator.APPLIERS[descriptor.token] is getattr(emulator._Applier, str(descriptor.applier))


@pytest.mark.parametrize("descriptor", [t for t in AWS_TYPES.values() if t.converger], ids=lambda t: t.token)
def test_a_named_converger_is_a_method_of_the_emulator_applier(descriptor: ResourceType) -> None:
    assert descriptor.applier, "a type converges only once it can be applied"
    assert callable(getattr(emulator._Applier, str(descriptor.converger), None))


@pytest.mark.parametrize("descriptor", [t for t in AWS_TYPES.values() if t.checker], ids=lambda t: t.token)
def test_a_named_checker_exists(descriptor: ResourceType) -> None:
    assert callable(getattr(verify._Checker, str(descriptor.checker), None))


def test_the_data_holding_types_are_the_stateful_ones() -> None:
    assert {
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:kms/key:Key",
        "aws:glue/catalogDatabase:CatalogDatabase",
        "aws:glue/catalogTable:CatalogTable",
        # the owner's confirmed email subscription: replaced, alerts stop until confirmed again
        "aws:sns/topic:Topic",
        "aws:sns/topicSubscription:TopicSubscription",
        "gcp:storage/bucket:Bucket",
        "gcp:bigquery/dataset:Dataset",
        "gcp:bigquery/table:Table",
        "gcp:kms/cryptoKey:CryptoKey",
    } == STATEFUL_TYPES


def test_mock_identifiers_follow_from_names() -> None:
    ctx = CloudContext(account="210987654321", region="eu-west-1")
    role = resource_type("aws:iam/role:Role")
    assert role is not None and role.mock is not None
    role_id, outputs = role.mock("r", {"name": "sales-orders-producer", "path": "/mesh/"}, ctx)

    assert role_id == "sales-orders-producer"
    assert outputs["arn"] == "arn:aws:iam::210987654321:role/mesh/sales-orders-producer"
