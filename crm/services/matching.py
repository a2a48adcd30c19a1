"""The matcher fed from the database: OfferIndex cache, learner profiles, suggestions, allocation.

The index is built once per process and database and rebuilt when offers,
companies or placements change (a cheap fingerprint: row counts and latest
``updated_at`` of those tables), so a booking is reflected at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
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
    # Plain column rows, not ORM objects: at 50k offers the ORM identity map and
    # attribute instrumentation cost several times the index build itself.
    rows = session.execute(
        select(
            Offer.id,
            Offer.ref,
            Offer.latitude,
            Offer.longitude,
            Offer.rome_code,
            Offer.other_rome_codes,
            Offer.title,
            Offer.description,
            Offer.skills,
            Offer.start_date,
            Offer.end_date,
            Offer.open_to_minors,
            Offer.seats,
            Offer.status,
            Offer.paused_until,
            Company.id,
            Company.ref,
            Company.name,
            Company.latitude,
            Company.longitude,
            Company.status,
            Company.is_live,
        )
        .join(Company, Offer.company_id == Company.id)
        .where(or_(Offer.end_date.is_(None), Offer.end_date >= today))
        .order_by(Offer.id)
    )
    open_status = OfferStatus.OPEN.value
    inactive = PartnerStatus.INACTIVE.value
    out = []
    for (
        o_id,
        o_ref,
        o_lat,
        o_lon,
        rome_code,
        other_codes,
        title,
        description,
        skills,
        start_date,
        end_date,
        minors,
        seats,
        o_status,
        paused_until,
        c_id,
        c_ref,
        c_name,
        c_lat,
        c_lon,
        c_status,
        c_live,
    ) in rows:
        active = (
            o_status == open_status
            and (paused_until is None or paused_until < today)
            and c_status != inactive
            and bool(c_live)
        )
        out.append(
            OfferRecord(
                id=o_id,
                ref=o_ref,
                company_id=c_id,
                company_ref=c_ref,
                company_name=c_name,
                latitude=o_lat if o_lat is not None else c_lat,
                longitude=o_lon if o_lon is not None else c_lon,
                rome_codes=(rome_code, *[c for c in (other_codes or "").split(";") if c]),
                title=title or "",
                description=description or "",
                skills=tuple(split_list(skills)),
                start_date=start_date,
                end_date=end_date,
                open_to_minors=bool(minors),
                free_seats=max(0, seats - used.get(o_id, 0)),
                active=active,
                **stats.get(c_id, {}),
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


def _transit_timetable():
    """Scheduled transit times from ``PASSERELLE_GTFS`` (zip paths), None when unset (cached)."""
    import os

    from matching.gtfs import load_timetable, split_paths

    return load_timetable(split_paths(os.environ.get("PASSERELLE_GTFS")))


def _profile(learner: Learner, excluded: frozenset[int]) -> LearnerProfile:
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


def learner_profiles(session: Session, learners: list[Learner]) -> list[LearnerProfile]:
    """Profiles of many learners with one query for the companies each must not be sent to
    (a past placement there ended in an incident)."""
    excluded: dict[int, set[int]] = {}
    ids = [lr.id for lr in learners]
    # Chunked IN lists: SQLite's bound-parameter limit, and PostgreSQL plans stay small.
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        for learner_id, company_id in session.execute(
            select(Placement.learner_id, Placement.company_id).where(
                Placement.learner_id.in_(chunk), Placement.incident.is_(True)
            )
        ):
            excluded.setdefault(learner_id, set()).add(company_id)
    return [_profile(lr, frozenset(excluded.get(lr.id, ()))) for lr in learners]


def learner_profile(session: Session, learner: Learner) -> LearnerProfile:
    return learner_profiles(session, [learner])[0]


@dataclass(frozen=True)
class MatchingRun:
    """What a batch of suggestions shares: the offer index (freshness checked once),
    the weights, the reference date and the transit timetable (``PASSERELLE_GTFS``).
    A command matching a whole cohort builds one run instead of re-checking the index
    fingerprint for every learner."""

    index: OfferIndex
    weights: Weights
    today: dt.date
    timetable: object | None = None


def matching_run(session: Session, today: dt.date | None = None) -> MatchingRun:
    today = today or dt.date.today()
    return MatchingRun(
        offer_index(session, today), load_weights(session), today, _transit_timetable()
    )


# A learner with no availability end date: suggestions look this many days ahead.
SEARCH_WINDOW_DAYS = 90


def search_window(learner: Learner, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The period the suggestions search by default: the learner's availability, never
    before today, ending ``SEARCH_WINDOW_DAYS`` after its start when it has no end."""
    today = today or dt.date.today()
    start = max(learner.available_from or today, today)
    end = learner.available_to or start + dt.timedelta(days=SEARCH_WINDOW_DAYS)
    return start, max(start, end)


