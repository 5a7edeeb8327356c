"""Real ODCS contracts, byte for byte as published (tests/fixtures/odcs/SOURCE.md): each one with a
schema object imports with only a domain given, validates and plans; each one without is refused
with a message saying what is missing; and what mesh exports from an imported product imports
back to the same request."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.contract import check_draft, data_contract, draft_request, read_contract, render_draft
from infra.model.errors import DocumentInvalid, Severity
from infra.plan import plan_request
from infra.validation import LoadedPlatform, load_platform, load_spec

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "odcs"
PLATFORM = Path(__file__).resolve().parents[2] / "examples" / "mesh.yaml"
CONTRACTS = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.odcs.yaml"))


def _has_schema_objects(contract: str) -> bool:
    data = yaml.safe_load((CORPUS / contract).read_text(encoding="utf-8"))
    return any(isinstance(o, dict) for o in data.get("schema") or [])


@pytest.fixture(scope="module")
def platform() -> LoadedPlatform:
    return load_platform(PLATFORM)


def test_the_corpus_is_real_and_sourced() -> None:
    source = (CORPUS / "SOURCE.md").read_text(encoding="utf-8")

    assert len(CONTRACTS) >= 20
    assert {c.split("/")[0] for c in CONTRACTS} == {"bitol-io", "datacontract-cli"}
    for contract in CONTRACTS:
        assert f"`{contract.split('/')[1]}`" in source, f"{contract} has no source in SOURCE.md"
    assert sum(_has_schema_objects(c) for c in CONTRACTS) >= 20


@pytest.mark.parametrize("contract", [c for c in CONTRACTS if _has_schema_objects(c)])
def test_a_contract_with_a_schema_imports_with_only_a_domain_then_validates_and_plans(
    contract: str, platform: LoadedPlatform, tmp_path: Path
) -> None:
    read = read_contract(CORPUS / contract)
    draft = draft_request(read, domain="sales", platform=platform.config)
    text = render_draft(draft, source=contract)
    target = tmp_path / "imported.yaml"

    problems = check_draft(draft, read, text=text, target=target, platform=platform)

    assert [str(p) for p in problems if p.severity is Severity.ERROR] == [], contract
    assert all(p.file == str(CORPUS / contract) for p in [*read.problems, *draft.notes]), contract
    target.write_text(text, encoding="utf-8")
    plan = plan_request(target, platform_path=PLATFORM, environment=None)
    assert not plan.blocked, f"{contract}: {plan.guardrails.blocking}"
    assert {p.name for p in plan.spec.ports} == {p["name"] for p in draft.document["spec"]["outputPorts"]}
    assert any(
        r.type == "aws:s3/bucketV2:BucketV2" or "bucket" in r.type.lower() for r in plan.graph.resources
    )


@pytest.mark.parametrize("contract", [c for c in CONTRACTS if _has_schema_objects(c)])
def test_an_imported_contract_exports_and_imports_back_to_the_same_request(
    contract: str, platform: LoadedPlatform, tmp_path: Path
) -> None:
    first = draft_request(read_contract(CORPUS / contract), domain="sales", platform=platform.config)
    request = tmp_path / "first.yaml"
    request.write_text(render_draft(first, source=contract), encoding="utf-8")
    spec, loaded, _ = load_spec(request, platform_path=PLATFORM, environment=None)
    exported = tmp_path / "exported.odcs.yaml"
    exported.write_text(
        data_contract(spec, platform.config, request=loaded.request).to_yaml(), encoding="utf-8"
    )

    again = draft_request(read_contract(exported), platform=platform.config)

    assert again.document == first.document, contract
    assert [str(n) for n in again.notes] == [], f"{contract}: mesh's own export needs no assumption"


@pytest.mark.parametrize("contract", [c for c in CONTRACTS if not _has_schema_objects(c)])
def test_a_contract_without_schema_objects_is_refused_with_what_is_missing(
    contract: str, platform: LoadedPlatform
) -> None:
    read = read_contract(CORPUS / contract)

    with pytest.raises(DocumentInvalid) as refused:
        draft_request(read, domain="sales", platform=platform.config)

    (problem,) = refused.value.problems
    assert problem.file == str(CORPUS / contract)
    assert problem.path == "schema"
    assert "no schema objects" in problem.message and "no output port to provision" in problem.message
    assert (
        refused.value.hint is not None and "at least one object that has `properties`" in refused.value.hint
    )
