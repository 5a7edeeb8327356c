"""Benchmark: offline synthesis of 1, 10 and 100 products, against two baselines.

Not a test. Run: .venv/bin/python bench/synth.py [--counts 1,10,100] [--repeat 3]

For each count N it resolves N distinct variants of examples/products/sales-orders.yaml
(the richest example: two ports, two consumers, a transform), synthesizes each product
stack the way `mesh plan` does, and then registers exactly the same resources (same
types, names, parents, dependencies and inputs) two more ways, under a `Mocks` that
echoes inputs:

- **flat**: the pulumi-aws classes themselves, one constructor call per recorded
  resource (what a hand-written Pulumi program declaring these resources pays);
- **bare**: a plain `pulumi.CustomResource` per recorded resource, declaring the output
  properties its pulumi-aws class declares, so Pulumi's per-output bookkeeping is paid
  but not the generated SDK's typed translation.

All three run with the same SDK settings (source positions off, as `mesh plan` runs).
mesh / flat is mesh's own overhead (components, policy building, the recording monitor);
mesh / bare also counts the generated SDK's typed inputs and outputs.
"""

from __future__ import annotations

import argparse
import contextvars
import importlib
import pkgutil
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402

from infra.model.graph import Resource, ResourceGraph  # noqa: E402
from infra.model.spec import ProductSpec, resolve  # noqa: E402
from infra.pulumi_sdk import run_program  # noqa: E402
from infra.synth import synthesize, synthesize_spec  # noqa: E402
from infra.validation import load_platform, load_request  # noqa: E402

EXAMPLE = ROOT / "examples" / "products" / "sales-orders.yaml"
PLATFORM = ROOT / "examples" / "mesh.yaml"


def variants(count: int) -> list[ProductSpec]:
    """`count` distinct products: the example under other names."""
    platform = load_platform(PLATFORM)
    request = load_request(EXAMPLE, platform).request
    specs = []
    for i in range(count):
        renamed = request.model_copy(
            update={"metadata": request.metadata.model_copy(update={"name": f"orders-{i}"})}
        )
        specs.append(resolve(renamed, platform.config, "dev", request_dir=EXAMPLE.parent))
    return specs


class _EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class _Replay(pulumi.ComponentResource):
    pass


def _classes() -> dict[str, type[pulumi.CustomResource]]:
    """Type token → its pulumi-aws class, for the services the components use."""
    import pulumi_aws  # noqa: PLC0415 - only the baselines need the classes

    found: dict[str, type[pulumi.CustomResource]] = {}
    for package in (pulumi_aws.s3, pulumi_aws.kms, pulumi_aws.iam, pulumi_aws.glue, pulumi_aws.athena):
        # The SDK's packages load their modules lazily, so `dir(package)` starts out empty.
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for klass in vars(module).values():
                token = getattr(klass, "pulumi_type", None)
                if (
                    isinstance(klass, type)
                    and issubclass(klass, pulumi.CustomResource)
                    and isinstance(token, str)
                ):
                    found[token] = klass
    return found


def _output_names(classes: dict[str, type[pulumi.CustomResource]]) -> dict[str, list[str]]:
    """Type token → the wire names of the outputs its pulumi-aws class declares."""
    return {
        token: [
            getattr(prop.fget, "_pulumi_name", key)
            for key, prop in vars(klass).items()
            if isinstance(prop, property)
        ]
        for token, klass in classes.items()
    }


CLASSES: dict[str, type[pulumi.CustomResource]] = {}
OUTPUTS: dict[str, list[str]] = {}
_CAMEL = re.compile(r"[a-z][a-zA-Z0-9]*")


