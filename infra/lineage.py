"""Lineage across the mesh: which product is built from which, and who reads it.

`lineage` turns the requests of a repository into a `LineageGraph` with three kinds of
node: the products the repository holds, the products their input ports name that it
does not hold (`external`), and the consumer domains their access grants name
(`domain:<name>`). An `input` edge runs from the product an input port reads to the
product built from it (labelled with the port); a `grant` edge runs from a product to a
consumer domain (labelled with the granted ports). Edges always point downstream.

`layout` places the nodes in columns (longest path from a source, consumer domains in
the last column) and orders each column by the barycentre of its neighbours; every tie
is broken by the node id, so the same graph always gives the same picture. `render_svg`
draws it as an SVG with the upstream and downstream of a focused product highlighted.
Nothing here reads files, imports a cloud SDK or prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from html import escape

from infra.model.request import DataProductRequest

DOMAIN_PREFIX = "domain:"

# Geometry of the drawing, in SVG user units (pixels). Labels use a monospace font so a
# node's width follows from its label's length and no name is ever cut.
CHAR_WIDTH = 7.3
FONT_SIZE = 12
NODE_HEIGHT = 30
NODE_PADDING = 12
COLUMN_GAP = 90
ROW_GAP = 14
MARGIN = 16
SWEEPS = 4


class NodeKind(StrEnum):
    """What a lineage node stands for."""

    PRODUCT = "product"  # a product whose request is in the repository
    EXTERNAL = "external"  # named by an input port, but no request for it here
    DOMAIN = "domain"  # a consumer domain


class EdgeKind(StrEnum):
    """How two lineage nodes are related."""

    INPUT = "input"  # the target product is built from the source product's port(s)
    GRANT = "grant"  # the target domain may read the source product's port(s)


@dataclass(frozen=True)
class LineageNode:
    """A product or a consumer domain."""

    id: str  # `domain/name`, or `domain:<name>` for a consumer domain
    kind: NodeKind
    label: str


@dataclass(frozen=True)
class LineageEdge:
    """Data flowing from `source` to `target` through `ports`."""

    source: str
    target: str
    kind: EdgeKind
    ports: tuple[str, ...]


@dataclass(frozen=True)
class LineageGraph:
    """Nodes sorted by id and edges sorted by (source, target): deterministic by construction."""

    nodes: tuple[LineageNode, ...]
    edges: tuple[LineageEdge, ...]
    _succ: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    _pred: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        succ: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        pred: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        for edge in self.edges:
            succ[edge.source].append(edge.target)
            pred[edge.target].append(edge.source)
        self._succ.update({k: tuple(v) for k, v in succ.items()})
        self._pred.update({k: tuple(v) for k, v in pred.items()})

    def node(self, node_id: str) -> LineageNode:
        """The node called `node_id`; `KeyError` when there is none."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def successors(self, node_id: str) -> tuple[str, ...]:
        """The nodes one edge downstream of `node_id`."""
        return self._succ.get(node_id, ())

    def predecessors(self, node_id: str) -> tuple[str, ...]:
        """The nodes one edge upstream of `node_id`."""
        return self._pred.get(node_id, ())

    def upstream(self, node_id: str) -> frozenset[str]:
        """Every node `node_id` is built from, directly or not (itself excluded, even in a cycle)."""
        return _reach(node_id, self.predecessors)

    def downstream(self, node_id: str) -> frozenset[str]:
        """Every node built from or reading `node_id`, directly or not (itself excluded)."""
        return _reach(node_id, self.successors)

    def around(self, node_id: str) -> LineageGraph:
        """The part of the graph on a path through `node_id`: it, its upstream and its downstream."""
        keep = self.upstream(node_id) | self.downstream(node_id) | {node_id}
        up, down = self.upstream(node_id) | {node_id}, self.downstream(node_id) | {node_id}
        return LineageGraph(
            nodes=tuple(n for n in self.nodes if n.id in keep),
            edges=tuple(
                e
                for e in self.edges
                if (e.source in up and e.target in up) or (e.source in down and e.target in down)
            ),
        )


def _reach(start: str, step: Callable[[str], tuple[str, ...]]) -> frozenset[str]:
    seen: set[str] = set()
    todo = list(step(start))
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(step(current))
    seen.discard(start)
    return frozenset(seen)


def product_id(domain: str, name: str) -> str:
    """The node id of a product: `domain/name`."""
    return f"{domain}/{name}"


def domain_id(domain: str) -> str:
    """The node id of a consumer domain: `domain:<name>`."""
    return f"{DOMAIN_PREFIX}{domain}"


