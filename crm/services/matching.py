"""The matcher fed from the database: OfferIndex cache, learner profiles, suggestions, allocation.

The index is built once per process and database and rebuilt when offers,
companies or placements change (a cheap fingerprint: row counts and latest
``updated_at`` of those tables), so a booking is reflected at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from crm.auth import Actor, Perm, authorize
from crm.errors import NotFound, PermissionDenied
from crm.models import (
    SEAT_HOLDING_STATUSES,
    Company,
    Learner,
    LearnerStatus,
    Offer,
    OfferStatus,
    PartnerStatus,
    Placement,
    PlacementStatus,
    Setting,
    Site,
    split_list,
)
from crm.services._common import get_or_404
from matching import (
    AllocationReport,
    LearnerProfile,
    OfferIndex,
    OfferRecord,
    Suggestion,
    Weights,
    allocate,
    suggest,
)

WEIGHTS_SETTING = "matching.weights"

_cache: dict[tuple[str, dt.date], tuple[tuple, OfferIndex]] = {}
_cache_lock = threading.Lock()


def load_weights(session: Session) -> Weights:
    """Weights from the ``matching.weights`` setting (admin-editable), else the defaults."""
    row = session.get(Setting, WEIGHTS_SETTING)
    if row is None or not isinstance(row.value, dict):
        return Weights()
    known = {f.name for f in dataclasses.fields(Weights)}
    values = {k: v for k, v in row.value.items() if k in known}
    if "project_rank" in values:
        values["project_rank"] = tuple(values["project_rank"])
    return Weights(**values)


def _fingerprint(session: Session) -> tuple:
    parts = []
    for model in (Offer, Company, Placement):
        parts.extend(session.execute(select(func.count(), func.max(model.updated_at))).one())
    return tuple(str(p) for p in parts)


def offer_records(session: Session, today: dt.date) -> list[OfferRecord]:
    """Every offer not over yet, with free seats and its company's track record."""
    holding = [s.value for s in SEAT_HOLDING_STATUSES]
    used = dict(
        session.execute(
            select(Placement.offer_id, func.count())
            .where(Placement.offer_id.is_not(None), Placement.status.in_(holding))
            .group_by(Placement.offer_id)
        ).all()
    )
    done = PlacementStatus.DONE.value
    cancelled = PlacementStatus.CANCELLED.value
    month_start = dt.datetime.combine(today.replace(day=1), dt.time())
    stats: dict[int, dict] = {}
    for row in session.execute(
        select(
            Placement.company_id,
            func.sum(
                case((and_(Placement.status == done, Placement.incident.is_(False)), 1), else_=0)
            ),
            func.sum(
                case(
                    (
                        or_(
                            Placement.incident.is_(True),
                            and_(Placement.status == cancelled, Placement.start_date <= today),
                        ),
                        1,
                    ),
                    else_=0,
                )
            ),
            func.avg(Placement.tutor_rating),
            func.count(Placement.tutor_rating),
            func.sum(case((Placement.created_at >= month_start, 1), else_=0)),
        ).group_by(Placement.company_id)
    ).all():
        company_id, completed, failed, rating, n_ratings, month = row
        stats[company_id] = dict(
            completed_placements=int(completed or 0),
            failed_placements=int(failed or 0),
            mean_tutor_rating=float(rating) if rating is not None else None,
            ratings_count=int(n_ratings or 0),
            monthly_solicitations=int(month or 0),
        )
    rows = session.execute(
        select(Offer, Company)
        .join(Company, Offer.company_id == Company.id)
        .where(or_(Offer.end_date.is_(None), Offer.end_date >= today))
        .order_by(Offer.id)
    ).all()
    out = []
    for offer, company in rows:
        lat = offer.latitude if offer.latitude is not None else company.latitude
        lon = offer.longitude if offer.longitude is not None else company.longitude
        active = (
            offer.status == OfferStatus.OPEN
            and (offer.paused_until is None or offer.paused_until < today)
            and company.status != PartnerStatus.INACTIVE
            and company.is_live
        )
        out.append(
            OfferRecord(
                id=offer.id,
                ref=offer.ref,
                company_id=company.id,
                company_ref=company.ref,
                company_name=company.name,
                latitude=lat,
                longitude=lon,
                rome_codes=tuple(offer.rome_codes),
                title=offer.title or "",
                description=offer.description or "",
                skills=tuple(split_list(offer.skills)),
                start_date=offer.start_date,
                end_date=offer.end_date,
                open_to_minors=bool(offer.open_to_minors),
                free_seats=max(0, offer.seats - used.get(offer.id, 0)),
                active=active,
                **stats.get(company.id, {}),
            )
        )
    return out


def offer_index(session: Session, today: dt.date | None = None) -> OfferIndex:
    """The cached index for this database, rebuilt when offers/companies/placements changed."""
    today = today or dt.date.today()
    key = (str(session.get_bind().url), today)
    fp = _fingerprint(session)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == fp:
            return hit[1]
    index = OfferIndex.build(offer_records(session, today))
    with _cache_lock:
        _cache[key] = (fp, index)
    return index


