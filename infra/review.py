"""Stack reviews: what a change to a request does, in a data product's terms.

`review` compares two plans of the same request — now, and at a base (the file at a git
ref, or a saved `mesh plan --output json`) — offline. It reports resources added,
removed, replaced and changed; IAM, bucket and key policies statement by statement;
contract changes per output port (breaking ones block unless the major version was
raised) and the consumer domains they affect; grants added and removed; the guardrails
and, for AWS products, the access proof of the new plan.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.clouds import resource_type, supports
from infra.model.capability import Capability
from infra.model.errors import MeshError, UsageError
from infra.model.graph import Resource, ResourceGraph
from infra.model.iam import as_list, principals, statements

if TYPE_CHECKING:  # only annotations: `mesh review --all` diffs saved plans without the SDKs
    from infra.guardrails import GuardrailReport
    from infra.plan import PlanResult

POLICY_KEYS = ("policy", "assumeRolePolicy")
# Inputs a provider takes as a JSON string (a BigQuery table's schema); a review compares
# them decoded, so a changed column is one line per field, as on AWS.
JSON_INPUT_KEYS = ("schema",)
# The document name of a GCP IAM member resource's one binding, shown like a policy.
BINDING = "IAM binding"


def _replace_keys(token: str) -> tuple[str, ...]:
    """Inputs whose change makes the provider replace a resource of `token` rather than update it."""
    descriptor = resource_type(token)
    return descriptor.replace_keys if descriptor else ()


@dataclass(frozen=True)
class InputChange:
    """One changed input, by dotted path."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True, order=True)
class Grant:
    """One (effect, action, resource, principal, condition) a policy statement expands to."""

    effect: str
    action: str
    resource: str
    principal: str = ""
    condition: str = ""

    def _tail(self) -> str:
        to = f" to {self.principal}" if self.principal else ""
        when = f" if {self.condition}" if self.condition else ""
        return f"{to}{when}"

    def __str__(self) -> str:
        return f"{self.effect} {self.action} on {self.resource}{self._tail()}"


def grouped(grants: tuple[Grant, ...]) -> list[str]:
    """The grants as few readable lines: actions that share every resource, principal and
    condition on one line (the expanded list stays exact in `--output json`)."""
    resources: dict[tuple[str, str, str, str], list[str]] = {}
    for g in sorted(grants):
        resources.setdefault((g.effect, g.principal, g.condition, g.action), []).append(g.resource)
    actions: dict[tuple[str, str, str, tuple[str, ...]], list[str]] = {}
    for (effect, principal, condition, action), where in resources.items():
        actions.setdefault((effect, principal, condition, tuple(where)), []).append(action)
    return [
        str(Grant(effect, ", ".join(acts), ", ".join(where), principal, condition))
        for (effect, principal, condition, where), acts in actions.items()
    ]


@dataclass(frozen=True)
class PolicyChange:
    """What a policy document grants or stops granting, statement by statement."""

    document: str
    granted: tuple[Grant, ...]
    revoked: tuple[Grant, ...]


@dataclass(frozen=True)
class ResourceChange:
    """A resource added, removed, replaced or changed."""

    urn: str
    type: str
    name: str
    kind: str  # added | removed | replaced | changed
    changes: tuple[InputChange, ...] = ()
    policies: tuple[PolicyChange, ...] = ()


@dataclass(frozen=True)
class ContractChange:
    """A change to what consumers of a port depend on."""

    port: str
    kind: str
    detail: str
    breaking: bool
    affected: tuple[str, ...] = ()


@dataclass(frozen=True)
class GrantChange:
    """A consumer domain gaining or losing read access to a port."""

    domain: str
    port: str
    kind: str  # added | removed


