"""The blast radius of a platform change: every product of the mesh planned twice and compared.

`plan_mesh` plans every request under a folder (each with its nearest `mesh.yaml`), in
parallel processes and through the plan cache; `mesh plan --all` prints the result as one
document. `review_mesh` compares the working tree's plans with a base — a saved
`mesh plan --all --output json`, or the same requests planned with the platform code at a
git ref — and reports, per product and for the mesh: resources added, replaced and
removed (stateful ones are data at risk), policy statements granted and revoked,
guardrail results that change, contract changes, and the products the change blocks.

What blocks a product (and makes `mesh review --all` exit 1): its request cannot be
planned with the new code; a mandatory guardrail fails; a stateful resource (bucket, key,
database, table, dataset) would be replaced or removed; a breaking contract change
without a major version raise. Failures that were already there at the base still block,
marked as such, since the product cannot be provisioned either way.

Requests are matched between base and head by their path relative to the folder. The
access proof (`infra.proof`) runs only for the products whose policy documents changed
(`prove_changed_policies`): it costs about a second per product, and a change that grants
or revokes nothing cannot change who reaches the data. A proof that finds a cell other than
the request implies blocks that product.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import parallel_plan
from infra.model.errors import MeshError, UsageError
from infra.parallel_plan import PlanJob
from infra.plan_cache import CACHE_DIR, CODE_FOLDERS, PlanCache, code_digest, plan_key, sdk_versions

#: `kind` of the document `mesh plan --all --output json` writes.
MESH_PLAN_KIND = "MeshPlan"
MESH_REVIEW_KIND = "MeshReview"
DOCUMENT_VERSION = 1

_KIND = re.compile(rb"^kind:\s*[\"']?DataProduct[\"']?\s*(#.*)?$", re.MULTILINE)

#: `infra.model.platform.PLATFORM_FILE`, repeated so a review from the cache never imports
#: pydantic (a test keeps the two equal).
PLATFORM_FILE = "mesh.yaml"

#: The folder that holds mesh's own `components/`, `stacks/` and `infra/`.
CODE_ROOT = Path(__file__).resolve().parents[1]


# --- planning every request ----------------------------------------------------------


def find_platform_file(start: Path) -> Path | None:
    """The nearest `mesh.yaml` in `start` (a file's folder or a folder) or any parent."""
    folder = (start if start.is_dir() else start.parent).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / PLATFORM_FILE).is_file():
            return candidate / PLATFORM_FILE
    return None


def find_requests(folder: Path) -> list[Path]:
    """Every data product request under `folder`, sorted.

    YAML files in hidden folders, platform configs and YAML that is not a request
    (`kind: DataProduct`, for example CI workflows) are left out. A folder without any
    request is a usage error.
    """
    if not folder.is_dir():
        raise UsageError(
            f"{folder} is not a folder", hint="Pass the folder that holds the requests (and mesh.yaml)."
        )
    found = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in (".yaml", ".yml")
        and p.name != PLATFORM_FILE
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
        and _KIND.search(p.read_bytes())
    )
    if not found:
        raise UsageError(f"no data product request (kind: DataProduct) under {folder}")
    return found


