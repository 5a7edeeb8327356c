"""`mesh catalog search / show` on moto: what a consumer sees, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.app import app

runner = CliRunner()
ENV = "mototest"  # the environment of the `applied_catalog` fixture (tests/conftest.py)


def _run(folder: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--env", ENV, "--platform", str(folder / "mesh.yaml")])
    return result.exit_code, result.stdout, result.stderr


def test_search_lists_matches_with_where_each_word_was_found(applied_catalog: Path) -> None:
    code, stdout, _ = _run(applied_catalog, "catalog", "search", "iban", "--output", "json")

    assert code == 0
    document = json.loads(stdout)
    assert [(p["product"], p["matched"]) for p in document["products"]] == [
        ("finance/payroll", ["column iban of payslips"])
    ]
    code, stdout, _ = _run(applied_catalog, "catalog", "search")
    assert code == 0
    assert "finance/payroll" in stdout and "sales/orders" in stdout
    assert "2 products in mototest. See one with `mesh catalog show DOMAIN/NAME`." in stdout


def test_show_prints_the_ports_columns_and_how_to_get_access(applied_catalog: Path) -> None:
    code, stdout, _ = _run(applied_catalog, "catalog", "show", "sales/orders")

    assert code == 0
    assert "sales/orders 1.2.0 — Confirmed customer orders, one row per order line." in stdout
    assert "read by         marketing, finance" in stdout
    assert "customer_email" in stdout and "pii" in stdout
    assert "the sales domain adds your domain under spec.access.consumers" in " ".join(stdout.split())


def test_an_unknown_product_exits_1_with_a_suggestion(applied_catalog: Path) -> None:
    code, _, stderr = _run(applied_catalog, "catalog", "show", "sales/order")

    assert code == 1
    assert f"Error: no product sales/order in the catalog of {ENV}" in stderr
    assert "Did you mean sales/orders?" in stderr


def test_a_gcp_only_environment_says_where_to_look(tmp_path: Path) -> None:
    platform = Path(__file__).resolve().parents[2] / "examples" / "mesh.yaml"
    text = platform.read_text().replace(
        "  local:\n",
        "  gcponly:\n    gcp: {project: acme-x, region: europe-west1}\n    backend: file://.mesh/state\n  local:\n",
        1,
    )
    (tmp_path / "mesh.yaml").write_text(text)

    result = runner.invoke(
        app, ["catalog", "search", "--env", "gcponly", "--platform", str(tmp_path / "mesh.yaml")]
    )

    assert result.exit_code == 1
    assert "environment gcponly has no AWS account" in result.stderr
    assert "bq ls --filter labels.mesh-domain" in " ".join(result.stderr.split())
