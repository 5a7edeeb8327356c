"""Reading YAML documents while remembering where every value came from.

Validation messages point into the file (`orders.yaml:14:11`), so the loader keeps a
map from each field path to its line and column. Paths are tuples of keys and list
indexes, the same shape pydantic uses in `ValidationError.errors()[i]["loc"]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.model.errors import DocumentInvalid, Problem
from infra.model.files import MAX_INPUT_BYTES, read_input

FieldPath = tuple[str | int, ...]

# Why 200,000: the largest request the column and port caps allow (5,000 columns) has
# 35,062 nodes and its ODCS contract 55,165; counting every alias as the
# nodes it stands for stops a small file from expanding into millions.
MAX_NODES = 200_000
# Python refuses to turn more than 4,300 digits into an int; no mesh value needs 40.
MAX_INTEGER_DIGITS = 40
# A request is 6 levels deep, an ODCS contract with nested structs perhaps 20. Refusing
# at the scanner keeps 50,000 `[` from costing PyYAML 10 s (its simple-key bookkeeping
# is quadratic in the depth) before Python's recursion limit stops it.
MAX_DEPTH = 100


def format_path(path: FieldPath) -> str:
    """`("spec", "outputPorts", 0, "name")` → `spec.outputPorts[0].name`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class Document:
    """A parsed YAML mapping with the positions of its fields."""

    file: str
    data: Any
    positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: FieldPath, *, key: bool = False) -> tuple[int, int]:
        """The (line, column) of `path`, or of its closest ancestor that has one."""
        table = self.key_positions if key else self.positions
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if not key and probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, path: FieldPath, message: str, *, key: bool = False) -> Problem:
        """A located problem for `path`."""
        line, column = self.position(path, key=key)
        return Problem(file=self.file, path=format_path(path), message=message, line=line, column=column)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and integers too long to be a value."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        # Count every character but sign and underscores: hexadecimal (`0xfff…`) and
        # base-60 (`1:2:3…`) integers have no Python limit yet grow as large.
        digits = len(str(node.value).replace("_", "").lstrip("+-"))
        if digits > MAX_INTEGER_DIGITS:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a number of {digits:,} digits is not a value mesh can use "
                f"(at most {MAX_INTEGER_DIGITS}); put it in quotes if it is text",
                node.start_mark,
            )
        return int(yaml.constructor.SafeConstructor.construct_yaml_int(self, node))

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:  # noqa: N803 - PyYAML's name
        if self.flow_level >= MAX_DEPTH:
            raise yaml.scanner.ScannerError(None, None, _DEEP, self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            raise yaml.scanner.ScannerError(None, None, _DEEP, self.get_mark())
        return bool(super().add_indent(column))


_DEEP = f"nested more than {MAX_DEPTH} levels deep; a request needs only a few levels"
_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def _libyaml_caps_nesting() -> bool:
    """Whether PyYAML has libyaml, at 0.2.5 or later: those refuse more than 1,000 levels
    of nesting in C, so composing a hostile file cannot exhaust the stack."""
    try:
        from yaml import _yaml  # noqa: PLC0415 - optional C extension
    except ImportError:
        return False
    version = tuple(int(part) for part in _yaml.get_version())
    return hasattr(yaml, "CSafeLoader") and version >= (0, 2, 5)


if _libyaml_caps_nesting():

    class _FastLoader(yaml.CSafeLoader):
        """libyaml's parser with mesh's constructor: the integer cap holds; the nesting cap is
        checked on the composed nodes (`_check_depth`) before anything is constructed."""

        construct_yaml_int = _Loader.construct_yaml_int

    _FastLoader.add_constructor("tag:yaml.org,2002:int", _FastLoader.construct_yaml_int)
    _FAST_LOADER: type[yaml.CSafeLoader] | None = _FastLoader
else:
    _FAST_LOADER = None


class _TooDeep(Exception):
    """The fast parser composed a document nested deeper than `MAX_DEPTH`."""


def _check_depth(root: yaml.Node) -> None:
    """Raise `_TooDeep` when a collection is nested more than `MAX_DEPTH` levels (iteratively)."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if id(node) in seen or not isinstance(node, yaml.CollectionNode):
            continue
        if depth > MAX_DEPTH:
            raise _TooDeep
        seen.add(id(node))
        children = (
            [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
        )
        stack.extend((child, depth + 1) for child in children)


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has once every alias is replaced by what it names.

    Computed without expanding (each node's size once, children before parents), so a
    "billion laughs" file is measured in linear time.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        if children_done:
            sizes[id(node)] = min(1 + sum(sizes.get(id(c), 0) for c in children), MAX_NODES + 1)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _walk(node: yaml.Node, path: FieldPath, doc: Document, problems: list[Problem], walked: set[int]) -> None:
    doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if id(node) in walked:
        # An alias: its children were located where the anchor is. Walking them again for
        # every alias would take exponential time on a "billion laughs" file.
        return
    walked.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*path, key)
            doc.key_positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in seen:
                line, column = doc.key_positions[child]
                problems.append(
                    Problem(
                        file=doc.file,
                        path=format_path(child),
                        message=f"duplicate key '{key}' — each key may appear once",
                        line=line,
                        column=column,
                    )
                )
            seen.add(key)
            _walk(value_node, child, doc, problems, walked)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), doc, problems, walked)


def non_finite_numbers(doc: Document) -> list[Problem]:
    """A problem for each `.inf` or `.nan` in the document: YAML reads them as numbers, but
    no count, size or duration can be infinite."""
    problems = []
    stack: list[tuple[FieldPath, Any]] = [((), doc.data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(doc.problem(path, f"{value} is not a number mesh can use; write a finite number"))
        elif isinstance(value, dict):
            stack.extend(((*path, str(k)), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
    return sorted(problems, key=lambda p: (p.line, p.column))


def _too_deep(file: str) -> Problem:
    return Problem(file=file, path="", message="nested too deeply to read; a request needs only a few levels")


def parse_document(text: str, *, file: str) -> Document:
    """Parse YAML text into a `Document`; malformed YAML raises `DocumentInvalid` with its position.

    libyaml's parser (PyYAML's C extension, 0.2.5 or later) reads a request about ten times
    faster. Only a text it reads without any problem is kept: anything it refuses, or nests
    deeper than the cap, is read again by the pure-Python parser, whose scanner enforces the
    nesting cap before anything large is built and whose messages are the ones problems carry.
    Both use mesh's constructor, so the integer cap holds on either path."""
    if _FAST_LOADER is not None:
        try:
            return _parse(text, file=file, loader_class=_FAST_LOADER)
        except (DocumentInvalid, _TooDeep):
            pass
    return _parse(text, file=file, loader_class=_Loader)


