"""Small JSON records mesh keeps under `<repo>/.mesh` (git-ignored): written atomically.

The notification ledger remembers which breaches `mesh health --notify` has published,
so a scheduled run never publishes the same breach twice. SNS standard topics have no
deduplication (only FIFO topics take a `MessageDeduplicationId`, and FIFO topics cannot
deliver email), so the ledger is the guarantee; each message also carries its breach
key as a message attribute, so a subscriber can deduplicate too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.model.files import ensure_mesh_dir, write_atomic

MESH_DIR = ".mesh"


def mesh_dir(platform_dir: Path) -> Path:
    """`<repo>/.mesh`, created with a `.gitignore` of `*` so nothing in it is committed."""
    return ensure_mesh_dir(platform_dir / MESH_DIR)


def write_json_atomic(path: Path, document: Any) -> None:
    """`document` as sorted, indented JSON, atomically."""
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True) + "\n", make_parents=True)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from `path`; `{}` when the file is absent or not a JSON object (it is rebuilt)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return document if isinstance(document, dict) else {}


class NotificationLedger:
    """Breach keys already published for one environment: `<repo>/.mesh/health/<env>.json`."""

    def __init__(self, platform_dir: Path, environment: str) -> None:
        self.path = mesh_dir(platform_dir) / "health" / f"{environment}.json"
        self._notified: dict[str, str] = {
            str(k): str(v) for k, v in (read_json(self.path).get("notified") or {}).items()
        }

    def seen(self, key: str) -> bool:
        """Whether the breach `key` was already published."""
        return key in self._notified

    def record(self, keys: Iterable[str], at: datetime) -> None:
        """Remember `keys` as published at `at`, and save the ledger."""
        stamp = at.isoformat()
        for key in keys:
            self._notified.setdefault(key, stamp)
        write_json_atomic(self.path, {"notified": dict(sorted(self._notified.items()))})
