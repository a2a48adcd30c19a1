"""Hosting capacity (offers) and seat usage.

Seats used always come from placements (never typed by hand): a placement in a
seat-holding status that overlaps the offer's period holds one seat.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.models import SEAT_HOLDING_STATUSES, Placement


def seats_used(session: Session, offer_ids: Iterable[int]) -> dict[int, int]:
    """Seat-holding placements per offer id (0 for offers without any)."""
    ids = list(offer_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Placement.offer_id, func.count())
        .where(
            Placement.offer_id.in_(ids),
            Placement.status.in_([s.value for s in SEAT_HOLDING_STATUSES]),
        )
        .group_by(Placement.offer_id)
    ).all()
    used = dict.fromkeys(ids, 0)
    used.update({offer_id: n for offer_id, n in rows})
    return used
