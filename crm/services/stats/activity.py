"""Officers' activity: contacts per officer and week, overdue follow-ups."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from crm.auth import Actor
from crm.models import (
    Company,
    Interaction,
    User,
)
from crm.services.stats.periods import StatsFilters, start_of
from crm.services.stats.scope import (
    EPOCH_MONDAY,
    as_date,
    dialect_name,
    execute,
    monday_of,
    scope_sites,
    sector_clause,
)

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
            start_of(max(monday_of(k), filters.date_from)),
            start_of(min(monday_of(k + 1), end_of_period)),
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
    # In scope = not among the companies outside it: one small list probed per row, about
    # half the cost of a correlated EXISTS per interaction at a million rows (a company
    # without a site, or a NAF code outside the sector, is outside: CASE turns NULL into 0).
    outside = select(Company.id).where(
        case((and_(Company.site_id.in_(ids), sector_clause(filters)), 1), else_=0) == 0
    )
    in_scope = Interaction.company_id.not_in(outside)
    if dialect_name(session) == "postgresql":
        week = ((cast(Interaction.occurred_at, Date) - EPOCH_MONDAY) // 7).label("week")
        in_period = and_(
            Interaction.occurred_at >= start_of(filters.date_from),
            Interaction.occurred_at < start_of(filters.date_to + dt.timedelta(days=1)),
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
        rows.extend(execute(session, _with_officer_names(grouped)).all())
    records = []
    for r in rows:
        monday = monday_of(r.week)
        year, wk, _ = monday.isocalendar()
        records.append(
            {
                "officer": r.officer or "(inconnu)",
                "week": f"{year}-S{wk:02d}",
                "monday": monday,
                "contacts": int(r.n),
            }
        )
    df = pd.DataFrame(records, columns=["officer", "week", "monday", "contacts"])
    df = df.groupby(["officer", "week", "monday"], as_index=False)["contacts"].sum()
    return df.sort_values(["monday", "officer"], ignore_index=True)


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
            sector_clause(filters),
            Interaction.next_action_due < filters.today,
            Interaction.next_action_done.is_(False),
        )
        .group_by(Interaction.author_id)
        .subquery()
    )
    rows = execute(session, _with_officer_names(grouped)).all()
    df = pd.DataFrame(
        [(r.officer or "(inconnu)", int(r.n), as_date(r.oldest)) for r in rows],
        columns=["officer", "overdue", "oldest_due"],
    )
    df = df.sort_values(["overdue", "officer"], ascending=[False, True])
    return df.reset_index(drop=True)
