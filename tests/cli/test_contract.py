"""`mesh contract`: the ODCS contract on stdout or in a file; a bad request gets a located error."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner, Result

from cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ORDERS = str(EXAMPLES / "products" / "sales-orders.yaml")
runner = CliRunner()


def test_yaml_on_stdout_by_default() -> None:
    result = runner.invoke(app, ["contract", "export", ORDERS, "--env", "prod"])

    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.stdout)
    assert (document["kind"], document["id"], document["servers"][0]["environment"]) == (
        "DataContract",
        "acme.sales.orders",
        "prod",
    )


def test_json_into_a_file(tmp_path: Path) -> None:
    target = tmp_path / "orders.odcs.json"

    result = runner.invoke(app, ["contract", "export", ORDERS, "--output", "json", "--file", str(target)])

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"Wrote the ODCS contract of sales/orders (dev) to {target}" in " ".join(result.stderr.split())
    document = json.loads(target.read_text())
    assert [o["name"] for o in document["schema"]] == ["order_lines", "daily_revenue"]


def test_an_invalid_request_is_located_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "orders.py").write_text((EXAMPLES / "products" / "jobs" / "orders.py").read_text())
    request = tmp_path / "orders.yaml"
    request.write_text(
        Path(ORDERS).read_text().replace("{name: order_date, type: date", "{name: order_date, type: dat")
    )
    target = tmp_path / "out.yaml"

    result = runner.invoke(
        app,
        [
            "contract",
            "export",
            str(request),
            "--platform",
            str(EXAMPLES / "mesh.yaml"),
            "--file",
            str(target),
        ],
    )

    assert result.exit_code == 1
    assert "Error: 1 problem in" in result.stderr
    assert (
        "orders.yaml:26:36 spec.outputPorts[0].schema[6].type: 'dat' is not a Glue/Hive column type — did you mean 'date'?"
        in " ".join(result.stderr.split())
    )
    assert not target.exists()
    assert "Traceback" not in result.output


def _import(contract: Path, target: Path) -> Result:
    return runner.invoke(
        app,
        [
            "contract",
            "import",
            str(contract),
            "--file",
            str(target),
            "--platform",
            str(EXAMPLES / "mesh.yaml"),
        ],
    )


def test_import_writes_a_request_that_validates(tmp_path: Path) -> None:
    contract = tmp_path / "orders.odcs.yaml"
    runner.invoke(app, ["contract", "export", ORDERS, "--file", str(contract)])
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "orders.py").write_text((EXAMPLES / "products" / "jobs" / "orders.py").read_text())
    target = tmp_path / "sales-orders.yaml"

    result = _import(contract, target)

    assert result.exit_code == 0, result.output
    assert f"✓ wrote {target} from {contract}" in " ".join(result.stdout.split())
    assert target.read_text().startswith("# Drafted by `mesh contract import` from orders.odcs.yaml")
    again = runner.invoke(app, ["validate", str(target), "--platform", str(EXAMPLES / "mesh.yaml")])
    assert again.exit_code == 0, again.output
    exists = runner.invoke(app, ["contract", "import", str(contract), "--file", str(target)])
    assert exists.exit_code == 1 and "already exists" in exists.stderr


def test_an_import_that_would_not_validate_writes_nothing(tmp_path: Path) -> None:
    contract = tmp_path / "c.yaml"
    contract.write_text(
        "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n"
        "domain: logistics\nname: parcels\nteam: {members: [{username: ops@example.com, role: owner}]}\n"
        "schema: [{name: parcels, properties: [{name: id, logicalType: string}]}]\n"
    )
    target = tmp_path / "out.yaml"

    result = _import(contract, target)

    assert result.exit_code == 1, result.output
    stderr = " ".join(result.stderr.split())
    # Located in the contract the user has, not in a draft that was never written.
    assert (
        f"{contract}:6:9 domain: domain 'logistics' is not registered in {EXAMPLES / 'mesh.yaml'}" in stderr
    )
    assert "(drafted as metadata.domain)" in stderr
    assert "Nothing was written" in stderr and "--dry-run" in stderr and "--domain" in stderr
    assert not target.exists()
    dry = runner.invoke(
        app, ["contract", "import", str(contract), "--dry-run", "--platform", str(EXAMPLES / "mesh.yaml")]
    )
    # The dry run shows the draft and exits as the real run would.
    assert dry.exit_code == 1 and "domain: logistics" in dry.stdout
    assert f"{contract}:6:9 domain: domain 'logistics' is not registered" in " ".join(dry.stderr.split())
    assert "would not be written" in dry.stderr


def test_a_file_that_is_not_an_odcs_contract_is_located(tmp_path: Path) -> None:
    result = runner.invoke(app, ["contract", "import", ORDERS])

    assert result.exit_code == 1
    assert "kind 'DataProduct' — expected 'DataContract' (ODCS)" in result.stderr
    assert "Traceback" not in result.output


CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "odcs"


def test_a_real_contract_imports_with_only_a_domain_and_keeps_what_mesh_does_not_provision(
    tmp_path: Path,
) -> None:
    contract = CORPUS / "bitol-io" / "full-example.odcs.yaml"
    target = tmp_path / "seller.yaml"

    result = runner.invoke(
        app,
        ["contract", "import", str(contract), "--domain", "sales", "--file", str(target),
         "--platform", str(EXAMPLES / "mesh.yaml")],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    stderr = " ".join(result.stderr.split())
    assert f"note: {contract}:23:5 servers[0]: server 'my-postgres' (postgres) is not provisioned" in stderr
    assert "'my quantum' is not a product name: my-quantum" in stderr
    written = target.read_text()
    request = yaml.safe_load(written)
    assert request["metadata"] == {
        "domain": "sales",
        "name": "my-quantum",
        "owner": "sales-data@example.com",
        "description": "Views built on top of the seller tables.",
        "version": "1.1.0",
    }
    # rcvr_id is classified restricted: the product is restricted.
    assert request["spec"]["classification"] == "restricted"
    assert "#   - metric: rowCount" in written and "#   type: postgres" in written
    again = runner.invoke(app, ["validate", str(target), "--platform", str(EXAMPLES / "mesh.yaml")])
    assert again.exit_code == 0, again.output


def test_overrides_name_the_product_and_a_valid_dry_run_writes_nothing(tmp_path: Path) -> None:
    contract = CORPUS / "datacontract-cli" / "valid-3.1.0.odcs.yaml"
    target = tmp_path / "out.yaml"

    result = runner.invoke(
        app,
        ["contract", "import", str(contract), "--domain", "marketing", "--name", "shipments",
         "--owner", "marketing-analytics@example.com", "--cloud", "aws", "--dry-run", "--file", str(target),
         "--platform", str(EXAMPLES / "mesh.yaml")],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    draft = yaml.safe_load(result.stdout)
    assert {k: draft["metadata"][k] for k in ("domain", "name", "owner")} == {
        "domain": "marketing", "name": "shipments", "owner": "marketing-analytics@example.com",
    }  # fmt: skip
    assert draft["spec"]["cloud"] == "aws"
    assert not target.exists()


def test_a_contract_without_schema_objects_is_refused_clearly() -> None:
    contract = CORPUS / "bitol-io" / "support-channels.odcs.yaml"

    result = runner.invoke(app, ["contract", "import", str(contract), "--domain", "sales", "--dry-run"])

    assert result.exit_code == 1
    stderr = " ".join(result.stderr.split())
    assert f"{contract}:1:1 schema: no schema objects" in stderr
    assert "add a `schema` list with at least one object that has `properties`" in stderr
    assert result.stdout == "" and "Traceback" not in result.output


def test_product_export_writes_odps(tmp_path: Path) -> None:
    on_stdout = runner.invoke(app, ["product", "export", ORDERS, "--env", "prod"])
    target = tmp_path / "orders.odps.json"
    to_file = runner.invoke(app, ["product", "export", ORDERS, "-o", "json", "--file", str(target)])

    assert on_stdout.exit_code == 0, on_stdout.output
    document = yaml.safe_load(on_stdout.stdout)
    assert (document["apiVersion"], document["kind"], document["id"]) == (
        "v1.1.0",
        "DataProduct",
        "acme.sales.orders",
    )
    assert to_file.exit_code == 0, to_file.output
    assert "Wrote the ODPS descriptor of sales/orders (dev)" in " ".join(to_file.stderr.split())
    assert [p["contractId"] for p in json.loads(target.read_text())["outputPorts"]] == [
        "acme.sales.orders"
    ] * 2
