"""Placements: booking a seat without overbooking, and the follow-up of a period.

Every booking rule lives in :func:`_check_booking` and every path that makes a
placement hold a seat goes through it: :func:`book_placement` (the trainers' form)
and :func:`upsert_placement` (the placements import). It first takes the locks,
then checks: the offer's lock (PostgreSQL ``SELECT ... FOR UPDATE`` on the offer
row) so that seats are counted by one transaction at a time, and the learner's
lock (``FOR UPDATE`` on the learner row) so that two bookings of one learner on two
offers cannot both pass the overlap check. On SQLite units of work start as
writers (``BEGIN IMMEDIATE``, see crm.db), which serialises them all.
Two trainers booking the last seat at once: one gets the seat, the other a
:class:`CapacityError` in French. The caller must call the service at the start
of its unit of work and commit after.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from crm import audit
from crm.auth import Actor, Perm, authorize
from crm.db import expect_version, is_sqlite
from crm.errors import (
    CapacityError,
    PermissionDenied,
    ValidationError,
)
from crm.labels import PLACEMENT_FIELD_FR, PLACEMENT_STATUS_FR, label
from crm.models import (
    SEAT_HOLDING_STATUSES,
    Company,
    Contact,
    Learner,
    LearnerStatus,
    Offer,
    OfferStatus,
    Outcome,
    PartnerStatus,
    Placement,
    PlacementKind,
    PlacementStatus,
    Site,
    join_list,
    split_list,
)
from crm.services._common import get_or_404

TRANSITIONS: dict[str, frozenset[str]] = {
    PlacementStatus.PROPOSED: frozenset({PlacementStatus.CONFIRMED, PlacementStatus.CANCELLED}),
    PlacementStatus.CONFIRMED: frozenset({PlacementStatus.IN_PROGRESS, PlacementStatus.CANCELLED}),
    PlacementStatus.IN_PROGRESS: frozenset({PlacementStatus.DONE, PlacementStatus.CANCELLED}),
    PlacementStatus.DONE: frozenset(),
    PlacementStatus.CANCELLED: frozenset(),
}


def reachable_statuses(status: str) -> frozenset[str]:
    """Every status a period in ``status`` can reach by one or more :data:`TRANSITIONS`
    (an import may skip steps: a spreadsheet catching up)."""
    seen: set[str] = set()
    todo = [PlacementStatus(status)]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt.value not in seen:
                seen.add(nxt.value)
                todo.append(nxt)
    return frozenset(seen)


def _status_fr(status: str) -> str:
    return label(PLACEMENT_STATUS_FR, status).lower()


# A refusal keyed by placement field, named in French by PLACEMENT_FIELD_FR.
_invalid = functools.partial(ValidationError, labels=PLACEMENT_FIELD_FR)


def _impossible_transition(previous: str, target: str) -> ValidationError:
    return _invalid(
        {"status": f"passage de « {_status_fr(previous)} » à « {_status_fr(target)} » impossible."}
    )


# The usual length of a PMSMP (période de mise en situation en milieu professionnel), in
# days: the end date proposed by default when a trainer books a period.
PMSMP_DAYS = 14

ACTIVE_STATUSES = (
    PlacementStatus.PROPOSED.value,
    PlacementStatus.CONFIRMED.value,
    PlacementStatus.IN_PROGRESS.value,
)


def lock_offer(session: Session, offer_id: int) -> None:
    """Take the offer's write lock for the rest of the transaction."""
    if is_sqlite(session):
        # A write as the first statement takes SQLite's write lock before any read.
        session.execute(
            text("UPDATE offers SET version = version WHERE id = :id"), {"id": offer_id}
        )
    else:
        session.execute(select(Offer.id).where(Offer.id == offer_id).with_for_update())


