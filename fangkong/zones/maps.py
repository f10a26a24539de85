"""The town's map of zones: each village drawn from its boundary (GeoJSON, projected to
the SVG's box) or, without one, as a tile in a row, coloured by the strictest zone in
force there. Server-drawn SVG: no script, a few kilobytes on a phone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fangkong.org.models import Jurisdiction

WIDTH, HEIGHT = 600, 360
TILE = 110
# Fill by rank (3 sealed/high, 2 controlled/medium, 1 prevention/low, 0 none), with a
# dark label text on every fill (WCAG AA).
FILLS = {3: "#f1aeb5", 2: "#ffe69c", 1: "#a3cfbb", 0: "#e9ecef"}


@dataclass(frozen=True)
class Shape:
    node: Jurisdiction
    d: str  # an SVG path
    x: float  # where its label goes
    y: float
    fill: str
    rank: int
    zones: int


def _rings(boundary: dict[str, Any] | None) -> list[list[tuple[float, float]]]:
    if not boundary:
        return []
    coords = boundary.get("coordinates") or []
    polygons = coords if boundary.get("type") == "MultiPolygon" else [coords]
    return [[(float(x), float(y)) for x, y, *_z in poly[0]] for poly in polygons if poly]


def shapes(villages: Sequence[Jurisdiction], ranks: dict[int, tuple[int, int]]) -> list[Shape]:
    """`ranks`: village id → (strictest rank in force, zones in force)."""
    drawn = {v.pk: _rings(v.boundary) for v in villages}
    points = [p for rings in drawn.values() for ring in rings for p in ring]
    out: list[Shape] = []
    if points:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, y0 = min(xs), min(ys)
        scale = min(WIDTH / max(max(xs) - x0, 1e-9), HEIGHT / max(max(ys) - y0, 1e-9))
    tiles = 0
    for v in villages:
        rank, n = ranks.get(v.pk, (0, 0))
        rings = drawn[v.pk]
        if rings:
            # North up: latitude grows upwards, SVG's y downwards.
            proj = [[((x - x0) * scale, HEIGHT - (y - y0) * scale) for x, y in r] for r in rings]
            d = " ".join(
                "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in ring) + " Z" for ring in proj
            )
            flat = [p for ring in proj for p in ring]
            cx = sum(p[0] for p in flat) / len(flat)
            cy = sum(p[1] for p in flat) / len(flat)
        else:
            col, row = tiles % (WIDTH // TILE), tiles // (WIDTH // TILE)
            tiles += 1
            x, y = col * TILE + 4, row * TILE + 4
            d = f"M{x},{y} h{TILE - 8} v{TILE - 8} h-{TILE - 8} Z"
            cx, cy = x + (TILE - 8) / 2, y + (TILE - 8) / 2
        out.append(Shape(v, d, round(cx, 1), round(cy, 1), FILLS.get(rank, FILLS[3]), rank, n))
    return out


def height_for(shapes_: Sequence[Shape]) -> int:
    if any(s.node.boundary for s in shapes_):
        return HEIGHT
    rows = (len(shapes_) + (WIDTH // TILE) - 1) // (WIDTH // TILE)
    return max(rows, 1) * TILE