@dataclass
class ProductPlan:
    """One request's plan (or why it has none), as plain JSON-ready data.

    `digest` is the sha256 of the plan's canonical JSON: equal digests mean equal plans,
    so an unchanged product is recognised without reading its plan. A plan from the cache
    is read from disk only when something asks for it (`plan`).
    """

    request: str  # relative to the folder planned, with `/`
    environment: str | None
    digest: str | None = None
    product_name: str | None = None
    is_blocked: bool = True
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    cached: bool = False
    loaded: dict[str, Any] | None = None
    text: Callable[[], str] | None = None  # the plan's canonical JSON, read when needed

    @property
    def plan(self) -> dict[str, Any] | None:
        """The plan document (`mesh plan --output json`'s shape), None when it could not be made."""
        if self.loaded is None and self.text is not None:
            try:
                parsed = json.loads(self.text())
            except ValueError:
                parsed = None
            self.loaded = parsed if isinstance(parsed, dict) else None
        return self.loaded

    def plan_json(self) -> str:
        """The plan as canonical JSON text (`null` when there is none), parsed only if it must be."""
        if self.loaded is None and self.text is not None:
            return self.text()
        return "null" if self.plan is None else parallel_plan.canonical_json(self.plan)

    def to_json(self) -> str:
        """`as_dict()` as compact JSON, with the plan's text spliced in rather than re-encoded."""
        head = json.dumps({**self.as_dict(plan=False), "plan": None}, separators=(",", ":"))
        return head[: -len("null}")] + self.plan_json() + "}"

    @property
    def product(self) -> str:
        """`domain/name`, or the request path when it could not be planned."""
        return self.product_name or self.request

    @property
    def blocked(self) -> bool:
        """No plan, or a mandatory guardrail fails."""
        return self.error is not None or self.is_blocked

    def as_dict(self, *, plan: bool = True) -> dict[str, Any]:
        """`{"request", "product", "environment", "blocked", "error", "warnings", "planDigest", "plan"}`."""
        shape: dict[str, Any] = {
            "request": self.request,
            "product": self.product,
            "environment": self.environment,
            "blocked": self.blocked,
            "error": self.error,
            "warnings": self.warnings,
            "planDigest": self.digest,
        }
        if plan:
            shape["plan"] = self.plan
        return shape

    @classmethod
    def from_saved(cls, request: str, saved: dict[str, Any]) -> ProductPlan:
        """One product of a saved `mesh plan --all --output json`."""
        plan = saved.get("plan")
        plan = plan if isinstance(plan, dict) else None
        return cls(
            request=request,
            environment=saved.get("environment"),
            digest=saved.get("planDigest") or (plan_digest(plan) if plan is not None else None),
            product_name=str(plan["product"]) if plan is not None else None,
            is_blocked=plan is None or bool(plan.get("blocked")),
            warnings=[str(w) for w in saved.get("warnings") or []],
            error=saved.get("error") if plan is None else None,
            loaded=plan,
        )

    @classmethod
    def from_outcome(cls, request: str, outcome: dict[str, Any]) -> ProductPlan:
        """A plan as a worker gives it (`infra.parallel_plan.plan_one`)."""
        text = outcome.get("planJson")
        return cls(
            request=request,
            environment=outcome.get("environment"),
            digest=outcome.get("planDigest"),
            product_name=outcome.get("product"),
            is_blocked=text is None or bool(outcome.get("blocked")),
            warnings=[str(w) for w in outcome.get("warnings") or []],
            error=outcome.get("error") if text is None else None,
            text=(lambda: text) if isinstance(text, str) else None,
        )


def plan_digest(plan: dict[str, Any]) -> str:
    """The sha256 of a plan's canonical JSON (keys sorted, no spaces)."""
    return parallel_plan.plan_digest(plan)


@dataclass
class MeshPlan:
    """Every product's plan; `mesh plan --all`'s result."""

    folder: str
    environment: str | None
    products: list[ProductPlan]
    code: str = ""

    @property
    def blocked(self) -> bool:
        """Some product cannot be planned or fails a mandatory guardrail."""
        return any(p.blocked for p in self.products)

    def to_json(self) -> str:
        """The documented shape (README, `mesh plan --all --output json`) as compact JSON;
        products in request-path order, each plan's keys sorted."""
        head = json.dumps(
            {
                "kind": MESH_PLAN_KIND,
                "version": DOCUMENT_VERSION,
                "environment": self.environment,
                "platformCode": self.code,
                "blocked": self.blocked,
                "products": None,
            },
            separators=(",", ":"),
        )
        return head[: -len("null}")] + "[" + ",".join(p.to_json() for p in self.products) + "]}"