def lock_learner(session: Session, learner_id: int) -> None:
    """Take the learner's lock (overlap checks) for the rest of the transaction.

    SQLite has one write lock for the whole database: units of work hold it from
    their start (BEGIN IMMEDIATE); a write here takes it in any other transaction.
    """
    if is_sqlite(session):
        session.execute(
            text("UPDATE learners SET version = version WHERE id = :id"), {"id": learner_id}
        )
    else:
        session.execute(select(Learner.id).where(Learner.id == learner_id).with_for_update())


HOLDING_VALUES = frozenset(s.value for s in SEAT_HOLDING_STATUSES)


def _seats_taken(session: Session, offer_id: int, exclude_id: int | None = None) -> int:
    stmt = (
        select(func.count())
        .select_from(Placement)
        .where(Placement.offer_id == offer_id, Placement.status.in_(sorted(HOLDING_VALUES)))
    )
    if exclude_id is not None:
        stmt = stmt.where(Placement.id != exclude_id)
    return session.scalar(stmt)


NO_SEAT_MESSAGE = (
    "Plus de place libre sur cette offre : la dernière place vient d'être prise. "
    "Rien n'a été enregistré ; choisissez une autre offre."
)


def _check_booking(
    session: Session,
    *,
    learner_id: int,
    offer_id: int | None,
    company_id: int | None,
    start: dt.date | None,
    end: dt.date | None,
    placement_id: int | None = None,
) -> tuple[Learner, Offer | None, Company | None]:
    """Every booking rule, under the locks; the one place they live.

    Takes the offer's lock then the learner's lock, reloads both, then refuses
    (:class:`ValidationError`, French, one entry per field) an exited learner, a
    minor on an offer closed to minors, dates reversed or outside the offer's
    window, a period overlapping another active period of the learner, a closed or
    paused offer, an inactive, retired or merged company; and a full offer
    (:class:`CapacityError`). ``placement_id``: the placement being re-booked (an
    import updating it), not counted against itself.
    """
    if offer_id is not None:
        lock_offer(session, offer_id)
    lock_learner(session, learner_id)
    learner = get_or_404(session, Learner, learner_id, "Stagiaire", populate_existing=True)
    offer = None
    if offer_id is not None:
        offer = get_or_404(session, Offer, offer_id, "Offre", populate_existing=True)
        company_id = offer.company_id
    company = session.get(Company, company_id) if company_id is not None else None
    errors: dict[str, str] = {}
    if learner.status != LearnerStatus.ACTIVE:
        errors["learner_id"] = "ce stagiaire n'est plus en parcours."
    if start is None or end is None or end < start:
        errors["dates"] = "la date de fin doit suivre la date de début."
    else:
        if offer is not None and (
            offer.start_date and start < offer.start_date or offer.end_date and end > offer.end_date
        ):
            errors["dates"] = (
                f"hors de la période de l'offre ({offer.start_date:%d/%m/%Y} – "
                f"{offer.end_date:%d/%m/%Y})."
                if offer.start_date and offer.end_date
                else "hors de la période de l'offre."
            )
        age = learner.age_on(start)
        if offer is not None and not offer.open_to_minors and (age is None or age < 18):
            errors["age"] = "cette offre n'accueille pas de mineurs."
        overlap = (
            select(func.count())
            .select_from(Placement)
            .where(
                Placement.learner_id == learner.id,
                Placement.status.in_(ACTIVE_STATUSES),
                Placement.start_date <= end,
                Placement.end_date >= start,
            )
        )
        if placement_id is not None:
            overlap = overlap.where(Placement.id != placement_id)
        if session.scalar(overlap):
            errors["overlap"] = "ce stagiaire a déjà une période sur ces dates."
    if offer is not None and (
        offer.status != OfferStatus.OPEN
        or (offer.paused_until is not None and start is not None and offer.paused_until >= start)
    ):
        errors["offer_id"] = "cette offre n'est pas ouverte (en pause ou fermée)."
    if company is None or company.status == PartnerStatus.INACTIVE or not company.is_live:
        errors["company_id"] = "cette entreprise n'est plus active."
    if errors:
        raise _invalid(errors)
    if offer is not None and _seats_taken(session, offer.id, placement_id) >= offer.seats:
        raise CapacityError(NO_SEAT_MESSAGE)
    return learner, offer, company