def learner_profile(session: Session, learner: Learner) -> LearnerProfile:
    excluded = frozenset(
        session.scalars(
            select(Placement.company_id).where(
                Placement.learner_id == learner.id, Placement.incident.is_(True)
            )
        )
    )
    return LearnerProfile(
        id=learner.id,
        ref=learner.ref,
        latitude=learner.latitude,
        longitude=learner.longitude,
        project_codes=tuple(learner.project_codes),
        project_text=learner.project_text or "",
        skills=tuple(learner.skill_list),
        modes=tuple(learner.mobility_modes) or ("transit",),
        max_commute_min=float(learner.max_commute_min or 45),
        available_from=learner.available_from,
        available_to=learner.available_to,
        birth_date=learner.birth_date,
        excluded_company_ids=excluded,
    )


def _learner_in_scope(session: Session, actor: Actor, learner_id: int) -> Learner:
    authorize(actor, Perm.LEARNER_READ)
    learner = get_or_404(session, Learner, learner_id, "Stagiaire")
    authorize(actor, Perm.LEARNER_READ, learner.site_id)
    return learner


def suggestions_for(
    session: Session,
    actor: Actor,
    learner_id: int,
    *,
    top: int = 10,
    today: dt.date | None = None,
    period: tuple[dt.date | None, dt.date | None] | None = None,
    max_minutes: float | None = None,
    job: str | None = None,
    weights: Weights | None = None,
    per_company: int | None = 1,
) -> tuple[LearnerProfile, list[Suggestion]]:
    """Ranked offers for one learner the actor may see; optional page filters.

    ``period`` replaces the availability window, ``max_minutes`` can only lower
    the learner's maximum commute, ``job`` (a ROME code) replaces the project.
    """
    learner = _learner_in_scope(session, actor, learner_id)
    today = today or dt.date.today()
    profile = learner_profile(session, learner)
    changes: dict = {}
    if period is not None:
        changes["available_from"], changes["available_to"] = period
    if max_minutes:
        changes["max_commute_min"] = min(float(max_minutes), profile.max_commute_min)
    if job:
        changes["project_codes"] = (job,)
    if changes:
        profile = dataclasses.replace(profile, **changes)
    index = offer_index(session, today)
    return profile, suggest(
        index,
        profile,
        top=top,
        weights=weights or load_weights(session),
        today=today,
        per_company=per_company,
    )


@dataclass
class CohortAllocation:
    report: AllocationReport
    learner_refs: dict[int, str]
    offer_refs: dict[int, str]
    site: str | None


def awaiting_learners(session: Session, actor: Actor, site_id: int | None = None) -> list[Learner]:
    """Active learners of the actor's sites without a proposed/confirmed/ongoing period."""
    authorize(actor, Perm.LEARNER_READ, site_id)
    busy = select(Placement.learner_id).where(
        Placement.status.in_(
            [
                PlacementStatus.PROPOSED.value,
                PlacementStatus.CONFIRMED.value,
                PlacementStatus.IN_PROGRESS.value,
            ]
        )
    )
    stmt = select(Learner).where(
        Learner.status == LearnerStatus.ACTIVE.value, Learner.id.not_in(busy)
    )
    if site_id is not None:
        stmt = stmt.where(Learner.site_id == site_id)
    elif not actor.is_admin:
        stmt = stmt.where(Learner.site_id.in_(sorted(actor.site_ids)))
    return list(session.scalars(stmt.order_by(Learner.entry_date, Learner.id)))


def allocate_cohort(
    session: Session,
    actor: Actor,
    *,
    site_name: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    top_k: int = 20,
    today: dt.date | None = None,
) -> CohortAllocation:
    """One offer per awaiting learner: optimal (max total score) beside greedy first-come."""
    authorize(actor, Perm.LEARNER_READ)
    today = today or dt.date.today()
    site_id = None
    if site_name:
        site = session.scalar(select(Site).where(Site.name == site_name))
        if site is None:
            raise NotFound(f"Site « {site_name} » introuvable.")
        if not actor.in_scope(site.id):
            raise PermissionDenied()
        site_id = site.id
    learners = awaiting_learners(session, actor, site_id)
    index = offer_index(session, today)
    weights = load_weights(session)
    candidates: dict[int, list[tuple[int, float]]] = {}
    for learner in learners:
        profile = learner_profile(session, learner)
        if date_from or date_to:
            a_from = (
                max(d for d in (profile.available_from, date_from) if d)
                if (profile.available_from or date_from)
                else None
            )
            a_to = (
                min(d for d in (profile.available_to, date_to) if d)
                if (profile.available_to or date_to)
                else None
            )
            profile = dataclasses.replace(profile, available_from=a_from, available_to=a_to)
        got = suggest(index, profile, top=top_k, weights=weights, today=today)
        candidates[learner.id] = [(s.offer_id, s.score) for s in got]
    seats = {int(o): int(n) for o, n in zip(index.offer_id, index.free_seats, strict=True)}
    report = allocate(candidates, seats, order=[lr.id for lr in learners])
    return CohortAllocation(
        report=report,
        learner_refs={lr.id: lr.ref or f"#{lr.id}" for lr in learners},
        offer_refs={o.id: o.ref or f"#{o.id}" for o in index.offers},
        site=site_name,
    )
