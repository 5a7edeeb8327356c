"""Reading YAML documents while remembering where every value came from.

Validation messages point into the file (`orders.yaml:14:11`), so the loader keeps a
map from each field path to its line and column. Paths are tuples of keys and list
indexes, the same shape pydantic uses in `ValidationError.errors()[i]["loc"]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.model.errors import DocumentInvalid, Problem

FieldPath = tuple[str | int, ...]


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
    """SafeLoader that refuses duplicate keys instead of silently keeping the last."""


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


def _too_deep(file: str) -> Problem:
    return Problem(file=file, path="", message="nested too deeply to read; a request needs only a few levels")


# libyaml's parser (when PyYAML has it) reads a request several times faster. It words
# its errors differently, so a text it refuses is read again by the pure-Python parser,
# whose messages are the ones problems carry.
_FAST_LOADER: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


def parse_document(text: str, *, file: str) -> Document:
    """Parse YAML text into a `Document`; malformed YAML raises `DocumentInvalid` with its position."""
    if _FAST_LOADER is not None:
        try:
            return _parse(text, file=file, loader_class=_FAST_LOADER)
        except DocumentInvalid:
            pass
    return _parse(text, file=file, loader_class=_Loader)


def _parse(text: str, *, file: str, loader_class: type[yaml.SafeLoader]) -> Document:
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


def read_document(path: Path) -> Document:
    """Read and parse a YAML file; a missing or unreadable file raises a `MeshError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise DocumentInvalid(
            [Problem(file=str(path), path="", message="no such file")],
            hint="Check the path, or create a request with `mesh init`.",
        ) from e
    except IsADirectoryError as e:
        raise DocumentInvalid(
            [Problem(file=str(path), path="", message="is a directory, expected a YAML file")]
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise DocumentInvalid([Problem(file=str(path), path="", message=f"cannot be read ({e})")]) from e
    return parse_document(text, file=str(path))
