"""Benchmark: `mesh review --all` over a generated mesh, with a change that touches every product.

Not a test. Run from the repository root:

    python bench/review_all.py [--products 1000] [--jobs N] [--keep DIR]

It writes N requests (variants of examples/products/sales-orders.yaml, about 30 cloud
resources each) next to a copy of examples/mesh.yaml, copies mesh's code to a temp folder
and patches the copy so every resource carries one more tag (`mesh:review-bench`), then
times the CLI, each run a fresh process as a user would start it:

1. `mesh plan --all DIR --output json > base.json` with the unchanged code (cold cache);
2. `mesh review --all DIR --base-plans base.json` with the patched code (cold cache for
   that code): the target is at most 60 s;
3. the same review again (every head plan from the cache): the target is at most 5 s;
4. `mesh review --all` with the unchanged code against base.json (nothing changed, from
   the cache primed by step 1).

Each row reports wall time, the CPU seconds of the run (its processes together), and the
1-minute load average before it started: the machine may be shared, and wall time on a
loaded machine says little without it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "products" / "sales-orders.yaml"
PLATFORM = ROOT / "examples" / "mesh.yaml"
CODE = ("cli", "components", "stacks", "infra")
#: The change under review: one more tag on every resource of every product.
TAG_LINE = "        TAG_STACK: stack,\n"
TAG_PATCH = '        TAG_STACK: stack,\n        "mesh:review-bench": "1",\n'


def generate(folder: Path, count: int) -> None:
    """`count` requests under `folder/products`, with `folder/mesh.yaml` and the job script."""
    request = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    (folder / "products" / "jobs").mkdir(parents=True)
    shutil.copy(PLATFORM, folder / "mesh.yaml")
    shutil.copy(EXAMPLE.parent / "jobs" / "orders.py", folder / "products" / "jobs" / "orders.py")
    for i in range(count):
        request["metadata"]["name"] = f"orders-{i:04d}"
        text = yaml.safe_dump(request, sort_keys=False)
        (folder / "products" / f"orders-{i:04d}.yaml").write_text(text, encoding="utf-8")


def copied_code(into: Path) -> Path:
    """A copy of mesh's code, so edits to the working tree during a run change nothing."""
    for name in CODE:
        shutil.copytree(ROOT / name, into / name, ignore=shutil.ignore_patterns("__pycache__"))
    return into


def patched_code(into: Path) -> Path:
    """A copy of mesh's code in which every resource gets one more tag."""
    copied_code(into)
    spec = into / "infra" / "model" / "spec.py"
    text = spec.read_text(encoding="utf-8")
    if TAG_LINE not in text:
        raise SystemExit(f"cannot patch {spec}: the tag block changed; update TAG_LINE in {__file__}")
    spec.write_text(text.replace(TAG_LINE, TAG_PATCH, 1), encoding="utf-8")
    return into


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(label: str, code: Path, args: list[str], *, stdout: Path | None = None) -> dict[str, object]:
    """One CLI run with `code` first on the path; its wall time, CPU time and exit code."""
    load = os.getloadavg()[0]
    # -P: the current folder must not shadow `code` (this repository's own tree).
    env = {**os.environ, "PYTHONPATH": str(code), "MESH_REVIEW_STATS": "1"}
    command = [sys.executable, "-P", "-c", "from cli.app import main; main()", *args]
    cpu, start = _cpu(), time.perf_counter()
    with Path(stdout or os.devnull).open("wb") as sink:
        done = subprocess.run(command, env=env, stdout=sink, stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - start
    stats = [line for line in done.stderr.splitlines() if "from the cache" in line]
    return {
        "step": label,
        "wall_s": round(wall, 2),
        "cpu_s": round(_cpu() - cpu, 2),
        "load1": round(load, 2),
        "exit": done.returncode,
        "note": stats[-1] if stats else done.stderr.strip().splitlines()[-1:] or "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=0, help="--jobs for mesh (0: its default, the CPUs)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="mesh-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    try:
        mesh = work / "mesh"
        generate(mesh, args.products)
        unchanged, changed = copied_code(work / "code-base"), patched_code(work / "code")
        base = work / "base.json"
        review = ["review", "--all", str(mesh), "--base-plans", str(base), "-o", "json", *jobs]
        steps = [
            ("plan --all (base, cold)", unchanged, ["plan", "--all", str(mesh), "-o", "json", *jobs], base),
            ("review --all, tag change (cold)", changed, review, work / "review.json"),
            ("review --all, tag change (cached)", changed, review, None),
            ("review --all, no change (cached)", unchanged, review, None),
        ]
        print(f"{args.products} products, {os.cpu_count()} CPUs", flush=True)
        print(f"{'step':<36} {'wall s':>8} {'cpu s':>8} {'load1':>6} {'exit':>4}  note", flush=True)
        for label, code, command, stdout in steps:
            row = run(label, code, command, stdout=stdout)
            print(
                f"{row['step']:<36} {row['wall_s']:>8} {row['cpu_s']:>8} {row['load1']:>6} {row['exit']:>4}  {row['note']}",
                flush=True,
            )
        summary = json.loads((work / "review.json").read_text(encoding="utf-8"))["summary"]
        print(
            f"the patch changed {summary['resources']['changed']} resources in {summary['changed']} products",
            flush=True,
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
