"""Hostile and clumsy input: each is a located error, never a crash, a hang or a file
read from outside the repository."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.model.document import MAX_NODES, parse_document
from infra.model.errors import DocumentInvalid, UsageError
from infra.review import request_at_ref
from infra.saved_plan import load_saved_plan
from infra.validation import MAX_COLUMNS, MAX_COLUMNS_PER_PORT, MAX_PORTS, load_platform, load_request

HUGE = "1" * 4301


@dataclass
class Case:
    reason: str
    given: Any
    want: str


def _problems(call: Any) -> list[str]:
    with pytest.raises(DocumentInvalid) as caught:
        call()
    return [f"{p.path}: {p.message}" if p.path else p.message for p in caught.value.problems]


# --- reading documents ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [
        Case("a 4,301-digit integer", f"a: {HUGE}\n", "not valid YAML: a number of 4,301 digits"),
        Case("a negative one", f"a: -{HUGE}\n", "not valid YAML: a number of 4,301 digits"),
        Case("a 41-digit integer", f"a: {'2' * 41}\n", "not valid YAML: a number of 41 digits"),
        Case("a 5,000-digit hexadecimal", f"a: 0x{'f' * 5000}\n", "not valid YAML: a number of 5,002 digits"),
        Case(
            "a base-60 integer of 3,000 parts",
            "a: " + ":".join(["59"] * 3000) + "\n",
            "not valid YAML: a number of 8,999",
        ),
        Case(
            "50,000 nested brackets",
            "a: " + "[" * 50_000 + "]" * 50_000 + "\n",
            "not valid YAML: nested more",
        ),
        Case("deep block nesting", "a:\n" + "- " * 5_000 + "x\n", "not valid YAML: nested more"),
        Case(
            "a billion laughs",
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
            ),
            f"the document expands to more than {MAX_NODES:,} values",
        ),
    ],
    ids=lambda c: c.reason,
)
def test_documents_too_big_to_be_a_request(case: Case) -> None:
    (message,) = _problems(lambda: parse_document(case.given, file="r.yaml"))

    assert message.startswith(case.want), f"{case.reason}: {message}"


def test_a_40_digit_integer_and_a_shared_anchor_still_read() -> None:
    doc = parse_document(f"a: {'3' * 40}\nb: &s [1, 2]\nc: *s\n", file="r.yaml")

    assert doc.data == {"a": int("3" * 40), "b": [1, 2], "c": [1, 2]}


# --- requests --------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path, examples_dir: Path) -> Path:
    """A repository: mesh.yaml at the top, requests and their job under products/; a
    script next to the repository, outside it."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(examples_dir / "mesh.yaml", root / "mesh.yaml")
    shutil.copytree(examples_dir / "products", root / "products")
    (tmp_path / "outside.py").write_text("print('not a job of this repository')\n")
    return root


def _request(repo: Path, name: str, change: Any) -> Path:
    doc = yaml.safe_load((repo / "products" / "sales-orders.yaml").read_text())
    change(doc)
    path = repo / "products" / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _entrypoint(value: str) -> Any:
    return lambda d: d["spec"]["compute"]["transform"].update(entrypoint=value)


@pytest.mark.parametrize(
    "case",
    [
        Case("up and out of the repository", "../../outside.py", "resolves to {outer}/outside.py, outside"),
        Case("a link to the process environment", "jobs/environ.py", "resolves to /proc/"),
        Case("a link to /etc/passwd", "jobs/passwd.py", "resolves to /etc/passwd, outside"),
        Case("a folder named like a script", "jobs/folder.py", "is not a regular file"),
        Case("a NUL in the path", "jobs/orders.py\x00.py", "does not exist"),
        Case("a missing script", "jobs/missing.py", "does not exist"),
    ],
    ids=lambda c: c.reason,
)
def test_entrypoints_stay_inside_the_repository(case: Case, repo: Path) -> None:
    (repo / "products" / "jobs" / "environ.py").symlink_to("/proc/self/environ")
    (repo / "products" / "jobs" / "passwd.py").symlink_to("/etc/passwd")
    (repo / "products" / "jobs" / "folder.py").mkdir()
    path = _request(repo, "hostile.yaml", _entrypoint(case.given))
    platform = load_platform(repo / "mesh.yaml")

    (message,) = _problems(lambda: load_request(path, platform))

    assert message.startswith("spec.compute.transform.entrypoint: "), message
    assert case.want.format(outer=repo.parent) in message, f"{case.reason}: {message}"


def test_an_entrypoint_linked_inside_the_repository_is_fine(repo: Path) -> None:
    (repo / "products" / "jobs" / "alias.py").symlink_to(repo / "products" / "jobs" / "orders.py")
    path = _request(repo, "linked.yaml", _entrypoint("jobs/alias.py"))

    loaded = load_request(path, load_platform(repo / "mesh.yaml"))

    assert loaded.request.spec.compute.transform is not None