def load_mesh_plan(file: Path) -> MeshPlan:
    """A saved `mesh plan --all --output json`."""
    from infra.model.files import MAX_MESH_PLAN_BYTES  # noqa: PLC0415 - only --base-plans reads one
    from infra.saved_plan import MAX_DEPTH, read_json  # noqa: PLC0415

    hint = "Save base plans with `mesh plan --all DIR --output json > base.json`."
    data = read_json(
        file,
        limit=MAX_MESH_PLAN_BYTES,
        what="`mesh plan --all --output json` document",
        max_depth=MAX_DEPTH + 3,  # each plan sits under products[i].plan
        hint=hint,
    )
    if not isinstance(data, dict) or data.get("kind") != MESH_PLAN_KIND:
        raise MeshError(
            f"{file} is not a `mesh plan --all --output json` document (its kind is not {MESH_PLAN_KIND})",
            hint=hint,
        )
    try:
        products = [ProductPlan.from_saved(str(p["request"]), p) for p in data["products"]]
    except (KeyError, TypeError, AttributeError) as e:
        raise MeshError(f"{file}: a product entry lacks {e}", hint=hint) from e
    return MeshPlan(
        folder=str(file),
        environment=data.get("environment"),
        products=products,
        code=str(data.get("platformCode", "")),
    )


@dataclass(frozen=True)
class _Target:
    request: Path
    relative: str
    platform: Path | None


def _targets(folder: Path, platform: Path | None) -> list[_Target]:
    targets = []
    nearest: dict[Path, Path | None] = {}
    for request in find_requests(folder):
        if platform is None and request.parent not in nearest:
            nearest[request.parent] = find_platform_file(request)
        targets.append(
            _Target(
                request=request.resolve(),
                relative=request.relative_to(folder).as_posix(),
                platform=(platform or nearest[request.parent]),
            )
        )
    return targets


def _plan_targets(
    targets: Sequence[_Target],
    *,
    environment: str | None,
    code: str,
    cache: PlanCache | None,
    planner: Callable[[list[PlanJob], Callable[[int, dict[str, Any]], None] | None], list[dict[str, Any]]],
) -> list[ProductPlan]:
    """Plans from the cache where their key is there, the rest from `planner` (stored after)."""
    sdks = sdk_versions()
    results: list[ProductPlan | None] = [None] * len(targets)
    keys: list[str] = [""] * len(targets)
    missing: list[int] = []
    for index, target in enumerate(targets):
        if target.platform is None:
            results[index] = ProductPlan(
                request=target.relative,
                environment=environment,
                error=f"no {PLATFORM_FILE} found in {target.request.parent} or any parent folder",
            )
            continue
        keys[index] = plan_key(
            target.request, target.platform, environment or "", code=code, sdks=sdks
        ).digest
        stored = cache.get(keys[index]) if cache is not None else None
        if stored is not None:
            header, loader = stored
            results[index] = ProductPlan(
                request=target.relative,
                environment=header["environment"],
                digest=header["planDigest"],
                product_name=header["product"],
                is_blocked=bool(header["blocked"]),
                warnings=list(header["warnings"]),
                cached=True,
                text=loader,
            )
        else:
            missing.append(index)
    jobs = [PlanJob(str(targets[i].request), str(targets[i].platform), environment) for i in missing]

    def store(position: int, outcome: dict[str, Any]) -> None:
        if cache is not None:
            header = {
                "environment": outcome["environment"],
                "planDigest": outcome["planDigest"],
                "product": outcome["product"],
                "blocked": bool(outcome["blocked"]),
                "warnings": outcome["warnings"],
            }
            cache.put(keys[missing[position]], header, outcome["planJson"])

    outcomes = planner(jobs, store if cache is not None else None) if jobs else []
    for position, outcome in enumerate(outcomes):
        index = missing[position]
        results[index] = ProductPlan.from_outcome(targets[index].relative, outcome)
    return [r for r in results if r is not None]


