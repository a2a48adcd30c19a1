"""passerelle stats: the dashboard's figures for scripts (table, CSV or JSON)."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from typing import TYPE_CHECKING

from crm.commands._common import unit_of_work
from crm.constants import STATS_TABLES

if TYPE_CHECKING:
    import pandas as pd


def register(sub) -> None:
    p = sub.add_parser(
        "stats",
        help="hosting statistics (the managers' dashboard) as a table, CSV or JSON",
        description="Figures of the Tableau de bord; default period: this calendar year.",
    )
    p.add_argument("--site", action="append", default=[], help="site name (repeatable)")
    p.add_argument("--from", dest="date_from", type=dt.date.fromisoformat, help="YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", type=dt.date.fromisoformat, help="YYYY-MM-DD")
    p.add_argument("--sector", help="NAF section letter (A..U)")
    p.add_argument(
        "--table",
        action="append",
        choices=list(STATS_TABLES),
        help="only these tables (repeatable)",
    )
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument(
        "--as-user", help="compute with this user's rights and sites (default: system, all sites)"
    )
    p.add_argument(
        "--today", type=dt.date.fromisoformat, help="reference date for overdue follow-ups"
    )
    p.set_defaults(func=_run)


def _jsonable(df: pd.DataFrame) -> list[dict]:
    records = df.astype(object).where(df.notna(), None).to_dict(orient="records")
    out = []
    for rec in records:
        out.append(
            {
                k: (
                    v.isoformat()
                    if isinstance(v, dt.date)
                    else v.item()
                    if hasattr(v, "item")
                    else v
                )
                for k, v in rec.items()
            }
        )
    return out


def _run(args) -> int:
    import pandas as pd
    from sqlalchemy import select

    from crm.auth import SYSTEM, actor_for_username
    from crm.errors import ValidationError
    from crm.models import Site
    from crm.services.stats import TITLES, StatsFilters, dashboard, french_columns, period_preset

    today = args.today or dt.date.today()
    default_from, default_to = period_preset("this_year", today)
    date_from = args.date_from or default_from
    date_to = args.date_to or default_to
    with unit_of_work() as session:
        actor = actor_for_username(session, args.as_user) if args.as_user else SYSTEM
        site_ids = []
        for name in args.site:
            site_id = session.scalar(select(Site.id).where(Site.name == name))
            if site_id is None:
                raise ValidationError({"site": f"site inconnu « {name} »."})
            site_ids.append(site_id)
        filters = StatsFilters(
            date_from=date_from,
            date_to=date_to,
            site_ids=tuple(site_ids),
            sector=args.sector.upper() if args.sector else None,
            today=today,
        )
        tables = dashboard(session, actor, filters)
    if args.table:
        tables = {k: v for k, v in tables.items() if k in args.table}
    # Every format shows the French column titles, as the dashboard and its downloads do.
    tables = {k: french_columns(v) for k, v in tables.items()}
    if args.format == "json":
        payload = {
            "period": {"from": date_from.isoformat(), "to": date_to.isoformat()},
            "sites": args.site,
            "sector": filters.sector,
            "tables": {k: _jsonable(df) for k, df in tables.items()},
        }
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif args.format == "csv":
        for key, df in tables.items():
            buf = io.StringIO()
            df.to_csv(buf, index=False, sep=";")
            print(f"# {key}: {TITLES[key]}")
            print(buf.getvalue())
    else:
        print(f"Période du {date_from:%d/%m/%Y} au {date_to:%d/%m/%Y}")
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            for key, df in tables.items():
                print(f"\n== {TITLES[key]}")
                print(df.to_string(index=False) if not df.empty else "(aucune donnée)")
    return 0
