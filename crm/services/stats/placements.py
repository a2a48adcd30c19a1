"""Learners and placements: school report, placements by month, job and site, exit outcomes."""

from __future__ import annotations

import datetime as dt
import statistics

import pandas as pd
from sqlalchemy import (
    and_,
    distinct,
    func,
    select,
)
from sqlalchemy.orm import Session

from crm.auth import Actor
from crm.labels import OUTCOME_FR
from crm.models import (
    POSITIVE_OUTCOMES,
    Company,
    Learner,
    Placement,
    RomeJob,
    Site,
)
from crm.services.stats.periods import StatsFilters
from crm.services.stats.scope import (
    HOSTED,
    PLACED,
    days_between,
    dialect_name,
    execute,
    month_label,
    scope_sites,
    sector_clause,
)

# Outcome columns of ``outcomes``: one per exit outcome code, then exits with none recorded
# (French titles: crm.labels.STAT_COLUMN_FR).
OUTCOME_COLUMNS = (*OUTCOME_FR, "unknown")


# --------------------------------------------------------------------------- (a) school report


def school_report(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """The table school reports publish: per site, opening, learners entered, target, hosts."""
    sites = scope_sites(session, actor, filters)
    ids = [s for s, _ in sites]
    f, t = filters.date_from, filters.date_to
    entered = dict(
        execute(
            session,
            select(Learner.site_id, func.count())
            .where(Learner.site_id.in_(ids), Learner.entry_date.between(f, t))
            .group_by(Learner.site_id),
        ).all()
    )
    hosted_base = (
        select(Learner.site_id, Placement.company_id)
        .select_from(Placement)
        .join(Learner, Learner.id == Placement.learner_id)
        .where(
            Learner.site_id.in_(ids),
            Placement.status.in_(HOSTED),
            Placement.start_date <= t,
            Placement.end_date >= f,
        )
    )
    hb = _placement_sector(hosted_base, filters).subquery()
    hosted = dict(
        execute(
            session,
            select(hb.c.site_id, func.count(distinct(hb.c.company_id))).group_by(hb.c.site_id),
        ).all()
    )
    hosted_total = execute(session, select(func.count(distinct(hb.c.company_id)))).scalar() or 0
    info = {
        r.id: r
        for r in execute(
            session, select(Site.id, Site.opened_on, Site.yearly_target).where(Site.id.in_(ids))
        )
    }
    whole_year = filters.days in (365, 366)
    rows = []
    for site_id, name in sites:
        target = info[site_id].yearly_target
        if target is not None and not whole_year:
            target = round(target * filters.days / 365)
        rows.append(
            {
                "site": name,
                "opened_on": info[site_id].opened_on,
                "learners_entered": int(entered.get(site_id, 0)),
                "target": target,
                "host_companies": int(hosted.get(site_id, 0)),
            }
        )
    targets = [r["target"] for r in rows if r["target"] is not None]
    rows.append(
        {
            "site": "Total",
            "opened_on": None,
            "learners_entered": sum(r["learners_entered"] for r in rows),
            "target": sum(targets) if targets else None,
            "host_companies": int(hosted_total),
        }
    )
    df = pd.DataFrame(rows)
    df["target"] = df["target"].astype("Int64")
    return df


# --------------------------------------------------------------------------- (d) placements


def _placement_sector(stmt, filters: StatsFilters):
    """Restrict a statement on placements to the chosen sector (joins companies only then)."""
    if not filters.sector:
        return stmt
    return stmt.join(Company, Company.id == Placement.company_id).where(sector_clause(filters))


def _placed_in_period(ids: list[int], filters: StatsFilters):
    return and_(
        Learner.site_id.in_(ids),
        Placement.status.in_(PLACED),
        Placement.start_date.between(filters.date_from, filters.date_to),
    )


def placements_by_month(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Placements starting in each month of the period, per site (months without any: 0)."""
    sites = scope_sites(session, actor, filters)
    ids = [s for s, _ in sites]
    month = month_label(Placement.start_date, dialect_name(session)).label("month")
    stmt = (
        select(Learner.site_id, month, func.count().label("n"))
        .select_from(Placement)
        .join(Learner, Learner.id == Placement.learner_id)
        .where(_placed_in_period(ids, filters))
    )
    stmt = _placement_sector(stmt, filters).group_by(Learner.site_id, month)
    rows = execute(session, stmt).all()
    counts = {(r.site_id, r.month): int(r.n) for r in rows}
    months = []
    cur = dt.date(filters.date_from.year, filters.date_from.month, 1)
    while cur <= filters.date_to:
        months.append(cur.strftime("%Y-%m"))
        cur = (cur + dt.timedelta(days=32)).replace(day=1)
    records = [
        {"month": m, "site": name, "placements": counts.get((sid, m), 0)}
        for m in months
        for sid, name in sites
    ]
    return pd.DataFrame(records, columns=["month", "site", "placements"])


def placements_by_job(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    ids = [s for s, _ in scope_sites(session, actor, filters)]
    stmt = (
        select(Placement.rome_code, func.count().label("n"))
        .join(Learner, Learner.id == Placement.learner_id)
        .where(_placed_in_period(ids, filters))
    )
    per_code = _placement_sector(stmt, filters).group_by(Placement.rome_code).subquery()
    rows = execute(
        session,
        select(per_code.c.rome_code, RomeJob.label, per_code.c.n)
        .outerjoin(RomeJob, RomeJob.code == per_code.c.rome_code)
        .order_by(per_code.c.n.desc(), per_code.c.rome_code),
    ).all()
    return pd.DataFrame(
        [(r.rome_code or "", r.label or "", int(r.n)) for r in rows],
        columns=["rome_code", "job", "placements"],
    )


def placements_by_site(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Per site: placements in the period, learners entered, share placed, median days."""
    sites = scope_sites(session, actor, filters)
    ids = [s for s, _ in sites]
    dialect = dialect_name(session)
    stmt = (
        select(Learner.site_id, func.count())
        .select_from(Placement)
        .join(Learner, Learner.id == Placement.learner_id)
        .where(_placed_in_period(ids, filters))
    )
    placed = dict(
        execute(session, _placement_sector(stmt, filters).group_by(Learner.site_id)).all()
    )
    in_cohort = and_(
        Learner.site_id.in_(ids),
        Learner.entry_date.between(filters.date_from, filters.date_to),
    )
    # Cohort: learners entered in the period; first placement (any time) per learner.
    stmt = (
        select(
            Learner.site_id.label("site_id"),
            Learner.entry_date.label("entry_date"),
            func.min(Placement.start_date).label("first_start"),
        )
        .select_from(Learner)
        .join(Placement, Placement.learner_id == Learner.id)
        .where(in_cohort, Placement.status.in_(PLACED))
    )
    first = (
        _placement_sector(stmt, filters)
        .group_by(Learner.id, Learner.site_id, Learner.entry_date)
        .subquery()
    )
    cohort = dict(
        execute(
            session,
            select(Learner.site_id, func.count())
            .where(
                Learner.site_id.in_(ids),
                Learner.entry_date.between(filters.date_from, filters.date_to),
            )
            .group_by(Learner.site_id),
        ).all()
    )
    days = days_between(first.c.first_start, first.c.entry_date, dialect).label("days")
    # One row per (site, day count): the vector the median is taken over.
    delay_rows = execute(
        session,
        select(first.c.site_id, days, func.count().label("n")).group_by(first.c.site_id, days),
    ).all()
    delays: dict[int, list[int]] = {}
    for r in delay_rows:
        delays.setdefault(r.site_id, []).extend([max(0, int(r.days))] * int(r.n))
    records = []
    for site_id, name in [*sites, (None, "Total")]:
        if site_id is None:
            n_placed = sum(placed.values())
            n_cohort = sum(cohort.values())
            vec = [d for v in delays.values() for d in v]
        else:
            n_placed = placed.get(site_id, 0)
            n_cohort = cohort.get(site_id, 0)
            vec = delays.get(site_id, [])
        records.append(
            {
                "site": name,
                "placements": int(n_placed),
                "learners_entered": int(n_cohort),
                "learners_placed": len(vec),
                "share_placed_pct": round(100 * len(vec) / n_cohort, 1) if n_cohort else None,
                "median_days_to_first": statistics.median(vec) if vec else None,
            }
        )
    return pd.DataFrame(records)


def outcomes(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Exits in the period per site and outcome; positive = employment, apprenticeship, training."""
    sites = scope_sites(session, actor, filters)
    ids = [s for s, _ in sites]
    rows = execute(
        session,
        select(Learner.site_id, Learner.exit_outcome, func.count().label("n"))
        .where(
            Learner.site_id.in_(ids),
            Learner.exit_date.between(filters.date_from, filters.date_to),
        )
        .group_by(Learner.site_id, Learner.exit_outcome),
    ).all()
    counts: dict[int, dict[str | None, int]] = {}
    for r in rows:
        counts.setdefault(r.site_id, {})[r.exit_outcome] = int(r.n)
    positive = {o.value for o in POSITIVE_OUTCOMES}
    records = []
    for site_id, name in [*sites, (None, "Total")]:
        if site_id is None:
            c: dict[str | None, int] = {}
            for per_site in counts.values():
                for k, v in per_site.items():
                    c[k] = c.get(k, 0) + v
        else:
            c = counts.get(site_id, {})
        exits = sum(c.values())
        pos = sum(v for k, v in c.items() if k in positive)
        rec = {"site": name, "exits": exits}
        rec.update({k: c.get(k, 0) for k in OUTCOME_FR})
        rec["unknown"] = c.get(None, 0)
        rec["positive_exits"] = pos
        rec["positive_exit_pct"] = round(100 * pos / exits, 1) if exits else None
        records.append(rec)
    return pd.DataFrame(records)
