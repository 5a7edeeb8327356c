"""`mesh plan --all` and `mesh review --all` on a small generated mesh.

The base plans are saved once with the code as it is; each test edits a copy of that
document to stand for "the platform code before the change" (a resource without a tag, a
bucket under another name, a statement not yet granted), then reviews the working tree
against it, exactly as a platform pull request would be reviewed.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from infra import mesh_review, parallel_plan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()
NAMES = ("orders-a", "orders-b", "orders-c")


def _write_mesh(folder: Path) -> None:
    request = yaml.safe_load((EXAMPLES / "products" / "sales-orders.yaml").read_text())
    (folder / "products" / "jobs").mkdir(parents=True)
    shutil.copy(EXAMPLES / "mesh.yaml", folder / "mesh.yaml")
    shutil.copy(EXAMPLES / "products" / "jobs" / "orders.py", folder / "products" / "jobs" / "orders.py")
    for name in NAMES:
        request["metadata"]["name"] = name
        (folder / "products" / f"{name}.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
    # YAML that is not a request is left alone.
    (folder / "ci.yml").write_text("name: ci\non: push\n")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A generated mesh and its base plans, saved with `mesh plan --all --output json` (no cache)."""
    folder = tmp_path_factory.mktemp("mesh")
    _write_mesh(folder)
    result = runner.invoke(
        app, ["plan", "--all", str(folder), "--output", "json", "--no-cache", "--jobs", "2"]
    )
    assert result.exit_code == 0, result.output
    return folder, json.loads(result.stdout)


@pytest.fixture
def mesh(saved: tuple[Path, dict[str, Any]], tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    folder = tmp_path / "mesh"
    shutil.copytree(saved[0], folder)
    # Plans name the transform script by its absolute path: the copy's base is the copy's.
    yield folder, json.loads(json.dumps(saved[1]).replace(str(saved[0]), str(folder)))


def _product(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in document["products"] if p["request"] == f"products/{name}.yaml")


def _resource(plan: dict[str, Any], suffix: str) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["name"].endswith(suffix))


def _review(folder: Path, base: dict[str, Any], *args: str) -> Any:
    file = folder.parent / "base.json"
    for product in base["products"]:
        product["planDigest"] = None  # edited plans: let the reader hash them again
    file.write_text(json.dumps(base))
    return runner.invoke(app, ["review", "--all", str(folder), "--base-plans", str(file), *args])


def test_plan_all_writes_one_document_with_every_request(saved: tuple[Path, dict[str, Any]]) -> None:
    _, document = saved
    assert document["kind"] == "MeshPlan" and document["blocked"] is False
    assert [p["request"] for p in document["products"]] == [f"products/{n}.yaml" for n in NAMES]
    for product in document["products"]:
        assert product["environment"] == "dev"
        assert product["plan"]["stack"] == f"sales.{product['product'].split('/')[1]}.dev"
        assert len([r for r in product["plan"]["resources"] if not r["type"].startswith("mesh:")]) == 33