def lineage(requests: Iterable[DataProductRequest]) -> LineageGraph:
    """The lineage graph of every product in `requests` (distinct `domain/name`s)."""
    nodes: dict[str, LineageNode] = {}
    ports: dict[tuple[str, str, EdgeKind], set[str]] = {}
    for request in requests:
        pid = product_id(request.metadata.domain, request.metadata.name)
        nodes[pid] = LineageNode(pid, NodeKind.PRODUCT, pid)
        for reads in request.spec.input_ports:
            ports.setdefault((reads.product, pid, EdgeKind.INPUT), set()).add(reads.port)
        for consumer in request.spec.access.consumers:
            ports.setdefault((pid, domain_id(consumer.domain), EdgeKind.GRANT), set()).update(consumer.ports)
    for source, target, _ in ports:
        for end in (source, target):
            if end in nodes:
                continue
            if end.startswith(DOMAIN_PREFIX):
                nodes[end] = LineageNode(end, NodeKind.DOMAIN, end.removeprefix(DOMAIN_PREFIX))
            else:
                nodes[end] = LineageNode(end, NodeKind.EXTERNAL, end)
    edges = [
        LineageEdge(source, target, kind, tuple(sorted(names)))
        for (source, target, kind), names in ports.items()
        if source != target  # validation refuses a product that reads itself
    ]
    return LineageGraph(
        nodes=tuple(sorted(nodes.values(), key=lambda n: n.id)),
        edges=tuple(sorted(edges, key=lambda e: (e.source, e.target))),
    )


# --- layout ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """Where a node is drawn: its top-left corner and size."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Layout:
    """A position for every node, and the size of the drawing."""

    boxes: dict[str, Box]
    width: float
    height: float
    columns: tuple[tuple[str, ...], ...]


def _columns(graph: LineageGraph) -> list[list[str]]:
    """Node ids per column: the longest path from a source, consumer domains last.

    A cycle (two products reading each other) is broken where the depth-first walk,
    in id order, first closes it, so cyclic graphs still get a layout.
    """
    depth: dict[str, int] = {}
    on_path: set[str] = set()

    def visit(node: str) -> int:
        if node in depth:
            return depth[node]
        on_path.add(node)
        best = 0
        for before in graph.predecessors(node):
            if before not in on_path:
                best = max(best, visit(before) + 1)
        on_path.discard(node)
        depth[node] = best
        return best

    flows = [n.id for n in graph.nodes if n.kind is not NodeKind.DOMAIN]
    for flow in flows:
        visit(flow)
    last = max((depth[n] for n in flows), default=-1) + 1
    columns: list[list[str]] = [[] for _ in range(last + 1)]
    for each in graph.nodes:  # in id order
        columns[last if each.kind is NodeKind.DOMAIN else depth[each.id]].append(each.id)
    return [c for c in columns if c]


def _order(graph: LineageGraph, columns: list[list[str]]) -> None:
    """Reorder each column by the mean row of its neighbours in the column before (or after)."""
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        indexes = range(1, len(columns)) if forward else range(len(columns) - 2, -1, -1)
        for i in indexes:
            reference = columns[i - 1] if forward else columns[i + 1]
            rank = {node: r for r, node in enumerate(reference)}
            keys: dict[str, tuple[bool, float, str]] = {}
            for row, node in enumerate(columns[i]):
                near = graph.predecessors(node) if forward else graph.successors(node)
                rows = [rank[n] for n in near if n in rank]
                centre = sum(rows) / len(rows) if rows else float(row)
                # Products with no lineage at all go to the bottom, out of the flows' way.
                alone = not graph.predecessors(node) and not graph.successors(node)
                keys[node] = (alone, centre, node)
            columns[i].sort(key=keys.__getitem__)


def layout(graph: LineageGraph) -> Layout:
    """Columns left to right in the direction of flow; rows ordered to reduce crossings."""
    columns = _columns(graph)
    _order(graph, columns)
    labels = {n.id: n.label for n in graph.nodes}
    boxes: dict[str, Box] = {}
    x = float(MARGIN)
    height = 0.0
    for column in columns:
        width = max(len(labels[n]) for n in column) * CHAR_WIDTH + 2 * NODE_PADDING
        y = float(MARGIN)
        for node in column:
            boxes[node] = Box(x, y, width, NODE_HEIGHT)
            y += NODE_HEIGHT + ROW_GAP
        height = max(height, y - ROW_GAP)
        x += width + COLUMN_GAP
    return Layout(
        boxes=boxes,
        width=round(max(x - COLUMN_GAP, 0) + MARGIN, 1),
        height=round(height + MARGIN, 1),
        columns=tuple(tuple(c) for c in columns),
    )


