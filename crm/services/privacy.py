"""Personal-data protection: a learner's data export (access requests) and the retention purge.

See docs/DATA_PROTECTION.md for the fields kept and why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from crm import audit
from crm.auth import Actor, Perm, authorize
from crm.errors import NotFound
from crm.geo.geocoding import address_key
from crm.models import (
    AuditEvent,
    GeocodeCache,
    GeoPrecision,
    Learner,
    LearnerStatus,
    Placement,
    utcnow,
)
from crm.services._common import get_or_404, months_before
from crm.services.settings import RETENTION_MONTHS, get_setting

ANONYMOUS_FIRST_NAME = "Anonyme"

LEARNER_EXPORT_FIELDS = (
    "id", "ref", "first_name", "last_name", "birth_date", "entry_date", "exit_date",
    "exit_outcome", "project_rome_1", "project_rome_2", "project_rome_3", "project_text",
    "skills", "mobility", "max_commute_min", "available_from", "available_to", "status",
    "support_notes", "address", "postcode", "city", "latitude", "longitude", "geo_precision",
    "anonymised_at", "created_at", "updated_at",
)  # fmt: skip
PLACEMENT_EXPORT_FIELDS = (
    "id", "ref", "kind", "rome_code", "start_date", "end_date", "status", "tutor_rating",
    "tutor_feedback", "skills_observed", "incident", "outcome", "cancel_reason",
    "created_at", "updated_at",
)  # fmt: skip


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _get_learner(session: Session, learner_id: int) -> Learner:
    learner = get_or_404(session, Learner, learner_id, "Apprenant(e)")
    return learner


def learner_id_for_ref(session: Session, ref: str) -> int:
    learner_id = session.scalar(select(Learner.id).where(Learner.ref == ref))
    if learner_id is None:
        raise NotFound(f"Aucun(e) apprenant(e) avec la référence « {ref} ».")
    return learner_id


def export_learner_data(session: Session, actor: Actor, learner_id: int) -> dict:
    """Everything Passerelle holds on one learner (JSON-serialisable), for an access request."""
    learner = _get_learner(session, learner_id)
    authorize(actor, Perm.LEARNER_EXPORT, learner.site_id)
    placements = list(
        session.scalars(
            select(Placement)
            .where(Placement.learner_id == learner.id)
            .order_by(Placement.start_date)
        )
    )
    placement_ids = [p.id for p in placements]
    audit_ids = list(
        session.scalars(
            select(AuditEvent.id)
            .where(
                or_(
                    (AuditEvent.entity == "learner") & (AuditEvent.entity_id == learner.id),
                    (AuditEvent.entity == "placement") & AuditEvent.entity_id.in_(placement_ids),
                )
            )
            .order_by(AuditEvent.id)
        )
    )
    profile = {name: _json(getattr(learner, name)) for name in LEARNER_EXPORT_FIELDS}
    profile["site"] = learner.site.name if learner.site else None
    profile["referent"] = learner.referent.display_name if learner.referent else None
    data = {
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "profile": profile,
        "placements": [
            {
                **{name: _json(getattr(p, name)) for name in PLACEMENT_EXPORT_FIELDS},
                "company": p.company.name if p.company else None,
                "offer_id": p.offer_id,
            }
            for p in placements
        ],
        "audit_event_ids": audit_ids,
    }
    from crm.services.paperwork import export_for_learner

    data["paperwork"] = export_for_learner(session, learner.id)
    audit.record(session, actor, "export", "learner", learner.id, placements=len(placements))
    return data


# --------------------------------------------------------------------------- retention purge


def department_of(postcode: str | None) -> str | None:
    """The département code of a French postcode ("83000" -> "83", "97400" -> "974", Corsica "20")."""
    if not postcode or len(postcode) < 2:
        return None
    return postcode[:3] if postcode.startswith("97") else postcode[:2]


@dataclass
class PurgeReport:
    months: int
    cutoff: dt.date
    candidates: int
    by_site: dict[str, int] = field(default_factory=dict)
    applied: bool = False


def anonymise(learner: Learner, now: dt.datetime) -> None:
    """Erase a learner's personal data in place; what statistics use stays."""
    learner.first_name = ANONYMOUS_FIRST_NAME
    learner.last_name = f"n° {learner.id}"
    learner.ref = None
    if learner.birth_date is not None:
        learner.birth_date = dt.date(learner.birth_date.year, 1, 1)
    learner.address = None
    learner.city = None
    learner.postcode = department_of(learner.postcode)
    learner.latitude = None
    learner.longitude = None
    learner.geo_precision = GeoPrecision.NONE.value
    learner.project_text = None
    learner.support_notes = None
    learner.available_from = None
    learner.available_to = None
    learner.status = LearnerStatus.ANONYMISED.value
    learner.anonymised_at = now


def purge_learners(
    session: Session,
    actor: Actor,
    *,
    months: int | None = None,
    today: dt.date | None = None,
    apply: bool = False,
) -> PurgeReport:
    """Anonymise learners whose exit is older than the retention period.

    Idempotent (already anonymised learners are skipped). With ``apply=False`` nothing
    is changed: the report only counts. Placements keep their dates, company, job,
    status, rating and outcome; their free-text fields (tutor feedback, cancel reason)
    are erased as they may describe the learner.
    """
    authorize(actor, Perm.PURGE)
    months = int(months if months is not None else get_setting(session, RETENTION_MONTHS))
    if months < 1:
        from crm.errors import ValidationError

        raise ValidationError(
            {"retention_months": "la durée de conservation doit être d'au moins 1 mois."}
        )
    today = today or dt.date.today()
    cutoff = months_before(today, months)
    learners = list(
        session.scalars(
            select(Learner)
            .where(
                Learner.exit_date.is_not(None),
                Learner.exit_date < cutoff,
                Learner.anonymised_at.is_(None),
            )
            .order_by(Learner.id)
        )
    )
    report = PurgeReport(months=months, cutoff=cutoff, candidates=len(learners))
    for learner in learners:
        name = learner.site.name if learner.site else "-"
        report.by_site[name] = report.by_site.get(name, 0) + 1
    if not apply or not learners:
        report.applied = apply
        return report
    now = utcnow()
    ids = [learner.id for learner in learners]
    old_refs = {learner.id: learner.ref for learner in learners if learner.ref}
    cache_keys = {
        address_key(learner.address, learner.postcode, learner.city)
        for learner in learners
        if learner.address
    }
    for learner in learners:
        anonymise(learner, now)
    for placement in session.scalars(select(Placement).where(Placement.learner_id.in_(ids))):
        placement.tutor_feedback = None
        placement.cancel_reason = None
        old_ref = old_refs.get(placement.learner_id)
        if placement.ref and old_ref and old_ref in placement.ref:
            # e.g. DEMO-L0003-S1: the learner's reference must not survive in it.
            placement.ref = placement.ref.replace(old_ref, f"ANON-{placement.learner_id}")
    cache_keys.discard("")
    removed_cache = 0
    if cache_keys:
        removed_cache = session.execute(
            delete(GeocodeCache).where(GeocodeCache.query_key.in_(sorted(cache_keys)))
        ).rowcount
    from crm.services.paperwork import purge_for_learners

    scans = purge_for_learners(session, ids)  # scans deleted, legal representatives erased
    audit.record(
        session,
        actor,
        "anonymise",
        "learner",
        None,
        learner_ids=ids,
        months=months,
        cutoff=cutoff.isoformat(),
        scans_deleted=scans,
        geocode_cache_removed=removed_cache,
    )
    session.flush()
    report.applied = True
    return report
