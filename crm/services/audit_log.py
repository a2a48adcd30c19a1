"""Search the audit trail (admin only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.auth import Actor, Perm, authorize
from crm.models import AuditEvent

MAX_ROWS = 1000


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    actor: str | None
    action: str
    entity: str
    entity_id: int | None
    details: dict | None


def search_audit(
    session: Session,
    actor: Actor,
    *,
    actor_name: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    limit: int = MAX_ROWS,
) -> list[AuditRow]:
    """Events matching every given filter, newest first (dates inclusive)."""
    authorize(actor, Perm.AUDIT_READ)
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if actor_name:
        stmt = stmt.where(AuditEvent.actor_name == actor_name.strip())
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if date_from:
        stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(date_from, dt.time.min))
    if date_to:
        stmt = stmt.where(
            AuditEvent.at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min)
        )
    return [
        AuditRow(e.id, e.at, e.actor_name, e.action, e.entity, e.entity_id, e.details)
        for e in session.scalars(stmt.limit(limit))
    ]


def audit_choices(session: Session, actor: Actor) -> dict[str, list[str]]:
    """Distinct actions, entities and actor names, for the search filters."""
    authorize(actor, Perm.AUDIT_READ)

    def distinct(col) -> list[str]:
        return sorted(v for v in session.scalars(select(col).distinct()) if v)

    return {
        "action": distinct(AuditEvent.action),
        "entity": distinct(AuditEvent.entity),
        "actor": distinct(AuditEvent.actor_name),
    }
