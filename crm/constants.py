"""Constants the command line needs while parsing arguments, in a module that imports
nothing heavy (no SQLAlchemy, pandas or scikit-learn), so ``passerelle --help`` and the
argument errors answer at once. tests/cli/test_cli_startup.py checks that each value equals the
one of the module that owns the rule (importer, backup, dedupe, models, stats)."""

from __future__ import annotations

IMPORT_KINDS = (
    "sites",
    "companies",
    "contacts",
    "offers",
    "learners",
    "interactions",
    "placements",
)
BACKUP_FORMATS = ("auto", "sqlite", "pg_dump", "json")
ROLES = ("officer", "trainer", "manager", "admin")
DUPLICATE_THRESHOLD = 0.9
STATS_TABLES = (
    "school_report",
    "partners_by_sector",
    "partners_by_domain",
    "capacity",
    "placements_by_month",
    "placements_by_site",
    "placements_by_job",
    "outcomes",
    "officer_activity",
    "overdue_followups",
)
