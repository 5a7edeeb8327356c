"""Fixtures shared by every test folder: the example files, a scratch request writer, and
the hypothesis profiles.

Hypothesis runs the `ci` profile (a few hundred examples, no deadline) unless
`MESH_HYPOTHESIS_EXAMPLES` is set, which selects the `long` profile with that many
examples: `MESH_HYPOTHESIS_EXAMPLES=10000 pytest tests/infra/test_properties.py`.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from hypothesis import HealthCheck, settings
from moto import mock_aws

from infra.aws.emulator import Target, apply_graph
from infra.synth import synthesize_spec
from infra.validation import load_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# Each example writes and validates a file, so "too slow" says nothing about a test's health here.
settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("MESH_HYPOTHESIS_EXAMPLES") or 200),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("long" if os.environ.get("MESH_HYPOTHESIS_EXAMPLES") else "ci")

WriteRequest = Callable[..., Path]


@pytest.fixture
def examples_dir() -> Path:
    """The repository's `examples/` folder (a platform config and three requests)."""
    return EXAMPLES


@pytest.fixture
def platform_path() -> Path:
    """`examples/mesh.yaml`: organisation `acme`, domains sales, marketing, finance, support."""
    return EXAMPLES / "mesh.yaml"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch folder holding a copy of `examples/mesh.yaml` and `jobs/orders.py`."""
    shutil.copy(EXAMPLES / "mesh.yaml", tmp_path / "mesh.yaml")
    (tmp_path / "jobs").mkdir()
    shutil.copy(EXAMPLES / "products" / "jobs" / "orders.py", tmp_path / "jobs" / "orders.py")
    return tmp_path


@pytest.fixture
def write_request(workdir: Path) -> WriteRequest:
    """Write a request into `workdir` (next to its mesh.yaml) and return its path.

    `content` is YAML text (dedented, so it can be indented in the test) or a mapping
    (dumped in key order).
    """

    def write(content: str | dict[str, Any], name: str = "request.yaml") -> Path:
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            text = textwrap.dedent(content).lstrip("\n")
        else:
            text = yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def minimal_request() -> dict[str, Any]:
    """A small valid AWS request of domain `sales` (a fresh copy for each test to mutate)."""
    return {
        "apiVersion": "mesh/v1",
        "kind": "DataProduct",
        "metadata": {
            "domain": "sales",
            "name": "orders",
            "owner": "sales-data@example.com",
            "description": "Confirmed orders.",
        },
        "spec": {
            "cloud": "aws",
            "classification": "internal",
            "retentionDays": 30,
            "outputPorts": [
                {
                    "name": "order_lines",
                    "partitionedBy": ["order_date"],
                    "schema": [
                        {"name": "order_id", "type": "string", "required": True},
                        {"name": "order_date", "type": "date"},
                    ],
                }
            ],
            "access": {"consumers": [{"domain": "marketing", "ports": ["order_lines"]}]},
        },
    }


CATALOG_ENV = "mototest"


@pytest.fixture(scope="module")
def applied_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """In-process moto holding both AWS examples in environment `mototest`, sales/orders
    also in `other`, and a Glue database mesh did not create; yields the folder with the
    platform config (mesh.yaml) and the requests (products/). moto stays active meanwhile."""
    folder = tmp_path_factory.mktemp("catalog")
    platform = yaml.safe_load((EXAMPLES / "mesh.yaml").read_text())
    for name in (CATALOG_ENV, "other"):
        platform["environments"][name] = {"aws": {"account": "123456789012", "region": "us-east-1"}}
    (folder / "mesh.yaml").write_text(yaml.safe_dump(platform))
    shutil.copytree(EXAMPLES / "products", folder / "products")
    with mock_aws():
        for example, env in (
            ("sales-orders", CATALOG_ENV),
            ("finance-payroll", CATALOG_ENV),
            ("sales-orders", "other"),
        ):
            spec, _, _ = load_spec(
                folder / "products" / f"{example}.yaml", platform_path=None, environment=env
            )
            apply_graph(synthesize_spec(spec), Target(region="us-east-1"))
        glue = boto3.client("glue", region_name="us-east-1")
        glue.create_database(DatabaseInput={"Name": "hand_made", "Description": "orders, by hand"})
        yield folder
