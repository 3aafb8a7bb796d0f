"""Layout of a Sankey diagram for server-rendered SVG (no JavaScript, no library).

Pure geometry: nodes in columns (a node's column is the longest path from a source), heights
proportional to what flows through them, links as bands between them. Money is never computed
here: the flows come, in integer minor units, from `fund.selectors.money.money_flows`; the
coordinates are only for drawing.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class SankeyNode:
    key: str
    label: str
    column: int = 0
    value: int = 0
    x: float = 0.0
    y: float = 0.0
    height: float = 0.0
    label_x: float = 0.0
    label_anchor: str = "start"


@dataclass
class SankeyLink:
    source: str
    target: str
    amount: int
    width: float = 0.0
    path: str = ""
    title: str = ""


@dataclass
class SankeyLayout:
    width: int
    height: int
    nodes: list[SankeyNode] = field(default_factory=list)
    links: list[SankeyLink] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.links


def sankey_layout(
    flows: Iterable[tuple[str, str, str, str, int]],
    *,
    width: int = 880,
    height: int = 380,
    node_width: int = 14,
    gap: int = 14,
    label_space: int = 150,
) -> SankeyLayout:
    """`flows` are (source key, source label, target key, target label, amount > 0)."""
    links = [SankeyLink(s, t, amount) for s, _sl, t, _tl, amount in flows if amount > 0]
    labels: dict[str, str] = {}
    for s, sl, t, tl, _amount in flows:
        labels.setdefault(s, sl)
        labels.setdefault(t, tl)
    layout = SankeyLayout(width=width, height=height)
    if not links:
        return layout
    keys = list(dict.fromkeys([k for link in links for k in (link.source, link.target)]))
    nodes = {key: SankeyNode(key, labels[key]) for key in keys}
    incoming: dict[str, int] = defaultdict(int)
    outgoing: dict[str, int] = defaultdict(int)
    for link in links:
        outgoing[link.source] += link.amount
        incoming[link.target] += link.amount
    for node in nodes.values():
        node.value = max(incoming[node.key], outgoing[node.key])
    # Longest path from a source; bounded, so a loop cannot run forever.
    for _round in range(len(nodes)):
        moved = False
        for link in links:
            wanted = nodes[link.source].column + 1
            if nodes[link.target].column < wanted:
                nodes[link.target].column = wanted
                moved = True
        if not moved:
            break
    columns: dict[int, list[SankeyNode]] = defaultdict(list)
    for key in keys:
        columns[nodes[key].column].append(nodes[key])
    last = max(columns)
    inner_width = width - 2 * label_space
    tallest = max(sum(n.value for n in column) for column in columns.values())
    most = max(len(column) for column in columns.values())
    scale = (height - 20 - gap * (most - 1)) / tallest if tallest else 0.0
    for index, column in columns.items():
        x = label_space + (inner_width - node_width) * (index / last if last else 0.5)
        y = 10.0
        for node in column:
            node.x = x
            node.y = y
            node.height = max(2.0, node.value * scale)
            y += node.height + gap
            if index == last:
                node.label_x, node.label_anchor = x + node_width + 6, "start"
            else:
                node.label_x, node.label_anchor = x - 6, "end"
    out_offset: dict[str, float] = defaultdict(float)
    in_offset: dict[str, float] = defaultdict(float)
    for link in sorted(links, key=lambda item: (nodes[item.source].y, nodes[item.target].y)):
        source, target = nodes[link.source], nodes[link.target]
        link.width = max(1.0, link.amount * scale)
        y0 = source.y + out_offset[link.source] + link.width / 2
        y1 = target.y + in_offset[link.target] + link.width / 2
        out_offset[link.source] += link.width
        in_offset[link.target] += link.width
        x0, x1 = source.x + node_width, target.x
        middle = (x0 + x1) / 2
        link.path = (
            f"M{x0:.1f},{y0:.1f} C{middle:.1f},{y0:.1f} {middle:.1f},{y1:.1f} {x1:.1f},{y1:.1f}"
        )
        link.title = f"{source.label} → {target.label}"
    layout.nodes = [nodes[key] for key in keys]
    layout.links = links
    return layout
