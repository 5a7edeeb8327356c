"""Fixtures for the static catalog: a built site of the examples, and a headless Chromium.

The browser is Debian's `chromium` (or the binary `MESH_CHROMIUM` names) driven by
Playwright from PyPI; Playwright's own browser download is never used. When either is
missing, the browser tests are skipped with the reason and how to install it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.site import build_site

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
HEALTH_SAMPLE = EXAMPLES / "health.sample.json"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The Chromium binary to drive: `MESH_CHROMIUM`, else /usr/bin/chromium, else `chromium` on PATH."""
    explicit = os.environ.get("MESH_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def copy_examples(target: Path) -> Path:
    """A repository of requests: `examples/` copied to `target` (mesh.yaml, products/, jobs)."""
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("*.json", "ci"))
    return target


@pytest.fixture
def examples_repo(tmp_path: Path) -> Path:
    """A scratch copy of the examples' requests and mesh.yaml, to add requests to."""
    return copy_examples(tmp_path / "repo")


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalog of the three examples with the sample health report (`examples/health.sample.json`)."""
    base = tmp_path_factory.mktemp("site")
    repo = copy_examples(base / "repo")
    out = base / "site"
    build_site(repo, out=out, health_path=HEALTH_SAMPLE)
    return out


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Playwright browser context on a headless Chromium with a fresh, empty profile."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "Playwright is not installed: pip install -e '.[test]' (its browser download is not needed)"
        )
    executable = chromium_path()
    if executable is None:
        explicit = os.environ.get("MESH_CHROMIUM")
        pytest.skip(
            f"MESH_CHROMIUM={explicit} is not a file"
            if explicit
            else "no Chromium at /usr/bin/chromium or on PATH: apt-get install -y chromium (or set MESH_CHROMIUM)"
        )
    profile = tmp_path_factory.mktemp("chromium-profile")  # a new, empty user-data-dir
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
