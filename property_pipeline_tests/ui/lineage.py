"""Read the lineage graph the Dagster UI drew: which node each rendered edge joins.

The UI draws every asset as an SVG foreignObject box and every dependency as an SVG path with
an arrow marker, from the right edge of the upstream box to just left of the downstream box
(horizontal layout). The paths carry no asset names, so edges are recovered from geometry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# The design's seven assets, upstream first; weekly_stats reads the daily tables at the end.
SEVEN_ASSETS = (
    "raw_listings",
    "deduped_listings",
    "screened",
    "enriched",
    "scored",
    "digests",
    "weekly_stats",
)
# Each pair must be joined by rendered edges, directly or through intermediate assets.
PIPELINE_LINKS = (
    ("raw_listings", "deduped_listings"),
    ("deduped_listings", "screened"),
    ("screened", "enriched"),
    ("enriched", "scored"),
    ("scored", "digests"),
    ("scored", "weekly_stats"),
)
# How far (SVG units) an edge end may sit from the box side it belongs to; the UI leaves a
# 5-unit gap before the arrow head, and boxes stand hundreds of units apart.
SNAP_DISTANCE = 20.0

_NUMBER = r"-?\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Box:
    """An asset node's rectangle in the graph's SVG coordinates."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right_middle(self) -> tuple[float, float]:
        return (self.x + self.width, self.y + self.height / 2)

    @property
    def left_middle(self) -> tuple[float, float]:
        return (self.x, self.y + self.height / 2)


def path_ends(d: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """The first and last point of an SVG path's `d` attribute (absolute commands only)."""
    numbers = [float(value) for value in re.findall(_NUMBER, d)]
    if len(numbers) < 4 or len(numbers) % 2:
        raise ValueError(f"SVG path {d!r} does not hold a start and an end point")
    return (numbers[0], numbers[1]), (numbers[-2], numbers[-1])


def edges_between(nodes: Mapping[str, Box], paths: Iterable[str]) -> set[tuple[str, str]]:
    """(upstream, downstream) asset names for every edge path whose ends touch two nodes.

    A path is matched to the node whose right side its start touches and the node whose left
    side its end touches; paths that touch no node (group outlines, markers) are left out.
    """
    edges = set()
    for d in paths:
        start, end = path_ends(d)
        source = _nearest(nodes, start, side="right")
        target = _nearest(nodes, end, side="left")
        if source and target and source != target:
            edges.add((source, target))
    return edges


def reaches(edges: Iterable[tuple[str, str]], source: str, target: str) -> bool:
    """Whether `target` is downstream of `source` along the given edges."""
    downstream: dict[str, set[str]] = {}
    for upstream, child in edges:
        downstream.setdefault(upstream, set()).add(child)
    seen, frontier = {source}, [source]
    while frontier:
        for child in downstream.get(frontier.pop(), ()):
            if child == target:
                return True
            if child not in seen:
                seen.add(child)
                frontier.append(child)
    return False


def backward_edges(
    edges: Iterable[tuple[str, str]], order: tuple[str, ...]
) -> list[tuple[str, str]]:
    """Edges between two of the `order`ed assets that point from a later one to an earlier one."""
    rank = {name: index for index, name in enumerate(order)}
    return sorted(
        (upstream, child)
        for upstream, child in edges
        if upstream in rank and child in rank and rank[upstream] >= rank[child]
    )


def _nearest(nodes: Mapping[str, Box], point: tuple[float, float], side: str) -> str | None:
    best, best_distance = None, SNAP_DISTANCE
    for name, box in nodes.items():
        anchor = box.right_middle if side == "right" else box.left_middle
        distance = max(abs(anchor[0] - point[0]), abs(anchor[1] - point[1]))
        if distance <= best_distance:
            best, best_distance = name, distance
    return best
