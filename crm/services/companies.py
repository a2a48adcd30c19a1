"""Companies: listing and the company file (fiche entreprise)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from crm import audit
from crm import validation as v
from crm.auth import Actor, Perm, authorize
from crm.errors import ConcurrentEditError, PasserelleError, ValidationError
from crm.geo import locate
from crm.labels import COMPANY_FIELD_FR, PARTNER_STATUS_FR
from crm.models import (
    Company,
    CompanyStatusChange,
    Contact,
    GeoPrecision,
    Interaction,
    Learner,
    Offer,
    PartnerStatus,
    Placement,
    Site,
    User,
)
from crm.reference import fold
from crm.services._common import get_or_404, months_before
from crm.services.offers import NO_FREE_SEATS, effective_status, seats_used
from crm.services.settings import DEFAULTS, DORMANT_MONTHS, get_setting


@dataclass
class CompanyRow:
    id: int
    ref: str | None
    name: str
    siret: str | None
    city: str | None
    postcode: str | None
    sector: str | None
    status: str
    site: str | None
    owner: str | None
    last_contact: object | None
    seats_offered: int
    seats_used: int
    site_id: int | None = None
    owner_id: int | None = None
    contact_names: str = ""
    dormant: bool = False
    version: int = 1

    @property
    def seats_free(self) -> int:
        return max(0, self.seats_offered - self.seats_used)


def list_companies(
    session: Session,
    actor: Actor,
    *,
    site_id: int | None = None,
    status: str | None = None,
    include_retired: bool = False,
    today: dt.date | None = None,
) -> list[CompanyRow]:
    """Every company the actor may read, with last contact date and seat totals."""
    authorize(actor, Perm.COMPANY_READ)
    last_contact = (
        select(Interaction.company_id, func.max(Interaction.occurred_at).label("last_contact"))
        .group_by(Interaction.company_id)
        .subquery()
    )
    stmt = (
        select(Company, Site.name, User.display_name, last_contact.c.last_contact)
        .outerjoin(Site, Company.site_id == Site.id)
        .outerjoin(User, Company.owner_id == User.id)
        .outerjoin(last_contact, last_contact.c.company_id == Company.id)
        .order_by(Company.name)
    )
    if not include_retired:
        stmt = stmt.where(Company.is_live)
    if site_id is not None:
        stmt = stmt.where(Company.site_id == site_id)
    if status:
        stmt = stmt.where(Company.status == status)
    rows = session.execute(stmt).all()
    # Current capacity only: closed and ended offers offer no seat (see offers.effective_status).
    offers = [
        o
        for o in session.execute(
            select(
                Offer.id,
                Offer.company_id,
                Offer.seats,
                Offer.status,
                Offer.end_date,
                Offer.paused_until,
            )
        )
        if effective_status(o, today) not in NO_FREE_SEATS
    ]
    used = seats_used(session, [o.id for o in offers])
    offered_by: dict[int, int] = {}
    used_by: dict[int, int] = {}
    for o in offers:
        offered_by[o.company_id] = offered_by.get(o.company_id, 0) + o.seats
        used_by[o.company_id] = used_by.get(o.company_id, 0) + min(used[o.id], o.seats)
    names: dict[int, list[str]] = {}
    for cid, first, last in session.execute(
        select(Contact.company_id, Contact.first_name, Contact.last_name)
    ):
        names.setdefault(cid, []).append(" ".join(p for p in (first, last) if p))
    cutoff = dormant_cutoff(session, today)
    out = [
        CompanyRow(
            id=c.id,
            ref=c.ref,
            name=c.name,
            siret=c.siret,
            city=c.city,
            postcode=c.postcode,
            sector=c.sector,
            status=c.status,
            site=site_name,
            owner=owner,
            last_contact=last,
            seats_offered=offered_by.get(c.id, 0),
            seats_used=used_by.get(c.id, 0),
            site_id=c.site_id,
            owner_id=c.owner_id,
            contact_names=" ".join(names.get(c.id, [])),
            version=c.version,
        )
        for c, site_name, owner, last in rows
    ]
    for r in out:
        r.dormant = _is_dormant(r, cutoff)
    return out


@dataclass
class OfferUsage:
    offer: Offer
    used: int

    @property
    def status(self) -> str:
        """Effective status (``"ended"`` once the end date is past)."""
        return effective_status(self.offer)

    @property
    def free(self) -> int:
        if self.status in NO_FREE_SEATS:
            return 0
        return max(0, self.offer.seats - self.used)


@dataclass(frozen=True)
class CompanyPlacement:
    """A period at the company as the company file shows it.

    No learner record is handed out (companies are read by every role and site):
    ``learner_label`` ("Prénom N.") only when the actor may read that learner's
    placements (their own site), otherwise ``None``.
    """

    id: int
    offer_id: int | None
    start_date: dt.date
    end_date: dt.date
    rome_code: str | None
    status: str
    learner_label: str | None


@dataclass
class CompanyFile:
    company: Company
    contacts: list[Contact]
    offers: list[OfferUsage]
    interactions: list[Interaction]
    placements: list[CompanyPlacement]
    status_history: list[CompanyStatusChange]


def get_company(session: Session, actor: Actor, company_id: int) -> CompanyFile:
    """The company file: identity, contacts, capacity, timeline."""
    authorize(actor, Perm.COMPANY_READ)
    company = get_or_404(session, Company, company_id, "Entreprise")
    contacts = list(
        session.scalars(
            select(Contact).where(Contact.company_id == company_id).order_by(Contact.last_name)
        )
    )
    offers = list(
        session.scalars(
            select(Offer).where(Offer.company_id == company_id).order_by(Offer.start_date)
        )
    )
    used = seats_used(session, [o.id for o in offers])
    interactions = list(
        session.scalars(
            select(Interaction)
            .where(Interaction.company_id == company_id)
            .order_by(Interaction.occurred_at.desc())
        )
    )
    placements = [
        CompanyPlacement(
            id=p.id,
            offer_id=p.offer_id,
            start_date=p.start_date,
            end_date=p.end_date,
            rome_code=p.rome_code,
            status=p.status,
            learner_label=f"{first} {last[:1]}."
            if actor.has(Perm.PLACEMENT_READ) and actor.in_scope(site_id)
            else None,
        )
        for p, first, last, site_id in session.execute(
            select(Placement, Learner.first_name, Learner.last_name, Learner.site_id)
            .join(Learner, Learner.id == Placement.learner_id)
            .where(Placement.company_id == company_id)
            .order_by(Placement.start_date.desc())
        ).all()
    ]
    history = list(
        session.scalars(
            select(CompanyStatusChange)
            .where(CompanyStatusChange.company_id == company_id)
            .order_by(CompanyStatusChange.changed_at)
        )
    )
    return CompanyFile(
        company=company,
        contacts=contacts,
        offers=[OfferUsage(o, used[o.id]) for o in offers],
        interactions=interactions,
        placements=placements,
        status_history=history,
    )


# --------------------------------------------------------------------------- settings


def dormant_months(session: Session) -> int:
    """The ``dormant_months`` setting (at least 1; the default if the stored value is unusable)."""
    try:
        return max(1, int(get_setting(session, DORMANT_MONTHS)))
    except (TypeError, ValueError):
        return DEFAULTS[DORMANT_MONTHS]


def dormant_cutoff(session: Session, today: dt.date | None = None) -> dt.date:
    """A partner whose last logged contact is before this day is dormant."""
    return months_before(today or dt.date.today(), dormant_months(session))


def is_dormant(status: str, last_contact: dt.date | dt.datetime | None, cutoff: dt.date) -> bool:
    """Dormant partner (company list): status "partner" and no logged contact since ``cutoff``.

    Not the dashboard's "Partenaire dormant" (no contact *and* no placement in the 12
    months up to the period's end): see docs/STATISTICS.md.
    """
    if status != PartnerStatus.PARTNER.value:
        return False
    if last_contact is None:
        return True
    last_day = last_contact.date() if isinstance(last_contact, dt.datetime) else last_contact
    return last_day < cutoff


def _is_dormant(row: CompanyRow, cutoff: dt.date) -> bool:
    return is_dormant(row.status, row.last_contact, cutoff)


# --------------------------------------------------------------------------- search and filters


def _fold_digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class CompanySearch:
    """Fuzzy search over prepared (folded) strings of many companies.

    Built once per list; a query is one substring pass and, when nothing matches
    exactly, one ``rapidfuzz.process.extract`` call (C loop) over the haystacks.
    """

    def __init__(self, rows: list[CompanyRow]):
        self.rows = rows
        self.haystacks = [
            fold(" ".join(x for x in (r.name, r.city, r.postcode, r.contact_names) if x))
            for r in rows
        ]
        self.names = [fold(r.name) for r in rows]
        self.sirets = [r.siret or "" for r in rows]

    def search(self, query: str, limit: int | None = None, cutoff: float = 80) -> list[CompanyRow]:
        q = fold(query)
        if not q:
            return list(self.rows)
        digits = _fold_digits(query)
        if digits and len(digits) >= 3 and len(digits) >= len(query.replace(" ", "")) - 1:
            hits = [i for i, s in enumerate(self.sirets) if digits in s]
            if hits:
                return [self.rows[i] for i in hits][:limit]
        tokens = q.split()
        exact = [i for i, h in enumerate(self.haystacks) if all(t in h for t in tokens)]
        if exact:
            return [self.rows[i] for i in exact][:limit]
        if len(q) < 4:
            return []
        found = process.extract(
            q,
            self.haystacks,
            scorer=fuzz.partial_ratio,
            score_cutoff=cutoff,
            limit=limit or len(self.haystacks),
        )
        # Best first; ties broken by the name's own similarity.
        found.sort(key=lambda m: (-m[1], -fuzz.ratio(q, self.names[m[2]])))
        return [self.rows[i] for _, _, i in found]


def filter_companies(
    rows: list[CompanyRow],
    *,
    site_ids: list[int] | None = None,
    statuses: list[str] | None = None,
    sectors: list[str] | None = None,
    owner_ids: list[int] | None = None,
    no_contact_months: int | None = None,
    has_free_seats: bool = False,
    dormant_only: bool = False,
    today: dt.date | None = None,
) -> list[CompanyRow]:
    out = rows
    if site_ids:
        out = [r for r in out if r.site_id in site_ids]
    if statuses:
        out = [r for r in out if r.status in statuses]
    if sectors:
        out = [r for r in out if r.sector in sectors]
    if owner_ids:
        out = [r for r in out if r.owner_id in owner_ids]
    if no_contact_months:
        cutoff = months_before(today or dt.date.today(), no_contact_months)
        out = [
            r
            for r in out
            if r.last_contact is None
            or (
                r.last_contact.date() if isinstance(r.last_contact, dt.datetime) else r.last_contact
            )
            < cutoff
        ]
    if has_free_seats:
        out = [r for r in out if r.seats_free > 0]
    if dormant_only:
        out = [r for r in out if r.dormant]
    return out


# --------------------------------------------------------------------------- create / update

COMPANY_FIELDS = (
    "ref",
    "name",
    "siret",
    "naf",
    "sector",
    "size_band",
    "address",
    "postcode",
    "city",
    "latitude",
    "longitude",
    "phone",
    "email",
    "website",
    "site_id",
    "owner_id",
    "status",
    "notes",
)

# The identity fields typed as free text, in the order of the company form.
TEXT_FIELDS = (
    "name",
    "siret",
    "naf",
    "sector",
    "address",
    "postcode",
    "city",
    "phone",
    "email",
    "website",
)
# The fields a companies import file carries (the site by name); size band, officer
# and notes are kept in Passerelle only.
IMPORT_FIELDS = tuple(f for f in COMPANY_FIELDS if f not in ("size_band", "owner_id", "notes"))

FIELD_LABELS_FR = COMPANY_FIELD_FR  # public alias (the bulk import reads it)


def form_values(company: Company) -> dict:
    """What the company page's forms start from: its text fields, status, site and the
    version the edit is checked against."""
    return {
        k: getattr(company, k) for k in ("id", "version", "site_id", "status", *TEXT_FIELDS)
    }

_VALIDATORS = {
    "ref": lambda x: v.text(x, 64),
    "name": lambda x: v.text(x, 200),
    "siret": v.siret,
    "naf": v.naf,
    "sector": lambda x: v.text(x, 120),
    "size_band": lambda x: v.text(x, 20),
    "address": lambda x: v.text(x, 300),
    "postcode": v.postcode,
    "city": lambda x: v.text(x, 120),
    "phone": v.phone,
    "email": v.email,
    "website": v.website,
    "notes": lambda x: v.text(x, 5000),
    "status": lambda x: v.choice(x, PARTNER_STATUS_LABELS, "Statut"),
}

# Origins of a company record (``Company.source``): None = typed or imported by the school.
COMPANY_SOURCES = (None, "sirene")

PARTNER_STATUS_LABELS = PARTNER_STATUS_FR  # public alias (imports read it)


def clean_company_fields(fields: dict, *, creating: bool) -> tuple[dict, dict[str, str]]:
    """The database-free part of :func:`validate_company_fields`.

    Each value through its validator (French messages keyed by field), the
    coordinates pair and the required name; ``site_id``/``owner_id`` are left to
    the caller. The bulk import uses it with its own precomputed lookups.
    """
    unknown = set(fields) - set(COMPANY_FIELDS)
    if unknown:
        raise ValueError(f"unknown company fields: {sorted(unknown)}")
    clean: dict = {}
    errors: dict[str, str] = {}
    for key, raw in fields.items():
        if key in ("latitude", "longitude", "site_id", "owner_id"):
            continue
        try:
            clean[key] = _VALIDATORS[key](raw)
        except v.FieldError as exc:
            errors[key] = exc.message
    v.coordinates_into(fields, clean, errors)
    if (creating or "name" in fields) and not clean.get("name") and "name" not in errors:
        errors["name"] = "La raison sociale est obligatoire."
    return clean, errors


REF_TAKEN = "Cette référence est déjà utilisée par une autre entreprise."


def validate_company_fields(
    session: Session, fields: dict, *, creating: bool
) -> tuple[dict, dict[str, str]]:
    """Clean values and French errors (field -> message) for company ``fields``."""
    clean, errors = clean_company_fields(fields, creating=creating)
    for key, model in (("site_id", Site), ("owner_id", User)):
        if key in fields:
            raw = fields[key]
            if raw in (None, ""):
                clean[key] = None
                continue
            try:
                ident = v.integer(raw)
            except v.FieldError as exc:
                errors[key] = exc.message
                continue
            if session.get(model, ident) is None:
                errors[key] = "Site inconnu." if model is Site else "Utilisateur inconnu."
            else:
                clean[key] = ident
    if clean.get("ref"):
        stmt = select(Company.id).where(Company.ref == clean["ref"])
        existing = session.scalar(stmt)
        if existing is not None and existing != fields.get("_id"):
            errors["ref"] = REF_TAKEN
    return clean, errors


def apply_location(session: Session, company: Company, *, geocoder=None) -> None:
    """Place a company without coordinates from its address.

    The single place where a typed address becomes coordinates (the importer
    uses it for sites and learners too, through a transient Company). It goes
    through crm.geo.locate: database cache, then the configured provider, then
    the commune centre when the provider is down (not cached, so
    ``passerelle geocode --missing`` retries it later); never raises.
    """
    if company.latitude is not None and company.longitude is not None:
        return
    with session.no_autoflush:  # a cache lookup must not flush the half-applied edit
        loc = locate(session, company.address, company.postcode, company.city, geocoder=geocoder)
    company.latitude, company.longitude = loc.latitude, loc.longitude
    company.geo_precision = loc.precision


def _record_status(
    session: Session, actor: Actor, company: Company, old: str | None, new: str, reason: str | None
) -> None:
    session.add(
        CompanyStatusChange(
            company_id=company.id,
            from_status=old,
            to_status=new,
            changed_by_id=actor.user_id,
            reason=reason,
        )
    )
    audit.record(session, actor, "status", "company", company.id, from_status=old, to_status=new)


def create_company(session: Session, actor: Actor, *, geocoder=None, **fields) -> Company:
    """Validate and add a company (status history starts; audit "create").

    ``source``: where the record comes from (``"sirene"``: added from the register).
    """
    source = fields.pop("source", None)
    if source not in COMPANY_SOURCES:
        raise ValueError(f"unknown company source: {source!r}")
    site_raw = fields.get("site_id")
    site_id = site_raw if isinstance(site_raw, int) else None
    authorize(actor, Perm.COMPANY_WRITE, site_id)
    clean, errors = validate_company_fields(session, fields, creating=True)
    if errors:
        raise ValidationError(errors, COMPANY_FIELD_FR)
    authorize(actor, Perm.COMPANY_WRITE, clean.get("site_id"))
    clean.setdefault("status", PartnerStatus.PROSPECT.value)
    clean["status"] = clean["status"] or PartnerStatus.PROSPECT.value
    if clean.get("latitude") is not None:
        clean["geo_precision"] = GeoPrecision.MANUAL.value
    company = Company(**clean, source=source)
    if company.owner_id is None and actor.user_id is not None and actor.role == "officer":
        company.owner_id = actor.user_id
    apply_location(session, company, geocoder=geocoder)
    session.add(company)
    session.flush()
    _record_status(session, actor, company, None, company.status, "création")
    audit.record(session, actor, "create", "company", company.id, fields=sorted(clean))
    return company


class LikelyDuplicateError(PasserelleError):
    """A new company looks like existing ones: nothing was created.

    ``duplicates`` lists them (crm.dedupe.LikelyDuplicate: company_id, name, score, evidence).
    """

    def __init__(self, duplicates: list):
        self.duplicates = list(duplicates)
        super().__init__(
            "Cette entreprise ressemble à une fiche existante : rien n'a été créé. "
            + "; ".join(d.name for d in self.duplicates)
        )


def create_company_unless_duplicate(
    session: Session, actor: Actor, *, confirmed: bool = False, geocoder=None, **fields
) -> Company:
    """:func:`create_company`, refused with :class:`LikelyDuplicateError` when the new company
    likely duplicates an existing one, unless ``confirmed`` (the user checked it is not one).

    The form's rule: the fields are validated first (a ValidationError wins), then the
    duplicate check runs against the saved record; a refusal undoes the creation (savepoint)
    so the caller's unit of work is left as it was.
    """
    from crm.dedupe import likely_duplicates

    with session.begin_nested():
        company = create_company(session, actor, geocoder=geocoder, **fields)
        if not confirmed:
            duplicates = likely_duplicates(session, fields, exclude_id=company.id)
            if duplicates:
                raise LikelyDuplicateError(duplicates)
    return company


def update_company(
    session: Session,
    actor: Actor,
    company_id: int,
    expected_version: int,
    *,
    geocoder=None,
    **fields,
) -> Company:
    """Apply ``fields`` unless someone saved the company since ``expected_version`` was read."""
    company = get_or_404(session, Company, company_id, "Entreprise")
    authorize(actor, Perm.COMPANY_WRITE, company.site_id)
    if not company.is_live:
        raise ValidationError(
            {"company": "Fiche fusionnée ou retirée : elle n'est plus modifiable."}
        )
    if expected_version != company.version:
        raise ConcurrentEditError()
    reason = fields.pop("status_reason", None)
    clean, errors = validate_company_fields(session, fields, creating=False)
    if clean.get("ref"):
        other = session.scalar(select(Company.id).where(Company.ref == clean["ref"]))
        if other == company.id:
            errors.pop("ref", None)
    if errors:
        raise ValidationError(errors, COMPANY_FIELD_FR)
    if "status" in clean and not clean["status"]:
        del clean["status"]
    if "site_id" in clean:
        authorize(actor, Perm.COMPANY_WRITE, clean["site_id"])
    changed = [k for k, val in clean.items() if getattr(company, k) != val]
    if not changed:
        return company
    old_status = company.status
    location_changed = any(k in changed for k in ("address", "postcode", "city"))
    for k in changed:
        setattr(company, k, clean[k])
    if "latitude" in changed or "longitude" in changed:
        company.geo_precision = (
            GeoPrecision.MANUAL.value if company.latitude is not None else GeoPrecision.NONE.value
        )
        if company.latitude is None:
            apply_location(session, company, geocoder=geocoder)
    elif location_changed:
        company.latitude = company.longitude = None
        apply_location(session, company, geocoder=geocoder)
    if company.status != old_status:
        _record_status(session, actor, company, old_status, company.status, reason)
    try:
        session.flush()
    except StaleDataError:
        raise ConcurrentEditError() from None
    audit.record(session, actor, "update", "company", company.id, fields=sorted(changed))
    return company


def change_status(
    session: Session,
    actor: Actor,
    company_id: int,
    status: str,
    reason: str | None = None,
    *,
    system: bool = False,
) -> Company:
    """Move a company's partner status, recording it in the history.

    ``system=True`` is the automatic move after a logged contact (prospect ->
    contacted): it needs the right to log contacts on that company, not to edit it.
    """
    company = get_or_404(session, Company, company_id, "Entreprise")
    authorize(actor, Perm.INTERACTION_WRITE if system else Perm.COMPANY_WRITE, company.site_id)
    new = v.choice(status, PARTNER_STATUS_LABELS, "Statut")
    if new is None or new == company.status:
        return company
    old = company.status
    company.status = new
    session.flush()
    _record_status(session, actor, company, old, new, reason)
    return company


def list_sites(session: Session) -> list[Site]:
    """Every school site (for pickers)."""
    return list(session.scalars(select(Site).order_by(Site.name)))
