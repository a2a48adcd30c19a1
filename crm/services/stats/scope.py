"""What the figures cover (sites, sector, live companies) and the dialect-aware SQL helpers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Integer,
    cast,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.orm import Session

from crm.auth import Actor, Perm, authorize
from crm.models import (
    SEAT_HOLDING_STATUSES,
    Company,
    PlacementStatus,
    Site,
)
from crm.services.stats.periods import StatsFilters, naf_division, naf_division_sections

PLACED_STATUSES = (PlacementStatus.CONFIRMED, PlacementStatus.IN_PROGRESS, PlacementStatus.DONE)
HOSTED_STATUSES = (PlacementStatus.IN_PROGRESS, PlacementStatus.DONE)
PLACED = [s.value for s in PLACED_STATUSES]
HOSTED = [s.value for s in HOSTED_STATUSES]
SEAT_HOLDING = [s.value for s in SEAT_HOLDING_STATUSES]


# --------------------------------------------------------------------------- dialect helpers


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def month_label(col, dialect: str):
    """'YYYY-MM' of a date column."""
    if dialect == "postgresql":
        return func.to_char(col, "YYYY-MM")
    return func.strftime("%Y-%m", col)


EPOCH_MONDAY = dt.date(1900, 1, 1)  # a Monday: weeks are counted from it


def monday_of(week_index: int) -> dt.date:
    return EPOCH_MONDAY + dt.timedelta(weeks=int(week_index))


def days_between(later, earlier, dialect: str):
    if dialect == "postgresql":
        return cast(later - earlier, Integer)
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def execute(session: Session, stmt):
    """Run a Core statement on the session's connection (no ORM result processing)."""
    return session.connection().execute(stmt)


def as_date(value) -> dt.date:
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
    if dialect_name(session) == "postgresql":
        # These are short aggregate queries: PostgreSQL's JIT compilation (triggered by
        # cost estimates on 100k-row tables) costs more than it saves. Transaction-local.
        execute(session, text("SET LOCAL jit = off"))
    stmt = select(Site.id, Site.name).order_by(Site.name)
    if filters.site_ids:
        stmt = stmt.where(Site.id.in_(filters.site_ids))
    elif not actor.is_admin:
        stmt = stmt.where(Site.id.in_(actor.site_ids or [-1]))
    return [(r.id, r.name) for r in execute(session, stmt)]


def sites_for(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The sites an actor may pick in the statistics filters."""
    authorize(actor, Perm.STATS_READ)
    stmt = select(Site.id, Site.name).order_by(Site.name)
    if not actor.is_admin:
        stmt = stmt.where(Site.id.in_(actor.site_ids or [-1]))
    return [(r.id, r.name) for r in execute(session, stmt)]


def sector_clause(filters: StatsFilters, naf_col=Company.naf):
    if not filters.sector:
        return literal(True)
    section = filters.sector.upper()
    divisions = sorted(d for d, s in naf_division_sections().items() if s == section)
    return naf_division(naf_col).in_(divisions)
