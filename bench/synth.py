"""Benchmark: offline synthesis of 1, 10 and 100 products, against bare Pulumi mocks.

Not a test. Run: .venv/bin/python bench/synth.py [--counts 1,10,100]

For each count N it resolves N distinct variants of examples/products/sales-orders.yaml
(the richest example: two ports, two consumers, a transform), synthesizes each product
stack the way `mesh plan` does, and then registers exactly the same resources (same
types, names, parents and inputs) with bare Pulumi mocks: a plain `pulumi.CustomResource`
/ `pulumi.ComponentResource` per recorded resource and a `Mocks` that echoes inputs.
Each replayed resource also declares the output properties its pulumi-aws class declares
(as the generated SDK does), so both sides pay Pulumi's per-output bookkeeping; the
ratio of the two is mesh's own overhead (components, policy building, recording).
"""

from __future__ import annotations

import argparse
import contextvars
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402
from pulumi.runtime.stack import run_pulumi_func  # noqa: E402
from pulumi.runtime.sync_await import _sync_await  # noqa: E402

from infra.graph import ResourceGraph  # noqa: E402
from infra.spec import ProductSpec, resolve  # noqa: E402
from infra.synth import synthesize_spec  # noqa: E402
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


def _output_names() -> dict[str, list[str]]:
    """Type token → the wire names of the outputs its pulumi-aws class declares."""
    import pulumi_aws  # noqa: PLC0415 - only the baseline needs the class metadata

    names: dict[str, list[str]] = {}
    for module in (pulumi_aws.s3, pulumi_aws.kms, pulumi_aws.iam, pulumi_aws.glue, pulumi_aws.athena):
        for attr in dir(module):  # the SDK's modules load lazily: dir, then getattr
            klass = getattr(module, attr)
            token = getattr(klass, "pulumi_type", None)
            if isinstance(klass, type) and isinstance(token, str):
                names[token] = [
                    getattr(prop.fget, "_pulumi_name", key)
                    for key, prop in vars(klass).items()
                    if isinstance(prop, property)
                ]
    return names


OUTPUTS: dict[str, list[str]] = {}


def bare_register(graph: ResourceGraph) -> None:
    """Register the graph's resources with bare mocks: the floor any Pulumi program pays."""

    def program() -> None:
        made: dict[str, pulumi.Resource] = {}
        for r in graph.resources:
            parent = made.get(r.parent) if r.parent else None
            depends_on = [made[d] for d in r.dependencies if d in made]
            opts = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
            if r.custom:
                props = dict.fromkeys(OUTPUTS.get(r.type, ())) | dict(r.inputs)
                made[r.urn] = pulumi.CustomResource(r.type, r.name, props, opts)
            else:
                component = _Replay(r.type, r.name, None, opts)
                component.register_outputs({})
                made[r.urn] = component

    def run() -> None:
        pulumi.runtime.set_mocks(_EchoMocks(), project=graph.project, stack=graph.stack, preview=False)
        _sync_await(run_pulumi_func(program))

    contextvars.Context().run(run)


def measure(count: int) -> dict[str, float]:
    specs = variants(count)
    start = time.perf_counter()
    graphs = [synthesize_spec(spec) for spec in specs]
    mesh_seconds = time.perf_counter() - start
    resources = sum(len(g.cloud_resources()) for g in graphs)
    start = time.perf_counter()
    for graph in graphs:
        bare_register(graph)
    bare_seconds = time.perf_counter() - start
    return {
        "products": count,
        "resources": resources,
        "mesh_s": mesh_seconds,
        "bare_s": bare_seconds,
        "mesh_res_per_s": resources / mesh_seconds,
        "bare_res_per_s": resources / bare_seconds,
        "overhead": mesh_seconds / bare_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", default="1,10,100", help="comma-separated product counts")
    parser.add_argument("--repeat", type=int, default=1, help="runs per count; the median is reported")
    args = parser.parse_args()
    OUTPUTS.update(_output_names())
    synthesize_spec(variants(1)[0])  # warm imports (pulumi_aws) so they are not billed to N=1
    print(
        f"{'products':>8} {'resources':>9} {'mesh s':>8} {'bare s':>8} {'mesh res/s':>10} {'bare res/s':>10} {'overhead':>8}"
    )
    for count in (int(c) for c in args.counts.split(",")):
        runs = [measure(count) for _ in range(args.repeat)]
        row = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"{int(row['products']):>8} {int(row['resources']):>9} {row['mesh_s']:>8.2f} {row['bare_s']:>8.2f} "
            f"{row['mesh_res_per_s']:>10.0f} {row['bare_res_per_s']:>10.0f} {row['overhead']:>8.2f}"
        )


if __name__ == "__main__":
    main()
