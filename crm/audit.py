"""Append-only audit trail. Record ids and field names, never personal values."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.actor import Actor
from crm.models import AuditEvent


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None = None,
    **details,
) -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change)."""
    event = AuditEvent(
        actor_id=actor.user_id,
        actor_name=actor.username,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details or None,
    )
    session.add(event)
    return event
