"""Partner companies: activity and new partners by sector and ROME domain, hosting capacity."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
from sqlalchemy import (
    and_,
    case,
    distinct,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from crm.auth import Actor
from crm.models import (
    Company,
    CompanyStatusChange,
    Interaction,
    Offer,
    PartnerStatus,
    Placement,
    RomeJob,
    Site,
)
from crm.services.stats.periods import (
    StatsFilters,
    minus_year,
    naf_sections,
    section_expr,
    start_of,
)
from crm.services.stats.scope import (
    PLACED,
    SEAT_HOLDING,
    execute,
    scope_sites,
    sector_clause,
)

# --------------------------------------------------------------------------- (b) partners


def _active_sources(filters: StatsFilters):
    """Is the company active: a contact, or a placed placement, in the 12 months up to the
    period's end.

    The contact test is a correlated ``EXISTS`` probing ``ix_interactions_company_date``
    (company_id, occurred_at) once per company: at a million interactions a grouped scan of
    the year's ~500,000 contacts costs far more than 10,000 index look-ups. Placements are a
    grouped subquery hash-joined to companies (few rows).
    """
    end = filters.date_to
    start = minus_year(end) + dt.timedelta(days=1)
    contacted = (
        select(Interaction.id)
        .where(
            Interaction.company_id == Company.id,
            Interaction.occurred_at >= start_of(start),
            Interaction.occurred_at < start_of(end + dt.timedelta(days=1)),
        )
        .exists()
    )
    placements = (
        select(Placement.company_id.label("company_id"))
        .where(
            Placement.status.in_(PLACED), Placement.start_date <= end, Placement.end_date >= start
        )
        .group_by(Placement.company_id)
        .subquery()
    )
    return contacted, placements


def _partner_flags(ids: list[int], filters: StatsFilters):
    """One row per live company in scope: section, status, active, new partner (a SELECT)."""
    first_partner = (
        select(
            CompanyStatusChange.company_id.label("company_id"),
            func.min(CompanyStatusChange.changed_at).label("first_at"),
        )
        .where(CompanyStatusChange.to_status == PartnerStatus.PARTNER.value)
        .group_by(CompanyStatusChange.company_id)
        .subquery()
    )
    contacted, placements = _active_sources(filters)
    is_active = or_(contacted, placements.c.company_id.is_not(None))
    is_new = and_(
        first_partner.c.first_at >= start_of(filters.date_from),
        first_partner.c.first_at < start_of(filters.date_to + dt.timedelta(days=1)),
    )
    return (
        select(
            Company.id.label("company_id"),
            section_expr(Company.naf).label("section"),
            Company.status.label("status"),
            case((is_active, 1), else_=0).label("active"),
            case((is_new, 1), else_=0).label("new"),
        )
        .outerjoin(placements, placements.c.company_id == Company.id)
        .outerjoin(first_partner, first_partner.c.company_id == Company.id)
        .where(Company.site_id.in_(ids), Company.is_live, sector_clause(filters))
    )


def _partner_counts(flags):
    partner = flags.c.status == PartnerStatus.PARTNER.value
    return (
        func.count().label("companies"),
        func.sum(case((partner, 1), else_=0)).label("partners"),
        func.sum(flags.c.active).label("active_companies"),
        func.sum(flags.c.new).label("new_partners"),
        func.sum(case((and_(partner, flags.c.active == 0), 1), else_=0)).label("dormant_partners"),
    )


_PARTNER_COLUMNS = ("companies", "partners", "active_companies", "new_partners", "dormant_partners")


def _partner_frame(rows: list[dict], key_columns: tuple[str, ...]) -> pd.DataFrame:
    records = []
    for m in rows:
        rec = {k: m[k] for k in key_columns}
        rec.update({k: int(m[k] or 0) for k in _PARTNER_COLUMNS})
        records.append(rec)
    df = pd.DataFrame(records, columns=[*key_columns, *_PARTNER_COLUMNS])
    if not df.empty:
        total = {c: "" for c in key_columns}
        total[key_columns[0]] = "Total"
        total.update({c: int(df[c].sum()) for c in _PARTNER_COLUMNS})
        df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    return df


def partner_tables(
    session: Session, actor: Actor, filters: StatsFilters
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Partners by NAF sector and by ROME domain, from ONE computation of the partner flags.

    The flags (12-month contact and placement activity, first move to partner) are the
    costly part, and both tables need the same ones: they are a common table expression
    referenced by both groupings of one ``UNION ALL``, which PostgreSQL (12+) and SQLite
    (3.35+) materialise once because it is used twice. The dashboard and the periodic report
    call this once; ``partners_by_sector`` / ``partners_by_domain`` are for a table alone.
    """
    ids = [s for s, _ in scope_sites(session, actor, filters)]
    flags = _partner_flags(ids, filters).cte("partner_flags")
    # A ROME code's domain is its first letter (rome_jobs.domain): no join needed per offer.
    domain = func.substr(Offer.rome_code, 1, 1)
    domains = select(Offer.company_id.label("company_id"), domain.label("domain")).distinct()
    domains = domains.subquery()
    by_sector = select(
        literal_column("0").label("kind"),
        flags.c.section.label("key"),
        *_partner_counts(flags),
    ).group_by(flags.c.section)
    by_domain = (
        select(literal_column("1"), domains.c.domain, *_partner_counts(flags))
        .join(domains, domains.c.company_id == flags.c.company_id)
        .group_by(domains.c.domain)
    )
    rows = execute(session, union_all(by_sector, by_domain)).all()
    sector_rows = [r._mapping for r in rows if r.kind == 0]
    domain_rows = sorted((r._mapping for r in rows if r.kind == 1), key=lambda m: m["key"])
    return _sector_frame(sector_rows), _domain_frame(session, domain_rows)


