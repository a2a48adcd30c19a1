"""passerelle prospects (--learner REF | --rome CODE --near LAT,LON) [--radius-km 20] [--top 20]
[--format table|csv|json]; and the handler of ``passerelle import sirene FILE``.

Heavy modules (pandas, services, models) are imported inside the handlers.
"""

from __future__ import annotations

import sys

COLUMNS = ["siret", "name", "naf", "commune", "minutes", "score", "reasons"]


def register(sub) -> None:
    p = sub.add_parser(
        "prospects", help="register establishments to call for a learner or a job near a place"
    )
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--learner", metavar="REF", help="learner reference")
    who.add_argument("--rome", metavar="CODE", help="ROME code (with --near)")
    p.add_argument("--near", metavar="LAT,LON", help="place (with --rome)")
    p.add_argument("--radius-km", type=float, default=None, help="search radius (default 20)")
    p.add_argument("--top", type=int, default=20)
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=_prospects)


def _near(text: str | None) -> tuple[float, float]:
    from crm.errors import ValidationError

    try:
        lat, lon = (float(x) for x in (text or "").split(","))
    except ValueError:
        raise ValidationError({"--near": "attendu LAT,LON, par exemple 43.12,5.93"}) from None
    return lat, lon


def _prospects(args) -> int:
    import csv
    import json

    from sqlalchemy import select

    from crm.auth import SYSTEM
    from crm.commands._common import unit_of_work
    from crm.errors import NotFound
    from crm.models import Learner
    from crm.services.prospecting import DEFAULT_RADIUS_KM, prospects_for_learner, prospects_near
    from crm.spreadsheet import neutralise_cell

    with unit_of_work() as session:
        if args.learner:
            learner = session.scalar(select(Learner).where(Learner.ref == args.learner))
            if learner is None:
                raise NotFound(f"Stagiaire introuvable : {args.learner}")
            result = prospects_for_learner(
                session, SYSTEM, learner.id, top=args.top, radius_km=args.radius_km
            )
        else:
            lat, lon = _near(args.near)
            result = prospects_near(
                session,
                SYSTEM,
                args.rome.strip().upper(),
                lat,
                lon,
                radius_km=args.radius_km or DEFAULT_RADIUS_KM,
                top=args.top,
            )
    rows = [p.as_row() for p in result.prospects]
    if args.format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: neutralise_cell(v) for k, v in r.items()})
    else:
        for note in result.notes:
            print(note)
        for r in rows:
            print(
                f"{r['siret']}  {r['score']:.3f}  {r['minutes']:>3} min  {r['naf']:<6}  "
                f"{r['name'][:32]:<32}  {r['commune'][:20]:<20}  {r['reasons']}"
            )
        print(
            f"{len(rows)} prospect(s) ; {result.in_crm} déjà dans le CRM écarté(s) ; "
            f"{len(result.declined)} refus récent(s)"
        )
        for d in result.declined:
            print(f"  refus : {d.company_name} ({d.prospect.siret}) — {d.outcome or d.status}")
    return 0


def import_sirene_command(args) -> int:
    """``passerelle import sirene FILE [--departements 83,06,13]`` with a progress bar."""
    from crm.auth import SYSTEM
    from crm.commands._common import open_engine
    from crm.services.prospecting.sirene import import_sirene, parse_departements

    try:
        departements = parse_departements(args.departements)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tty = sys.stderr.isatty()

    def progress(fraction, report) -> None:
        bar = "#" * int(fraction * 30)
        line = f"[{bar:<30}] {fraction:4.0%}  {report.rows_read} lues, {report.kept} gardées"
        print(("\r" if tty else "") + line, end="" if tty else "\n", file=sys.stderr, flush=True)

    engine = open_engine()
    try:
        report = import_sirene(
            engine, SYSTEM, args.file, departements=departements or None, progress=progress
        )
    finally:
        engine.dispose()
    if tty:
        print(file=sys.stderr)
    print(report.summary())
    return 0