def _snake(key: str) -> str:
    """A wire name as the SDK's keyword (`bytesScannedCutoffPerQuery` → `bytes_scanned_cutoff_per_query`);
    map keys that are not camelCase names (tags, Glue parameters, job arguments) stay as they are."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower() if _CAMEL.fullmatch(key) else key


def _typed(value: Any) -> Any:
    """Recorded inputs as pulumi-aws keyword arguments."""
    if isinstance(value, dict):
        if set(value) == {"fileAsset"}:
            return pulumi.FileAsset(value["fileAsset"])
        return {_snake(k): _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return value


def _program(graph: ResourceGraph, custom: Any) -> Any:
    """A program registering the graph's resources again, each custom one through `custom(resource, opts)`."""

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}
        for r in graph.resources:
            parent = made.get(r.parent) if r.parent else None
            depends_on = [made[d] for d in r.dependencies if d in made]
            opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
            if r.custom:
                made[r.urn] = custom(r, opts)
            else:
                component = _Replay(r.type, r.name, None, opts)
                component.register_outputs({})
                made[r.urn] = component

    return program


def _replay(graph: ResourceGraph, custom: Any) -> None:
    program = _program(graph, custom)

    def run() -> None:
        # The same settings as mesh's synthesis: no source positions, its own event loop.
        run_program(program, mocks=_EchoMocks(), monitor=None, project=graph.project, stack=graph.stack)

    contextvars.Context().run(run)


def _flat(r: Resource, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    return CLASSES[r.type](r.name, opts=opts, **_typed(r.inputs))


def flat_register(graph: ResourceGraph) -> None:
    """The same resources through the pulumi-aws classes, with no components' logic around them."""
    _replay(graph, _flat)


def check_flat_replay(graph: ResourceGraph) -> None:
    """Stop unless the flat baseline registers exactly the resources and inputs mesh did."""
    again = synthesize(_program(graph, _flat), project=graph.project, stack=graph.stack)
    want = {r.urn: r.inputs for r in graph.resources}
    got = {r.urn: r.inputs for r in again.resources}
    differ = sorted(urn for urn in want.keys() | got.keys() if want.get(urn) != got.get(urn))
    if differ:
        raise SystemExit("the flat baseline does not replay mesh's resources:\n  " + "\n  ".join(differ))


def bare_register(graph: ResourceGraph) -> None:
    """The same resources as plain `CustomResource`s: the floor any Pulumi program pays."""
    _replay(
        graph,
        lambda r, opts: pulumi.CustomResource(
            r.type, r.name, dict.fromkeys(OUTPUTS.get(r.type, ())) | dict(r.inputs), opts
        ),
    )


def _timed(work: Any, items: list[Any]) -> tuple[float, list[Any]]:
    start = time.perf_counter()
    results = [work(item) for item in items]
    return time.perf_counter() - start, results


def measure(count: int) -> dict[str, float]:
    specs = variants(count)
    mesh_seconds, graphs = _timed(synthesize_spec, specs)
    flat_seconds, _ = _timed(flat_register, graphs)
    bare_seconds, _ = _timed(bare_register, graphs)
    resources = sum(len(g.cloud_resources()) for g in graphs)
    return {
        "products": count,
        "resources": resources,
        "mesh_s": mesh_seconds,
        "flat_s": flat_seconds,
        "bare_s": bare_seconds,
        "mesh_res_per_s": resources / mesh_seconds,
        "vs_flat": mesh_seconds / flat_seconds,
        "vs_bare": mesh_seconds / bare_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", default="1,10,100", help="comma-separated product counts")
    parser.add_argument("--repeat", type=int, default=1, help="runs per count; the median is reported")
    args = parser.parse_args()
    CLASSES.update(_classes())
    OUTPUTS.update(_output_names(CLASSES))
    warm = synthesize_spec(variants(1)[0])  # warm imports so they are not billed to N=1
    check_flat_replay(warm)
    flat_register(warm)
    bare_register(warm)
    columns = ("products", "resources", "mesh s", "flat s", "bare s", "mesh res/s", "mesh/flat", "mesh/bare")
    print(" ".join(f"{c:>10}" for c in columns))
    for count in (int(c) for c in args.counts.split(",")):
        runs = [measure(count) for _ in range(args.repeat)]
        row = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"{int(row['products']):>10} {int(row['resources']):>10} {row['mesh_s']:>10.2f} {row['flat_s']:>10.2f} "
            f"{row['bare_s']:>10.2f} {row['mesh_res_per_s']:>10.0f} {row['vs_flat']:>10.2f} {row['vs_bare']:>10.2f}"
        )


if __name__ == "__main__":
    main()