def _sector_frame(rows) -> pd.DataFrame:
    labels = naf_sections()
    records = [
        {
            **m,
            "section": m["key"] or "?",
            "sector": labels.get(m["key"], "Code NAF absent ou inconnu"),
        }
        for m in rows
    ]
    records.sort(key=lambda r: (r["section"] == "?", r["section"]))  # unknown last
    return _partner_frame(records, ("section", "sector"))


def _domain_frame(session: Session, rows) -> pd.DataFrame:
    labels = dict(
        execute(
            session, select(RomeJob.domain, func.max(RomeJob.domain_label)).group_by(RomeJob.domain)
        ).all()
    )
    records = [{**m, "domain": m["key"], "domain_label": labels.get(m["key"], "")} for m in rows]
    df = _partner_frame(records, ("domain", "domain_label"))
    if not df.empty:  # a company counts once per domain: the sum is not a head count
        df = df.iloc[:-1]
    return df


def partners_by_sector(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Companies per NAF section (the dashboard gets it with the domain table: partner_tables)."""
    return partner_tables(session, actor, filters)[0]


def partners_by_domain(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Companies per ROME domain of their offers (a company offering two domains counts in both)."""
    return partner_tables(session, actor, filters)[1]


# --------------------------------------------------------------------------- (c) capacity


def _offer_usage(ids: list[int], filters: StatsFilters):
    used = (
        select(Placement.offer_id.label("offer_id"), func.count().label("used"))
        .where(Placement.status.in_(SEAT_HOLDING), Placement.offer_id.is_not(None))
        .group_by(Placement.offer_id)
        .subquery()
    )
    n_used = func.coalesce(used.c.used, 0)
    return (
        select(
            Offer.id.label("offer_id"),
            Offer.company_id.label("company_id"),
            Company.site_id.label("site_id"),
            Offer.seats.label("seats"),
            case((n_used > Offer.seats, Offer.seats), else_=n_used).label("used"),
        )
        .join(Company, Company.id == Offer.company_id)
        .outerjoin(used, used.c.offer_id == Offer.id)
        .where(
            Company.site_id.in_(ids),
            sector_clause(filters),
            or_(Offer.start_date.is_(None), Offer.start_date <= filters.date_to),
            or_(Offer.end_date.is_(None), Offer.end_date >= filters.date_from),
        )
        .subquery()
    )


def capacity(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Seats offered vs used per site over the period's offers."""
    sites = scope_sites(session, actor, filters)
    u = _offer_usage([s for s, _ in sites], filters)
    free_company = case((u.c.used < u.c.seats, u.c.company_id), else_=None)
    stmt = select(
        u.c.site_id,
        func.count().label("offers"),
        func.coalesce(func.sum(u.c.seats), 0).label("seats"),
        func.coalesce(func.sum(u.c.used), 0).label("used"),
        func.count(distinct(free_company)).label("free_companies"),
        func.sum(case((u.c.used == 0, 1), else_=0)).label("never_used"),
    ).group_by(u.c.site_id)
    by_site = {r.site_id: r for r in execute(session, stmt)}
    records = []
    for site_id, name in sites:
        r = by_site.get(site_id)
        records.append(_capacity_record(name, r))
    # A company belongs to one site: per-site figures add up to the totals.
    totals = SimpleNamespace(
        **{k: sum(getattr(r, k) or 0 for r in by_site.values()) for k in _CAPACITY_KEYS}
    )
    records.append(_capacity_record("Total", totals))
    return pd.DataFrame(records)


_CAPACITY_KEYS = ("offers", "seats", "used", "free_companies", "never_used")


def _capacity_record(name: str, r) -> dict:
    seats = int(r.seats) if r else 0
    used = int(r.used) if r else 0
    return {
        "site": name,
        "offers": int(r.offers) if r else 0,
        "seats_offered": seats,
        "seats_used": used,
        "occupancy_pct": round(100 * used / seats, 1) if seats else None,
        "companies_with_free_seats": int(r.free_companies) if r else 0,
        "offers_never_used": int(r.never_used or 0) if r else 0,
    }


def unused_offers(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """The period's offers that no placement ever used (to follow up with the companies)."""
    sites = scope_sites(session, actor, filters)
    u = _offer_usage([s for s, _ in sites], filters)
    rows = execute(
        session,
        select(Site.name, Company.name, Offer.title, Offer.rome_code, Offer.seats, Offer.start_date)
        .join(u, u.c.offer_id == Offer.id)
        .join(Company, Company.id == Offer.company_id)
        .join(Site, Site.id == Company.site_id)
        .where(u.c.used == 0)
        .order_by(Site.name, Company.name, Offer.start_date),
    ).all()
    return pd.DataFrame(
        [tuple(r) for r in rows],
        columns=["site", "company", "offer", "rome_code", "seats", "start_date"],
    )