def default_period(
    offer_start: dt.date | None,
    offer_end: dt.date | None,
    earliest: dt.date | None = None,
    today: dt.date | None = None,
) -> tuple[dt.date, dt.date]:
    """The period proposed by default: from the first possible day, the usual PMSMP length,
    within the offer's window (``earliest``: e.g. the learner's availability)."""
    today = today or dt.date.today()
    start = max(d for d in (today, offer_start, earliest) if d is not None)
    end = start + dt.timedelta(days=PMSMP_DAYS - 1)
    if offer_end is not None:
        end = max(start, min(end, offer_end))
    return start, end


@dataclass(frozen=True)
class TutorChoice:
    id: int
    name: str
    job_title: str | None
    phone: str | None
    is_tutor: bool


@dataclass(frozen=True)
class BookingOptions:
    """What the booking dialog offers for one offer: its window, free seats and tutors."""

    offer_id: int
    start_date: dt.date | None
    end_date: dt.date | None
    seats: int
    free_seats: int
    default_tutor_id: int | None
    tutors: tuple[TutorChoice, ...]  # the company's active contacts, tutors first


def booking_options(
    session: Session, actor: Actor, offer_ids: list[int]
) -> dict[int, BookingOptions]:
    """Window, free seats and possible tutors of each offer (company data: every role reads it)."""
    authorize(actor, Perm.COMPANY_READ)
    ids = sorted(set(offer_ids))
    if not ids:
        return {}
    offers = list(session.scalars(select(Offer).where(Offer.id.in_(ids))))
    taken = dict(
        session.execute(
            select(Placement.offer_id, func.count())
            .where(
                Placement.offer_id.in_(ids),
                Placement.status.in_([st.value for st in SEAT_HOLDING_STATUSES]),
            )
            .group_by(Placement.offer_id)
        ).all()
    )
    company_ids = {o.company_id for o in offers}
    contacts: dict[int, list[TutorChoice]] = {}
    for c in session.scalars(
        select(Contact)
        .where(Contact.company_id.in_(company_ids), Contact.is_active.is_(True))
        .order_by(Contact.is_tutor.desc(), Contact.last_name, Contact.id)
    ):
        contacts.setdefault(c.company_id, []).append(
            TutorChoice(c.id, c.full_name, c.job_title, c.phone, bool(c.is_tutor))
        )
    return {
        o.id: BookingOptions(
            offer_id=o.id,
            start_date=o.start_date,
            end_date=o.end_date,
            seats=o.seats,
            free_seats=max(0, o.seats - taken.get(o.id, 0)),
            default_tutor_id=o.tutor_id,
            tutors=tuple(contacts.get(o.company_id, [])),
        )
        for o in offers
    }


