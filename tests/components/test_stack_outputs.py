"""Each cloud's product stack exports its outputs under keys that say what they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.synth import synthesize
from infra.validation import load_spec
from stacks import outputs, product

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("request_file", "want"),
    [
        ("sales-orders.yaml", outputs.AWS),
        ("marketing-campaigns.yaml", outputs.GCP),
    ],
)
def test_the_product_stack_exports_its_clouds_outputs(
    monkeypatch: pytest.MonkeyPatch, request_file: str, want: tuple[str, ...]
) -> None:
    exported: list[str] = []

    def export(name: str, value: Any) -> None:
        exported.append(name)

    monkeypatch.setattr(product.pulumi, "export", export)
    spec, _, _ = load_spec(
        EXAMPLES / "products" / request_file, platform_path=EXAMPLES / "mesh.yaml", environment=None
    )
    synthesize(product.product_program(spec), project=spec.project, stack=spec.stack)

    assert sorted(exported) == sorted(want)


def test_a_gcp_service_account_is_not_exported_as_a_role_arn() -> None:
    assert outputs.PRODUCER_ROLE_ARN not in outputs.GCP
    assert outputs.PRODUCER_SERVICE_ACCOUNT in outputs.GCP
