"""Managers' hosting statistics, aggregated in the database (SQLAlchemy Core).

Every figure is a ``GROUP BY`` query: only aggregated rows (one per site, month,
sector, officer-week...) leave the database, so the dashboard stays fast on a
national network. Queries are portable between SQLite and PostgreSQL: period
bounds are computed in Python and compared as dates; the few date functions
(month label, Monday of the week, days between two dates) go through the small
dialect-aware helpers below.

Definitions (also in docs/STATISTICS.md)
- Scope: the sites asked for (each must be in the actor's scope) or, by default,
  every site of the actor (admin: all sites). Company figures use the company's
  site, learner and placement figures the learner's site.
- Period: ``[date_from, date_to]`` inclusive.
- Sector: a NAF section letter (A..U); a company's section comes from the first
  two digits (division) of its NAF code, mapped through data/naf.csv.
- Target ("Prévision"): the site's yearly target as is when the period is one
  whole year (365 or 366 days), otherwise prorated to the period's length
  (``round(target * days / 365)``).
- Companies that hosted learners: distinct companies with a placement in progress
  or done overlapping the period; the totals row counts each company once.
- Placed: a placement confirmed, in progress or done (proposed and cancelled ones
  are not placements yet / any more).
- Active company: a logged contact or a placed placement in the 12 months up to
  the period's end. New partner: its first change to "partner" falls in the
  period. Dormant: status "partner" but not active.
- Capacity: offers overlapping the period; seats used are seat-holding placements
  on the offer (capped at the offer's seats), occupancy = used / offered.
- Cohort: learners who entered in the period (share placed, median days from
  entry to first placement). Outcomes: learners who left in the period.
- Overdue follow-up: a next action not done whose due date is before ``today``.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from crm import audit
from crm.auth import Actor, Perm, authorize
from crm.config import DATA_DIR
from crm.errors import ValidationError
from crm.models import (
    POSITIVE_OUTCOMES,
    SEAT_HOLDING_STATUSES,
    Company,
    CompanyStatusChange,
    Interaction,
    Learner,
    Offer,
    Outcome,
    PartnerStatus,
    Placement,
    PlacementStatus,
    RomeJob,
    Site,
    User,
)

PLACED_STATUSES = (PlacementStatus.CONFIRMED, PlacementStatus.IN_PROGRESS, PlacementStatus.DONE)
HOSTED_STATUSES = (PlacementStatus.IN_PROGRESS, PlacementStatus.DONE)
_PLACED = [s.value for s in PLACED_STATUSES]
_HOSTED = [s.value for s in HOSTED_STATUSES]
_SEAT = [s.value for s in SEAT_HOLDING_STATUSES]

OUTCOME_COLUMNS = {
    Outcome.EMPLOYMENT.value: "Emploi",
    Outcome.APPRENTICESHIP.value: "Alternance",
    Outcome.TRAINING.value: "Formation qualifiante",
    Outcome.NONE.value: "Sans solution",
}

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


# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class StatsFilters:
    date_from: dt.date
    date_to: dt.date
    site_ids: tuple[int, ...] = ()  # empty: every site of the actor
    sector: str | None = None  # NAF section letter
    today: dt.date = field(default_factory=dt.date.today)  # for overdue follow-ups

    def validate(self) -> None:
        errors = {}
        if self.date_to < self.date_from:
            errors["période"] = "la date de fin précède la date de début."
        if self.sector and self.sector.upper() not in naf_sections():
            errors["secteur"] = f"section NAF inconnue « {self.sector} »."
        if errors:
            raise ValidationError(errors)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


PERIOD_PRESETS = {
    "this_year": "Cette année",
    "last_year": "L'année dernière",
    "this_quarter": "Ce trimestre",
    "last_quarter": "Le trimestre dernier",
    "last_12_months": "Les 12 derniers mois",
}


def period_preset(name: str, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Bounds of a named period relative to ``today`` (see PERIOD_PRESETS)."""
    today = today or dt.date.today()
    if name == "this_year":
        return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    if name == "last_year":
        return dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)
    if name == "this_quarter":
        start = _quarter_start(today)
        return start, _quarter_start(start + dt.timedelta(days=95)) - dt.timedelta(days=1)
    if name == "last_quarter":
        end = _quarter_start(today) - dt.timedelta(days=1)
        return _quarter_start(end), end
    if name == "last_12_months":
        return _minus_year(today) + dt.timedelta(days=1), today
    raise ValueError(f"unknown period preset {name!r}")