def book_placement(
    session: Session,
    actor: Actor,
    learner_id: int,
    offer_id: int,
    start: dt.date,
    end: dt.date,
    kind: str = PlacementKind.PMSMP.value,
    tutor_id: int | None = None,
) -> Placement:
    """Propose ``learner_id`` on ``offer_id`` from ``start`` to ``end``, taking one seat.

    ``tutor_id``: a contact of the offer's company (default: the offer's tutor).
    """
    authorize(actor, Perm.PLACEMENT_WRITE)
    lock_offer(session, offer_id)  # before any read (SQLite: a write takes the lock)
    learner = get_or_404(session, Learner, learner_id, "Stagiaire")
    authorize(actor, Perm.PLACEMENT_WRITE, learner.site_id)
    learner, offer, _company = _check_booking(
        session, learner_id=learner_id, offer_id=offer_id, company_id=None, start=start, end=end
    )
    if tutor_id is not None:
        tutor = session.get(Contact, tutor_id)
        if tutor is None or tutor.company_id != offer.company_id or not tutor.is_active:
            raise _invalid({"tutor_id": "choisissez un contact actif de cette entreprise."})
    placement = Placement(
        learner_id=learner.id,
        offer_id=offer.id,
        company_id=offer.company_id,
        tutor_id=tutor_id if tutor_id is not None else offer.tutor_id,
        kind=PlacementKind(kind).value,
        rome_code=offer.rome_code,
        start_date=start,
        end_date=end,
        status=PlacementStatus.PROPOSED.value,
        booked_by_id=actor.user_id,
    )
    session.add(placement)
    session.flush()
    audit.record(
        session,
        actor,
        "placement.book",
        "placement",
        placement.id,
        learner_id=learner.id,
        offer_id=offer.id,
    )
    return placement


def _load(session: Session, actor: Actor, placement_id: int, expected_version: int | None):
    authorize(actor, Perm.PLACEMENT_WRITE)
    placement = get_or_404(session, Placement, placement_id, "Période")
    learner = session.get(Learner, placement.learner_id)
    authorize(actor, Perm.PLACEMENT_WRITE, learner.site_id)
    expect_version(placement, expected_version)
    return placement


def change_status(
    session: Session,
    actor: Actor,
    placement_id: int,
    new_status: str,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
    override_reason: str | None = None,
    correct_history: bool = False,
) -> Placement:
    """proposed → confirmed → in_progress → done; any of the first three → cancelled (with a reason).

    "en cours" needs a signed convention (``override_reason``: an admin forces it, audited).
    The dates decide too: « en cours » only from the start date, « terminée » only
    from the end date. An admin correcting history passes ``correct_history=True``
    (recorded in the audit trail).
    """
    placement = _load(session, actor, placement_id, expected_version)
    _check_correction(actor, correct_history)
    try:
        target = PlacementStatus(new_status)
    except ValueError:
        raise _invalid({"status": f"statut inconnu « {new_status} »."}) from None
    if target not in TRANSITIONS[PlacementStatus(placement.status)]:
        raise _impossible_transition(placement.status, target.value)
    if target == PlacementStatus.CANCELLED:
        reason = (reason or "").strip()
        if not reason:
            raise _invalid({"cancel_reason": "indiquez le motif de l'annulation."})
        placement.cancel_reason = reason[:300]
    if not correct_history:
        _check_status_dates(target.value, placement.start_date, placement.end_date)
    if target == PlacementStatus.IN_PROGRESS:
        from crm.services import paperwork

        paperwork.ensure_signed_for_start(
            session, actor, placement.id, override_reason=override_reason
        )
    previous = placement.status
    placement.status = target.value
    session.flush()
    extra = {"corrected_history": True} if correct_history else {}
    audit.record(
        session,
        actor,
        "placement.status",
        "placement",
        placement.id,
        from_status=previous,
        to_status=target.value,
        **extra,
    )
    return placement


def _check_correction(actor: Actor, correct_history: bool) -> None:
    if correct_history and not actor.is_admin:
        raise PermissionDenied("Seul un administrateur peut corriger l'historique d'une période.")


def status_date_refusal(
    status: str, start: dt.date | None, end: dt.date | None, today: dt.date | None = None
) -> str | None:
    """Why the dates forbid ``status`` today (French), else None: « en cours » only from
    the start date, « terminée » only from the end date."""
    today = today or dt.date.today()
    if status == PlacementStatus.IN_PROGRESS and start is not None and today < start:
        return f"la période ne commence que le {start:%d/%m/%Y} : pas encore « en cours »."
    if status == PlacementStatus.DONE and end is not None and today < end:
        return f"la période se termine le {end:%d/%m/%Y} : pas encore « terminée »."
    return None


