"""Benchmark: `mesh catalog build` on the examples plus N generated products.

Not a test. Run: .venv/bin/python bench/site.py [--products 200] [--repeat 3]
                 [--screenshot docs/catalog-product.png]

It writes a repository of requests into a temporary folder (the examples' mesh.yaml and
requests, plus N generated products across the four domains, both clouds and every
classification, with input ports that chain them into a lineage several levels deep,
consumer grants, and a health report covering them), then measures:

- **in process**: `build_site` alone, `--repeat` times (the first run pays template
  compilation and the ODCS models' first use);
- **CLI**: `mesh catalog build DIR --out SITE --health FILE` as a fresh process, so
  interpreter start-up and imports are counted, as a user sees it.

The goal is under 10 s for the examples plus 200 products. With `--screenshot PATH`, it
also builds the examples' catalog with `examples/health.sample.json` and saves a
screenshot of the sales/orders page taken by headless Chromium (the README's picture).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.site import build_site  # noqa: E402

EXAMPLES = ROOT / "examples"
DOMAINS = ("sales", "marketing", "finance", "support")
CLASSIFICATIONS = ("internal", "confidential", "public", "restricted")
COLUMNS = {
    "aws": [("id", "string"), ("amount", "decimal(12,2)"), ("email", "string"), ("day", "date")],
    "gcp": [("id", "STRING"), ("amount", "NUMERIC(12,2)"), ("email", "STRING"), ("day", "DATE")],
}
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


def generated_request(i: int) -> dict[str, object]:
    """Product `gen-<i>`: deterministic, valid, and linked to earlier ones."""
    domain = DOMAINS[i % len(DOMAINS)]
    cloud = "aws" if i % 3 else "gcp"
    classification = CLASSIFICATIONS[i % len(CLASSIFICATIONS)]
    columns = [
        {
            "name": name,
            "type": ctype,
            "required": name == "id",
            "pii": name == "email" and classification != "public",
        }
        | ({"description": f"The {name} of row {i}."} if name != "day" else {})
        for name, ctype in COLUMNS[cloud]
    ]
    spec: dict[str, object] = {
        "cloud": cloud,
        "classification": classification,
        "retentionDays": 30 + i,
        "outputPorts": [
            {"name": "rows", "format": "parquet", "partitionedBy": ["day"], "schema": columns},
            {"name": "summary", "format": "csv", "schema": [columns[0], columns[3]]},
        ],
    }
    inputs = []
    if i > 0:
        inputs.append({"product": f"{DOMAINS[((i - 1) // 3) % 4]}/gen-{(i - 1) // 3:03d}", "port": "rows"})
    if i % 10 == 0:
        inputs.append({"product": "sales/orders", "port": "order_lines"})
    if inputs:
        spec["inputPorts"] = inputs
    if classification != "restricted":
        spec["access"] = {"consumers": [{"domain": DOMAINS[(i + 1) % 4], "ports": ["rows"]}]}
    if i % 2 == 0:
        spec["slo"] = {"freshnessHours": 24}
    return {
        "apiVersion": "mesh/v1",
        "kind": "DataProduct",
        "metadata": {
            "domain": domain,
            "name": f"gen-{i:03d}",
            "owner": yaml.safe_load((EXAMPLES / "mesh.yaml").read_text())["domains"][domain]["owners"][0],
            "description": f"Generated product {i} for the catalog benchmark, built from its parent.",
            "version": f"1.{i % 7}.0",
        },
        "spec": spec,
    }


def write_repository(folder: Path, count: int) -> Path:
    """The examples plus `count` generated requests, and a health report for all of them."""
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("ci", "*.json"))
    products = json.loads((EXAMPLES / "health.sample.json").read_text())["products"]
    generated = folder / "products" / "generated"
    generated.mkdir(parents=True)
    for i in range(count):
        request = generated_request(i)
        meta = request["metadata"]
        assert isinstance(meta, dict)
        (generated / f"gen-{i:03d}.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
        verdict = ("ok", "warn", "breach")[i % 3]
        products[f"{meta['domain']}/{meta['name']}"] = {
            "verdict": verdict,
            "reasons": [] if verdict == "ok" else [f"rows is {i % 48} h old"],
            "ports": [
                {
                    "name": "rows",
                    "state": "ok" if verdict == "ok" else "late",
                    "newest": "2026-12-01T00:00:00Z",
                }
            ],
        }
    health = {"environment": "prod", "generatedAt": "2026-12-02T06:00:00Z", "products": products}
    (folder / "health.json").write_text(json.dumps(health, indent=1))
    return folder


def screenshot(path: Path) -> None:
    """The sales/orders page of the examples' catalog, as headless Chromium shows it."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only this option needs it

    with tempfile.TemporaryDirectory() as scratch:
        site = Path(scratch) / "site"
        build_site(EXAMPLES, out=site, health_path=EXAMPLES / "health.sample.json")
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(Path(scratch) / "profile"),
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1000, "height": 1150},
            )
            page = context.new_page()
            page.goto((site / "products" / "sales" / "orders.html").as_uri())
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path))
            context.close()
    print(f"screenshot: {path} ({path.stat().st_size // 1024} KiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=200, help="generated products besides the examples")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, help="also save the README's screenshot here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        repo = write_repository(Path(scratch) / "repo", args.products)
        health = repo / "health.json"
        runs: list[tuple[float, float]] = []  # (wall, CPU) seconds
        for n in range(args.repeat):
            started, cpu = time.perf_counter(), time.process_time()
            report = build_site(repo, out=Path(scratch) / f"site-{n}", health_path=health)
            runs.append((time.perf_counter() - started, time.process_time() - cpu))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from cli.app import main; main()",
                "catalog",
                "build",
                str(repo),
                "--out",
                str(Path(scratch) / "site-cli"),
                "--health",
                str(health),
            ],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cli = (
            time.perf_counter() - started,
            (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        )
        site = Path(scratch) / "site-cli"
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        same = all(
            (site / f).read_bytes() == (Path(scratch) / "site-0" / f).read_bytes() for f in report.files
        )

    print(
        f"products: {len(report.products)} ({args.products} generated + examples), lineage edges: {report.lineage_edges}"
    )
    print(
        f"files: {len(report.files)}, {size / 1024 / 1024:.1f} MiB; CLI site identical to in-process site: {same}"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| measure | wall s | CPU s |")
    print("|---|---|---|")
    print(f"| build_site, first run | {runs[0][0]:.2f} | {runs[0][1]:.2f} |")
    if len(runs) > 1:
        rest = runs[1:]
        print(
            f"| build_site, median of the other {len(rest)} | {statistics.median(r[0] for r in rest):.2f} "
            f"| {statistics.median(r[1] for r in rest):.2f} |"
        )
    print(
        f"| `mesh catalog build` as a new process (start-up and imports included) | {cli[0]:.2f} | {cli[1]:.2f} |"
    )
    worst = max(cli[0], *(r[0] for r in runs))
    print(f"goal: under 10 s wall — {'met' if worst < 10 else 'NOT met'} (slowest: {worst:.2f} s)")
    if args.screenshot:
        screenshot(args.screenshot)


if __name__ == "__main__":
    main()