@dataclass
class ReviewResult:
    """Everything a reviewer needs, and whether it blocks."""

    stack: str
    product: str
    base: str
    base_version: str
    version: str
    resources: list[ResourceChange]
    contract: list[ContractChange]
    grants: list[GrantChange]
    guardrails: GuardrailReport
    proof: Any | None = None  # infra.proof.ProofResult for AWS products
    notes: list[str] = field(default_factory=list)
    live: list[str] | None = None
    warnings: list[str] = field(default_factory=list)  # every validation warning of the head request
    break_glass: list[str] = field(default_factory=list)  # principals exempt from the data perimeter

    @property
    def blockers(self) -> list[str]:
        """Why this change must not be applied as it is."""
        reasons = []
        breaking = [c for c in self.contract if c.breaking]
        if breaking and not major_raised(self.base_version, self.version):
            next_major = f"{_semver(self.base_version)[0] + 1}.0.0"
            reasons.append(
                f"{len(breaking)} breaking contract change(s) without a major version raise "
                f"({self.base_version} → {self.version}); raise metadata.version to {next_major} and tell "
                f"{', '.join(sorted({d for c in breaking for d in c.affected})) or 'consumers'}"
            )
        for result in self.guardrails.blocking:
            reasons.append(f"guardrail {result.id} failed on {result.urn.split('::')[-1]}: {result.message}")
        if self.proof is not None and not self.proof.passed:
            reasons.append(
                f"the access proof found {len(self.proof.mismatches)} cell(s) that differ from the request"
            )
        return reasons

    @property
    def blocked(self) -> bool:
        """Anything in `blockers`."""
        return bool(self.blockers)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `mesh review --output json`."""
        return {
            "stack": self.stack,
            "product": self.product,
            "base": self.base,
            "version": {"base": self.base_version, "head": self.version},
            "blocked": self.blocked,
            "blockers": self.blockers,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "change": r.kind,
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
            "contract": [
                {
                    "port": c.port,
                    "change": c.kind,
                    "detail": c.detail,
                    "breaking": c.breaking,
                    "affectedConsumers": list(c.affected),
                }
                for c in self.contract
            ],
            "grants": [{"domain": g.domain, "port": g.port, "change": g.kind} for g in self.grants],
            "guardrails": self.guardrails.as_dicts(),
            "proof": self.proof.as_dict() if self.proof is not None else None,
            "notes": self.notes,
            "live": self.live,
            "warnings": self.warnings,
            "breakGlass": self.break_glass,
        }


def _semver(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(x) for x in version.split("."))
    return major, minor, patch


def major_raised(before: str, after: str) -> bool:
    """Whether `after` raises the major version of `before`."""
    return _semver(after)[0] > _semver(before)[0]


def _keyed_by_name(value: list[Any]) -> bool:
    names = [v.get("name") for v in value]
    return all(isinstance(n, str) for n in names) and len(set(names)) == len(names)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Inputs as `path: value`. Lists of named items (columns, partition keys) are keyed by
    name, so an inserted column is one change rather than a shift of every later one; their
    order is kept under `path[*]`."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        if _keyed_by_name(value):
            out[f"{prefix}[*]"] = [v["name"] for v in value]
            for item in value:
                rest = {k: v for k, v in item.items() if k != "name"}
                out |= (
                    _flatten(rest, f"{prefix}[{item['name']}]") if rest else {f"{prefix}[{item['name']}]": {}}
                )
            return out
        for index, item in enumerate(value):
            out |= _flatten(item, f"{prefix}[{index}]")
        return out
    return {prefix: value}


def _reordered(before: Any, after: Any) -> bool:
    """Whether the names both lists share appear in a different order."""
    if not isinstance(before, list) or not isinstance(after, list):
        return True
    return [n for n in before if n in after] != [n for n in after if n in before]


def _decoded(inputs: dict[str, Any]) -> dict[str, Any]:
    """`inputs` with the JSON strings of `JSON_INPUT_KEYS` parsed (kept as text when not JSON)."""
    decoded = dict(inputs)
    for key in JSON_INPUT_KEYS:
        raw = inputs.get(key)
        if isinstance(raw, str):
            try:
                decoded[key] = json.loads(raw)
            except ValueError:
                continue
    return decoded


def _input_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[InputChange, ...]:
    flat_old, flat_new = _flatten(_decoded(old)), _flatten(_decoded(new))
    changes = []
    for path in sorted(set(flat_old) | set(flat_new)):
        before, after = flat_old.get(path), flat_new.get(path)
        if before == after:
            continue
        if path.endswith("[*]") and not _reordered(before, after):
            continue  # an item added or removed shows as its own change
        changes.append(InputChange(path, before, after))
    return tuple(changes)


def _statements(document: dict[str, Any]) -> set[Grant]:
    """Each statement expanded: one grant per (effect, principal, action, resource)."""
    grants = set()
    for statement in statements(document):

        def items(key: str, statement: dict[str, Any] = statement) -> list[str]:
            return [
                json.dumps(v, sort_keys=True) if isinstance(v, dict) else str(v)
                for v in as_list(statement.get(key))
            ]

        who_may = ["*" if kind == "*" else f"{kind}:{value}" for kind, value in principals(statement)]
        condition = json.dumps(statement["Condition"], sort_keys=True) if statement.get("Condition") else ""
        effect = str(statement.get("Effect", "Allow"))
        # A resource policy without Resource (a role's trust policy) applies to its own resource.
        for action in items("Action"):
            for resource in items("Resource") or ["(this resource)"]:
                for who in who_may or [""]:
                    grants.add(Grant(effect, action, resource, who, condition))
    return grants


def _binding_target(inputs: dict[str, Any]) -> str:
    """What a GCP IAM member resource grants on, in the words of its console."""
    if inputs.get("bucket"):
        return f"gs://{inputs['bucket']}"
    if inputs.get("datasetId"):
        parts = [inputs.get("project"), inputs["datasetId"], inputs.get("tableId")]
        return "bigquery:" + ".".join(str(p) for p in parts if p)
    for key in ("cryptoKeyId", "serviceAccountId", "project"):
        if inputs.get(key):
            return str(inputs[key])
    return "(this resource)"


def _bindings(resource: Resource) -> set[Grant]:
    """A GCP IAM member resource as one grant: role, target, member and IAM condition."""
    inputs = resource.inputs
    if not resource.type.startswith("gcp:") or "role" not in inputs or "member" not in inputs:
        return set()
    condition = inputs.get("condition")
    when = condition.get("expression", "") if isinstance(condition, dict) else ""
    return {Grant("Allow", str(inputs["role"]), _binding_target(inputs), str(inputs["member"]), str(when))}


def _policy_changes(before: Resource, after: Resource) -> list[PolicyChange]:
    changes = []
    was, now = _bindings(before), _bindings(after)
    if was != now:
        changes.append(PolicyChange(BINDING, tuple(sorted(now - was)), tuple(sorted(was - now))))
    for key in POLICY_KEYS:
        if before.inputs.get(key) == after.inputs.get(key):
            continue  # the same text (or the same absence): no statement changes
        old, new = before.policy(key), after.policy(key)
        if old is None and new is None:
            continue
        was, now = _statements(old or {}), _statements(new or {})
        if was != now:
            changes.append(PolicyChange(key, tuple(sorted(now - was)), tuple(sorted(was - now))))
    return changes


def diff_resources(base: ResourceGraph, head: ResourceGraph) -> list[ResourceChange]:
    """Resources added, removed, replaced and changed, matched by URN."""
    before = {r.urn: r for r in base.cloud_resources()}
    after = {r.urn: r for r in head.cloud_resources()}
    changes: list[ResourceChange] = []
    for urn, resource in after.items():
        old = before.get(urn)
        if old is None:
            changes.append(
                ResourceChange(
                    urn,
                    resource.type,
                    resource.name,
                    "added",
                    policies=tuple(
                        _policy_changes(Resource(urn, resource.type, resource.name, None, {}), resource)
                    ),
                )
            )
            continue
        if old.inputs == resource.inputs:
            continue
        inputs = _input_changes(old.inputs, resource.inputs)
        if not inputs:
            continue
        replaced = any(old.inputs.get(k) != resource.inputs.get(k) for k in _replace_keys(resource.type))
        changes.append(
            ResourceChange(
                urn,
                resource.type,
                resource.name,
                "replaced" if replaced else "changed",
                inputs,
                tuple(_policy_changes(old, resource)),
            )
        )
    for urn, resource in before.items():
        if urn not in after:
            changes.append(
                ResourceChange(
                    urn,
                    resource.type,
                    resource.name,
                    "removed",
                    policies=tuple(
                        _policy_changes(resource, Resource(urn, resource.type, resource.name, None, {}))
                    ),
                )
            )
    order = {"replaced": 0, "removed": 1, "changed": 2, "added": 3}
    return sorted(changes, key=lambda c: (order[c.kind], c.type, c.name, c.urn))


def diff_contract(
    base: dict[str, Any], head: dict[str, Any]
) -> tuple[list[ContractChange], list[GrantChange]]:
    """Contract changes per port (with the consumers each breaking one affects) and grant changes."""
    readers: dict[str, list[str]] = {}
    for domain, ports in base.get("consumers", {}).items():
        for port in ports:
            readers.setdefault(port, []).append(domain)
    changes: list[ContractChange] = []
    old_ports, new_ports = base.get("ports", {}), head.get("ports", {})
    for port in sorted(set(old_ports) | set(new_ports)):
        affected = tuple(sorted(readers.get(port, [])))
        if port not in new_ports:
            changes.append(
                ContractChange(port, "port-removed", f"output port {port} is removed", True, affected)
            )
            continue
        if port not in old_ports:
            changes.append(ContractChange(port, "port-added", f"output port {port} is new", False))
            continue
        old, new = old_ports[port], new_ports[port]
        old_cols = {c["name"]: c for c in old["columns"]}
        new_cols = {c["name"]: c for c in new["columns"]}
        for name in sorted(set(old_cols) - set(new_cols)):
            changes.append(
                ContractChange(
                    port,
                    "column-removed",
                    f"column {name} ({old_cols[name]['type']}) is removed",
                    True,
                    affected,
                )
            )
        for name in sorted(set(new_cols) - set(old_cols)):
            required = new_cols[name]["required"]
            detail = f"column {name} ({new_cols[name]['type']}{', required' if required else ''}) is added"
            changes.append(ContractChange(port, "column-added", detail, False, affected))
        for name in sorted(set(old_cols) & set(new_cols)):
            was, now = old_cols[name], new_cols[name]
            if was["type"].lower() != now["type"].lower():
                changes.append(
                    ContractChange(
                        port,
                        "column-retyped",
                        f"column {name} changes type {was['type']} → {now['type']}",
                        True,
                        affected,
                    )
                )
            if was["required"] and not now["required"]:
                changes.append(
                    ContractChange(port, "column-nullable", f"column {name} may now be null", True, affected)
                )
            if was["pii"] != now["pii"]:
                changes.append(
                    ContractChange(
                        port,
                        "column-pii",
                        f"column {name} {'is now' if now['pii'] else 'is no longer'} personal data",
                        False,
                        affected,
                    )
                )
        if old["partitionedBy"] != new["partitionedBy"]:
            changes.append(
                ContractChange(
                    port,
                    "partitioning-changed",
                    f"partitioning {old['partitionedBy']} → {new['partitionedBy']}",
                    True,
                    affected,
                )
            )
        if old["format"] != new["format"]:
            changes.append(
                ContractChange(
                    port, "format-changed", f"format {old['format']} → {new['format']}", True, affected
                )
            )
    grants: list[GrantChange] = []
    old_grants = {(d, p) for d, ports in base.get("consumers", {}).items() for p in ports}
    new_grants = {(d, p) for d, ports in head.get("consumers", {}).items() for p in ports}
    grants += [GrantChange(d, p, "added") for d, p in sorted(new_grants - old_grants)]
    grants += [GrantChange(d, p, "removed") for d, p in sorted(old_grants - new_grants)]
    return changes, grants


def request_at_ref(path: Path, ref: str) -> str:
    """The request's text at git `ref` (raises a MeshError naming the ref when git cannot say).

    `ref` comes from the command line or a CI variable, so it is never passed where git
    reads options: a ref starting with `-` is refused, and the ref is turned into a
    commit id with `rev-parse --verify --end-of-options` before `git show` sees it.
    """
    if ref.startswith("-") or not ref.strip() or any(ord(c) < 32 for c in ref):
        raise UsageError(
            f"--base {ref!r} is not a git ref",
            hint="Pass a branch, tag or commit, e.g. --base origin/main.",
        )
    folder = path.resolve().parent
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        ).stdout.strip()
        relative = path.resolve().relative_to(Path(top).resolve())
        known = subprocess.run(  # noqa: PLW1510 - an unknown ref is reported below
            ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
            cwd=top,
            capture_output=True,
            text=True,
            timeout=20,
        )
        if known.returncode != 0:
            raise UsageError(
                f"--base {ref}: no such git ref (branch, tag or commit) in {top}",
                hint=f"Fetch it first (`git fetch origin` for origin/…), or name one `git rev-parse {ref}` knows.",
            )
        shown = subprocess.run(  # noqa: PLW1510 - a missing file at the ref is reported below
            ["git", "show", f"{known.stdout.strip()}:{relative.as_posix()}"],
            cwd=top,
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        raise MeshError(
            f"cannot read {path} at {ref}: {e}",
            hint="Run mesh review inside the git repository that holds the request, or pass --base-plan.",
        ) from e
    if shown.returncode != 0:
        raise MeshError(
            f"{path} does not exist at {ref}: {shown.stderr.strip()}",
            hint="For a new request there is nothing to compare with: review it with `mesh plan`, or pass --base-plan.",
        )
    return shown.stdout


def load_base_plan(file: Path) -> tuple[ResourceGraph, dict[str, Any]]:
    """A saved `mesh plan --output json`: its graph and its contract (see `infra.saved_plan`)."""
    from infra.saved_plan import load_saved_plan  # noqa: PLC0415 - only --base-plan needs it

    return load_saved_plan(file)


def review(
    head: PlanResult,
    base_graph: ResourceGraph,
    base_contract: dict[str, Any],
    *,
    base: str,
    prove_access: bool = True,
) -> ReviewResult:
    """Compare the head plan with a base plan and decide whether the change may go ahead."""
    contract, grants = diff_contract(base_contract, head.spec.contract())
    proof = None
    notes = []
    provable = supports(head.spec.cloud, Capability.PROOF)
    if provable and prove_access:
        from infra.proof import prove, stakeholder_domains  # noqa: PLC0415 - moto is loaded only when a proof runs

        proof = prove(head.spec, head.graph, registered_domains=stakeholder_domains(head.spec))
    elif not provable:
        notes.append(
            "the access proof runs on AWS emulators; GCP access is reviewed from the IAM bindings under Resources"
        )
    return ReviewResult(
        stack=head.spec.stack,
        product=f"{head.spec.domain}/{head.spec.product}",
        base=base,
        base_version=str(base_contract.get("version", head.spec.version)),
        version=head.spec.version,
        resources=diff_resources(base_graph, head.graph),
        contract=contract,
        grants=grants,
        guardrails=head.guardrails,
        proof=proof,
        notes=notes,
        warnings=[str(w) for w in head.warnings],
        break_glass=sorted({*head.spec.break_glass_aws, *head.spec.break_glass_gcp}),
    )
