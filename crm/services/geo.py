"""Geography services for the pages: coordinates for maps, the "Géocodage" worklist, fixes.

The geocoding itself (cache, provider, commune fallback) is crm.geo; these are the
access-checked functions pages call.

Plain functions (session, actor, ...): authorize first, validate, write, audit;
the caller commits. Audit events hold ids and field names, never addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm.audit import record
from crm.auth import Actor, Perm, authorize
from crm.errors import NotFound, ValidationError
from crm.geo.geocoding import (
    Geocoder,
    Location,
    effective_location,
    geocode_entity,
    set_manual_pin,
)
from crm.labels import ENTITY_FR
from crm.models import Company, GeoPrecision, Learner, Offer, Site

KINDS = ("company", "site", "offer", "learner")
TO_FIX = (GeoPrecision.NONE.value, GeoPrecision.COMMUNE.value)


@dataclass(frozen=True)
class PlacedCompany:
    id: int
    latitude: float
    longitude: float
    precision: str


def company_locations(session: Session, actor: Actor, ids: list[int]) -> dict[int, PlacedCompany]:
    """Coordinates of the given live companies the actor may read (for maps)."""
    authorize(actor, Perm.COMPANY_READ)
    out: dict[int, PlacedCompany] = {}
    if not ids:
        return out
    rows = session.execute(
        select(
            Company.id, Company.site_id, Company.latitude, Company.longitude, Company.geo_precision
        ).where(
            Company.id.in_(ids),
            Company.is_live,
            Company.latitude.is_not(None),
            Company.longitude.is_not(None),
        )
    ).all()
    for r in rows:
        out[r.id] = PlacedCompany(r.id, r.latitude, r.longitude, r.geo_precision)
    return out


@dataclass(frozen=True)
class ToFix:
    kind: str  # company | site | offer | learner
    id: int
    label: str
    address: str | None
    postcode: str | None
    city: str | None
    precision: str
    can_edit_address: bool  # offers have no address of their own: pin only


def _scoped(actor: Actor, site_id: int | None) -> bool:
    return actor.is_admin or (site_id is not None and site_id in actor.site_ids)


def worklist(session: Session, actor: Actor) -> list[ToFix]:
    """Records placed only at commune level or not at all, that ``actor`` may fix.

    Companies, sites and offers for those who edit companies; learners for those
    who edit learners (each within their sites; admins everywhere).
    """
    out: list[ToFix] = []
    if actor.has(Perm.COMPANY_WRITE):
        for c in session.scalars(
            select(Company)
            .where(
                Company.is_live,
                or_(Company.geo_precision.in_(TO_FIX), Company.latitude.is_(None)),
            )
            .order_by(Company.name)
        ):
            if _scoped(actor, c.site_id):
                out.append(
                    ToFix(
                        "company",
                        c.id,
                        c.name,
                        c.address,
                        c.postcode,
                        c.city,
                        c.geo_precision,
                        True,
                    )
                )
        for s in session.scalars(
            select(Site)
            .where(or_(Site.geo_precision.in_(TO_FIX), Site.latitude.is_(None)))
            .order_by(Site.name)
        ):
            if _scoped(actor, s.id):
                out.append(
                    ToFix(
                        "site", s.id, s.name, s.address, s.postcode, s.city, s.geo_precision, True
                    )
                )
        for o in session.scalars(
            select(Offer)
            .join(Offer.company)
            .where(
                Offer.latitude.is_(None),
                Company.is_live,
                or_(Company.geo_precision.in_(TO_FIX), Company.latitude.is_(None)),
            )
            .order_by(Offer.id)
        ):
            if _scoped(actor, o.company.site_id):
                out.append(
                    ToFix(
                        "offer",
                        o.id,
                        f"{o.title} — {o.company.name}",
                        o.company.address,
                        o.company.postcode,
                        o.company.city,
                        o.company.geo_precision,
                        False,
                    )
                )
    if actor.has(Perm.LEARNER_WRITE):
        for lr in session.scalars(
            select(Learner)
            .where(
                Learner.anonymised_at.is_(None),
                or_(Learner.geo_precision.in_(TO_FIX), Learner.latitude.is_(None)),
            )
            .order_by(Learner.last_name, Learner.first_name)
        ):
            if _scoped(actor, lr.site_id):
                out.append(
                    ToFix(
                        "learner",
                        lr.id,
                        f"{lr.first_name} {lr.last_name[:1]}.",
                        lr.address,
                        lr.postcode,
                        lr.city,
                        lr.geo_precision,
                        True,
                    )
                )
    return out


def _load(session: Session, actor: Actor, kind: str, obj_id: int):
    model = {"company": Company, "site": Site, "offer": Offer, "learner": Learner}.get(kind)
    if model is None:
        raise NotFound(f"Type d'enregistrement inconnu : {kind}.")
    obj = session.get(model, obj_id)
    if obj is None:
        raise NotFound(f"{ENTITY_FR[kind]} introuvable.")
    if kind == "learner":
        authorize(actor, Perm.LEARNER_WRITE, obj.site_id)
    elif kind == "site":
        authorize(actor, Perm.COMPANY_WRITE, obj.id)
    elif kind == "offer":
        authorize(actor, Perm.COMPANY_WRITE, obj.company.site_id)
    else:
        authorize(actor, Perm.COMPANY_WRITE, obj.site_id)
    return obj


def fix_address(
    session: Session,
    actor: Actor,
    kind: str,
    obj_id: int,
    *,
    address: str | None,
    postcode: str | None,
    city: str | None,
    geocoder: Geocoder | None = None,
) -> Location:
    """Correct a record's address and geocode it at once (cache, provider, commune)."""
    obj = _load(session, actor, kind, obj_id)
    if kind == "offer":
        raise ValidationError(
            {
                "address": "une offre n'a pas d'adresse propre : corrigez celle de l'entreprise ou placez un repère."
            }
        )
    address = (address or "").strip() or None
    postcode = (postcode or "").strip() or None
    city = (city or "").strip() or None
    errors: dict[str, str] = {}
    if postcode and not (postcode.isdigit() and len(postcode) == 5):
        errors["postcode"] = "5 chiffres attendus (ex. 83000)."
    if not city and not postcode:
        errors["city"] = "la ville ou le code postal est nécessaire pour placer l'adresse."
    if errors:
        raise ValidationError(errors)
    changed = [
        f
        for f, v in (("address", address), ("postcode", postcode), ("city", city))
        if getattr(obj, f) != v
    ]
    obj.address, obj.postcode, obj.city = address, postcode, city
    loc = geocode_entity(session, obj, geocoder=geocoder, address_changed=True)
    record(
        session,
        actor,
        "geo.fix_address",
        kind,
        obj.id,
        fields=changed,
        precision=loc.precision,
    )
    session.flush()
    return loc


def drop_pin(
    session: Session, actor: Actor, kind: str, obj_id: int, latitude, longitude
) -> Location:
    """Place a record by hand (precision "manual"; batch jobs never move it)."""
    obj = _load(session, actor, kind, obj_id)
    loc = set_manual_pin(obj, latitude, longitude)
    record(session, actor, "geo.pin", kind, obj.id, fields=["latitude", "longitude"])
    session.flush()
    return loc


__all__ = [
    "KINDS",
    "PlacedCompany",
    "ToFix",
    "company_locations",
    "drop_pin",
    "effective_location",
    "fix_address",
    "worklist",
]
