"""Benchmark: cold start of `mesh --help` and `mesh validate FILE`, beside a peer CLI.

Not a test. Run: .venv/bin/python bench/cold_start.py [--runs 10] [--peer PATH/TO/datacontract]

Each command runs `--runs` times as a fresh process; the report gives the fastest and
the median wall time, and the CPU time (user + system) of the fastest run, which moves
less than wall time when the machine is busy. The peer is `datacontract --help`
(datacontract-cli: typer + pydantic, a CLI over a data contract standard); the last
column is mesh's median divided by the peer's. The target is 0.25 s for both mesh
commands. The "floor" row is the smallest program on mesh's own stack (typer, pydantic,
PyYAML, rich) that validates one file: no `mesh validate` can start faster than it. `mesh` here is this checkout's package, run with the interpreter running this
script, so no install step is measured. Each command runs once untimed first, with
bytecode writing on (`PYTHONDONTWRITEBYTECODE` is dropped), so the runs measure a start-up
as users have it: compiled modules cached, not every module compiled from source.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.25
MESH = [sys.executable, "-c", "from cli.app import main; main()"]

# The floor under `mesh validate`: the smallest program on the same stack (typer, pydantic,
# PyYAML, rich) that validates one file against one model and prints one line.
FLOOR = """
from pathlib import Path
import typer, yaml
from pydantic import BaseModel
from rich.console import Console
class Request(BaseModel):
    apiVersion: str
    kind: str
    metadata: dict
    spec: dict
def validate(files: list[Path]) -> None:
    for f in files:
        Request.model_validate(yaml.safe_load(f.read_text()))
        Console().print(f"ok {f}")
typer.run(validate)
"""


@dataclass(frozen=True)
class Timing:
    """One command's runs."""

    label: str
    wall: list[float]
    cpu: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def best(self) -> float:
        return min(self.wall)


def _run(command: list[str], runs: int, label: str) -> Timing:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
        wall.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        if done.returncode != 0:
            raise SystemExit(f"{label} failed (exit {done.returncode}): {done.stderr.decode()[-500:]}")
    return Timing(label, wall, cpu)


def main() -> None:
    """Time the commands and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--peer",
        default=shutil.which("datacontract") or str(ROOT / ".mesh" / "venv-dcli" / "bin" / "datacontract"),
        help="The datacontract executable (pip install datacontract-cli, in its own venv; .ci/run makes one).",
    )
    args = parser.parse_args()
    request = ROOT / "examples" / "products" / "sales-orders.yaml"
    timings = [
        _run([*MESH, "--help"], args.runs, "mesh --help"),
        _run([*MESH, "validate", str(request)], args.runs, "mesh validate FILE"),
        _run([sys.executable, "-c", FLOOR, str(request)], args.runs, "floor: typer+pydantic"),
    ]
    peer = _run([args.peer, "--help"], args.runs, "datacontract --help") if Path(args.peer).exists() else None
    load = os.getloadavg()[0]
    print(
        f"{args.runs} runs each; load average {load:.1f} on {os.cpu_count()} CPUs (busy machines inflate wall time)"
    )
    print(f"{'command':<22}{'fastest':>9}{'median':>9}{'CPU':>8}{'vs peer':>9}  target {TARGET_S} s")
    for timing in [*timings, *([peer] if peer else [])]:
        ratio = f"{timing.median / peer.median:.2f}x" if peer else "—"
        verdict = (
            ""
            if timing is peer or timing.label.startswith("floor")
            else ("  ok" if timing.best <= TARGET_S else "  over")
        )
        cpu = timing.cpu[timing.wall.index(timing.best)]
        print(f"{timing.label:<22}{timing.best:>8.3f}s{timing.median:>8.3f}s{cpu:>7.3f}s{ratio:>9}{verdict}")
    if peer is None:
        print(
            f"(no peer at {args.peer}: python3 -m venv .mesh/venv-dcli && .mesh/venv-dcli/bin/pip install datacontract-cli)"
        )


if __name__ == "__main__":
    main()