def _check_status_dates(status: str, start: dt.date | None, end: dt.date | None) -> None:
    if refusal := status_date_refusal(status, start, end):
        raise _invalid({"status": refusal})


def evaluation_refusal(
    status: str, end: dt.date | None, today: dt.date | None = None
) -> str | None:
    """Why the tutor's rating and the outcome cannot be entered yet (French), else None:
    only for a period in progress or done, and from its end date."""
    if status not in (PlacementStatus.IN_PROGRESS, PlacementStatus.DONE):
        return "l'évaluation et la sortie se saisissent pendant ou après la période."
    if end is not None and (today or dt.date.today()) < end:
        return (
            f"l'évaluation et la sortie se saisissent à partir de la fin de la période "
            f"({end:%d/%m/%Y})."
        )
    return None


def record_follow_up(
    session: Session,
    actor: Actor,
    placement_id: int,
    *,
    tutor_rating: int | None = None,
    tutor_feedback: str | None = None,
    skills_observed=None,
    incident: bool | None = None,
    outcome: str | None = None,
    expected_version: int | None = None,
    correct_history: bool = False,
) -> Placement:
    """Tutor evaluation (1-5 and feedback), skills observed, incident flag, outcome.

    Every field is optional: what is not given (None) is left as it is, never
    defaulted (no rating is stored unless the tutor gave one). The rating and the
    outcome are taken from the end date of the period (an admin correcting history
    passes ``correct_history=True``, recorded in the audit trail).
    """
    placement = _load(session, actor, placement_id, expected_version)
    _check_correction(actor, correct_history)
    errors: dict[str, str] = {}
    if tutor_rating is not None and not (isinstance(tutor_rating, int) and 1 <= tutor_rating <= 5):
        errors["tutor_rating"] = "une note de 1 à 5."
    if outcome not in (None, ""):
        try:
            outcome = Outcome(outcome).value
        except ValueError:
            errors["outcome"] = f"valeur inconnue « {outcome} »."
    if tutor_rating is not None or outcome:
        refusal = evaluation_refusal(
            placement.status, None if correct_history else placement.end_date
        )
        if refusal:
            errors["status"] = refusal
    if errors:
        raise _invalid(errors)
    changed = []
    updates = {
        "tutor_rating": tutor_rating,
        "tutor_feedback": tutor_feedback.strip() if isinstance(tutor_feedback, str) else None,
        "skills_observed": join_list(
            split_list(skills_observed) if isinstance(skills_observed, str) else skills_observed
        )
        if skills_observed is not None
        else None,
        "incident": incident,
        "outcome": outcome or None,
    }
    for key, value in updates.items():
        if value is None and key != "outcome":
            continue
        if key == "outcome" and outcome is None:
            continue
        if getattr(placement, key) != value:
            setattr(placement, key, value)
            changed.append(key)
    if changed:
        session.flush()
        extra = {"corrected_history": True} if correct_history else {}
        audit.record(
            session,
            actor,
            "placement.follow_up",
            "placement",
            placement.id,
            fields=sorted(changed),
            **extra,
        )
    return placement


_STARTED = frozenset({PlacementStatus.IN_PROGRESS.value, PlacementStatus.DONE.value})


