"""The one error hierarchy of mesh: every message is written for the person at the keyboard.

`cli` has a single handler for `MeshError`: it prints `Error: <message>`, the hint, and
exits non-zero. Anything else reaching the handler is a bug and shows a traceback only
with `--debug`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a problem is: errors make a document invalid, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, located as precisely as mesh can.

    `path` is the dotted field path (`spec.outputPorts[0].schema[2].type`), `line` and
    `column` are 1-based positions in `file` (0 when unknown).
    """

    file: str
    path: str
    message: str
    line: int = 0
    column: int = 0
    severity: Severity = Severity.ERROR

    def location(self) -> str:
        """`file:line:col` (or just the file when the position is unknown)."""
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file

    def __str__(self) -> str:
        where = f" {self.path}:" if self.path else ":"
        return f"{self.location()}{where} {self.message}"

    def as_dict(self) -> dict[str, object]:
        """The stable JSON shape of a problem (documented in the README)."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "severity": str(self.severity),
            "message": self.message,
        }


class MeshError(Exception):
    """An error a user can act on. `hint` says what to do next."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class DocumentInvalid(MeshError):
    """A request or platform config has problems; all of them are carried, not only the first."""

    def __init__(self, problems: list[Problem], *, hint: str | None = None) -> None:
        errors = [p for p in problems if p.severity is Severity.ERROR]
        files = sorted({p.file for p in errors})
        noun = "problem" if len(errors) == 1 else "problems"
        super().__init__(
            f"{len(errors)} {noun} in {', '.join(files)}:\n" + "\n".join(f"  {p}" for p in errors),
            hint=hint,
        )
        self.problems = problems


class UsageError(MeshError):
    """The command line itself is wrong (exit code 2, like typer's own usage errors)."""

    exit_code = 2


class PlatformConfigNotFound(MeshError):
    """No `mesh.yaml` where one was looked for."""

    exit_code = 2


class UnknownEnvironment(MeshError):
    """`--env` names an environment the platform config does not define."""

    exit_code = 2