# --- drawing -----------------------------------------------------------------------------


def _num(value: float) -> str:
    """A coordinate with at most one decimal, the same text on every platform."""
    text = f"{value:.1f}"
    return text.removesuffix(".0")


def _edge_path(source: Box, target: Box) -> str:
    x1, y1 = source.x + source.width, source.y + source.height / 2
    x2, y2 = target.x, target.y + target.height / 2
    if x2 <= x1:  # a cycle's closing edge: leave right, come back round into the left side
        bend = COLUMN_GAP / 2
        return (
            f"M{_num(x1)},{_num(y1)} C{_num(x1 + bend)},{_num(y1)} "
            f"{_num(x2 - bend)},{_num(y2)} {_num(x2)},{_num(y2)}"
        )
    mid = (x1 + x2) / 2
    return f"M{_num(x1)},{_num(y1)} C{_num(mid)},{_num(y1)} {_num(mid)},{_num(y2)} {_num(x2)},{_num(y2)}"


def _attr(value: str) -> str:
    return escape(value, quote=True)


def render_svg(
    graph: LineageGraph,
    *,
    focus: str | None = None,
    link: Callable[[LineageNode], str | None] | None = None,
    title: str = "Lineage",
) -> str:
    """The graph as an inline-able SVG element (deterministic text).

    Every node is a `<g class="node <kind>" data-node="<id>">`, every edge a
    `<path class="edge <kind>" data-from data-to data-ports>`. With `focus`, the focused
    node gets the class `focus`, the nodes and edges upstream of it `upstream`, those
    downstream `downstream`, and everything else `dim`. `link` gives the URL a node opens
    (None: no link). All text is escaped.
    """
    placed = layout(graph)
    up = graph.upstream(focus) if focus else frozenset()
    down = graph.downstream(focus) if focus else frozenset()

    def mark(node: str) -> str:
        if focus is None:
            return ""
        if node == focus:
            return " focus"
        return " upstream" if node in up else " downstream" if node in down else " dim"

    def edge_mark(edge: LineageEdge) -> str:
        if focus is None:
            return ""
        if edge.target in up | {focus} and edge.source in up:
            return " upstream"
        if edge.source in down | {focus} and edge.target in down:
            return " downstream"
        return " dim"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" '
        f'viewBox="0 0 {_num(placed.width)} {_num(placed.height)}" '
        f'width="{_num(placed.width)}" height="{_num(placed.height)}" aria-label="{_attr(title)}">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
        '<g class="edges">',
    ]
    for edge in graph.edges:
        source, target = placed.boxes[edge.source], placed.boxes[edge.target]
        ports = ", ".join(edge.ports)
        verb = "builds" if edge.kind is EdgeKind.INPUT else "is read by"
        parts.append(
            f'<path class="edge {edge.kind}{edge_mark(edge)}" data-from="{_attr(edge.source)}" '
            f'data-to="{_attr(edge.target)}" data-ports="{_attr(ports)}" '
            f'd="{_edge_path(source, target)}" marker-end="url(#arrow)">'
            f"<title>{escape(f'{edge.source} {verb} {edge.target} ({ports})')}</title></path>"
        )
    parts.append("</g>")
    parts.append('<g class="nodes">')
    for node in graph.nodes:
        box = placed.boxes[node.id]
        tooltip = {
            NodeKind.PRODUCT: node.id,
            NodeKind.EXTERNAL: f"{node.id} (no request in this repository)",
            NodeKind.DOMAIN: f"domain {node.label} (reader)",
        }[node.kind]
        shape = (
            f'<g class="node {node.kind}{mark(node.id)}" data-node="{_attr(node.id)}" '
            f'transform="translate({_num(box.x)},{_num(box.y)})">'
            f"<title>{escape(tooltip)}</title>"
            f'<rect width="{_num(box.width)}" height="{_num(box.height)}" rx="{6 if node.kind is NodeKind.DOMAIN else 3}"/>'
            f'<text x="{NODE_PADDING}" y="{_num(box.height / 2 + FONT_SIZE / 2 - 2)}">{escape(node.label)}</text>'
            "</g>"
        )
        href = link(node) if link else None
        parts.append(f'<a href="{_attr(href)}">{shape}</a>' if href else shape)
    parts.append("</g></svg>")
    return "".join(parts)