def _check_imported_status(
    session: Session, actor: Actor, existing: Placement | None, status: str
) -> None:
    """The status rules of :func:`change_status`, for a period written by an import.

    - A closed period (terminée, annulée) keeps its status; a period never goes back.
    - Cancelling needs a reason: it is done on the period's page, not by a file.
    - Starting (« en cours », or « terminée » for a period not started yet) needs the signed
      convention (:func:`crm.services.paperwork.ensure_signed_for_start`; no override by file).
    - A NEW period may be imported « terminée » or « annulée » (history kept before
      Passerelle) but not « en cours »: its convention cannot be signed yet.
    """
    if existing is None:
        if status == PlacementStatus.IN_PROGRESS.value:
            raise _invalid(
                {
                    "status": "une nouvelle période ne peut pas être importée « en cours » : "
                    "sa convention doit d'abord être signée. Importez-la « confirmée », "
                    "faites signer la convention, puis passez-la « en cours »."
                }
            )
        return
    previous = existing.status
    if status == previous:
        return
    if status not in reachable_statuses(previous):
        raise _impossible_transition(previous, status)  # closed, or backwards
    if status == PlacementStatus.CANCELLED.value:
        raise _invalid(
            {
                "status": "une annulation demande un motif : annulez la période depuis sa "
                "fiche (Suivi des périodes), pas par un import."
            }
        )
    if status in _STARTED and previous not in _STARTED:
        from crm.services import paperwork

        paperwork.ensure_signed_for_start(session, actor, existing.id)


def upsert_placement(
    session: Session,
    actor: Actor,
    *,
    ref: str | None,
    learner_id: int,
    company_id: int,
    offer_id: int | None = None,
    start_date: dt.date | None,
    end_date: dt.date | None,
    status: str = PlacementStatus.PROPOSED.value,
    kind: str = PlacementKind.PMSMP.value,
    rome_code: str | None = None,
) -> str:
    """Create or update (by ``ref``) a placement, as the placements import does.

    Returns "created", "updated" or "unchanged". The actor needs the placement
    right on the learner's site AND, when ``ref`` exists, on the site of the
    existing placement's learner (a trainer never rewrites another site's period).
    A placement that holds a seat (proposed, confirmed, en cours, terminée) goes
    through the booking rules and locks of :func:`book_placement`
    (:func:`_check_booking`); a closed period (terminée) is history: the learner's
    and company's current state do not matter, its dates, the offer's seats and
    the learner's other periods do. Status and dates: as :func:`change_status`.
    """
    authorize(actor, Perm.PLACEMENT_WRITE)
    learner = get_or_404(session, Learner, learner_id, "Stagiaire")
    authorize(actor, Perm.PLACEMENT_WRITE, learner.site_id)
    existing = session.scalar(select(Placement).where(Placement.ref == ref)) if ref else None
    if existing is not None:
        owner = session.get(Learner, existing.learner_id)
        authorize(actor, Perm.PLACEMENT_WRITE, owner.site_id)
    errors: dict[str, str] = {}
    try:
        status = PlacementStatus(status).value
    except ValueError:
        errors["status"] = f"statut inconnu « {status} »."
    try:
        kind = PlacementKind(kind).value
    except ValueError:
        errors["kind"] = f"type de période inconnu « {kind} »."
    offer = session.get(Offer, offer_id) if offer_id is not None else None
    if offer_id is not None and (offer is None or offer.company_id != company_id):
        errors["offer_id"] = "offre inconnue pour cette entreprise."
    if session.get(Company, company_id) is None:
        errors["company_id"] = "entreprise inconnue."
    if start_date is None or end_date is None:
        errors["dates"] = "les dates de début et de fin sont obligatoires."
    elif end_date < start_date:
        errors["dates"] = "la date de fin doit suivre la date de début."
    if errors:
        raise _invalid(errors)
    _check_status_dates(status, start_date, end_date)
    _check_imported_status(session, actor, existing, status)
    values = {
        "learner_id": learner.id,
        "company_id": company_id,
        "offer_id": offer_id,
        "kind": kind,
        "rome_code": rome_code or (offer.rome_code if offer is not None else None),
        "start_date": start_date,
        "end_date": end_date,
        "status": status,
    }
    if existing is not None and all(getattr(existing, k) == val for k, val in values.items()):
        return "unchanged"
    if status in HOLDING_VALUES:
        _check_booking_for_import(session, values, existing)
    if existing is None:
        placement = Placement(ref=ref, booked_by_id=actor.user_id, **values)
        session.add(placement)
        session.flush()
        audit.record(session, actor, "import_create", "placement", placement.id)
        return "created"
    changed = sorted(k for k, val in values.items() if getattr(existing, k) != val)
    for k in changed:
        setattr(existing, k, values[k])
    session.flush()
    audit.record(session, actor, "import_update", "placement", existing.id, fields=changed)
    return "updated"