def test_plan_all_takes_env(mesh: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = mesh
    result = runner.invoke(app, ["plan", "--all", str(folder), "--env", "prod", "-o", "json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert {p["plan"]["stack"].rsplit(".", 1)[1] for p in json.loads(result.stdout)["products"]} == {"prod"}


def test_unchanged_mesh_reviews_clean_and_from_cache(
    mesh: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, base = mesh
    first = _review(folder, base, "-o", "json")
    assert first.exit_code == 0, first.output
    document = json.loads(first.stdout)
    assert document["summary"]["changed"] == 0 and document["blockedProducts"] == []
    assert {p["status"] for p in document["products"]} == {"unchanged"}
    assert list((folder / ".mesh" / "cache" / "plans").rglob("*.json"))

    def no_planning(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a plan was made although every plan is in the cache")

    monkeypatch.setattr(parallel_plan, "plan_many", no_planning)
    second = _review(folder, base, "-o", "json")
    assert second.exit_code == 0, second.output
    assert second.stdout == first.stdout  # the same bytes, from the cache


@dataclass
class Case:
    reason: str
    edit: Callable[[dict[str, Any]], None]  # makes orders-b's base plan differ from the head
    exit_code: int
    status: str
    check: Callable[[dict[str, Any]], bool]


def _untagged_key(plan: dict[str, Any]) -> None:
    del _resource(plan, "-storage-key")["inputs"]["tags"]["mesh:stack"]


def _renamed_bucket(plan: dict[str, Any]) -> None:
    _resource(plan, "-storage-bucket")["inputs"]["bucket"] = "acme-dev-sales-orders-b-old"


def _statement_not_yet_granted(plan: dict[str, Any]) -> None:
    policy = _resource(plan, "-access-producer-policy")["inputs"]
    document = json.loads(policy["policy"])
    document["Statement"] = document["Statement"][1:]
    policy["policy"] = json.dumps(document)


def _guardrail_failed_before(plan: dict[str, Any]) -> None:
    result = next(r for r in plan["guardrails"] if r["id"] == "MESH-S3-TLS-ONLY")
    result["passed"] = False


CASES = [
    Case(
        "one more tag: the key changes in place, nothing blocks",
        _untagged_key,
        0,
        "changed",
        lambda p: (
            p["counts"] == {"added": 0, "replaced": 0, "removed": 0, "changed": 1, "dataAtRisk": 0}
            and p["resources"][0]["inputs"][0]["path"] == "tags.mesh:stack"
        ),
    ),
    Case(
        "a renamed bucket is replaced: data at risk blocks",
        _renamed_bucket,
        1,
        "changed",
        lambda p: (
            p["counts"]["replaced"] >= 1
            and p["counts"]["dataAtRisk"] == 1
            and any("holds data" in b for b in p["blockers"])
        ),
    ),
    Case(
        "a statement granted shows in the product and mesh-wide",
        _statement_not_yet_granted,
        0,
        "changed",
        lambda p: any(
            "s3:ListBucket on arn:aws:s3:::acme-dev-sales-orders-b" in g
            for r in p["resources"]
            for d in r["policies"]
            for g in d["granted"]
        ),
    ),
    Case(
        "a guardrail that failed at the base and passes now",
        _guardrail_failed_before,
        0,
        "changed",
        lambda p: [(g["id"], g["change"]) for g in p["guardrails"]] == [("MESH-S3-TLS-ONLY", "now-passes")],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.reason for c in CASES])
def test_a_change_to_one_product(case: Case, mesh: tuple[Path, dict[str, Any]]) -> None:
    folder, base = mesh
    case.edit(_product(base, "orders-b")["plan"])
    result = _review(folder, base, "-o", "json")
    assert result.exit_code == case.exit_code, (case.reason, result.output)
    document = json.loads(result.stdout)
    statuses = {p["request"]: p["status"] for p in document["products"]}
    assert statuses == {
        "products/orders-a.yaml": "unchanged",
        "products/orders-b.yaml": case.status,
        "products/orders-c.yaml": "unchanged",
    }, case.reason
    product = next(p for p in document["products"] if p["request"] == "products/orders-b.yaml")
    assert case.check(product), (case.reason, json.dumps(product, indent=1)[:3000])
    assert document["summary"]["changed"] == 1
    assert document["blockedProducts"] == (["sales/orders-b"] if case.exit_code else [])


def test_mesh_wide_statements_are_grouped_across_products(mesh: tuple[Path, dict[str, Any]]) -> None:
    folder, base = mesh
    for name in NAMES:
        _statement_not_yet_granted(_product(base, name)["plan"])
    result = _review(folder, base, "-o", "json")
    assert result.exit_code == 0, result.output
    grants = json.loads(result.stdout)["grants"]
    listed = [g for g in grants if "s3:ListBucket on arn:aws:s3:::{product}" in g["statement"]]
    assert listed and listed[0]["change"] == "granted"
    assert listed[0]["products"] == ["sales/orders-a", "sales/orders-b", "sales/orders-c"]


def test_markdown_summary_first_details_folded(mesh: tuple[Path, dict[str, Any]]) -> None:
    folder, base = mesh
    _renamed_bucket(_product(base, "orders-b")["plan"])
    result = _review(folder, base, "-o", "markdown")
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("## mesh review --all: 1 of 3 product(s) change — ⛔ 1 product(s) blocked")
    assert text.index("| product | environment | result |") < text.index("<details>")
    assert "### ⛔ Blocked products" in text
    assert "<details><summary>sales/orders-b — changed</summary>" in text


def test_markdown_escapes_untrusted_text(mesh: tuple[Path, dict[str, Any]]) -> None:
    folder, base = mesh
    evil = folder / "products" / "x|<img src=x onerror=alert(1)>@team.yaml"
    evil.write_text(
        "apiVersion: mesh/v1\nkind: DataProduct\nmetadata:\n  domain: '<b>@owners</b>'\n  name: x\n"
    )
    result = _review(folder, base, "-o", "markdown")
    assert result.exit_code == 1, result.output
    text = result.stdout
    # Every `<` of the request is escaped: `\<` in markdown, `&lt;` inside <summary>.
    assert not re.search(r"(?<!\\)<(img|b>)", text)
    assert "<summary>products/x|&lt;img src=x onerror=alert(1)&gt;@\u200bteam.yaml — failed</summary>" in text
    assert "@team" not in text and "@owners" not in text
    assert "x\\|\\<img src\\=x onerror\\=alert\\(1\\)\\>@\u200bteam\\.yaml" in text


def test_json_is_deterministic_across_job_counts(mesh: tuple[Path, dict[str, Any]]) -> None:
    folder, base = mesh
    _untagged_key(_product(base, "orders-a")["plan"])
    one = _review(folder, base, "-o", "json", "--no-cache", "--jobs", "1")
    two = _review(folder, base, "-o", "json", "--no-cache", "--jobs", "2")
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout


def test_base_at_a_git_ref_plans_with_that_code(mesh: tuple[Path, dict[str, Any]]) -> None:
    if not (mesh_review.CODE_ROOT / ".git").exists():
        pytest.skip("mesh's code is not in a git checkout here")
    folder, _ = mesh
    result = runner.invoke(
        app, ["review", "--all", str(folder), "--base", "HEAD", "-o", "json", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["base"] == "HEAD" and document["summary"]["products"] == 3


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], 2, "pass --base-plans base.json or --base REF"),
        (["--base", "--output=x"], 1, "no such commit"),
        (["--base-plans", "missing.json"], 1, "missing.json: no such file"),
        (
            ["--base-plans", "/dev/zero"],
            1,
            "is a device, expected a `mesh plan --all --output json` document",
        ),
        (["--base-plans", "."], 1, "is a directory, expected a `mesh plan --all --output json` document"),
    ],
)
def test_bad_input_is_a_message(
    args: list[str], code: int, message: str, mesh: tuple[Path, dict[str, Any]]
) -> None:
    folder, _ = mesh
    result = runner.invoke(app, ["review", "--all", str(folder), *args])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_base_document_of_another_kind_is_refused(
    mesh: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, _ = mesh
    single = tmp_path / "single.json"
    single.write_text(json.dumps({"stack": "x", "resources": []}))
    result = runner.invoke(app, ["review", "--all", str(folder), "--base-plans", str(single)])
    assert result.exit_code == 1
    assert "is not a `mesh plan --all --output json` document" in result.output


def test_the_access_proof_runs_only_where_policies_changed(mesh: tuple[Path, dict[str, Any]]) -> None:
    folder, base = mesh
    _statement_not_yet_granted(_product(base, "orders-b")["plan"])
    _untagged_key(_product(base, "orders-c")["plan"])  # changed, but no policy: no proof
    result = _review(folder, base, "-o", "json", "--jobs", "1")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["summary"]["proofs"] == {"run": 1, "failed": 0}
    proofs = {p["request"]: p["proof"] for p in document["products"]}
    assert proofs["products/orders-a.yaml"] is None
    assert proofs["products/orders-c.yaml"] is None
    proof = proofs["products/orders-b.yaml"]
    assert proof["passed"] and proof["error"] is None and proof["mismatches"] == []
    assert proof["executed"] > 0 and proof["cells"] == proof["executed"] + proof["evaluated"]


def test_a_change_that_opens_the_data_fails_the_proof_and_blocks(
    mesh: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A platform change that drops the perimeter from every bucket policy: the statements
    revoked show, and the proof (run for each product) finds the broad identity reading."""
    from components.aws import policies

    folder, base = mesh
    perimeter = policies.perimeter_statements
    monkeypatch.setattr(
        policies,
        "perimeter_statements",
        lambda spec, deployer: [
            s for s in perimeter(spec, deployer) if s["Sid"] != "DenyDataAccessOutsideProduct"
        ],
    )
    result = _review(folder, base, "-o", "markdown", "--jobs", "2", "--no-cache")  # proofs in forked workers
    assert result.exit_code == 1, result.output
    text = result.stdout
    assert "Access proof, run for the 3 product(s) whose policies changed: ⛔ 3 failed." in text
    assert "**Access proof:** failed" in text
    assert "the access proof found" in text
    assert "DenyDataAccessOutsideProduct" in text  # the statement revoked, mesh-wide
