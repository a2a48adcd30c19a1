"""passerelle commute --from LAT,LON --to LAT,LON [--mode ...] [--format table|json]

Door-to-door minutes per mode, as the matcher computes them: the calibrated estimate
(matching.commute), or for transit the GTFS timetable when ``PASSERELLE_GTFS`` is set and
has a journey. With ``PASSERELLE_ROUTER_URL`` the OSRM router's figure is shown beside the
road modes (informative: the matcher ranks with the estimate).
"""

from __future__ import annotations

import json
import sys

MODES_ORDER = ("car", "transit", "walk", "bike", "scooter")


def _point(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise ValueError(f"coordonnées attendues « LAT,LON », reçu « {text} »") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"coordonnées hors limites : {text}")
    return lat, lon


def register(sub) -> None:
    p = sub.add_parser(
        "commute",
        help="commute minutes between two points, per mode, with their source",
        description="Door-to-door minutes per mode (the matcher's figures) and where they come "
        "from: estimate, timetable (PASSERELLE_GTFS) or router (PASSERELLE_ROUTER_URL).",
    )
    p.add_argument("--from", dest="origin", required=True, metavar="LAT,LON")
    p.add_argument("--to", dest="dest", required=True, metavar="LAT,LON")
    p.add_argument("--mode", choices=MODES_ORDER, action="append", help="repeatable; default all")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def commute_table(origin, dest, modes) -> dict:
    """{mode: (minutes, source)}, distance km and the router's figures (road modes)."""
    import os

    from matching.commute import haversine_km, mode_minutes
    from matching.gtfs import load_timetable, split_paths

    km = float(haversine_km(origin[0], origin[1], dest[0], dest[1]))
    out: dict[str, tuple[float, str]] = {}
    timetable = load_timetable(split_paths(os.environ.get("PASSERELLE_GTFS")))
    for m in modes:
        minutes, source = float(mode_minutes(km, m)), "estimate"
        if m == "transit" and timetable is not None:
            exact = float(timetable.minutes(origin, [dest[0]], [dest[1]])[0])
            if exact != float("inf"):
                minutes, source = exact, f"timetable ({timetable.name})"
        out[m] = (round(minutes, 1), source)
    router: dict[str, float] = {}
    if os.environ.get("PASSERELLE_ROUTER_URL"):
        from crm.geo import get_router

        r = get_router()
        for m in modes:
            if m != "transit":
                router[m] = round(float(r.minutes(origin, [dest], m)[0]), 1)
    return {"distance_km": round(km, 2), "modes": out, "router": router}


def run(args) -> int:
    try:
        origin, dest = _point(args.origin), _point(args.dest)
    except ValueError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    modes = tuple(args.mode) if args.mode else MODES_ORDER
    res = commute_table(origin, dest, modes)
    if args.format == "json":
        data: dict = {m: v[0] for m, v in res["modes"].items()}
        data["sources"] = {m: v[1] for m, v in res["modes"].items()}
        data["distance_km"] = res["distance_km"]
        if res["router"]:
            data["router"] = res["router"]
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"distance à vol d'oiseau : {res['distance_km']:.1f} km")
    for m, (minutes, source) in res["modes"].items():
        extra = f"  (routeur : {res['router'][m]:.1f} min)" if m in res["router"] else ""
        print(f"{m:<8} {minutes:>6.1f} min  {source}{extra}")
    return 0