def _parse(text: str, *, file: str, loader_class: type[yaml.SafeLoader] | type[yaml.CSafeLoader]) -> Document:
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as e:  # raised while reading, before any parsing
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        character = e.character if isinstance(e.character, int) else ord(e.character)
        message = f"not valid YAML: the character U+{character:04X} is not allowed in YAML ({e.reason})"
        raise DocumentInvalid(
            [Problem(file=file, path="", message=message, line=line, column=column)],
            hint="Remove the control character, or write it as an escape inside a double-quoted string.",
        ) from e
    try:
        node = loader.get_single_node()
        if node is not None and loader_class is not _Loader:
            _check_depth(node)
        if node is not None and _expanded_size(node) > MAX_NODES:
            raise DocumentInvalid(
                [
                    Problem(
                        file=file,
                        path="",
                        message=f"the document expands to more than {MAX_NODES:,} values (each alias "
                        "counted as what it repeats), the most mesh reads",
                        line=1,
                        column=1,
                    )
                ],
                hint="See 'Input limits' in the README.",
            )
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = e.problem or "not valid YAML"
        if e.context and reason.startswith("but "):
            # "but found another document" only reads with its context.
            reason = f"{e.context}, {reason}"
        raise DocumentInvalid(
            [Problem(file=file, path="", message=f"not valid YAML: {reason}", line=line, column=column)],
            hint="Check the indentation and quoting around that position.",
        ) from e
    except yaml.YAMLError as e:
        raise DocumentInvalid([Problem(file=file, path="", message=f"not valid YAML: {e}")]) from e
    except RecursionError as e:
        raise DocumentInvalid([_too_deep(file)]) from e
    finally:
        loader.dispose()
    doc = Document(file=file, data=data)
    problems: list[Problem] = []
    if node is not None:
        try:
            _walk(node, (), doc, problems, set())
        except RecursionError as e:
            raise DocumentInvalid([_too_deep(file)]) from e
    if problems:
        raise DocumentInvalid(problems)
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise DocumentInvalid(
            [doc.problem((), f"the document is {kind}; expected a mapping with apiVersion, kind, ...")],
            hint="Run `mesh init` to scaffold a request.",
        )
    return doc


def read_document(path: Path, *, limit: int = MAX_INPUT_BYTES) -> Document:
    """Read and parse a YAML file; a missing, special, oversized (over `limit` bytes) or
    unreadable file raises `DocumentInvalid` (see `infra.model.files.read_input`)."""
    try:
        text = read_input(path, limit=limit, what="YAML file")
    except DocumentInvalid as e:
        if e.problems and e.problems[0].message == "no such file":
            raise DocumentInvalid(
                e.problems, hint="Check the path, or create a request with `mesh init`."
            ) from e
        raise
    return parse_document(text, file=str(path))