def test_without_a_platform_config_entrypoints_stay_in_the_requests_folder(repo: Path) -> None:
    (repo / "beside.py").write_text("print(1)\n")
    path = _request(repo, "hostile.yaml", _entrypoint("../beside.py"))

    (message,) = _problems(lambda: load_request(path, None))

    assert f"outside {repo / 'products'}" in message


def _ports(count: int, columns: int) -> Any:
    def change(doc: dict[str, Any]) -> None:
        schema = [{"name": f"c{i}", "type": "string"} for i in range(columns)]
        doc["spec"]["outputPorts"] = [{"name": f"p{i}", "schema": schema} for i in range(count)]
        doc["spec"]["access"]["consumers"] = []

    return change


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "too many ports",
            (MAX_PORTS + 1, 1),
            f"spec.outputPorts: {MAX_PORTS + 1} output ports; a product has at most {MAX_PORTS}",
        ),
        Case(
            "too many columns in a port",
            (1, MAX_COLUMNS_PER_PORT + 1),
            f"spec.outputPorts[0].schema: {MAX_COLUMNS_PER_PORT + 1:,} columns; a port has at most {MAX_COLUMNS_PER_PORT:,}",
        ),
        Case(
            "too many columns in all",
            (6, 900),
            f"spec.outputPorts: 5,400 columns over all ports; a product has at most {MAX_COLUMNS:,}",
        ),
    ],
    ids=lambda c: c.reason,
)
def test_requests_larger_than_mesh_plans(case: Case, repo: Path) -> None:
    path = _request(repo, "big.yaml", _ports(*case.given))

    with pytest.raises(DocumentInvalid) as caught:
        load_request(path, load_platform(repo / "mesh.yaml"))

    assert [f"{p.path}: {p.message}" for p in caught.value.problems] == [case.want]
    assert caught.value.hint == "See 'Input limits' in the README."


def test_the_largest_request_allowed_validates(repo: Path) -> None:
    path = _request(repo, "largest.yaml", _ports(5, MAX_COLUMNS_PER_PORT))

    loaded = load_request(path, load_platform(repo / "mesh.yaml"))

    assert sum(len(p.columns) for p in loaded.request.spec.output_ports) == MAX_COLUMNS


@pytest.mark.parametrize(
    "case",
    [
        Case("Arabic-Indic digits in a version", ("metadata", "version", "\u0661.0.0"), "metadata.version"),
        Case("a 5,000-digit major version", ("metadata", "version", "1" * 5000 + ".0.0"), "metadata.version"),
    ],
    ids=lambda c: c.reason,
)
def test_versions_are_ascii_and_short(case: Case, repo: Path) -> None:
    section, key, value = case.given
    path = _request(repo, "version.yaml", lambda d: d[section].update({key: value}))

    (message,) = _problems(lambda: load_request(path, load_platform(repo / "mesh.yaml")))

    assert message.startswith(f"{case.want}: "), message


# --- the platform config --------------------------------------------------------------------


def _platform(repo: Path, change: Any) -> Path:
    doc = yaml.safe_load((repo / "mesh.yaml").read_text())
    change(doc)
    (repo / "mesh.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return repo / "mesh.yaml"


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "a misspelled advisory rule",
            ("guardrails", ["MESH-ADV-LOGING"]),
            "guardrails.disabled[0]: unknown guardrail 'MESH-ADV-LOGING' — did you mean MESH-ADV-LOGGING?",
        ),
        Case(
            "a mandatory rule",
            ("guardrails", ["MESH-S3-OWNER-ENFORCED"]),
            "guardrails.disabled[0]: guardrail 'MESH-S3-OWNER-ENFORCED' (S3 buckets disable ACLs) is mandatory: mandatory guardrails cannot be disabled",
        ),
        Case(
            "a mandatory rule in one environment",
            ("preview", ["MESH-ADV-LOGGING", "MESH-S3-TLS-ONLY"]),
            "environments.preview.disabledGuardrails[1]: guardrail 'MESH-S3-TLS-ONLY'",
        ),
    ],
    ids=lambda c: c.reason,
)
def test_the_disable_list_names_advisory_rules_only(case: Case, repo: Path) -> None:
    where, ids = case.given

    def change(doc: dict[str, Any]) -> None:
        if where == "guardrails":
            doc["guardrails"]["disabled"] = ids
        else:
            doc["environments"][where]["disabledGuardrails"] = ids

    path = _platform(repo, change)

    (message,) = _problems(lambda: load_platform(path))

    assert message.startswith(case.want), message


def test_a_relative_state_folder_stays_in_the_repository(repo: Path) -> None:
    path = _platform(repo, lambda d: d["environments"]["dev"].update(backend="file://../../elsewhere"))

    (message,) = _problems(lambda: load_platform(path))

    assert message.startswith(
        "environments.dev.backend: 'file://../../elsewhere' leaves the folder of mesh.yaml"
    )


