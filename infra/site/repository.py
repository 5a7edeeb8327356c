"""The repository of requests the catalog is built from: every request under a folder.

A request is a `.yaml`/`.yml` file whose top level says `kind: DataProduct`; other YAML
files (CI workflows, the platform config, exported contracts) are not requests and are
passed over. Every request is validated against the nearest `mesh.yaml`, and the
problems of all of them are raised at once, so one broken file never hides another.
Hidden folders (`.git`, `.mesh`, `.venv`) and the site's own output folder are skipped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from infra.model.errors import DocumentInvalid, MeshError, Problem, UsageError
from infra.validation import (
    LoadedPlatform,
    LoadedRequest,
    load_platform,
    load_request,
    locate_platform,
    require_environment,
)

_REQUEST_KIND = re.compile(r"""^kind:[ \t]*["']?DataProduct["']?[ \t]*(#.*)?$""", re.MULTILINE)
_SKIPPED_FOLDERS = frozenset({"node_modules", "__pycache__"})


@dataclass(frozen=True)
class RequestFile:
    """A valid request and where it is, relative to the repository folder (POSIX form)."""

    loaded: LoadedRequest
    relative: str

    @property
    def product(self) -> str:
        """`domain/name`."""
        meta = self.loaded.request.metadata
        return f"{meta.domain}/{meta.name}"


@dataclass(frozen=True)
class Repository:
    """The platform config and every request under a folder, sorted by `domain/name`."""

    root: Path
    platform: LoadedPlatform
    requests: tuple[RequestFile, ...]


def request_paths(root: Path, *, skip: Path | None = None) -> list[Path]:
    """Every file under `root` that declares `kind: DataProduct`, in path order."""
    skip_resolved = skip.resolve() if skip is not None else None
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIPPED_FOLDERS
            and (skip_resolved is None or (here / d).resolve() != skip_resolved)
        )
        for name in sorted(files):
            if not name.endswith((".yaml", ".yml")):
                continue
            path = here / name
            try:
                head = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue  # unreadable files cannot be requests we could show; load reports real ones
            if _REQUEST_KIND.search(head):
                found.append(path)
    return sorted(found)


def read_repository(
    root: Path, *, platform_path: Path | None, environment: str | None, skip: Path | None = None
) -> Repository:
    """Validate every request under `root` against the nearest (or the given) `mesh.yaml`.

    Raises `DocumentInvalid` with the problems of every invalid file, `UsageError` when
    `root` is not a folder, and `MeshError` when it holds no request.
    """
    if not root.is_dir():
        what = "is a file" if root.exists() else "does not exist"
        raise UsageError(
            f"{root} {what}",
            hint="Pass the folder that holds the requests (the repository root, next to mesh.yaml).",
        )
    platform = load_platform(locate_platform(platform_path, near=root))
    if environment is not None:
        require_environment(platform.config, environment, source=platform.path)
    problems: list[Problem] = []
    requests: list[RequestFile] = []
    first: dict[str, RequestFile] = {}
    for path in request_paths(root, skip=skip):
        try:
            loaded = load_request(path, platform, environment=environment)
        except DocumentInvalid as e:
            problems += e.problems
            continue
        except MeshError as e:
            problems.append(Problem(file=str(path), path="", message=e.message))
            continue
        entry = RequestFile(loaded=loaded, relative=path.relative_to(root).as_posix())
        if entry.product in first:
            problems.append(
                loaded.document.problem(
                    ("metadata", "name"),
                    f"product {entry.product} is also requested in {first[entry.product].loaded.path} "
                    "— rename one of them, or delete the copy",
                )
            )
            continue
        first[entry.product] = entry
        requests.append(entry)
    if problems:
        raise DocumentInvalid(
            problems, hint="Fix these requests (`mesh validate FILE` checks one) and build again."
        )
    if not requests:
        raise MeshError(
            f"no data product requests under {root}",
            hint="A request is a YAML file with `kind: DataProduct`; `mesh init` writes one.",
        )
    return Repository(root=root, platform=platform, requests=tuple(sorted(requests, key=lambda r: r.product)))
