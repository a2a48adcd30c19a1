"""Managers' hosting statistics, aggregated in the database (SQLAlchemy Core).

Modules: periods (filters, presets, NAF), scope (sites, sector, SQL helpers),
placements, partners (and capacity), activity (officers), report (dashboard,
KPIs, map, periodic report). This package re-exports the public API.

Tables are pandas DataFrames with English snake_case column keys (``site``,
``learners_entered``, ``target``, ``seats_offered``, ``officer``...); their French
titles live in ``crm.labels.STAT_COLUMN_FR`` and are put on in one place,
``french_columns(df)``, when a table is shown or exported (dashboard, downloads,
periodic report, ``passerelle stats``). Cell values (site names, the "Total" row) are
data and stay as they are.

Every figure is a ``GROUP BY`` query: only aggregated rows (one per site, month,
sector, officer-week...) leave the database, so the dashboard stays fast on a
national network. Queries are portable between SQLite and PostgreSQL: period
bounds are computed in Python and compared as dates; the few date functions
(month label, Monday of the week, days between two dates) go through the small
dialect-aware helpers of scope.py.

Definitions (also in docs/STATISTICS.md)
- Scope: the sites asked for (each must be in the actor's scope) or, by default,
  every site of the actor (admin: all sites). Company figures use the company's
  site, learner and placement figures the learner's site.
- Period: ``[date_from, date_to]`` inclusive.
- Sector: a NAF section letter (A..U); a company's section comes from the first
  two digits (division) of its NAF code, mapped through data/naf.csv.
- Target (``target``, shown "Prévision"): the site's yearly target as is when the period is one
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

from crm.services.stats.activity import officer_activity, overdue_followups
from crm.services.stats.partners import (
    capacity,
    partner_tables,
    partners_by_domain,
    partners_by_sector,
    unused_offers,
)
from crm.services.stats.periods import (
    PERIOD_PRESETS,
    StatsFilters,
    naf_division_sections,
    naf_sections,
    period_preset,
)
from crm.services.stats.placements import (
    OUTCOME_COLUMNS,
    outcomes,
    placements_by_job,
    placements_by_month,
    placements_by_site,
    school_report,
)
from crm.services.stats.report import (
    STAT_FUNCTIONS,
    TITLES,
    dashboard,
    french_columns,
    kpis,
    partner_points,
    record_export,
    report_workbook,
)
from crm.services.stats.scope import (
    EPOCH_MONDAY,
    HOSTED_STATUSES,
    PLACED_STATUSES,
    scope_sites,
    sites_for,
)

__all__ = [
    "EPOCH_MONDAY",
    "HOSTED_STATUSES",
    "OUTCOME_COLUMNS",
    "PERIOD_PRESETS",
    "PLACED_STATUSES",
    "STAT_FUNCTIONS",
    "TITLES",
    "StatsFilters",
    "capacity",
    "dashboard",
    "french_columns",
    "kpis",
    "naf_division_sections",
    "naf_sections",
    "officer_activity",
    "outcomes",
    "overdue_followups",
    "partner_points",
    "partner_tables",
    "partners_by_domain",
    "partners_by_sector",
    "period_preset",
    "placements_by_job",
    "placements_by_month",
    "placements_by_site",
    "record_export",
    "report_workbook",
    "school_report",
    "scope_sites",
    "sites_for",
    "unused_offers",
]