def _minus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


# --------------------------------------------------------------------------- NAF


@functools.cache
def naf_sections() -> dict[str, str]:
    """NAF section letter -> French label."""
    with (Path(DATA_DIR) / "naf_sections.csv").open(encoding="utf-8", newline="") as fh:
        return {r["section"]: r["label"] for r in csv.DictReader(fh)}


@functools.cache
def naf_division_sections() -> dict[str, str]:
    """NAF division (two digits, e.g. "47") -> section letter (e.g. "G")."""
    with (Path(DATA_DIR) / "naf.csv").open(encoding="utf-8", newline="") as fh:
        return {r["code"][:2]: r["section"] for r in csv.DictReader(fh)}


def _division(col):
    return func.substr(col, 1, 2)


def _section_expr(naf_col):
    return case(naf_division_sections(), value=_division(naf_col), else_=None)


# --------------------------------------------------------------------------- dialect helpers


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _month(col, dialect: str):
    """'YYYY-MM' of a date column."""
    if dialect == "postgresql":
        return func.to_char(col, "YYYY-MM")
    return func.strftime("%Y-%m", col)


EPOCH_MONDAY = dt.date(1900, 1, 1)  # a Monday: weeks are counted from it


def _monday_of(week_index: int) -> dt.date:
    return EPOCH_MONDAY + dt.timedelta(weeks=int(week_index))


def _days_between(later, earlier, dialect: str):
    if dialect == "postgresql":
        return cast(later - earlier, Integer)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def _execute(session: Session, stmt):
    """Run a Core statement on the session's connection (no ORM result processing)."""
    return session.connection().execute(stmt)


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# --------------------------------------------------------------------------- scope


def scope_sites(session: Session, actor: Actor, filters: StatsFilters) -> list[tuple[int, str]]:
    """(id, name) of the sites the figures cover, after checking the actor may see them."""
    authorize(actor, Perm.STATS_READ)
    for site_id in filters.site_ids:
        authorize(actor, Perm.STATS_READ, site_id)
    filters.validate()
    if _dialect(session) == "postgresql":
        # These are short aggregate queries: PostgreSQL's JIT compilation (triggered by
        # cost estimates on 100k-row tables) costs more than it saves. Transaction-local.
        _execute(session, text("SET LOCAL jit = off"))
    stmt = select(Site.id, Site.name).order_by(Site.name)
    if filters.site_ids:
        stmt = stmt.where(Site.id.in_(filters.site_ids))
    elif not actor.is_admin:
        stmt = stmt.where(Site.id.in_(actor.site_ids or [-1]))
    return [(r.id, r.name) for r in _execute(session, stmt)]


