"""Hosting capacity (offers) and seat usage.

Seats used always come from placements (never typed by hand): a placement in a
seat-holding status that overlaps the offer's period holds one seat.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from crm import audit
from crm import validation as v
from crm.auth import Actor, Perm, authorize
from crm.errors import ConcurrentEditError, ValidationError
from crm.labels import OFFER_FIELD_FR
from crm.models import (
    SEAT_HOLDING_STATUSES,
    Company,
    Contact,
    Offer,
    OfferStatus,
    Placement,
    join_list,
)
from crm.services._common import get_or_404


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


# --------------------------------------------------------------------------- offers CRUD

OFFER_LABELS_FR = OFFER_FIELD_FR  # public alias (the bulk import reads it)


SEATS_MIN, SEATS_MAX = 1, 500  # an offer hosts at least one learner (forms use these bounds)


def _skills(value):
    t = v.text(value, 5000)
    return join_list(re.split(r"[;\n]", t)) if t else ""


_VALIDATORS = {
    "ref": lambda x: v.text(x, 64),
    "rome_code": v.rome_code,
    "other_rome_codes": lambda x: ";".join(v.rome_codes(x)),
    "title": lambda x: v.text(x, 200),
    "description": lambda x: v.text(x, 5000),
    "skills": _skills,
    "seats": lambda x: v.integer(x, SEATS_MIN, SEATS_MAX),
    "start_date": v.date,
    "end_date": v.date,
    "open_to_minors": v.boolean,
}


def seats_below_used(seats: int | None, used: int) -> str | None:
    """The French error when an offer's seats would drop under the seats already held."""
    if seats is not None and seats < used:
        return f"{used} place(s) déjà occupée(s) : impossible de descendre en dessous."
    return None


def clean_offer_fields(
    fields: dict,
    *,
    creating: bool,
    current_period: tuple[dt.date | None, dt.date | None] = (None, None),
) -> tuple[dict, dict[str, str]]:
    """The database-free part of :func:`validate_offer_fields` (no tutor, no seat count).

    ``current_period`` is the (start, end) of the offer being updated. The bulk
    import uses it with its own precomputed lookups.
    """
    unknown = set(fields) - set(OFFER_FIELD_FR)
    if unknown:
        raise ValueError(f"unknown offer fields: {sorted(unknown)}")
    clean: dict = {}
    errors: dict[str, str] = {}
    for key, raw in fields.items():
        if key in ("latitude", "longitude", "tutor_id"):
            continue
        if key == "other_rome_codes" and isinstance(raw, list | tuple):
            raw = ";".join(raw)
        if key == "skills" and isinstance(raw, list | tuple):
            raw = ";".join(raw)
        try:
            clean[key] = _VALIDATORS[key](raw)
        except v.FieldError as exc:
            errors[key] = exc.message
    v.coordinates_into(fields, clean, errors)
    for key, msg in (
        ("rome_code", "Le code ROME est obligatoire."),
        ("title", "L'intitulé est obligatoire."),
    ):
        if (creating or key in fields) and not clean.get(key) and key not in errors:
            errors[key] = msg
    if "seats" in clean and clean["seats"] is None:
        clean["seats"] = 1
    if "open_to_minors" in clean and clean["open_to_minors"] is None:
        clean["open_to_minors"] = True
    start = clean.get("start_date", current_period[0])
    end = clean.get("end_date", current_period[1])
    if start and end and end < start and "end_date" not in errors:
        errors["end_date"] = "La fin doit être après le début."
    return clean, errors


def validate_offer_fields(
    session: Session, fields: dict, *, creating: bool, company_id: int, current: Offer | None = None
) -> tuple[dict, dict[str, str]]:
    period = (current.start_date, current.end_date) if current is not None else (None, None)
    clean, errors = clean_offer_fields(fields, creating=creating, current_period=period)
    if "tutor_id" in fields:
        tid = fields["tutor_id"]
        if tid in (None, ""):
            clean["tutor_id"] = None
        else:
            tutor = session.get(Contact, tid) if isinstance(tid, int) else None
            if tutor is None or tutor.company_id != company_id:
                errors["tutor_id"] = "Ce tuteur n'est pas un contact de cette entreprise."
            else:
                clean["tutor_id"] = tid
    if current is not None and "seats" in clean and clean["seats"] is not None:
        msg = seats_below_used(clean["seats"], seats_used(session, [current.id])[current.id])
        if msg:
            errors["seats"] = msg
    return clean, errors


def _offer(session: Session, offer_id: int) -> Offer:
    offer = get_or_404(session, Offer, offer_id, "Offre")
    return offer


