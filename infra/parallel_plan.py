"""Planning many requests at once, across processes forked after a warm-up.

One product's plan is ~0.1 s of CPU, most of it Python; imports cost more than that, so
workers are forked from a parent that has already imported the SDKs and planned one
product (every lazy import done). After the warm-up the parent calls `gc.freeze()`, so
the long-lived objects are never scanned again and forked children do not copy them on
write; children raise the gen-0 threshold, since a synthesis allocates many short-lived
objects and collecting them every 700 allocations is a fifth of its time.

A forked child inherits the parent's asyncio state: the SDK runs each synthesis on its
own event loop, but the thread-local "current loop" and the loop policy were set in the
parent, so each child resets them before its first plan (without it a child can wait
for an executor thread that only existed in the parent).

This module imports only the standard library at import time, and the planner itself
(`infra.plan.plan_request`) only when it plans: `mesh review --all --base REF` runs this
file as a script with another revision's code first on the path, so that revision's
`infra.plan` does the planning.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: The gen-0 threshold during synthesis (Python's default is 700).
SYNTHESIS_GC_THRESHOLD = 20_000


@dataclass(frozen=True)
class PlanJob:
    """One request to plan: its file, its platform config, and the environment (None: its default)."""

    request: str
    platform: str
    environment: str | None


#: What a worker does with a finished outcome before sending it back (set before forking).
_after_plan: Callable[[int, dict[str, Any]], None] | None = None
#: What a worker does with each job: plan it (`plan_one`), or another task (set before forking).
_work: Callable[[PlanJob], dict[str, Any]] | None = None


def error_message(error: BaseException) -> str:
    """What a user reads of a failure: a mesh error's message, else its type and text."""
    message = getattr(error, "message", None)
    return message if isinstance(message, str) else f"{type(error).__name__}: {error}"


def plan_one(job: PlanJob) -> dict[str, Any]:
    """Plan one request: `{"request", "environment", "product", "blocked", "planJson",
    "planDigest", "warnings", "error"}`.

    The plan travels as its canonical JSON text (`mesh plan --output json`'s document, keys
    sorted): made once here, it is hashed, cached and printed without being parsed or
    serialized again. A request that cannot be planned (invalid, or a synthesis failure)
    gives `error` (the user's message) and `planJson: null` instead of raising, so one
    product never stops the rest.
    """
    from infra.plan import plan_request  # noqa: PLC0415 - the planner of whichever tree is on the path

    try:
        result = plan_request(
            Path(job.request), platform_path=Path(job.platform), environment=job.environment
        )
    except Exception as e:  # reported per product (a synthesis bug too); the run goes on
        return {
            "request": job.request,
            "environment": job.environment,
            "product": None,
            "blocked": True,
            "planJson": None,
            "planDigest": None,
            "warnings": [],
            "error": error_message(e),
        }
    plan = result.as_dict()
    text = canonical_json(plan)
    return {
        "request": job.request,
        "environment": result.spec.environment,
        "product": plan["product"],
        "blocked": bool(plan["blocked"]),
        "planJson": text,
        "planDigest": hashlib.sha256(text.encode()).hexdigest(),
        "warnings": [str(w) for w in result.warnings],
        "error": None,
    }


def canonical_json(plan: dict[str, Any]) -> str:
    """A plan as JSON with sorted keys and no spaces: equal plans, equal text."""
    return json.dumps(plan, sort_keys=True, separators=(",", ":"), default=str)


def plan_digest(plan: dict[str, Any]) -> str:
    """The sha256 of a plan's canonical JSON."""
    return hashlib.sha256(canonical_json(plan).encode()).hexdigest()


def _indexed(item: tuple[int, PlanJob]) -> tuple[int, dict[str, Any]]:
    index, job = item
    outcome = (_work or plan_one)(job)
    if _after_plan is not None and outcome.get("planJson") is not None:
        _after_plan(index, outcome)
    return index, outcome


def _child_start() -> None:
    import asyncio  # noqa: PLC0415 - a review from the cache never needs it

    # The parent's loop policy and thread-local loop are stale after fork; start clean.
    asyncio.set_event_loop_policy(None)
    asyncio.set_event_loop(None)
    gc.set_threshold(SYNTHESIS_GC_THRESHOLD, 10, 10)


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def plan_many(
    jobs: Sequence[PlanJob],
    *,
    workers: int,
    after_plan: Callable[[int, dict[str, Any]], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    work: Callable[[PlanJob], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Plan every job, in `workers` processes; outcomes in the order of `jobs`.

    `after_plan(index, outcome)` runs where the plan was made (in the worker) for each plan
    that succeeded, for example to store it in the cache. `progress(done, total)` runs in
    the calling process. `work(job)` replaces planning with another task per request (the
    mesh review's access proofs), run the same way.
    """
    global _after_plan, _work  # noqa: PLW0603 - handed to forked workers through the module
    total = len(jobs)
    outcomes: list[dict[str, Any] | None] = [None] * total
    if total == 0:
        return []
    import multiprocessing  # noqa: PLC0415 - a review from the cache never needs it

    previous = gc.get_threshold()
    _after_plan, _work = after_plan, work
    try:
        # The warm-up: the first plan imports everything a plan needs, in this process.
        gc.set_threshold(SYNTHESIS_GC_THRESHOLD, 10, 10)
        outcomes[0] = _indexed((0, jobs[0]))[1]
        done = 1
        if progress:
            progress(done, total)
        rest = list(enumerate(jobs))[1:]
        if workers <= 1 or len(rest) < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for item in rest:
                index, outcome = _indexed(item)
                outcomes[index] = outcome
                done += 1
                if progress:
                    progress(done, total)
        else:
            gc.collect()
            gc.freeze()
            try:
                context = multiprocessing.get_context("fork")
                chunk = max(1, min(16, len(rest) // (workers * 6)))
                with context.Pool(min(workers, len(rest)), initializer=_child_start) as pool:
                    for index, outcome in pool.imap_unordered(_indexed, rest, chunksize=chunk):
                        outcomes[index] = outcome
                        done += 1
                        if progress:
                            progress(done, total)
            finally:
                gc.unfreeze()
    finally:
        _after_plan = _work = None
        gc.set_threshold(*previous)
    return [o for o in outcomes if o is not None]


def _write(path: Path, document: Any) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, separators=(",", ":"))
    Path(temp).replace(path)


def main(argv: Sequence[str]) -> int:
    """`python -P parallel_plan.py JOBS.json OUT.json WORKERS`: plan with the code on the path.

    JOBS.json is a list of `PlanJob` fields; OUT.json receives the outcomes in that order.
    """
    jobs_file, out_file, workers = argv
    jobs = [PlanJob(**item) for item in json.loads(Path(jobs_file).read_text(encoding="utf-8"))]
    _write(Path(out_file), plan_many(jobs, workers=int(workers)))
    return 0


def job_list(jobs: Sequence[PlanJob]) -> list[dict[str, Any]]:
    """Jobs as the JSON that `main` reads."""
    return [asdict(job) for job in jobs]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
