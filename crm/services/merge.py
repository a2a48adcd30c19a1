"""Duplicate pairs over the database and merging two company records."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from crm import audit
from crm.auth import Actor, Perm, authorize
from crm.dedupe import DEFAULT_THRESHOLD, DuplicatePair, company_records, find_duplicates
from crm.errors import ValidationError
from crm.models import (
    Company,
    CompanyStatusChange,
    Contact,
    Interaction,
    Offer,
    PartnerStatus,
    Placement,
    utcnow,
)
from crm.services._common import get_or_404
from crm.services.companies import COMPANY_FIELDS

# When merging, the kept record takes the most advanced of the two statuses.
_STATUS_RANK = {
    PartnerStatus.INACTIVE.value: 0,
    PartnerStatus.PROSPECT.value: 1,
    PartnerStatus.CONTACTED.value: 2,
    PartnerStatus.PARTNER.value: 3,
}
# Fields the kept record takes from the retired one when it has none: every company field
# except its identity (ref, name), its status (ranked above) and free-text notes (appended).
FILLABLE = tuple(f for f in COMPANY_FIELDS if f not in ("ref", "name", "status", "notes"))


def duplicate_pairs(
    session: Session, actor: Actor, threshold: float = DEFAULT_THRESHOLD
) -> tuple[list[dict], list[DuplicatePair]]:
    """Records and their candidate duplicate pairs (best first) the actor may merge."""
    authorize(actor, Perm.COMPANY_READ)
    records = company_records(session)
    pairs = [
        p
        for p in find_duplicates(records, threshold)
        if actor.in_scope(records[p.a]["site_id"]) and actor.in_scope(records[p.b]["site_id"])
    ]
    return records, pairs


def merge_companies(session: Session, actor: Actor, keep_id: int, drop_id: int) -> Company:
    """Move everything of ``drop_id`` to ``keep_id`` and retire ``drop_id``.

    Contacts, interactions, offers and placements move; blank fields of the kept
    record are filled from the other; both status histories stay (the retired
    record keeps its own rows, pointing at the kept one through merged_into_id).
    """
    if keep_id == drop_id:
        raise ValidationError({"merge": "Choisissez deux fiches différentes."})
    keep = get_or_404(session, Company, keep_id, "Entreprise")
    drop = get_or_404(session, Company, drop_id, "Entreprise")
    authorize(actor, Perm.COMPANY_MERGE, keep.site_id)
    authorize(actor, Perm.COMPANY_MERGE, drop.site_id)
    for c in (keep, drop):
        if not c.is_live:
            raise ValidationError({"merge": f"« {c.name} » est déjà fusionnée ou retirée."})
    moved = {}
    for model in (Contact, Interaction, Offer, Placement):
        result = session.execute(
            update(model)
            .where(model.company_id == drop.id)
            .values(company_id=keep.id)
            .execution_options(synchronize_session="fetch")
        )
        moved[model.__tablename__] = result.rowcount
    filled = []
    for f in FILLABLE:
        if getattr(keep, f) in (None, "") and getattr(drop, f) not in (None, ""):
            setattr(keep, f, getattr(drop, f))
            filled.append(f)
    if "latitude" in filled:
        keep.geo_precision = drop.geo_precision
    if drop.notes:
        keep.notes = f"{keep.notes}\n{drop.notes}" if keep.notes else drop.notes
    if _STATUS_RANK.get(drop.status, 0) > _STATUS_RANK.get(keep.status, 0):
        session.add(
            CompanyStatusChange(
                company_id=keep.id,
                from_status=keep.status,
                to_status=drop.status,
                changed_by_id=actor.user_id,
                reason=f"fusion avec la fiche {drop.id}",
            )
        )
        keep.status = drop.status
    drop.merged_into_id = keep.id
    drop.retired_at = utcnow()
    session.flush()
    audit.record(
        session, actor, "merge", "company", keep.id, merged_id=drop.id, moved=moved, filled=filled
    )
    return keep