def test_an_absolute_state_folder_is_the_platform_teams_choice(repo: Path) -> None:
    path = _platform(repo, lambda d: d["environments"]["dev"].update(backend="file:///var/lib/mesh"))

    assert load_platform(path).config.environments["dev"].backend == "file:///var/lib/mesh"


def test_account_ids_take_ascii_digits_only(repo: Path) -> None:
    path = _platform(repo, lambda d: d["environments"]["dev"]["aws"].update(account="\u0661" * 12))

    (message,) = _problems(lambda: load_platform(path))

    assert message.startswith("environments.dev.aws.account: "), message


# --- saved plans (mesh review --base-plan) --------------------------------------------------


@pytest.fixture(scope="module")
def saved_plan() -> dict[str, Any]:
    from infra.plan import plan_request  # synthesis only for this fixture

    examples_dir = Path(__file__).resolve().parents[2] / "examples"

    result = plan_request(
        examples_dir / "products" / "marketing-campaigns.yaml", platform_path=None, environment=None
    )
    return {**result.graph.as_dict(), "contract": result.spec.contract()}


def _edit(plan: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    edited = json.loads(json.dumps(plan))
    target = edited
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return edited


@pytest.mark.parametrize(
    "case",
    [
        Case("a list", [], "is a JSON list, expected the object `mesh plan` writes"),
        Case(
            "a number as a type",
            (("resources", 0, "type"), 5),
            "resources[0].type: Input should be a valid string",
        ),
        Case("no contract", (("contract",), None), "contract: Input should be a valid dictionary"),
        Case(
            "ports as a list",
            (("contract", "ports"), [1]),
            "contract.ports: Input should be a valid dictionary",
        ),
        Case(
            "consumers as a number",
            (("contract", "consumers"), 5),
            "contract.consumers: Input should be a valid dictionary",
        ),
        Case(
            "a consumer's ports as a number",
            (("contract", "consumers"), {"sales": 5}),
            "contract.consumers.sales: Input should be a valid list",
        ),
        Case(
            "a version that is not one",
            (("contract", "version"), "x" * 5000),
            "contract.version: String should match pattern",
        ),
        Case("100,000 levels of brackets", "[" * 100_000 + "]" * 100_000, "cannot be read as a plan"),
        Case("200 levels of brackets", "[" * 200 + "]" * 200, "nested more than 64 levels deep"),
        Case("a huge number", '{"stack": ' + HUGE + "}", "cannot be read as a plan"),
        Case("not JSON", "{", "not valid JSON: Expecting property name"),
    ],
    ids=lambda c: c.reason,
)
def test_saved_plans_that_are_not_plans(case: Case, saved_plan: dict[str, Any], tmp_path: Path) -> None:
    file = tmp_path / "base.json"
    if isinstance(case.given, tuple):
        file.write_text(json.dumps(_edit(saved_plan, *case.given)))
    elif isinstance(case.given, str):
        file.write_text(case.given)
    else:
        file.write_text(json.dumps(case.given))

    (message,) = _problems(lambda: load_saved_plan(file))

    assert message.startswith(case.want), f"{case.reason}: {message}"


def test_a_saved_plan_reads_back(saved_plan: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "base.json").write_text(json.dumps(saved_plan))

    graph, contract = load_saved_plan(tmp_path / "base.json")

    assert len(graph.resources) == len(saved_plan["resources"])
    assert contract == saved_plan["contract"]


# --- git refs --------------------------------------------------------------------------------


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "orders.yaml").write_text("kind: DataProduct\n")
    git("add", "orders.yaml")
    git("-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "first")
    return tmp_path


@pytest.mark.parametrize("ref", ["--output=written.txt", "-p", "--", " ", "HEAD\n--output=x"])
def test_a_ref_that_is_an_option_is_refused(ref: str, git_repo: Path) -> None:
    with pytest.raises(UsageError) as caught:
        request_at_ref(git_repo / "orders.yaml", ref)

    assert "is not a git ref" in caught.value.message
    assert sorted(p.name for p in git_repo.iterdir()) == [".git", "orders.yaml"], "git wrote nothing"


def test_a_ref_git_does_not_know_is_named(git_repo: Path) -> None:
    with pytest.raises(UsageError) as caught:
        request_at_ref(git_repo / "orders.yaml", "origin/nowhere")

    assert caught.value.message.startswith("--base origin/nowhere: no such git ref")
    assert caught.value.exit_code == 2


def test_a_known_ref_gives_the_file_at_that_commit(git_repo: Path) -> None:
    (git_repo / "orders.yaml").write_text("kind: Changed\n")

    assert request_at_ref(git_repo / "orders.yaml", "HEAD") == "kind: DataProduct\n"
