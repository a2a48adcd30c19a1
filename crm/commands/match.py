"""passerelle match [LEARNER_REF ...] [--all] [--top N] [--format table|csv|json]

Prints ranked offers per learner, identified by references only (no names:
the output may end up in logs or mails).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys

COLUMNS = [
    "learner_ref",
    "rank",
    "offer_ref",
    "company_ref",
    "score",
    "project_score",
    "skills_score",
    "commute_score",
    "reliability_score",
    "fairness_score",
    "commute_min",
    "mode",
    "distance_km",
    "skills",
    "start_date",
    "end_date",
    "explanation",
]


def register(sub) -> None:
    p = sub.add_parser("match", help="suggest offers for learners (ranked, with reasons)")
    p.add_argument("learner_refs", nargs="*", metavar="LEARNER_REF")
    p.add_argument("--all", action="store_true", help="every active learner (of --site)")
    p.add_argument("--site", help="site name (with --all)")
    p.add_argument("--top", type=int, default=5, help="offers per learner (default 5)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--today", type=dt.date.fromisoformat, help="reference date (default: today)")
    p.set_defaults(func=_run)


def _learners(session, args) -> list:
    from sqlalchemy import select

    from crm.errors import NotFound
    from crm.models import Learner, LearnerStatus, Site

    if args.all:
        stmt = select(Learner).where(Learner.status == LearnerStatus.ACTIVE.value)
        if args.site:
            site = session.scalar(select(Site).where(Site.name == args.site))
            if site is None:
                raise NotFound(f"Site « {args.site} » introuvable.")
            stmt = stmt.where(Learner.site_id == site.id)
        return list(session.scalars(stmt.order_by(Learner.ref, Learner.id)))
    if not args.learner_refs:
        raise NotFound("Indiquez des références de stagiaires ou --all.")
    found = {
        lr.ref: lr
        for lr in session.scalars(select(Learner).where(Learner.ref.in_(args.learner_refs)))
    }
    missing = [r for r in args.learner_refs if r not in found]
    if missing:
        raise NotFound(f"Stagiaire(s) introuvable(s) : {', '.join(missing)}")
    return [found[r] for r in args.learner_refs]


def _run(args) -> int:
    from crm.auth import SYSTEM
    from crm.commands._common import unit_of_work
    from crm.services.matching import cohort_suggestions
    from crm.spreadsheet import neutralise_cell

    rows: list[dict] = []
    with unit_of_work() as session:
        learners = _learners(session, args)
        for learner, got in cohort_suggestions(
            session, SYSTEM, learners, top=args.top, today=args.today
        ):
            ref = learner.ref or f"#{learner.id}"
            if not got:
                rows.append({"learner_ref": ref, "rank": None})
            rows.extend(s.as_row(ref) for s in got)
    if args.format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif args.format == "csv":
        w = csv.DictWriter(
            sys.stdout, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n"
        )
        w.writeheader()
        for r in rows:
            if r.get("rank") is not None:
                w.writerow({k: neutralise_cell(v) for k, v in r.items()})
    else:
        current = None
        for r in rows:
            if r["learner_ref"] != current:
                current = r["learner_ref"]
                print(f"== {current}")
            if r.get("rank") is None:
                print("   (aucune offre ne passe les filtres)")
                continue
            print(
                f"{r['rank']:>3}. {r['score']:.3f}  {r['offer_ref'] or '-':<18} "
                f"{r['commute_min']:>5.1f} min {r['distance_km']:>6.1f} km  {r['explanation']}"
            )
    return 0
