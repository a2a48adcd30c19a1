"""Per-row import handlers, one per kind, each through the kind's services.

Each handler takes (session, actor, row) where ``row`` maps canonical columns to
cleaned cells, and returns "created" | "updated" | "unchanged" or raises a
PasserelleError (ValidationError with French messages keyed by field,
PermissionDenied...). Companies and offers also have a set-based path
(crm.services.imports.bulk) with the same rules and messages.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm import validation as v
from crm.errors import PermissionDenied, ValidationError
from crm.geo import Geocoder
from crm.models import (
    Company,
    Contact,
    GeoPrecision,
    Learner,
    Offer,
    PlacementKind,
    PlacementStatus,
    Site,
)
from crm.reference import fold
from crm.services import learners as learner_service
from crm.services.companies import (
    PARTNER_STATUS_LABELS,
    apply_location,
    create_company,
    update_company,
)
from crm.services.contacts import upsert_contact
from crm.services.imports.columns import COLUMNS
from crm.services.interactions import upsert_interaction
from crm.services.offers import create_offer, update_offer
from crm.services.placements import upsert_placement

# --------------------------------------------------------------------------- helpers


def _val(fn, raw, label, errors):
    try:
        return fn(raw)
    except v.FieldError as exc:
        errors[label] = exc.message
        return None


# Imports place addresses offline (cache or commune centre); `passerelle geocode --missing`
# asks the provider afterwards, so a large file stays fast and all-or-nothing.
IMPORT_GEOCODER = Geocoder("offline")


def _by_ref(session: Session, model, ref):
    if not ref:
        return None
    return session.scalar(select(model).where(model.ref == str(ref).strip()))


def _live_company(session: Session, ref) -> Company | None:
    company = _by_ref(session, Company, ref)
    seen = 0
    while company is not None and company.merged_into_id is not None and seen < 10:
        company = session.get(Company, company.merged_into_id)
        seen += 1
    return company


def _site_by_name(session: Session, name) -> Site | None:
    try:
        t = v.text(name, 120)
    except v.FieldError:  # longer than any site name: unknown
        return None
    if not t:
        return None
    site = session.scalar(select(Site).where(Site.name == t))
    if site is None:
        site = session.scalar(select(Site).where(Site.ref == t))
    if site is None:
        for s in session.scalars(select(Site)):
            if fold(s.name) == fold(t):
                return s
    return site


def _apply(obj, values: dict) -> bool:
    changed = False
    for k, val in values.items():
        if getattr(obj, k) != val:
            setattr(obj, k, val)
            changed = True
    return changed


def _locate(session: Session, values: dict) -> None:
    """Coordinates for a site row through the companies' single location helper.

    Imports place addresses offline (cache, else commune centre) so that a
    large file stays fast and atomic; ``passerelle geocode --missing`` then
    asks the provider for the exact addresses.
    """
    if values.get("latitude") is not None:
        values["geo_precision"] = GeoPrecision.MANUAL.value
        return
    probe = Company(
        address=values.get("address"), postcode=values.get("postcode"), city=values.get("city")
    )
    apply_location(session, probe, geocoder=IMPORT_GEOCODER)
    values["latitude"], values["longitude"] = probe.latitude, probe.longitude
    values["geo_precision"] = probe.geo_precision


def _coords(row, errors) -> tuple:
    try:
        pair = v.coordinates(row.get("latitude"), row.get("longitude"))
    except v.FieldError as exc:
        errors["latitude"] = exc.message
        return None, None
    return pair if pair else (None, None)


# --------------------------------------------------------------------------- per kind
# Each returns "created" | "updated" | "unchanged" or raises ValidationError.


def _import_site(session, actor, row) -> str:
    if not actor.is_admin:
        raise PermissionDenied("Seule l'administration peut importer des sites.")
    errors: dict[str, str] = {}
    values = {
        "name": _val(lambda x: v.text(x, 120), row.get("name"), "name", errors),
        "address": _val(lambda x: v.text(x, 300), row.get("address"), "address", errors),
        "postcode": _val(v.postcode, row.get("postcode"), "postcode", errors),
        "city": _val(lambda x: v.text(x, 120), row.get("city"), "city", errors),
    }
    values["latitude"], values["longitude"] = _coords(row, errors)
    if errors:
        raise ValidationError(errors)
    _locate(session, values)
    ref = v.text(row.get("ref"), 64)
    site = _by_ref(session, Site, ref) or session.scalar(
        select(Site).where(Site.name == values["name"])
    )
    if site is None:
        site = Site(ref=ref, **values)
        session.add(site)
        session.flush()
        audit.record(session, actor, "import_create", "site", site.id)
        return "created"
    if ref and not site.ref:
        values["ref"] = ref
    if _apply(site, values):
        session.flush()
        audit.record(session, actor, "import_update", "site", site.id)
        return "updated"
    return "unchanged"


def _import_company(session, actor, row) -> str:
    fields = {k: row.get(k) for k in COLUMNS["companies"] if k in row and k != "site"}
    if fields.get("latitude") in (None, "") and fields.get("longitude") in (None, ""):
        fields.pop("latitude", None)
        fields.pop("longitude", None)
    errors = {}
    if "site" in row:
        if row.get("site") in (None, ""):
            fields["site_id"] = None
        else:
            site = _site_by_name(session, row.get("site"))
            if site is None:
                errors["site"] = "Site inconnu."
            else:
                fields["site_id"] = site.id
    if "status" in fields and fields["status"] not in (None, ""):
        fields["status"] = _val(
            lambda x: v.choice(x, PARTNER_STATUS_LABELS, "Statut"),
            fields["status"],
            "status",
            errors,
        )
    if errors:
        raise ValidationError(errors)
    ref = v.text(row.get("ref"), 64)
    company = _live_company(session, ref) if ref else None
    if company is None and not ref and row.get("siret"):
        try:
            siret = v.siret(row.get("siret"))
        except v.FieldError:
            siret = None
        if siret:
            company = session.scalar(
                select(Company).where(Company.siret == siret, Company.merged_into_id.is_(None))
            )
    if company is None:
        row["_created_id"] = create_company(session, actor, geocoder=IMPORT_GEOCODER, **fields).id
        return "created"
    fields.pop("ref", None)
    if fields.get("status") in (None, ""):
        fields.pop("status", None)
    before = company.version
    update_company(session, actor, company.id, company.version, geocoder=IMPORT_GEOCODER, **fields)
    return "updated" if company.version != before else "unchanged"


def _company_for(session, row, errors) -> Company | None:
    company = _live_company(session, row.get("company_ref"))
    if company is None:
        errors["company_ref"] = "Entreprise inconnue (référence introuvable)."
    return company


def _import_contact(session, actor, row) -> str:
    errors: dict[str, str] = {}
    company = _company_for(session, row, errors)
    if errors:
        raise ValidationError(errors)
    fields = {
        k: row.get(k) for k in COLUMNS["contacts"] if k in row and k not in ("company_ref", "ref")
    }
    return upsert_contact(session, actor, ref=row.get("ref"), company_id=company.id, **fields)


def _import_offer(session, actor, row) -> str:
    errors: dict[str, str] = {}
    company = _company_for(session, row, errors)
    if errors:
        raise ValidationError(errors)
    fields = {}
    for k in COLUMNS["offers"]:
        if k in row and k not in ("company_ref", "rome"):
            fields[k] = row.get(k)
    if "rome" in row:
        codes = [c for c in str(row.get("rome") or "").replace(",", ";").split(";") if c.strip()]
        fields["rome_code"] = codes[0] if codes else None
        fields["other_rome_codes"] = ";".join(codes[1:])
    ref = v.text(row.get("ref"), 64)
    offer = _by_ref(session, Offer, ref) if ref else None
    if offer is None:
        create_offer(session, actor, company.id, **fields)
        return "created"
    fields.pop("ref", None)
    before = offer.version
    update_offer(session, actor, offer.id, offer.version, **fields)
    return "updated" if offer.version != before else "unchanged"


# Learner columns that are the service's fields under the same name (site, ref and
# project_rome are mapped in _import_learner).
_LEARNER_FIELDS = tuple(
    c for c in COLUMNS["learners"] if c in learner_service.EDITABLE_FIELDS and c != "ref"
)


def _import_learner(session, actor, row) -> str:
    """Create or update (by ref) through crm.services.learners: the form's rules and messages.

    An empty cell leaves the learner's field as it is; a learner of another site is
    never moved by an import.
    """
    site = _site_by_name(session, row.get("site"))
    if site is None:
        raise ValidationError({"site": "Site inconnu."})
    values = {k: row[k] for k in _LEARNER_FIELDS if row.get(k) not in (None, "")}
    if row.get("project_rome") not in (None, ""):
        codes = [c for c in re.split(r"[;,]", str(row["project_rome"])) if c.strip()]
        if len(codes) > 3:
            raise ValidationError({"project_rome": "Trois codes ROME au plus pour le projet."})
        for i in range(3):
            values[f"project_rome_{i + 1}"] = codes[i] if i < len(codes) else None
    ref = v.text(row.get("ref"), 64)
    learner = _by_ref(session, Learner, ref) if ref else None
    if learner is None:
        learner_service.create_learner(session, actor, site.id, ref=ref, **values)
        return "created"
    if learner.site_id != site.id:
        raise ValidationError({"site": "ce stagiaire appartient à un autre site."})
    before = learner.version
    learner_service.update_learner(session, actor, learner.id, **values)
    session.flush()
    return "updated" if learner.version != before else "unchanged"


def _import_interaction(session, actor, row) -> str:
    errors: dict[str, str] = {}
    company = _company_for(session, row, errors)
    contact = None
    if row.get("contact_ref"):
        contact = _by_ref(session, Contact, row.get("contact_ref"))
        if contact is None or (company is not None and contact.company_id != company.id):
            errors["contact_ref"] = "Contact inconnu pour cette entreprise."
    when = _val(v.date, row.get("date"), "date", errors)
    done = _val(v.boolean, row.get("next_action_done"), "next_action_done", errors)
    if errors:
        raise ValidationError(errors)
    return upsert_interaction(
        session,
        actor,
        ref=row.get("ref"),
        company_id=company.id,
        contact_id=contact.id if contact else None,
        kind=row.get("kind"),
        summary=row.get("summary"),
        outcome=row.get("outcome"),
        next_action=row.get("next_action"),
        next_action_due=row.get("next_action_due"),
        next_action_done=bool(done),
        occurred_at=when or dt.date.today(),
    )


PLACEMENT_STATUS_LABELS = {s.value: s.value for s in PlacementStatus}


def _import_placement(session, actor, row) -> str:
    errors: dict[str, str] = {}
    learner = _by_ref(session, Learner, row.get("learner_ref"))
    if learner is None:
        errors["learner_ref"] = "Stagiaire inconnu(e) (référence introuvable)."
    company = _company_for(session, row, errors)
    offer = None
    if row.get("offer_ref"):
        offer = _by_ref(session, Offer, row.get("offer_ref"))
        if offer is None or (company is not None and offer.company_id != company.id):
            errors["offer_ref"] = "Offre inconnue pour cette entreprise."
    values = {
        "kind": _val(
            lambda x: v.choice(x, {k.value: k.value for k in PlacementKind}, "Type de période"),
            row.get("kind"),
            "kind",
            errors,
        )
        or PlacementKind.PMSMP.value,
        "rome_code": _val(v.rome_code, row.get("rome"), "rome", errors),
        "start_date": _val(v.date, row.get("start_date"), "start_date", errors),
        "end_date": _val(v.date, row.get("end_date"), "end_date", errors),
        "status": _val(
            lambda x: v.choice(x, PLACEMENT_STATUS_LABELS, "Statut"),
            row.get("status"),
            "status",
            errors,
        )
        or PlacementStatus.PROPOSED.value,
        "ref": _val(lambda x: v.text(x, 64), row.get("ref"), "ref", errors),
    }
    for key in ("start_date", "end_date"):
        if not values[key] and key not in errors:
            errors[key] = "Date obligatoire."
    if errors:
        raise ValidationError(errors)
    return upsert_placement(
        session,
        actor,
        learner_id=learner.id,
        company_id=company.id,
        offer_id=offer.id if offer else None,
        **values,
    )


HANDLERS = {
    "sites": _import_site,
    "companies": _import_company,
    "contacts": _import_contact,
    "offers": _import_offer,
    "learners": _import_learner,
    "interactions": _import_interaction,
    "placements": _import_placement,
}
