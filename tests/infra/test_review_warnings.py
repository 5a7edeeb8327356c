"""`mesh review` carries every validation warning of the request, and the break-glass principals."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from infra.plan import plan_request
from infra.review import review

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_review_carries_the_warnings_validate_and_plan_print(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    platform_file = tmp_path / "examples" / "mesh.yaml"
    platform = yaml.safe_load(platform_file.read_text())
    platform["breakGlass"] = {"aws": ["arn:aws:iam::{account}:role/data-break-glass"]}
    platform_file.write_text(yaml.safe_dump(platform))
    request = tmp_path / "examples" / "products" / "sales-orders.yaml"
    # support lists no principals.aws: its consumer role would trust the account root.
    request.write_text(
        request.read_text().replace(
            "      - {domain: finance, ports: [order_lines, daily_revenue]}",
            "      - {domain: finance, ports: [order_lines, daily_revenue]}\n      - {domain: support, ports: [order_lines]}",
        )
    )
    head = plan_request(request, platform_path=None, environment=None)
    assert head.warnings, "the request should warn about the support domain"
    result = review(head, head.graph, head.spec.contract(), base="HEAD", prove_access=False)
    assert [str(w) for w in head.warnings] == result.warnings
    assert any("support" in w and "trusts the account root" in w for w in result.warnings), result.warnings
    document = result.as_dict()
    assert document["warnings"] == result.warnings
    assert document["breakGlass"] == ["arn:aws:iam::111122223333:role/data-break-glass"]
