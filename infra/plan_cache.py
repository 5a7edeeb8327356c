"""The plan cache: a product's offline plan, kept until its inputs or mesh's code change.

A plan is a pure function of the request's bytes, the platform config's bytes, the
environment it is planned in, the transform scripts the request names, the platform
code (`components/`, `stacks/`, `infra/`) and the Pulumi SDKs installed. The key hashes
all of them, so a stale entry can never be read: change any input and the key changes.
Entries live under `.mesh/cache/plans/<key[:2]>/<key>.json`, written atomically (a temp
file in the same folder, then `os.replace`), so a reader sees a whole entry or none and
concurrent writers of the same key are harmless.

This module imports only the standard library: `mesh review --all --base REF` also uses
it to key plans made with another revision's code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.model.files import write_atomic

#: Bump when the shape of a cached entry changes; old entries are then never read.
CACHE_FORMAT = "1"
CACHE_DIR = Path(".mesh") / "cache" / "plans"
#: The folders whose Python source decides what a plan contains.
CODE_FOLDERS = ("components", "stacks", "infra")
#: The SDKs whose version changes what the programs register.
SDK_PACKAGES = ("pulumi", "pulumi-aws", "pulumi-gcp")

_ENTRYPOINT = re.compile(r"""entrypoint["']?\s*:\s*["']?([^\s"',}]+)""")


def code_digest(root: Path) -> str:
    """A hash of every `*.py` file under `root`'s `components/`, `stacks/` and `infra/`.

    Paths are hashed relative to `root` and in sorted order, so two checkouts of the same
    revision in different folders give the same digest.
    """
    digest = hashlib.sha256()
    for folder in CODE_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for file in sorted(base.rglob("*.py")):
            if "__pycache__" in file.parts:
                continue
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def sdk_versions() -> str:
    """`pulumi=3.x;pulumi-aws=7.x;…` for the installed SDKs (`-` when one is missing)."""
    from importlib import metadata  # noqa: PLC0415 - 0.2 s to import; only keys need it

    found = []
    for package in SDK_PACKAGES:
        try:
            found.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package}=-")
    return ";".join(found)


def _scripts(request: Path, text: bytes) -> list[tuple[str, str]]:
    """The transform scripts a request names, with a hash of each (`missing` when absent).

    Found by a plain text search, so a request need not be parsed to key it; a false match
    only adds key material, never hides a change.
    """
    found = []
    for name in sorted(set(_ENTRYPOINT.findall(text.decode("utf-8", "replace")))):
        script = request.parent / name
        try:
            found.append((name, hashlib.sha256(script.read_bytes()).hexdigest()))
        except OSError:
            found.append((name, "missing"))
    return found


@dataclass(frozen=True)
class PlanKey:
    """Everything one product's plan depends on; `digest` is the cache key."""

    request: Path
    request_bytes: bytes
    platform_bytes: bytes
    environment: str
    code: str
    sdks: str

    @property
    def digest(self) -> str:
        """The sha256 of every part, each length-prefixed so no two keys collide by concatenation."""
        digest = hashlib.sha256()
        parts = [
            CACHE_FORMAT.encode(),
            str(self.request.resolve()).encode(),
            self.request_bytes,
            self.platform_bytes,
            self.environment.encode(),
            json.dumps(_scripts(self.request, self.request_bytes)).encode(),
            self.code.encode(),
            self.sdks.encode(),
        ]
        for part in parts:
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return digest.hexdigest()


def plan_key(request: Path, platform: Path, environment: str, *, code: str, sdks: str) -> PlanKey:
    """The key of `request` planned in `environment` with `platform`, by code digest `code`."""
    return PlanKey(
        request=request,
        request_bytes=request.read_bytes(),
        platform_bytes=platform.read_bytes(),
        environment=environment,
        code=code,
        sdks=sdks,
    )


class PlanCache:
    """Plans by key under `folder`; a missing, unreadable or foreign entry is a miss.

    An entry is two lines of JSON: a small header (the key, the plan's length in bytes and
    what a caller wants to know without the plan, such as its digest) and the plan, which
    is parsed only when asked for.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[dict[str, Any], Callable[[], str]] | None:
        """The header stored under `key` and a function that gives its plan's JSON text, or None."""
        try:
            raw = self._path(key).read_bytes()
            first, _, rest = raw.partition(b"\n")
            header = json.loads(first)
        except (OSError, ValueError):
            return None
        if not isinstance(header, dict) or header.get("key") != key or header.get("bytes") != len(rest):
            return None  # foreign, or cut short (entries are not fsynced: a crash may truncate one)

        return header, rest.decode

    def put(self, key: str, header: dict[str, Any], plan_json: str) -> None:
        """Store a plan's JSON text and its `header` under `key`, atomically."""
        body = plan_json.encode("utf-8")
        head = json.dumps({**header, "key": key, "bytes": len(body)}, separators=(",", ":"), sort_keys=True)
        # Not fsynced: an entry lost or cut short by a crash is a miss (`get` checks its length).
        write_atomic(self._path(key), head.encode("utf-8") + b"\n" + body, make_parents=True, durable=False)