def plan_mesh(
    folder: Path,
    *,
    platform: Path | None,
    environment: str | None,
    workers: int,
    cache_dir: Path | None,
    progress: Callable[[int, int], None] | None = None,
) -> MeshPlan:
    """Plan every request under `folder` with the code that is running, cache first.

    `cache_dir` None turns the cache off. `environment` None plans each request in its
    default environment (the first one with its cloud).
    """
    code = code_digest(CODE_ROOT)
    cache = PlanCache(cache_dir) if cache_dir is not None else None

    def planner(
        jobs: list[PlanJob], store: Callable[[int, dict[str, Any]], None] | None
    ) -> list[dict[str, Any]]:
        return parallel_plan.plan_many(jobs, workers=workers, after_plan=store, progress=progress)

    products = _plan_targets(
        _targets(folder, platform), environment=environment, code=code, cache=cache, planner=planner
    )
    return MeshPlan(folder=str(folder), environment=environment, products=products, code=code)


def default_cache_dir(folder: Path) -> Path:
    """`.mesh/cache/plans` next to the platform config above `folder` (else in `folder`)."""
    found = find_platform_file(folder)
    return (found.parent if found else folder) / CACHE_DIR


# --- the base at a git ref -----------------------------------------------------------


def _git(*args: str, cwd: Path, binary: bool = False) -> subprocess.CompletedProcess[Any]:
    try:
        return subprocess.run(  # noqa: PLW1510 - the caller reads the return code
            ["git", *args], cwd=cwd, capture_output=True, text=not binary, timeout=120
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise MeshError(f"git {args[0]} failed: {e}", hint="Is git installed and on PATH?") from e


def resolve_ref(ref: str, *, repository: Path = CODE_ROOT) -> str:
    """The commit `ref` names in the repository of mesh's code (refs never read as options)."""
    found = _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", cwd=repository)
    if found.returncode != 0:
        raise MeshError(
            f"--base {ref}: no such commit in {repository}",
            hint="Pass a branch, tag or commit of the platform repository (fetch it first in CI), "
            "or compare with saved plans: --base-plans base.json.",
        )
    return str(found.stdout).strip()


def export_code(commit: str, into: Path, *, repository: Path = CODE_ROOT) -> None:
    """Write the platform code (`components/`, `stacks/`, `infra/`) at `commit` into `into`."""
    listed = _git("ls-tree", "--name-only", commit, cwd=repository)
    present = [f for f in CODE_FOLDERS if f in str(listed.stdout).split()]
    archive = _git("archive", "--format=tar", commit, "--", *present, cwd=repository, binary=True)
    if archive.returncode != 0 or not present:
        raise MeshError(
            f"cannot export the platform code at {commit}: {bytes(archive.stderr or b'').decode(errors='replace').strip()}",
            hint=f"Run mesh from a git checkout of the platform code ({repository}).",
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


def plan_at_ref(
    folder: Path,
    ref: str,
    *,
    platform: Path | None,
    environment: str | None,
    workers: int,
    cache_dir: Path | None,
    repository: Path = CODE_ROOT,
) -> MeshPlan:
    """The same requests planned with the platform code at git `ref`, in a subprocess.

    The code at `ref` is exported to a temporary folder and put first on the
    subprocess's path; `infra/parallel_plan.py` (standard library only) drives it there
    and that revision's own `infra.plan` plans. Plans come from the cache when their key
    (which includes that revision's code digest) is there.
    """
    if not (repository / ".git").exists():
        raise MeshError(
            f"--base needs mesh's code in a git checkout; {repository} is not one",
            hint="Compare with saved plans instead: --base-plans base.json.",
        )
    commit = resolve_ref(ref, repository=repository)
    cache = PlanCache(cache_dir) if cache_dir is not None else None
    with tempfile.TemporaryDirectory(prefix="mesh-base-") as temp:
        tree = Path(temp) / "code"
        export_code(commit, tree, repository=repository)
        code = code_digest(tree)

        def planner(
            jobs: list[PlanJob], store: Callable[[int, dict[str, Any]], None] | None
        ) -> list[dict[str, Any]]:
            if not jobs:
                return []
            jobs_file, out_file = Path(temp) / "jobs.json", Path(temp) / "plans.json"
            jobs_file.write_text(json.dumps(parallel_plan.job_list(jobs)), encoding="utf-8")
            ran = subprocess.run(  # noqa: PLW1510 - the return code is read below
                [sys.executable, "-P", parallel_plan.__file__, str(jobs_file), str(out_file), str(workers)],
                env={**_environment(), "PYTHONPATH": str(tree)},
                capture_output=True,
                text=True,
            )
            if ran.returncode != 0 or not out_file.is_file():
                tail = "\n".join(ran.stderr.strip().splitlines()[-8:])
                raise MeshError(
                    f"planning with the code at {ref} ({commit[:12]}) failed:\n{tail}",
                    hint="That revision may predate offline planning; compare with saved plans (--base-plans).",
                )
            outcomes: list[dict[str, Any]] = json.loads(out_file.read_bytes())
            if store is not None:
                for position, outcome in enumerate(outcomes):
                    if outcome["planJson"] is not None:
                        store(position, outcome)
            return outcomes

        products = _plan_targets(
            _targets(folder, platform), environment=environment, code=code, cache=cache, planner=planner
        )
    return MeshPlan(folder=str(folder), environment=environment, products=products, code=code)


def _environment() -> dict[str, str]:
    import os  # noqa: PLC0415 - only the subprocess needs the environment

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


# --- comparing -------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardrailChange:
    """A guardrail result on one resource that differs between base and head."""

    id: str
    severity: str
    resource: str
    change: str  # now-fails | now-passes
    message: str


@dataclass
class ProductReview:
    """What the change does to one product."""

    request: str
    product: str
    stack: str
    environment: str | None
    status: str  # unchanged | changed | added | removed | failed
    resources: list[Any] = field(default_factory=list)  # infra.review.ResourceChange
    at_risk: list[Any] = field(default_factory=list)  # stateful resources replaced or removed
    guardrails: list[GuardrailChange] = field(default_factory=list)
    contract: list[Any] = field(default_factory=list)  # infra.review.ContractChange
    blockers: list[str] = field(default_factory=list)
    error: str | None = None
    cloud: str | None = None  # the head plan's cloud
    proof: dict[str, Any] | None = None  # `prove_one`'s summary, when the proof ran

    @property
    def blocked(self) -> bool:
        """Something in `blockers`."""
        return bool(self.blockers)

    @property
    def policies_changed(self) -> bool:
        """A policy statement is granted or revoked."""
        return any(p.granted or p.revoked for r in self.resources for p in r.policies)

    def count(self, kind: str) -> int:
        """Resources with change `kind` (added, replaced, removed, changed)."""
        return sum(1 for r in self.resources if r.kind == kind)

    def grants(self, which: str) -> list[Any]:
        """Every statement grant `granted` or `revoked` across this product's policy changes."""
        return sorted({g for r in self.resources for p in r.policies for g in getattr(p, which)})

    def as_dict(self) -> dict[str, Any]:
        """One product of `mesh review --all --output json`."""
        return {
            "request": self.request,
            "product": self.product,
            "stack": self.stack,
            "environment": self.environment,
            "status": self.status,
            "blocked": self.blocked,
            "blockers": self.blockers,
            "error": self.error,
            "counts": {k: self.count(k) for k in ("added", "replaced", "removed", "changed")}
            | {"dataAtRisk": len(self.at_risk)},
            "proof": self.proof,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "change": r.kind,
                    "stateful": _stateful(r.type),
                    "inputs": [{"path": c.path, "before": c.before, "after": c.after} for c in r.changes],
                    "policies": [
                        {
                            "document": p.document,
                            "granted": [str(g) for g in p.granted],
                            "revoked": [str(g) for g in p.revoked],
                        }
                        for p in r.policies
                    ],
                }
                for r in self.resources
            ],
            "guardrails": [
                {
                    "id": g.id,
                    "severity": g.severity,
                    "resource": g.resource,
                    "change": g.change,
                    "message": g.message,
                }
                for g in self.guardrails
            ],
            "contract": [
                {"port": c.port, "change": c.kind, "detail": c.detail, "breaking": c.breaking}
                for c in self.contract
            ],
        }