def _learner_in_scope(session: Session, actor: Actor, learner_id: int) -> Learner:
    authorize(actor, Perm.LEARNER_READ)
    learner = get_or_404(session, Learner, learner_id, "Stagiaire")
    authorize(actor, Perm.LEARNER_READ, learner.site_id)
    return learner


def _apply_filters(
    profile: LearnerProfile,
    period: tuple[dt.date | None, dt.date | None] | None,
    max_minutes: float | None,
    job: str | None,
) -> LearnerProfile:
    changes: dict = {}
    if period is not None:
        changes["available_from"], changes["available_to"] = period
    if max_minutes:
        changes["max_commute_min"] = min(float(max_minutes), profile.max_commute_min)
    if job:
        changes["project_codes"] = (job,)
    return dataclasses.replace(profile, **changes) if changes else profile


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
    run = matching_run(session, today)
    profile = _apply_filters(learner_profile(session, learner), period, max_minutes, job)
    return profile, suggest(
        run.index,
        profile,
        top=top,
        weights=weights or run.weights,
        today=run.today,
        per_company=per_company,
        timetable=run.timetable,
    )


def cohort_suggestions(
    session: Session,
    actor: Actor,
    learners: list[Learner],
    *,
    top: int = 10,
    today: dt.date | None = None,
    per_company: int | None = 1,
) -> Iterator[tuple[Learner, list[Suggestion]]]:
    """Suggestions for many learners (``passerelle match --all``): the same ranking as
    :func:`suggestions_for`, with one scope check per site, one freshness check of the
    index and one query for every learner's exclusions."""
    authorize(actor, Perm.LEARNER_READ)
    for site_id in {lr.site_id for lr in learners}:
        authorize(actor, Perm.LEARNER_READ, site_id)
    run = matching_run(session, today)
    for learner, profile in zip(learners, learner_profiles(session, learners), strict=True):
        yield (
            learner,
            suggest(
                run.index,
                profile,
                top=top,
                weights=run.weights,
                today=run.today,
                per_company=per_company,
                timetable=run.timetable,
            ),
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
    run = matching_run(session, today)
    index, weights = run.index, run.weights
    candidates: dict[int, list[tuple[int, float]]] = {}
    for learner, profile in zip(learners, learner_profiles(session, learners), strict=True):
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
        got = suggest(
            index, profile, top=top_k, weights=weights, today=today, timetable=run.timetable
        )
        candidates[learner.id] = [(s.offer_id, s.score) for s in got]
    seats = {int(o): int(n) for o, n in zip(index.offer_id, index.free_seats, strict=True)}
    report = allocate(candidates, seats, order=[lr.id for lr in learners])
    return CohortAllocation(
        report=report,
        learner_refs={lr.id: lr.ref or f"#{lr.id}" for lr in learners},
        offer_refs={o.id: o.ref or f"#{o.id}" for o in index.offers},
        site=site_name,
    )
