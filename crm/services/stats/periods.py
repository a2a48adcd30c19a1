"""Statistics filters: period bounds and presets, sector (NAF) reference, date helpers."""

from __future__ import annotations

import csv
import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import (
    case,
    func,
)

from crm.config import DATA_DIR
from crm.errors import ValidationError

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
            errors["period"] = "la date de fin précède la date de début."
        if self.sector and self.sector.upper() not in naf_sections():
            errors["sector"] = f"section NAF inconnue « {self.sector} »."
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
        return minus_year(today) + dt.timedelta(days=1), today
    raise ValueError(f"unknown period preset {name!r}")


def minus_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def start_of(day: dt.date) -> dt.datetime:
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


def naf_division(col):
    return func.substr(col, 1, 2)


def section_expr(naf_col):
    return case(naf_division_sections(), value=naf_division(naf_col), else_=None)