def _stateful(token: str) -> bool:
    from infra.clouds import resource_type  # noqa: PLC0415 - descriptors import the model only

    descriptor = resource_type(token)
    return bool(descriptor and descriptor.stateful)


@dataclass(frozen=True)
class MeshGrant:
    """A statement shape granted or revoked across the mesh, and the products it appears in.

    `statement` is the grant with each product's own names replaced by `{product}`
    (its bucket and logical name), so one platform change reads as one line."""

    change: str  # granted | revoked
    statement: str
    products: tuple[str, ...]


@dataclass
class MeshReview:
    """`mesh review --all`'s result."""

    base: str
    environment: str | None
    products: list[ProductReview]
    grants: list[MeshGrant]
    cached: int = 0
    planned: int = 0

    @property
    def blocked(self) -> list[ProductReview]:
        """The products the change blocks."""
        return [p for p in self.products if p.blocked]

    @property
    def proved(self) -> list[ProductReview]:
        """The products whose access proof ran (their policies changed)."""
        return [p for p in self.products if p.proof is not None]

    def total(self, kind: str) -> int:
        """Resources with change `kind` across the mesh."""
        return sum(p.count(kind) for p in self.products)

    def as_dict(self) -> dict[str, Any]:
        """The documented shape of `mesh review --all --output json` (README); no timings."""
        changed = [p for p in self.products if p.status != "unchanged"]
        return {
            "kind": MESH_REVIEW_KIND,
            "version": DOCUMENT_VERSION,
            "base": self.base,
            "environment": self.environment,
            "blocked": bool(self.blocked),
            "summary": {
                "products": len(self.products),
                "changed": len(changed),
                "blocked": len(self.blocked),
                "resources": {k: self.total(k) for k in ("added", "replaced", "removed", "changed")}
                | {"dataAtRisk": sum(len(p.at_risk) for p in self.products)},
                "statements": {
                    "granted": sum(len(p.grants("granted")) for p in self.products),
                    "revoked": sum(len(p.grants("revoked")) for p in self.products),
                },
                "guardrailChanges": sum(len(p.guardrails) for p in self.products),
                "proofs": {
                    "run": len(self.proved),
                    "failed": sum(1 for p in self.proved if not (p.proof or {}).get("passed")),
                },
            },
            "blockedProducts": [p.product for p in self.blocked],
            "grants": [
                {"change": g.change, "statement": g.statement, "products": list(g.products)}
                for g in self.grants
            ],
            "products": [p.as_dict() for p in self.products],
        }


