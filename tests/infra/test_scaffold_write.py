"""`write_request`: a drafted request reaches the disk only once it validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.model.errors import DocumentInvalid, MeshError
from infra.scaffold import write_request
from infra.validation import load_platform

VALID = """\
apiVersion: mesh/v1
kind: DataProduct
metadata: {domain: sales, name: orders, owner: sales-data@example.com, description: Confirmed orders.}
spec:
  cloud: aws
  classification: internal
  retentionDays: 30
  outputPorts: [{name: order_lines, schema: [{name: order_id, type: string}]}]
"""


def test_an_invalid_draft_never_replaces_an_existing_file(workdir: Path) -> None:
    target = workdir / "orders.yaml"
    target.write_text("# the team's own request\n")

    with pytest.raises(DocumentInvalid):
        write_request(
            target,
            VALID.replace("type: string", "type: strng"),
            load_platform(workdir / "mesh.yaml"),
            force=True,
        )

    assert target.read_text() == "# the team's own request\n"


def test_an_existing_file_needs_force_and_a_valid_draft_is_written(workdir: Path) -> None:
    target = workdir / "products" / "orders.yaml"
    platform = load_platform(workdir / "mesh.yaml")

    write_request(target, VALID, platform, force=False)
    assert target.read_text() == VALID
    with pytest.raises(MeshError, match="already exists"):
        write_request(target, VALID, platform, force=False)
