"""`mesh catalog build`: what it writes, that it is deterministic and escaped, and its exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import yaml
from typer.testing import CliRunner

from cli.app import app

runner = CliRunner()
SAMPLE_HEALTH = Path(__file__).resolve().parents[2] / "examples" / "health.sample.json"
EXAMPLE_FILES = [
    ".mesh-catalog",
    "index.html",
    "lineage.html",
    "lineage.svg",
    "products/finance/payroll.html",
    "products/finance/payroll.odcs.yaml",
    "products/finance/payroll.odps.yaml",
    "products/marketing/campaign-performance.html",
    "products/marketing/campaign-performance.odcs.yaml",
    "products/marketing/campaign-performance.odps.yaml",
    "products/sales/orders.html",
    "products/sales/orders.odcs.yaml",
    "products/sales/orders.odps.yaml",
]


def _build(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["catalog", "build", *args])
    return result.exit_code, result.stdout, result.stderr


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _by_column_name(contract: dict[str, Any]) -> dict[str, Any]:
    """The contract with each schema object's properties keyed by name (their order is the export's choice)."""
    schema = [{**obj, "properties": {p["name"]: p for p in obj["properties"]}} for obj in contract["schema"]]
    return {**contract, "schema": schema}


def test_builds_every_page_and_each_contract_as_contract_export_writes_it(
    examples_repo: Path, tmp_path: Path
) -> None:
    code, stdout, _ = _build(str(examples_repo), "--out", str(tmp_path / "site"))

    assert code == 0
    assert "Built the catalog of 3 products in" in stdout
    assert f"Open {tmp_path / 'site' / 'index.html'} in a browser" in " ".join(stdout.split())
    assert sorted(_files(tmp_path / "site")) == EXAMPLE_FILES
    exported = runner.invoke(
        app, ["contract", "export", str(examples_repo / "products" / "sales-orders.yaml")]
    ).stdout
    published = yaml.safe_load((tmp_path / "site" / "products" / "sales" / "orders.odcs.yaml").read_text())
    assert _by_column_name(published) == _by_column_name(yaml.safe_load(exported))
    page = (tmp_path / "site" / "products" / "sales" / "orders.html").read_text()
    assert 'href="orders.odcs.yaml" download' in page
    # lineage.svg stands alone: well-formed XML with its own styles.
    svg = ElementTree.fromstring((tmp_path / "site" / "lineage.svg").read_bytes())
    namespace = "{http://www.w3.org/2000/svg}"
    assert svg.find(f"{namespace}style") is not None
    assert len([g for g in svg.iter(f"{namespace}g") if "data-node" in g.attrib]) == 7
    assert 'href="orders.odps.yaml" download' in page
    descriptor = yaml.safe_load((tmp_path / "site" / "products" / "sales" / "orders.odps.yaml").read_text())
    exported_odps = runner.invoke(
        app, ["product", "export", str(examples_repo / "products" / "sales-orders.yaml")]
    ).stdout
    assert descriptor == yaml.safe_load(exported_odps)


def test_the_same_requests_give_the_same_bytes_wherever_they_are(examples_repo: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "repo"
    shutil.copytree(examples_repo, elsewhere)

    assert _build(str(examples_repo), "--out", str(tmp_path / "one"), "--health", str(SAMPLE_HEALTH))[0] == 0
    # Another process, with another hash seed: nothing may depend on set or dict order.
    subprocess.run(
        [
            *(sys.executable, "-c", "from cli.app import main; main()", "catalog", "build", str(elsewhere)),
            *("--out", str(tmp_path / "two"), "--health", str(SAMPLE_HEALTH)),
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONHASHSEED": "123"},
        check=True,
        capture_output=True,
    )

    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert one == two
    leaked = [name for name, data in one.items() if str(tmp_path).encode() in data]
    assert leaked == [], "no absolute path of the machine that built it"


def test_a_rebuild_replaces_the_previous_site(examples_repo: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert _build(str(examples_repo), "--out", str(site))[0] == 0
    (site / "products" / "stale.html").write_text("old")
    (examples_repo / "products" / "finance-payroll.yaml").unlink()

    assert _build(str(examples_repo), "--out", str(site))[0] == 0

    assert not (site / "products" / "stale.html").exists()
    assert not (site / "products" / "finance").exists()
    assert (site / "products" / "sales" / "orders.html").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], (
        "no staging folder left behind"
    )

    # A build that fails leaves the previous site as it was.
    before = _files(site)
    (examples_repo / "products" / "sales-orders.yaml").write_text("apiVersion: mesh/v1\nkind: DataProduct\n")
    assert _build(str(examples_repo), "--out", str(site))[0] == 1
    assert _files(site) == before


def test_folders_it_must_not_replace_are_refused(examples_repo: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    (tmp_path / "file").write_text("")

    cases = [
        (mine, "is a folder mesh did not build (no .mesh-catalog in it); it is not replaced"),
        (examples_repo, "holds the requests under"),
        (tmp_path, "holds the requests under"),
        (tmp_path / "file", "is a file"),
    ]
    for out, message in cases:
        code, _, stderr = _build(str(examples_repo), "--out", str(out))
        assert code == 2, out
        assert message in " ".join(stderr.split()), out
    assert (mine / "notes.txt").read_text() == "keep me"


def test_request_text_is_escaped_in_every_page(examples_repo: Path, tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    path = examples_repo / "products" / "sales-orders.yaml"
    document = yaml.safe_load(path.read_text())
    document["metadata"]["description"] = hostile
    document["spec"]["outputPorts"][0]["schema"][0]["description"] = '" onmouseover="alert(2)'
    path.write_text(yaml.safe_dump(document, sort_keys=False))

    assert _build(str(examples_repo), "--out", str(tmp_path / "site"))[0] == 0

    for name in ("index.html", "products/sales/orders.html"):
        html = (tmp_path / "site" / name).read_text()
        assert "<script>alert" not in html and "<img src=x" not in html, name
        assert (
            "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;" in html
        ), name
        assert '" onmouseover="alert(2)' not in html, name
        # The only scripts are the site's own, and the page allows no other.
        assert html.count("<script>") == 1, name
        assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", html), name


def test_invalid_requests_are_all_reported_and_nothing_is_written(
    examples_repo: Path, tmp_path: Path
) -> None:
    (examples_repo / "products" / "broken.yaml").write_text(
        "apiVersion: mesh/v1\nkind: DataProduct\nmetadata: {domain: nowhere}\n"
    )
    orders = examples_repo / "products" / "sales-orders.yaml"
    (examples_repo / "products" / "copy.yaml").write_text(orders.read_text())

    code, _, stderr = _build(str(examples_repo), "--out", str(tmp_path / "site"))

    assert code == 1
    text = " ".join(stderr.split())
    assert "broken.yaml:3:20 metadata.domain: domain 'nowhere' is not registered" in text
    assert "broken.yaml:1:1 spec: required field 'spec' is missing" in text
    assert f"product sales/orders is also requested in {examples_repo / 'products' / 'copy.yaml'}" in text
    assert "Hint: Fix these requests" in text
    assert not (tmp_path / "site").exists()


def test_only_requests_are_read(examples_repo: Path, tmp_path: Path) -> None:
    (examples_repo / "ci").mkdir()
    (examples_repo / "ci" / "workflow.yml").write_text("on: [pull_request]\njobs: {}\n")
    (examples_repo / "orders.odcs.yaml").write_text("kind: DataContract\napiVersion: v3.1.0\n")
    (examples_repo / ".git").mkdir()
    shutil.copy(examples_repo / "products" / "sales-orders.yaml", examples_repo / ".git" / "old.yaml")

    code, stdout, _ = _build(str(examples_repo), "--out", str(tmp_path / "site"))

    assert code == 0
    assert "Built the catalog of 3 products" in stdout


def test_usage_and_input_errors_exit_with_their_codes(examples_repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(examples_repo / "mesh.yaml", empty / "mesh.yaml")
    cases = [
        ([str(tmp_path / "absent"), "--out", str(tmp_path / "s")], 2, "does not exist"),
        ([str(empty), "--out", str(tmp_path / "s")], 1, f"no data product requests under {empty}"),
        (
            [str(examples_repo), "--out", str(tmp_path / "s"), "--env", "qa"],
            2,
            "environment 'qa' is not defined",
        ),
        (
            [str(examples_repo), "--out", str(tmp_path / "s"), "--health", str(tmp_path / "h.json")],
            1,
            "no such file",
        ),
        ([str(examples_repo)], 2, "Missing option '--out'"),
        ([str(examples_repo), "--out", str(tmp_path / "file" / "site")], 1, "cannot write the site to"),
    ]
    (tmp_path / "file").write_text("")
    for args, want_code, message in cases:
        code, _, stderr = _build(*args)
        assert code == want_code, args
        assert message in " ".join(stderr.split()), args
        assert "Traceback" not in stderr


def test_health_is_shown_and_its_gaps_are_noted(examples_repo: Path, tmp_path: Path) -> None:
    health = json.loads(SAMPLE_HEALTH.read_text())
    health["products"]["hr/people"] = {"verdict": "ok"}
    del health["products"]["finance/payroll"]
    (tmp_path / "health.json").write_text(json.dumps(health))

    code, stdout, stderr = _build(
        str(examples_repo),
        "--out",
        str(tmp_path / "site"),
        "--health",
        str(tmp_path / "health.json"),
        "-o",
        "json",
    )

    assert code == 0
    report = json.loads(stdout)
    assert report["products"] == ["finance/payroll", "marketing/campaign-performance", "sales/orders"]
    assert report["files"] == EXAMPLE_FILES
    assert report["lineageEdges"] == 5
    assert report["notes"] == [
        f"{tmp_path / 'health.json'}: no request for hr/people under {examples_repo}; their health is not shown",
        f"{tmp_path / 'health.json'} says nothing of finance/payroll: shown as 'no health data'",
    ]
    assert "note:" in stderr
    index = (tmp_path / "site" / "index.html").read_text()
    assert 'data-product="marketing/campaign-performance"' in index
    assert re.search(r'data-product="marketing/campaign-performance"[^>]*data-slo="breach"', index)
    assert re.search(r'data-product="finance/payroll"[^>]*data-slo="no-data"', index)
    # The report is of prod, so the contracts describe prod.
    contract = yaml.safe_load((tmp_path / "site" / "products" / "sales" / "orders.odcs.yaml").read_text())
    assert contract["servers"][0]["environment"] == "prod"


def test_the_live_commands_are_still_there() -> None:
    result = runner.invoke(app, ["catalog", "--help"])

    assert result.exit_code == 0
    for command in ("search", "show", "build"):
        assert command in result.stdout


def test_the_site_code_imports_no_cloud_sdk() -> None:
    probe = (
        "import sys, infra.site, infra.lineage; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'pulumi', 'pulumi_aws', 'pulumi_gcp', 'boto3', 'botocore', 'moto'}))"
    )
    root = Path(__file__).resolve().parents[2]

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=root, check=True
    )

    assert result.stdout.strip() == "[]"