def _guardrail_changes(base: list[dict[str, Any]], head: list[dict[str, Any]]) -> list[GuardrailChange]:
    def failing(results: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(r["id"], r["urn"]): r for r in results if not r.get("passed")}

    was, now = failing(base), failing(head)
    changes = [
        GuardrailChange(r["id"], str(r["severity"]), urn.split("::")[-1], "now-fails", str(r["message"]))
        for (rule, urn), r in now.items()
        if (rule, urn) not in was
    ]
    head_results = {(r["id"], r["urn"]): r for r in head}
    for (rule, urn), r in was.items():
        if (rule, urn) not in now:
            message = head_results.get((rule, urn), {}).get("message") or "the resource is gone"
            changes.append(
                GuardrailChange(rule, str(r["severity"]), urn.split("::")[-1], "now-passes", str(message))
            )
    return sorted(changes, key=lambda c: (c.change, c.id, c.resource))


def _blockers(review: ProductReview, head: ProductPlan | None, base: ProductPlan | None) -> list[str]:
    from infra.review import major_raised  # noqa: PLC0415 - infra.review imports the planner

    reasons = []
    if head is not None and head.plan is None:
        already = " (it failed at the base too)" if base is not None and base.plan is None else ""
        reasons.append(f"cannot be planned{already}: {head.error}")
    if head is not None and head.plan is not None:
        base_failing = (
            {(r["id"], r["urn"]) for r in (base.plan or {}).get("guardrails", []) if not r.get("passed")}
            if base is not None and base.plan is not None
            else set()
        )
        for r in head.plan.get("guardrails", []):
            if not r.get("passed") and r.get("severity") == "mandatory":
                already = " (already at the base)" if (r["id"], r["urn"]) in base_failing else ""
                reasons.append(
                    f"guardrail {r['id']} fails on {r['urn'].split('::')[-1]}{already}: {r['message']}"
                )
    for r in review.at_risk:
        verb = "replaces" if r.kind == "replaced" else "removes"
        reasons.append(f"{verb} {r.type} {r.name}, which holds data")
    breaking = [c for c in review.contract if c.breaking]
    if breaking and head is not None and head.plan is not None and base is not None and base.plan is not None:
        before = str(base.plan.get("contract", {}).get("version", "0.0.0"))
        after = str(head.plan.get("contract", {}).get("version", "0.0.0"))
        if not major_raised(before, after):
            reasons.append(
                f"{len(breaking)} breaking contract change(s) without a major version raise ({before} → {after})"
            )
    return reasons