def sites_for(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The sites an actor may pick in the statistics filters."""
    authorize(actor, Perm.STATS_READ)
    stmt = select(Site.id, Site.name).order_by(Site.name)
    if not actor.is_admin:
        stmt = stmt.where(Site.id.in_(actor.site_ids or [-1]))
    return [(r.id, r.name) for r in _execute(session, stmt)]


def _sector_clause(filters: StatsFilters, naf_col=Company.naf):
    if not filters.sector:
        return literal(True)
    section = filters.sector.upper()
    divisions = sorted(d for d, s in naf_division_sections().items() if s == section)
    return _division(naf_col).in_(divisions)


def _live_company():
    return and_(Company.merged_into_id.is_(None), Company.retired_at.is_(None))


# --------------------------------------------------------------------------- (a) school report


def school_report(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """The table school reports publish: per site, opening, learners entered, target, hosts."""
    sites = scope_sites(session, actor, filters)
    ids = [s for s, _ in sites]
    f, t = filters.date_from, filters.date_to
    entered = dict(
        _execute(
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
            Placement.status.in_(_HOSTED),
            Placement.start_date <= t,
            Placement.end_date >= f,
        )
    )
    hb = _placement_sector(hosted_base, filters).subquery()
    hosted = dict(
        _execute(
            session,
            select(hb.c.site_id, func.count(distinct(hb.c.company_id))).group_by(hb.c.site_id),
        ).all()
    )
    hosted_total = _execute(session, select(func.count(distinct(hb.c.company_id)))).scalar() or 0
    info = {
        r.id: r
        for r in _execute(
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
                "Site": name,
                "Ouverture": info[site_id].opened_on,
                "Stagiaires entrés": int(entered.get(site_id, 0)),
                "Prévision": target,
                "Entreprises ayant reçu des stagiaires": int(hosted.get(site_id, 0)),
            }
        )
    targets = [r["Prévision"] for r in rows if r["Prévision"] is not None]
    rows.append(
        {
            "Site": "Total",
            "Ouverture": None,
            "Stagiaires entrés": sum(r["Stagiaires entrés"] for r in rows),
            "Prévision": sum(targets) if targets else None,
            "Entreprises ayant reçu des stagiaires": int(hosted_total),
        }
    )
    df = pd.DataFrame(rows)
    df["Prévision"] = df["Prévision"].astype("Int64")
    return df


# --------------------------------------------------------------------------- (b) partners


def _active_sources(filters: StatsFilters):
    """Companies with a contact, and with a placement, in the 12 months up to the period's end.

    Two grouped subqueries, hash-joined to companies (cheaper than EXISTS per company).
    """
    end = filters.date_to
    start = _minus_year(end) + dt.timedelta(days=1)
    contacts = (
        select(Interaction.company_id.label("company_id"))
        .where(
            Interaction.occurred_at >= _start_of(start),
            Interaction.occurred_at < _start_of(end + dt.timedelta(days=1)),
        )
        .group_by(Interaction.company_id)
        .subquery()
    )
    placements = (
        select(Placement.company_id.label("company_id"))
        .where(
            Placement.status.in_(_PLACED), Placement.start_date <= end, Placement.end_date >= start
        )
        .group_by(Placement.company_id)
        .subquery()
    )
    return contacts, placements


def _partner_flags(ids: list[int], filters: StatsFilters):
    """One row per live company in scope: section, status, active, new partner."""
    first_partner = (
        select(
            CompanyStatusChange.company_id.label("company_id"),
            func.min(CompanyStatusChange.changed_at).label("first_at"),
        )
        .where(CompanyStatusChange.to_status == PartnerStatus.PARTNER.value)
        .group_by(CompanyStatusChange.company_id)
        .subquery()
    )
    contacts, placements = _active_sources(filters)
    is_active = or_(contacts.c.company_id.is_not(None), placements.c.company_id.is_not(None))
    is_new = and_(
        first_partner.c.first_at >= _start_of(filters.date_from),
        first_partner.c.first_at < _start_of(filters.date_to + dt.timedelta(days=1)),
    )
    return (
        select(
            Company.id.label("company_id"),
            _section_expr(Company.naf).label("section"),
            Company.status.label("status"),
            case((is_active, 1), else_=0).label("active"),
            case((is_new, 1), else_=0).label("new"),
        )
        .outerjoin(contacts, contacts.c.company_id == Company.id)
        .outerjoin(placements, placements.c.company_id == Company.id)
        .outerjoin(first_partner, first_partner.c.company_id == Company.id)
        .where(Company.site_id.in_(ids), _live_company(), _sector_clause(filters))
        .subquery()
    )


def _partner_counts(flags):
    partner = flags.c.status == PartnerStatus.PARTNER.value
    return (
        func.count().label("companies"),
        func.sum(case((partner, 1), else_=0)).label("partners"),
        func.sum(flags.c.active).label("active"),
        func.sum(flags.c.new).label("new"),
        func.sum(case((and_(partner, flags.c.active == 0), 1), else_=0)).label("dormant"),
    )


_PARTNER_COLUMNS = {
    "companies": "Entreprises",
    "partners": "Partenaires",
    "active": "Actives (12 mois)",
    "new": "Nouveaux partenaires",
    "dormant": "Partenaires dormants",
}


def _partner_frame(rows: list[dict], key_columns: dict[str, str]) -> pd.DataFrame:
    records = []
    for m in rows:
        rec = {label: m[k] for k, label in key_columns.items()}
        rec.update({label: int(m[k] or 0) for k, label in _PARTNER_COLUMNS.items()})
        records.append(rec)
    df = pd.DataFrame(records, columns=[*key_columns.values(), *_PARTNER_COLUMNS.values()])
    if not df.empty:
        total = {c: "" for c in key_columns.values()}
        first = next(iter(key_columns.values()))
        total[first] = "Total"
        total.update({c: int(df[c].sum()) for c in _PARTNER_COLUMNS.values()})
        df = pd.concat([df, pd.DataFrame([total])], ignore_index=True)
    return df


def partners_by_sector(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    ids = [s for s, _ in scope_sites(session, actor, filters)]
    flags = _partner_flags(ids, filters)
    rows = _execute(
        session,
        select(flags.c.section, *_partner_counts(flags))
        .group_by(flags.c.section)
        .order_by(flags.c.section),
    ).all()
    labels = naf_sections()
    records = [
        {
            **r._mapping,
            "section": r.section or "?",
            "label": labels.get(r.section, "Code NAF absent ou inconnu"),
        }
        for r in rows
    ]
    records.sort(key=lambda r: (r["section"] == "?", r["section"]))  # unknown last
    return _partner_frame(records, {"section": "Section NAF", "label": "Secteur"})


def partners_by_domain(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Companies per ROME domain of their offers (a company offering two domains counts in both)."""
    ids = [s for s, _ in scope_sites(session, actor, filters)]
    flags = _partner_flags(ids, filters)
    # A ROME code's domain is its first letter (rome_jobs.domain): no join needed per offer.
    domain = func.substr(Offer.rome_code, 1, 1)
    domains = select(Offer.company_id.label("company_id"), domain.label("domain")).distinct()
    domains = domains.subquery()
    rows = _execute(
        session,
        select(domains.c.domain, *_partner_counts(flags))
        .join(domains, domains.c.company_id == flags.c.company_id)
        .group_by(domains.c.domain)
        .order_by(domains.c.domain),
    ).all()
    labels = dict(
        _execute(
            session, select(RomeJob.domain, func.max(RomeJob.domain_label)).group_by(RomeJob.domain)
        ).all()
    )
    records = [{**r._mapping, "domain_label": labels.get(r.domain, "")} for r in rows]
    df = _partner_frame(records, {"domain": "Domaine ROME", "domain_label": "Libellé"})
    if not df.empty:  # a company counts once per domain: the sum is not a head count
        df = df.iloc[:-1]
    return df


# --------------------------------------------------------------------------- (c) capacity


def _offer_usage(ids: list[int], filters: StatsFilters):
    used = (
        select(Placement.offer_id.label("offer_id"), func.count().label("used"))
        .where(Placement.status.in_(_SEAT), Placement.offer_id.is_not(None))
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
            _sector_clause(filters),
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
    by_site = {r.site_id: r for r in _execute(session, stmt)}
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
        "Site": name,
        "Offres": int(r.offers) if r else 0,
        "Places offertes": seats,
        "Places occupées": used,
        "Taux d'occupation (%)": round(100 * used / seats, 1) if seats else None,
        "Entreprises avec places libres": int(r.free_companies) if r else 0,
        "Offres jamais utilisées": int(r.never_used or 0) if r else 0,
    }


def unused_offers(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """The period's offers that no placement ever used (to follow up with the companies)."""
    sites = scope_sites(session, actor, filters)
    u = _offer_usage([s for s, _ in sites], filters)
    rows = _execute(
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
        columns=["Site", "Entreprise", "Offre", "Code ROME", "Places", "Début"],
    )


# --------------------------------------------------------------------------- (d) placements


def _placement_sector(stmt, filters: StatsFilters):
    """Restrict a statement on placements to the chosen sector (joins companies only then)."""
    if not filters.sector:
        return stmt
    return stmt.join(Company, Company.id == Placement.company_id).where(_sector_clause(filters))


def _placed_in_period(ids: list[int], filters: StatsFilters):
    return and_(
        Learner.site_id.in_(ids),
        Placement.status.in_(_PLACED),
        Placement.start_date.between(filters.date_from, filters.date_to),
    )


def placements_by_month(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Placements starting in each month of the period, per site (months without any: 0)."""
    sites = scope_sites(session, actor, filters)
    ids = [s for s, _ in sites]
    month = _month(Placement.start_date, _dialect(session)).label("month")
    stmt = (
        select(Learner.site_id, month, func.count().label("n"))
        .select_from(Placement)
        .join(Learner, Learner.id == Placement.learner_id)
        .where(_placed_in_period(ids, filters))
    )
    stmt = _placement_sector(stmt, filters).group_by(Learner.site_id, month)
    rows = _execute(session, stmt).all()
    counts = {(r.site_id, r.month): int(r.n) for r in rows}
    months = []
    cur = dt.date(filters.date_from.year, filters.date_from.month, 1)
    while cur <= filters.date_to:
        months.append(cur.strftime("%Y-%m"))
        cur = (cur + dt.timedelta(days=32)).replace(day=1)
    records = [
        {"Mois": m, "Site": name, "Stages": counts.get((sid, m), 0)}
        for m in months
        for sid, name in sites
    ]
    return pd.DataFrame(records, columns=["Mois", "Site", "Stages"])


def placements_by_job(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    ids = [s for s, _ in scope_sites(session, actor, filters)]
    stmt = (
        select(Placement.rome_code, func.count().label("n"))
        .join(Learner, Learner.id == Placement.learner_id)
        .where(_placed_in_period(ids, filters))
    )
    per_code = _placement_sector(stmt, filters).group_by(Placement.rome_code).subquery()
    rows = _execute(
        session,
        select(per_code.c.rome_code, RomeJob.label, per_code.c.n)
        .outerjoin(RomeJob, RomeJob.code == per_code.c.rome_code)
        .order_by(per_code.c.n.desc(), per_code.c.rome_code),
    ).all()
    return pd.DataFrame(
        [(r.rome_code or "", r.label or "", int(r.n)) for r in rows],
        columns=["Code ROME", "Métier", "Stages"],
    )


def placements_by_site(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Per site: placements in the period, learners entered, share placed, median days."""
    sites = scope_sites(session, actor, filters)
    ids = [s for s, _ in sites]
    dialect = _dialect(session)
    stmt = (
        select(Learner.site_id, func.count())
        .select_from(Placement)
        .join(Learner, Learner.id == Placement.learner_id)
        .where(_placed_in_period(ids, filters))
    )
    placed = dict(
        _execute(session, _placement_sector(stmt, filters).group_by(Learner.site_id)).all()
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
        .where(in_cohort, Placement.status.in_(_PLACED))
    )
    first = (
        _placement_sector(stmt, filters)
        .group_by(Learner.id, Learner.site_id, Learner.entry_date)
        .subquery()
    )
    cohort = dict(
        _execute(
            session,
            select(Learner.site_id, func.count())
            .where(
                Learner.site_id.in_(ids),
                Learner.entry_date.between(filters.date_from, filters.date_to),
            )
            .group_by(Learner.site_id),
        ).all()
    )
    days = _days_between(first.c.first_start, first.c.entry_date, dialect).label("days")
    # One row per (site, day count): the vector the median is taken over.
    delay_rows = _execute(
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
                "Site": name,
                "Stages": int(n_placed),
                "Stagiaires entrés": int(n_cohort),
                "Dont avec au moins un stage": len(vec),
                "Part avec stage (%)": round(100 * len(vec) / n_cohort, 1) if n_cohort else None,
                "Délai médian entrée → 1er stage (jours)": statistics.median(vec) if vec else None,
            }
        )
    return pd.DataFrame(records)


def outcomes(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Exits in the period per site and outcome; positive = employment, apprenticeship, training."""
    sites = scope_sites(session, actor, filters)
    ids = [s for s, _ in sites]
    rows = _execute(
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
        rec = {"Site": name, "Sorties": exits}
        rec.update({label: c.get(k, 0) for k, label in OUTCOME_COLUMNS.items()})
        rec["Non renseignée"] = c.get(None, 0)
        rec["Sorties positives"] = pos
        rec["Taux de sorties positives (%)"] = round(100 * pos / exits, 1) if exits else None
        records.append(rec)
    return pd.DataFrame(records)


# --------------------------------------------------------------------------- (e) officers


def _officer_name():
    return func.coalesce(User.display_name, User.username)


def _with_officer_names(grouped):
    """Join per-author aggregates to the users table for display names (after grouping)."""
    return select(grouped, _officer_name().label("officer")).outerjoin(
        User, User.id == grouped.c.author_id
    )


_WEEKS_PER_QUERY = 250  # SQLite caps a compound SELECT at 500 terms


def _week_bounds(filters: StatsFilters) -> list[tuple[int, dt.datetime, dt.datetime]]:
    """(week index, start, end) of each Monday-based week, clipped to the period."""
    first = (filters.date_from - EPOCH_MONDAY).days // 7
    last = (filters.date_to - EPOCH_MONDAY).days // 7
    end_of_period = filters.date_to + dt.timedelta(days=1)
    return [
        (
            k,
            _start_of(max(_monday_of(k), filters.date_from)),
            _start_of(min(_monday_of(k + 1), end_of_period)),
        )
        for k in range(first, last + 1)
    ]


def _weeks_table(bounds: list[tuple[int, dt.datetime, dt.datetime]]):
    """The weeks as a small derived table (week, lo, hi): interactions are range-joined to it,
    so no per-row date function and no sort of the period's interactions by week."""
    stamp = Interaction.occurred_at.type
    rows = [
        select(
            cast(literal(k), Integer).label("week"),
            literal(lo, stamp).label("lo"),  # no CAST: SQLite would make it a number
            literal(hi, stamp).label("hi"),
        )
        for k, lo, hi in bounds
    ]
    return (rows[0] if len(rows) == 1 else union_all(*rows)).subquery("weeks")


def _officer_week_counts(session: Session, ids: list[int], filters: StatsFilters):
    """(author_id, week, n) subqueries covering the period, one per chunk of weeks.

    SQLite: interactions range-joined to the weeks table, read from the covering index
    ix_interactions_date_author (no per-row julianday(), no sort of the year's rows).
    PostgreSQL: the week from date arithmetic, which is cheap there, hash-aggregated.
    """
    in_scope = (
        select(Company.id)
        .where(Company.id == Interaction.company_id, Company.site_id.in_(ids))
        .where(_sector_clause(filters))
        .exists()
    )
    if _dialect(session) == "postgresql":
        week = ((cast(Interaction.occurred_at, Date) - EPOCH_MONDAY) // 7).label("week")
        in_period = and_(
            Interaction.occurred_at >= _start_of(filters.date_from),
            Interaction.occurred_at < _start_of(filters.date_to + dt.timedelta(days=1)),
        )
        grouped = select(Interaction.author_id, week, func.count().label("n"))
        yield grouped.where(in_scope, in_period).group_by(Interaction.author_id, week).subquery()
        return
    bounds = _week_bounds(filters)
    for i in range(0, len(bounds), _WEEKS_PER_QUERY):
        weeks = _weeks_table(bounds[i : i + _WEEKS_PER_QUERY])
        in_week = and_(Interaction.occurred_at >= weeks.c.lo, Interaction.occurred_at < weeks.c.hi)
        yield (
            select(Interaction.author_id, weeks.c.week, func.count().label("n"))
            .join(weeks, in_week)
            .where(in_scope)
            .group_by(Interaction.author_id, weeks.c.week)
            .subquery()
        )


def officer_activity(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Contacts logged per officer per ISO week of the period (companies of the scope)."""
    ids = [s for s, _ in scope_sites(session, actor, filters)]
    rows = []
    for grouped in _officer_week_counts(session, ids, filters):
        rows.extend(_execute(session, _with_officer_names(grouped)).all())
    records = []
    for r in rows:
        monday = _monday_of(r.week)
        year, wk, _ = monday.isocalendar()
        records.append(
            {
                "Chargé(e)": r.officer or "(inconnu)",
                "Semaine": f"{year}-S{wk:02d}",
                "Lundi": monday,
                "Contacts": int(r.n),
            }
        )
    df = pd.DataFrame(records, columns=["Chargé(e)", "Semaine", "Lundi", "Contacts"])
    df = df.groupby(["Chargé(e)", "Semaine", "Lundi"], as_index=False)["Contacts"].sum()
    return df.sort_values(["Lundi", "Chargé(e)"], ignore_index=True)


def overdue_followups(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Next actions not done and due before ``filters.today``, per officer."""
    ids = [s for s, _ in scope_sites(session, actor, filters)]
    grouped = (
        select(
            Interaction.author_id,
            func.count().label("n"),
            func.min(Interaction.next_action_due).label("oldest"),
        )
        .join(Company, Company.id == Interaction.company_id)
        .where(
            Company.site_id.in_(ids),
            _sector_clause(filters),
            Interaction.next_action_due < filters.today,
            Interaction.next_action_done.is_(False),
        )
        .group_by(Interaction.author_id)
        .subquery()
    )
    rows = _execute(session, _with_officer_names(grouped)).all()
    df = pd.DataFrame(
        [(r.officer or "(inconnu)", int(r.n), _as_date(r.oldest)) for r in rows],
        columns=["Chargé(e)", "Relances en retard", "Plus ancienne échéance"],
    )
    df = df.sort_values(["Relances en retard", "Chargé(e)"], ascending=[False, True])
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- map and dashboard


def partner_points(session: Session, actor: Actor, filters: StatsFilters) -> pd.DataFrame:
    """Geocoded live companies of the scope (name, status, coordinates) for the map."""
    ids = [s for s, _ in scope_sites(session, actor, filters)]
    rows = _execute(
        session,
        select(Company.name, Company.status, Company.latitude, Company.longitude, Site.name)
        .join(Site, Site.id == Company.site_id)
        .where(
            Company.site_id.in_(ids),
            _live_company(),
            _sector_clause(filters),
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
    """Every table of the dashboard, keyed as in TITLES."""
    scope_sites(session, actor, filters)  # authorise once up front
    return {key: fn(session, actor, filters) for key, fn in STAT_FUNCTIONS.items()}


def kpis(tables: dict[str, pd.DataFrame]) -> dict[str, object]:
    """Headline figures read off the dashboard's totals rows."""
    report = tables["school_report"].iloc[-1]
    cap = tables["capacity"].iloc[-1]
    plc = tables["placements_by_site"].iloc[-1]
    out = tables["outcomes"].iloc[-1]
    sector = tables["partners_by_sector"]
    partners = sector.iloc[-1] if not sector.empty else None
    return {
        "learners_entered": int(report["Stagiaires entrés"]),
        "host_companies": int(report["Entreprises ayant reçu des stagiaires"]),
        "active_partners": int(partners["Actives (12 mois)"]) if partners is not None else 0,
        "new_partners": int(partners["Nouveaux partenaires"]) if partners is not None else 0,
        "occupancy_pct": cap["Taux d'occupation (%)"],
        "placements": int(plc["Stages"]),
        "share_placed_pct": plc["Part avec stage (%)"],
        "median_days_to_first": plc["Délai médian entrée → 1er stage (jours)"],
        "positive_exit_pct": out["Taux de sorties positives (%)"],
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
    """The periodic report: a parameters sheet then one sheet per dashboard table."""
    tables = dashboard(session, actor, filters)
    names = [name for _, name in scope_sites(session, actor, filters)]
    params = pd.DataFrame(
        {
            "Paramètre": ["Période", "Sites", "Secteur", "Édité le"],
            "Valeur": [
                f"{filters.date_from:%d/%m/%Y} – {filters.date_to:%d/%m/%Y}",
                ", ".join(names),
                filters.sector or "Tous",
                f"{filters.today:%d/%m/%Y}",
            ],
        }
    )
    return {"Paramètres": params} | {TITLES[k]: v for k, v in tables.items()}
