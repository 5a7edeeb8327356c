"""Operation flags travel as arguments of the operation, never in the requested state."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from infra.model.spec import ProductSpec
from infra.synth import synthesize
from infra.validation import load_spec
from stacks.product import product_program

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUCKETS = {
    "sales-orders.yaml": "aws:s3/bucket:Bucket",
    "marketing-campaigns.yaml": "gcp:storage/bucket:Bucket",
}


def test_the_spec_carries_no_operation_flag() -> None:
    assert "delete_data" not in {f.name for f in dataclasses.fields(ProductSpec)}


@pytest.mark.parametrize("request_file", sorted(BUCKETS))
@pytest.mark.parametrize("delete_data", [False, True])
def test_delete_data_lets_the_bucket_go_with_its_objects(request_file: str, delete_data: bool) -> None:
    spec, _, _ = load_spec(
        EXAMPLES / "products" / request_file, platform_path=EXAMPLES / "mesh.yaml", environment=None
    )

    graph = synthesize(product_program(spec, delete_data=delete_data), project=spec.project, stack=spec.stack)

    (bucket,) = graph.of_type(BUCKETS[request_file])
    assert bucket.inputs.get("forceDestroy", False) is delete_data, bucket.urn
