"""Reading YAML with positions: every value knows its line and column, bad input becomes a located problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.model import document
from infra.model.document import FieldPath, format_path, parse_document, read_document
from infra.model.errors import DocumentInvalid, Problem, Severity

TEXT = """\
apiVersion: mesh/v1
metadata:
  name: orders
spec:
  outputPorts:
    - name: lines
      schema:
        - {name: id, type: strng}
"""


@dataclass
class Case:
    reason: str
    given: object
    want: object


@pytest.mark.parametrize(
    "case",
    [
        Case("empty path is empty", (), ""),
        Case("one key", ("spec",), "spec"),
        Case("keys join with dots", ("metadata", "name"), "metadata.name"),
        Case(
            "indexes in brackets",
            ("spec", "outputPorts", 0, "schema", 2, "type"),
            "spec.outputPorts[0].schema[2].type",
        ),
        Case("a list at the root", (3, "name"), "[3].name"),
    ],
    ids=lambda c: c.reason,
)
def test_format_path(case: Case) -> None:
    assert format_path(case.given) == case.want, case.reason  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "case",
    [
        Case("a top-level value", (("apiVersion",), False), (1, 13)),
        Case("a nested value", (("metadata", "name"), False), (3, 9)),
        Case(
            "a flow mapping inside a list", (("spec", "outputPorts", 0, "schema", 0, "type"), False), (8, 28)
        ),
        Case("a list item", (("spec", "outputPorts", 0), False), (6, 7)),
        Case("a key", (("metadata", "name"), True), (3, 3)),
        Case("an absent field falls back to its parent", (("metadata", "owner"), False), (3, 3)),
        Case("an absent key falls back to the parent key", (("metadata", "owner"), True), (2, 1)),
        Case("nothing known falls back to the start", (("nope", "deeper"), False), (1, 1)),
    ],
    ids=lambda c: c.reason,
)
def test_positions(case: Case) -> None:
    doc = parse_document(TEXT, file="orders.yaml")
    path, key = case.given  # type: ignore[misc]
    assert doc.position(path, key=key) == case.want, case.reason


def test_problem_points_into_the_file() -> None:
    doc = parse_document(TEXT, file="orders.yaml")
    path: FieldPath = ("spec", "outputPorts", 0, "schema", 0, "type")

    problem = doc.problem(path, "'strng' is not a column type")

    assert str(problem) == "orders.yaml:8:28 spec.outputPorts[0].schema[0].type: 'strng' is not a column type"


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "an unclosed flow sequence",
            "apiVersion: mesh/v1\nkind: [\n",
            "bad.yaml:3:1: not valid YAML: expected the node content, but found '<stream end>'",
        ),
        Case(
            "a tab used for indentation",
            "metadata:\n\tname: x\n",
            "bad.yaml:2:1: not valid YAML: found character '\\t' that cannot start any token",
        ),
        Case(
            "a mapping value where none may be",
            "a: b: c\n",
            "bad.yaml:1:5: not valid YAML: mapping values are not allowed here",
        ),
        Case(
            "a duplicate key, which plain YAML would silently overwrite",
            "kind: DataProduct\nmetadata:\n  name: a\n  name: b\n",
            "bad.yaml:4:3 metadata.name: duplicate key 'name' — each key may appear once",
        ),
        Case(
            "an empty file",
            "",
            "bad.yaml:1:1: the document is empty; expected a mapping with apiVersion, kind, ...",
        ),
        Case(
            "a comment only",
            "# nothing yet\n",
            "bad.yaml:1:1: the document is empty; expected a mapping with apiVersion, kind, ...",
        ),
        Case(
            "a list at the top",
            "- a\n- b\n",
            "bad.yaml:1:1: the document is a list; expected a mapping with apiVersion, kind, ...",
        ),
        Case(
            "a bare scalar",
            "hello\n",
            "bad.yaml:1:1: the document is a str; expected a mapping with apiVersion, kind, ...",
        ),
        Case(
            "a control character YAML does not allow",
            "kind: Data\x07Product\n",
            "bad.yaml:1:11: not valid YAML: the character U+0007 is not allowed in YAML (special characters are not allowed)",
        ),
        Case(
            "nesting deeper than any request",
            "[" * 5000 + "]" * 5000,
            "bad.yaml:1:101: not valid YAML: nested more than 100 levels deep; a request needs only a few levels",
        ),
        Case(
            "two documents in one file",
            "a: 1\n---\nb: 2\n",
            "bad.yaml:2:1: not valid YAML: expected a single document in the stream, but found another document",
        ),
    ],
    ids=lambda c: c.reason,
)
def test_bad_yaml_is_one_located_problem(case: Case) -> None:
    with pytest.raises(DocumentInvalid) as caught:
        parse_document(case.given, file="bad.yaml")  # type: ignore[arg-type]

    assert [str(p) for p in caught.value.problems] == [case.want], case.reason
    assert "1 problem in bad.yaml" in caught.value.message, case.reason


def test_every_duplicate_key_is_reported() -> None:
    text = "a: 1\na: 2\nb:\n  c: 1\n  c: 2\n"

    with pytest.raises(DocumentInvalid) as caught:
        parse_document(text, file="d.yaml")

    assert [p.location() for p in caught.value.problems] == ["d.yaml:2:1", "d.yaml:5:3"]
    assert caught.value.message.startswith("2 problems in d.yaml:\n")


@pytest.mark.parametrize(
    "case",
    [
        Case("a missing file", "missing.yaml", "no such file"),
        Case("a folder", "folder", "is a directory, expected a YAML file"),
        Case("bytes that are not UTF-8", "latin1.yaml", "cannot be read"),
    ],
    ids=lambda c: c.reason,
)
def test_unreadable_files(tmp_path: Path, case: Case) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "latin1.yaml").write_bytes("description: caf\xe9\n".encode("latin-1"))
    path = tmp_path / str(case.given)

    with pytest.raises(DocumentInvalid) as caught:
        read_document(path)

    (problem,) = caught.value.problems
    assert problem.file == str(path), case.reason
    assert problem.message.startswith(str(case.want)), case.reason
    assert caught.value.hint is None or "mesh init" in caught.value.hint


def test_read_document_keeps_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "orders.yaml"
    path.write_text(TEXT, encoding="utf-8")

    doc = read_document(path)

    assert doc.file == str(path)
    assert doc.data["metadata"] == {"name": "orders"}


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "located",
            Problem("a.yaml", "spec.cloud", "bad", line=9, column=10),
            "a.yaml:9:10 spec.cloud: bad",
        ),
        Case("unlocated", Problem("a.yaml", "", "no such file"), "a.yaml: no such file"),
        Case(
            "located without a path",
            Problem("a.yaml", "", "not YAML", line=3, column=1),
            "a.yaml:3:1: not YAML",
        ),
    ],
    ids=lambda c: c.reason,
)
def test_problem_text(case: Case) -> None:
    assert str(case.given) == case.want, case.reason


def test_problem_json_shape() -> None:
    problem = Problem("a.yaml", "spec.cloud", "bad", line=9, column=10, severity=Severity.WARNING)

    assert problem.as_dict() == {
        "file": "a.yaml",
        "line": 9,
        "column": 10,
        "path": "spec.cloud",
        "severity": "warning",
        "message": "bad",
    }


def test_document_invalid_counts_errors_not_warnings() -> None:
    problems = [
        Problem("b.yaml", "x", "broken", line=1, column=1),
        Problem("a.yaml", "y", "also broken", line=2, column=1),
        Problem("a.yaml", "z", "just a warning", line=3, column=1, severity=Severity.WARNING),
    ]

    error = DocumentInvalid(problems)

    assert (
        error.message == "2 problems in a.yaml, b.yaml:\n  b.yaml:1:1 x: broken\n  a.yaml:2:1 y: also broken"
    )
    assert error.problems == problems
    assert error.exit_code == 1


# --- two parsers, one result ----------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
YAML_FILES = sorted(
    p
    for pattern in ("examples/**/*.y*ml", "tests/fixtures/**/*.y*ml", "localstack/*.y*ml")
    for p in REPO.glob(pattern)
)


def _both(text: str) -> list[object]:

    results: list[object] = []
    for loader in (document._FAST_LOADER, document._Loader):
        assert loader is not None
        try:
            doc = document._parse(text, file="f.yaml", loader_class=loader)
            results.append((doc.data, doc.positions, doc.key_positions))
        except DocumentInvalid as e:
            results.append([str(p) for p in e.problems])
    return results


def test_libyaml_is_used_where_pyyaml_has_it() -> None:

    if not getattr(__import__("yaml"), "__with_libyaml__", False):
        pytest.skip("this PyYAML has no libyaml: only the pure-Python parser runs")
    assert document._FAST_LOADER is not None


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_both_parsers_give_the_same_values_and_positions(path: Path) -> None:

    if document._FAST_LOADER is None:
        pytest.skip("this PyYAML has no libyaml 0.2.5+")
    fast, pure = _both(path.read_text(encoding="utf-8"))
    assert fast == pure


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 150 + "]" * 150,  # flow nesting past the cap, well under libyaml's own
        "".join(" " * i + f"k{i}:\n" for i in range(150)) + " " * 150 + "v\n",  # block nesting
        "n: " + "9" * 41,  # the integer cap, in the shared constructor
        "n: 0x" + "f" * 60,
        "a: 1\na: 2\n",  # duplicate key
        "a: [1, 2\n",  # unclosed flow sequence: libyaml words it differently
        "a: \x07\n",  # a control character
    ],
)
def test_what_the_fast_parser_refuses_reads_as_the_pure_parser_words_it(text: str) -> None:

    with pytest.raises(DocumentInvalid) as pure:
        document._parse(text, file="f.yaml", loader_class=document._Loader)
    with pytest.raises(DocumentInvalid) as either:
        parse_document(text, file="f.yaml")
    assert [str(p) for p in either.value.problems] == [str(p) for p in pure.value.problems]
