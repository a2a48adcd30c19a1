"""The whole dashboard, its headline figures, the map points and the periodic report."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from crm import audit
from crm.auth import Actor, Perm, authorize
from crm.labels import STAT_COLUMN_FR
from crm.models import (
    Company,
    Site,
)
from crm.services.stats.activity import officer_activity, overdue_followups
from crm.services.stats.partners import (
    capacity,
    partner_tables,
    partners_by_domain,
    partners_by_sector,
)
from crm.services.stats.periods import StatsFilters
from crm.services.stats.placements import (
    outcomes,
    placements_by_job,
    placements_by_month,
    placements_by_site,
    school_report,
)
from crm.services.stats.scope import execute, scope_sites, sector_clause

# Table keys (used by the CLI's JSON) and their French titles (sheet names, headings).
TITLES: dict[str, str] = {
    "school_report": "Sites et stagiaires",
    "partners_by_sector": "Partenaires par secteur",
    "partners_by_domain": "Partenaires par domaine ROME",
    "capacity": "Capacité d'accueil",
    "placements_by_month": "Stages par mois",
    "placements_by_site": "Stages par site",
    "placements_by_job": "Stages par métier",
    "outcomes": "Sorties par site",
    "officer_activity": "Contacts par chargé et semaine",
    "overdue_followups": "Relances en retard",
}


def french_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A statistics table with its French column titles (crm.labels.STAT_COLUMN_FR), as
    users see it on screen and in downloads; the functions return English column keys."""
    return df.rename(columns=STAT_COLUMN_FR)


# --------------------------------------------------------------------------- map and dashboard


def partner_points(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Geocoded live companies of the scope (name, status, coordinates) for the map."""
    ids = [s for s, _ in scope_sites(session, actor, filters)]
    rows = execute(
        session,
        select(Company.name, Company.status, Company.latitude, Company.longitude, Site.name)
        .join(Site, Site.id == Company.site_id)
        .where(
            Company.site_id.in_(ids),
            Company.is_live,
            sector_clause(filters),
            Company.latitude.is_not(None),
            Company.longitude.is_not(None),
        )
        .order_by(Company.name),
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["name", "status", "lat", "lon", "site"])


STAT_FUNCTIONS = {
    "school_report": school_report,
    "partners_by_sector": partners_by_sector,
    "partners_by_domain": partners_by_domain,
    "capacity": capacity,
    "placements_by_month": placements_by_month,
    "placements_by_site": placements_by_site,
    "placements_by_job": placements_by_job,
    "outcomes": outcomes,
    "officer_activity": officer_activity,
    "overdue_followups": overdue_followups,
}


def dashboard(session: Session, actor: Actor, filters: StatsFilters) -> dict[str, pd.DataFrame]:
    """Every table of the dashboard, keyed as in TITLES.

    The two partner tables come from one ``partner_tables`` call (their shared flags,
    the costly part at scale, are computed once); every other table is its function."""
    scope_sites(session, actor, filters)  # authorise once up front
    tables: dict[str, pd.DataFrame] = {}
    tables["partners_by_sector"], tables["partners_by_domain"] = partner_tables(
        session, actor, filters
    )
    for key, fn in STAT_FUNCTIONS.items():
        if key not in tables:
            tables[key] = fn(session, actor, filters)
    return {key: tables[key] for key in STAT_FUNCTIONS}


def kpis(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """Headline figures read off the dashboard's totals rows."""
    report = tables["school_report"].iloc[-1]
    cap = tables["capacity"].iloc[-1]
    plc = tables["placements_by_site"].iloc[-1]
    out = tables["outcomes"].iloc[-1]
    sector = tables["partners_by_sector"]
    partners = sector.iloc[-1] if not sector.empty else None
    return {
        "learners_entered": int(report["learners_entered"]),
        "host_companies": int(report["host_companies"]),
        "active_partners": int(partners["active_companies"]) if partners is not None else 0,
        "new_partners": int(partners["new_partners"]) if partners is not None else 0,
        "occupancy_pct": cap["occupancy_pct"],
        "placements": int(plc["placements"]),
        "share_placed_pct": plc["share_placed_pct"],
        "median_days_to_first": plc["median_days_to_first"],
        "positive_exit_pct": out["positive_exit_pct"],
    }


def record_export(
    session: Session, actor: Actor, table: str, fmt: str, filters: StatsFilters
) -> None:
    """Audit a download of statistics (what and for which filters; no personal data)."""
    authorize(actor, Perm.EXPORT)
    authorize(actor, Perm.STATS_READ)
    for site_id in filters.site_ids:
        authorize(actor, Perm.STATS_READ, site_id)
    audit.record(
        session,
        actor,
        "export",
        "stats",
        None,
        table=table,
        format=fmt,
        date_from=filters.date_from.isoformat(),
        date_to=filters.date_to.isoformat(),
        site_ids=list(filters.site_ids),
        sector=filters.sector,
    )


def report_workbook(
    session: Session, actor: Actor, filters: StatsFilters
) -> dict[str, pd.DataFrame]:
    """The periodic report: a parameters sheet then one sheet per dashboard table, in French
    (sheet names from TITLES, column titles from french_columns)."""
    tables = dashboard(session, actor, filters)
    names = [name for _, name in scope_sites(session, actor, filters)]
    params = pd.DataFrame(
        {
            "parameter": ["Période", "Sites", "Secteur", "Édité le"],
            "value": [
                f"{filters.date_from:%d/%m/%Y} – {filters.date_to:%d/%m/%Y}",
                ", ".join(names),
                filters.sector or "Tous",
                f"{filters.today:%d/%m/%Y}",
            ],
        }
    )
    sheets = {"Paramètres": params} | {TITLES[k]: v for k, v in tables.items()}
    return {name: french_columns(df) for name, df in sheets.items()}