def compare_product(base: ProductPlan | None, head: ProductPlan | None) -> ProductReview:
    """What changes for one product between its base and head plans."""
    from infra.model.graph import ResourceGraph  # noqa: PLC0415
    from infra.review import diff_contract, diff_resources  # noqa: PLC0415

    if head is not None and base is not None and head.digest is not None and head.digest == base.digest:
        # The same plan: read nothing from the cache, the base's copy serves for both.
        head = ProductPlan(
            request=head.request,
            environment=head.environment,
            digest=head.digest,
            product_name=head.product_name,
            is_blocked=head.is_blocked,
            warnings=head.warnings,
            loaded=base.plan,
        )
    either = head if head is not None and head.plan is not None else (base or head)
    if either is None:
        raise ValueError("compare_product needs a base or a head plan")
    plan = either.plan or {}
    review = ProductReview(
        request=either.request,
        product=either.product,
        stack=str(plan.get("stack", "")),
        environment=either.environment,
        status="unchanged",
        cloud=plan.get("cloud") if isinstance(plan.get("cloud"), str) else None,
    )
    if head is not None and head.plan is None:
        review.status, review.error = "failed", head.error
    elif base is None or base.plan is None:
        review.status = "added"
    elif head is None:
        review.status = "removed"
    if head is not None and head.plan is not None and base is not None and base.plan is head.plan:
        review.blockers = _blockers(review, head, base)
        return review
    base_graph = ResourceGraph.from_dict(base.plan) if base is not None and base.plan else None
    head_graph = ResourceGraph.from_dict(head.plan) if head is not None and head.plan else None
    if head_graph is not None or base_graph is not None:
        empty = ResourceGraph(stack=review.stack, project="")
        review.resources = diff_resources(base_graph or empty, head_graph or empty)
        review.at_risk = [
            r for r in review.resources if r.kind in ("replaced", "removed") and _stateful(r.type)
        ]
        review.guardrails = _guardrail_changes(
            (base.plan or {}).get("guardrails", []) if base is not None else [],
            (head.plan or {}).get("guardrails", []) if head is not None else [],
        )
    if base is not None and base.plan and head is not None and head.plan:
        review.contract, _ = diff_contract(base.plan.get("contract", {}), head.plan.get("contract", {}))
    if review.status == "unchanged" and (review.resources or review.guardrails or review.contract):
        review.status = "changed"
    review.blockers = _blockers(review, head, base)
    return review


def _shape(grant: str, plan: dict[str, Any] | None) -> str:
    """`grant` with the product's own names (bucket, logical name) replaced by `{product}`."""
    if not plan:
        return grant
    names = set()
    for r in plan.get("resources", []):
        if r.get("parent") is None and str(r.get("type", "")).startswith("mesh:"):
            names.add(str(r["name"]))
        bucket = (r.get("inputs") or {}).get("bucket")
        if str(r.get("type", "")).endswith(":Bucket") and isinstance(bucket, str):
            names.add(bucket)
    for name in sorted(names, key=len, reverse=True):
        if name:
            grant = grant.replace(name, "{product}")
    return grant


