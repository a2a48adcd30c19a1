"""Small helpers every service uses: fetch-or-NotFound, calendar months back.

Business rules that are conditions on rows live on the models (``Company.is_live``);
settings are read through :func:`crm.services.settings.get_setting`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from crm.errors import NotFound

T = TypeVar("T")


def get_or_404(session: Session, model: type[T], obj_id: Any, label: str, **options) -> T:
    """``session.get(model, obj_id)``, or :class:`NotFound` "<label> <id> introuvable.".

    ``label`` is the French name shown to the user ("Entreprise", "Stagiaire", ...);
    ``options`` go to ``Session.get`` (e.g. ``populate_existing=True`` after a lock).
    """
    obj = session.get(model, obj_id, **options)
    if obj is None:
        raise NotFound(f"{label} {obj_id} introuvable.")
    return obj


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` minus ``months`` calendar months, the day clamped to the month's end.

    2026-03-31 minus 1 month is 2026-02-28; 2026-11-23 minus 24 months is 2024-11-23.
    """
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    last = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(y, m, min(day.day, last))