def _check_booking_for_import(session: Session, values: dict, existing: Placement | None) -> None:
    """The booking rules for an imported seat-holding placement (history: see upsert_placement)."""
    try:
        _check_booking(
            session,
            learner_id=values["learner_id"],
            offer_id=values["offer_id"],
            company_id=values["company_id"],
            start=values["start_date"],
            end=values["end_date"],
            placement_id=existing.id if existing is not None else None,
        )
    except ValidationError as exc:
        if values["status"] != PlacementStatus.DONE:
            raise
        # A finished period is history: only the rules that held when it was booked.
        kept = {k: m for k, m in exc.errors.items() if k in ("dates", "age", "overlap")}
        if kept:
            raise _invalid(kept) from None
        offer_id = values["offer_id"]
        if offer_id is not None:
            offer = session.get(Offer, offer_id)
            taken = _seats_taken(session, offer_id, existing.id if existing else None)
            if taken >= offer.seats:
                raise CapacityError(NO_SEAT_MESSAGE) from None


@dataclass
class PlacementRow:
    id: int
    version: int
    learner_id: int
    learner_name: str
    learner_ref: str | None
    site: str
    company_id: int
    company: str
    offer_id: int | None
    title: str | None
    rome_code: str | None
    start_date: dt.date
    end_date: dt.date
    status: str
    tutor_rating: int | None
    tutor_feedback: str | None
    skills_observed: str
    incident: bool
    outcome: str | None
    cancel_reason: str | None


def list_placements(
    session: Session,
    actor: Actor,
    *,
    site_id: int | None = None,
    status: str | list[str] | None = None,
    learner_id: int | None = None,
) -> list[PlacementRow]:
    """Placements of the actor's sites' learners (officers, trainers, managers, admins).

    Rows carry only what placing needs (learner name and reference, company, dates,
    status, tutor's evaluation): no support notes, no birth date.
    """
    authorize(actor, Perm.PLACEMENT_READ, site_id)
    stmt = (
        select(Placement, Learner, Company.name, Offer.title, Site.name)
        .join(Learner, Placement.learner_id == Learner.id)
        .join(Company, Placement.company_id == Company.id)
        .join(Site, Learner.site_id == Site.id)
        .outerjoin(Offer, Placement.offer_id == Offer.id)
        .order_by(Placement.start_date.desc(), Placement.id.desc())
    )
    if site_id is not None:
        stmt = stmt.where(Learner.site_id == site_id)
    elif not actor.is_admin:
        stmt = stmt.where(Learner.site_id.in_(sorted(actor.site_ids)))
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        stmt = stmt.where(Placement.status.in_(statuses))
    if learner_id is not None:
        stmt = stmt.where(Placement.learner_id == learner_id)
    return [
        PlacementRow(
            id=p.id,
            version=p.version,
            learner_id=lr.id,
            learner_name=f"{lr.first_name} {lr.last_name}",
            learner_ref=lr.ref,
            site=site_name,
            company_id=p.company_id,
            company=company_name,
            offer_id=p.offer_id,
            title=title,
            rome_code=p.rome_code,
            start_date=p.start_date,
            end_date=p.end_date,
            status=p.status,
            tutor_rating=p.tutor_rating,
            tutor_feedback=p.tutor_feedback,
            skills_observed=p.skills_observed or "",
            incident=bool(p.incident),
            outcome=p.outcome,
            cancel_reason=p.cancel_reason,
        )
        for p, lr, company_name, title, site_name in session.execute(stmt).all()
    ]
