"""Build data/geo/*.geojson (simplified outlines for the offline map background).

Input: ../shared/data/geo/ (IGN Admin Express COG 2018 + INSEE COG via gregoiredavid/france-geojson,
Licence Ouverte / Etalab 2.0). Douglas-Peucker simplification, coordinates rounded:
    python data/geo/build_geo.py /path/to/shared/data/geo
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {
    # output name: (input name, tolerance in degrees, decimals)
    "communes-83.geojson": ("communes-83-var.geojson", 0.0006, 4),
    "departements.geojson": ("departements-france-simplifie.geojson", 0.004, 3),
}


def _dp(points: list[list[float]], tol: float) -> list[list[float]]:
    """Douglas-Peucker on a list of (lon, lat) points (iterative)."""
    if len(points) < 5:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        i, j = stack.pop()
        (x1, y1), (x2, y2) = points[i], points[j]
        dx, dy = x2 - x1, y2 - y1
        norm = (dx * dx + dy * dy) ** 0.5 or 1e-12
        best, at = -1.0, -1
        for k in range(i + 1, j):
            x, y = points[k]
            dist = abs(dy * (x - x1) - dx * (y - y1)) / norm
            if dist > best:
                best, at = dist, k
        if best > tol:
            keep[at] = True
            stack += [(i, at), (at, j)]
    out = [p for p, k in zip(points, keep, strict=True) if k]
    return out if len(out) >= 4 else points


def _ring(ring, tol, nd):
    return [[round(x, nd), round(y, nd)] for x, y in _dp(ring, tol)]


def _geometry(g, tol, nd):
    if g["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [_ring(r, tol, nd) for r in g["coordinates"]]}
    return {
        "type": "MultiPolygon",
        "coordinates": [[_ring(r, tol, nd) for r in poly] for poly in g["coordinates"]],
    }


def main(src: Path) -> None:
    for out, (name, tol, nd) in FILES.items():
        data = json.loads((src / name).read_text(encoding="utf-8"))
        features = [
            {
                "type": "Feature",
                "properties": {"code": f["properties"]["code"], "nom": f["properties"]["nom"]},
                "geometry": _geometry(f["geometry"], tol, nd),
            }
            for f in data["features"]
        ]
        text = json.dumps(
            {"type": "FeatureCollection", "features": features},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        (HERE / out).write_text(text + "\n", encoding="utf-8")
        print(f"{out}: {len(features)} features, {len(text) // 1024} KiB")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data" / "geo"))