def review_mesh(base: MeshPlan, head: MeshPlan, *, base_label: str) -> MeshReview:
    """Compare every product's head plan with its base plan (matched by request path)."""
    before = {p.request: p for p in base.products}
    after = {p.request: p for p in head.products}
    reviews = []
    shapes: dict[tuple[str, str], set[str]] = {}
    for request in sorted(before.keys() | after.keys()):
        review = compare_product(before.get(request), after.get(request))
        reviews.append(review)
        for which in ("granted", "revoked"):
            source = after.get(request) if which == "granted" else before.get(request)
            for g in review.grants(which):
                shapes.setdefault((which, _shape(str(g), source.plan if source else None)), set()).add(
                    review.product
                )
    grants = [
        MeshGrant(which, statement, tuple(sorted(products)))
        for (which, statement), products in sorted(
            shapes.items(), key=lambda i: (i[0][0], -len(i[1]), i[0][1])
        )
    ]
    return MeshReview(
        base=base_label,
        environment=head.environment,
        products=reviews,
        grants=grants,
        cached=sum(1 for p in head.products if p.cached),
        planned=sum(1 for p in head.products if not p.cached),
    )


def prove_one(job: PlanJob) -> dict[str, Any]:
    """Plan one request and run its access proof: `{"passed", "cells", "executed",
    "evaluated", "mismatches": [cell…], "error"}` (never raises: a failure is `error`)."""
    from infra.plan import plan_request  # noqa: PLC0415 - a worker's task; moto loads only here
    from infra.proof import prove, stakeholder_domains  # noqa: PLC0415

    try:
        planned = plan_request(
            Path(job.request), platform_path=Path(job.platform), environment=job.environment
        )
        proof = prove(planned.spec, planned.graph, registered_domains=stakeholder_domains(planned.spec))
    except Exception as e:  # reported on the product; the review goes on
        return {"passed": False, "error": parallel_plan.error_message(e)}
    executed = sum(1 for c in proof.cells if c.method == "executed")
    return {
        "passed": proof.passed,
        "cells": len(proof.cells),
        "executed": executed,
        "evaluated": len(proof.cells) - executed,
        "mismatches": [dataclasses.asdict(c) for c in proof.mismatches],
        "error": None,
    }


def _proof_blocker(proof: dict[str, Any]) -> str | None:
    if proof.get("error"):
        return f"the access proof could not run: {proof['error']}"
    if proof.get("passed"):
        return None
    first = proof["mismatches"][0]
    verb = "can" if first["observed"] else "cannot"
    return (
        f"the access proof found {len(proof['mismatches'])} cell(s) that differ from the request, "
        f"first: {first['principal']} {verb} {first['operation']} {first['port']}"
        + (f" ({first['statement']})" if first.get("statement") else "")
    )


def to_prove(result: MeshReview) -> list[ProductReview]:
    """The products whose policy documents changed (granted or revoked), planned with the new
    code, on a cloud the access proof covers."""
    from infra.clouds import supports  # noqa: PLC0415 - descriptors import the model only
    from infra.model.capability import Capability  # noqa: PLC0415

    return [
        p
        for p in result.products
        if p.policies_changed
        and p.status in ("changed", "added")
        and p.cloud is not None
        and supports(p.cloud, Capability.PROOF)
    ]


def prove_changed_policies(
    result: MeshReview,
    folder: Path,
    *,
    platform: Path | None,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Run the access proof, in parallel, for every product of `result` whose policy
    documents changed, on a cloud the proof covers; record it and block on a mismatch."""
    candidates = to_prove(result)
    if not candidates:
        return
    targets = {t.relative: t for t in _targets(folder, platform)}
    chosen = [p for p in candidates if p.request in targets and targets[p.request].platform is not None]
    jobs = [
        PlanJob(str(targets[p.request].request), str(targets[p.request].platform), p.environment)
        for p in chosen
    ]
    outcomes = parallel_plan.plan_many(jobs, workers=workers, progress=progress, work=prove_one)
    for review, proof in zip(chosen, outcomes, strict=True):
        review.proof = proof
        blocker = _proof_blocker(proof)
        if blocker:
            review.blockers.append(blocker)


def clear_cache(cache_dir: Path) -> None:
    """Delete every cached plan under `cache_dir`."""
    shutil.rmtree(cache_dir, ignore_errors=True)
