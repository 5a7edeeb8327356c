"""A request feature its cloud does not implement is refused at the field, naming the cloud."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from infra.clouds import CAPABILITIES, supports, unsupported_fields
from infra.model.capability import REQUEST_FIELDS, Capability

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TRANSFORM = '    transform: {schedule: "0 2 * * *", entrypoint: jobs/orders.py}\n'
QUERY = "    query: {bytesScannedLimitGb: 100}\n"


@dataclass(frozen=True)
class Case:
    reason: str
    example: str
    compute: str
    exit_code: int
    want: tuple[str, ...]


CASES = [
    Case(
        "a GCP transform creates nothing, so it is refused",
        "marketing-campaigns.yaml",
        TRANSFORM,
        1,
        (
            "spec.compute.transform: mesh does not implement a scheduled transform job on gcp, so nothing would be created for it — remove this field (implemented on: aws)",
        ),
    ),
    Case(
        "a GCP query limit creates nothing, so it is refused",
        "marketing-campaigns.yaml",
        QUERY,
        1,
        (
            "spec.compute.query.bytesScannedLimitGb: mesh does not implement a per-product limit on bytes scanned by a query on gcp",
        ),
    ),
    Case("AWS implements both", "sales-orders.yaml", "", 0, ("✓",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.reason)
def test_validate_refuses_what_the_cloud_lacks(tmp_path: Path, case: Case) -> None:
    shutil.copytree(EXAMPLES / "products" / "jobs", tmp_path / "jobs")
    text = (EXAMPLES / "products" / case.example).read_text()
    if case.compute:
        text = text.replace("  access:\n", f"  compute:\n{case.compute}  access:\n", 1)
    request = tmp_path / "request.yaml"
    request.write_text(text)

    result = CliRunner().invoke(app, ["validate", str(request), "--platform", str(EXAMPLES / "mesh.yaml")])

    assert result.exit_code == case.exit_code, (case.reason, result.output)
    output = " ".join(result.output.split())
    for want in case.want:
        assert " ".join(want.split()) in output, (case.reason, result.output)


def test_the_refusal_is_located_at_the_line_of_the_field(tmp_path: Path) -> None:
    text = (EXAMPLES / "products" / "marketing-campaigns.yaml").read_text()
    text = text.replace("  access:\n", f"  compute:\n{QUERY}  access:\n", 1)
    line = text.splitlines().index(QUERY.rstrip("\n")) + 1
    request = tmp_path / "request.yaml"
    request.write_text(text)

    result = CliRunner().invoke(app, ["validate", str(request), "--platform", str(EXAMPLES / "mesh.yaml")])

    assert f"request.yaml:{line}:" in result.output


def test_every_request_field_capability_is_declared_by_some_cloud() -> None:
    declared = set().union(*CAPABILITIES.values())
    assert set(REQUEST_FIELDS) <= declared
    assert supports("aws", Capability.TRANSFORM)
    assert not supports("gcp", Capability.TRANSFORM)
    assert not supports("azure", Capability.TRANSFORM)


def test_a_field_set_to_null_asks_for_nothing() -> None:
    assert unsupported_fields("gcp", {"spec": {"compute": {"transform": None}}}) == []