def create_offer(session: Session, actor: Actor, company_id: int, **fields) -> Offer:
    company = get_or_404(session, Company, company_id, "Entreprise")
    authorize(actor, Perm.COMPANY_WRITE, company.site_id)
    clean, errors = validate_offer_fields(session, fields, creating=True, company_id=company.id)
    if errors:
        raise ValidationError(errors, OFFER_FIELD_FR)
    offer = Offer(company_id=company.id, status=OfferStatus.OPEN.value, **clean)
    session.add(offer)
    session.flush()
    audit.record(session, actor, "create", "offer", offer.id, company_id=company.id)
    return offer


def update_offer(
    session: Session, actor: Actor, offer_id: int, expected_version: int, **fields
) -> Offer:
    """Change an offer; the seats are counted under the offer's lock (the one bookings take).

    Lowering the seats below those already held is refused, even while a booking runs.
    """
    from crm.services.placements import lock_offer

    authorize(actor, Perm.COMPANY_WRITE, _offer(session, offer_id).company.site_id)
    lock_offer(session, offer_id)
    offer = session.get(Offer, offer_id, populate_existing=True)
    if expected_version != offer.version:
        raise ConcurrentEditError()
    clean, errors = validate_offer_fields(
        session, fields, creating=False, company_id=offer.company_id, current=offer
    )
    if errors:
        raise ValidationError(errors, OFFER_FIELD_FR)
    changed = [k for k, val in clean.items() if getattr(offer, k) != val]
    for k in changed:
        setattr(offer, k, clean[k])
    try:
        session.flush()
    except StaleDataError:
        raise ConcurrentEditError() from None
    if changed:
        audit.record(session, actor, "update", "offer", offer.id, fields=sorted(changed))
    return offer


def _set_status(session, actor, offer_id, status, paused_until=None, action="update") -> Offer:
    offer = _offer(session, offer_id)
    authorize(actor, Perm.COMPANY_WRITE, offer.company.site_id)
    offer.status = status
    offer.paused_until = paused_until
    session.flush()
    audit.record(session, actor, action, "offer", offer.id, status=status)
    return offer


def pause_offer(session: Session, actor: Actor, offer_id: int, until) -> Offer:
    """Pause an offer until a date (it reopens by itself afterwards, see effective_status)."""
    try:
        day = v.date(until)
    except v.FieldError as exc:
        raise ValidationError({"paused_until": exc.message}, OFFER_FIELD_FR) from None
    if day is None:
        raise ValidationError(
            {"paused_until": "Choisissez la date de fin de pause."}, OFFER_FIELD_FR
        )
    return _set_status(session, actor, offer_id, OfferStatus.PAUSED.value, day, "pause")


def reopen_offer(session: Session, actor: Actor, offer_id: int) -> Offer:
    return _set_status(session, actor, offer_id, OfferStatus.OPEN.value, None, "reopen")


def close_offer(session: Session, actor: Actor, offer_id: int) -> Offer:
    return _set_status(session, actor, offer_id, OfferStatus.CLOSED.value, None, "close")


# Effective status only (never stored): the offer's end date is past.
ENDED = "ended"
NO_FREE_SEATS = frozenset({OfferStatus.CLOSED.value, ENDED})


def effective_status(offer: Offer, today: dt.date | None = None) -> str:
    """The status users see: closed stays closed, an offer whose end date is past is
    ``"ended"`` (never open, no free seat), a paused offer whose pause is over is open."""
    today = today or dt.date.today()
    if offer.status == OfferStatus.CLOSED.value:
        return offer.status
    if offer.end_date is not None and offer.end_date < today:
        return ENDED
    if (
        offer.status == OfferStatus.PAUSED.value
        and offer.paused_until
        and offer.paused_until < today
    ):
        return OfferStatus.OPEN.value
    return offer.status


def list_offers(
    session: Session, actor: Actor, today: dt.date | None = None, include_closed: bool = False
) -> list[dict]:
    """Every offer of live companies with seats used/free and its effective status.

    Closed and ended offers (end date past) are left out unless ``include_closed``;
    their seats are never free.
    """
    authorize(actor, Perm.COMPANY_READ)
    stmt = (
        select(Offer, Company)
        .join(Company, Company.id == Offer.company_id)
        .where(Company.is_live)
        .order_by(Company.name, Offer.start_date)
    )
    pairs = session.execute(stmt).all()
    used = seats_used(session, [o.id for o, _ in pairs])
    out = []
    for o, c in pairs:
        status = effective_status(o, today)
        if status in NO_FREE_SEATS and not include_closed:
            continue
        out.append(
            {
                "offer_id": o.id,
                "company_id": c.id,
                "company": c.name,
                "site_id": c.site_id,
                "rome_code": o.rome_code,
                "rome_codes": o.rome_codes,
                "title": o.title,
                "start_date": o.start_date,
                "end_date": o.end_date,
                "seats": o.seats,
                "used": used[o.id],
                "free": 0 if status in NO_FREE_SEATS else max(0, o.seats - used[o.id]),
                "open_to_minors": o.open_to_minors,
                "status": status,
                "paused_until": o.paused_until,
            }
        )
    return out
