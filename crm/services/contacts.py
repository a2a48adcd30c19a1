"""Contacts and tutors of a company."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm import validation as v
from crm.auth import Actor, Perm, authorize
from crm.errors import ValidationError
from crm.labels import CONTACT_FIELD_FR
from crm.models import Company, Contact
from crm.services._common import get_or_404

_VALIDATORS = {
    "ref": lambda x: v.text(x, 64),
    "first_name": lambda x: v.text(x, 80),
    "last_name": lambda x: v.text(x, 80),
    "job_title": lambda x: v.text(x, 120),
    "phone": v.phone,
    "email": v.email,
    "is_tutor": v.boolean,
    "is_active": v.boolean,
}


def validate_contact_fields(fields: dict, *, creating: bool) -> tuple[dict, dict[str, str]]:
    unknown = set(fields) - set(_VALIDATORS)
    if unknown:
        raise ValueError(f"unknown contact fields: {sorted(unknown)}")
    clean, errors = {}, {}
    for key, raw in fields.items():
        try:
            clean[key] = _VALIDATORS[key](raw)
        except v.FieldError as exc:
            errors[key] = exc.message
    if (
        (creating or "last_name" in fields)
        and not clean.get("last_name")
        and "last_name" not in errors
    ):
        errors["last_name"] = "Le nom est obligatoire."
    for flag in ("is_tutor", "is_active"):
        if flag in clean and clean[flag] is None:
            clean[flag] = flag == "is_active"
    return clean, errors


def _company(session: Session, company_id: int) -> Company:
    company = get_or_404(session, Company, company_id, "Entreprise")
    return company


def create_contact(session: Session, actor: Actor, company_id: int, **fields) -> Contact:
    company = _company(session, company_id)
    authorize(actor, Perm.COMPANY_WRITE, company.site_id)
    clean, errors = validate_contact_fields(fields, creating=True)
    if errors:
        raise ValidationError(errors, CONTACT_FIELD_FR)
    contact = Contact(company_id=company.id, **clean)
    session.add(contact)
    session.flush()
    audit.record(session, actor, "create", "contact", contact.id, company_id=company.id)
    return contact


def update_contact(session: Session, actor: Actor, contact_id: int, **fields) -> Contact:
    contact = get_or_404(session, Contact, contact_id, "Contact")
    authorize(actor, Perm.COMPANY_WRITE, contact.company.site_id)
    clean, errors = validate_contact_fields(fields, creating=False)
    if errors:
        raise ValidationError(errors, CONTACT_FIELD_FR)
    changed = [k for k, val in clean.items() if getattr(contact, k) != val]
    for k in changed:
        setattr(contact, k, clean[k])
    session.flush()
    if changed:
        audit.record(session, actor, "update", "contact", contact.id, fields=sorted(changed))
    return contact


def upsert_contact(
    session: Session, actor: Actor, *, ref: str | None, company_id: int, **fields
) -> str:
    """Create or update (by ``ref``) a contact of ``company_id``, as the contacts import does.

    Returns "created", "updated" or "unchanged". When ``ref`` exists, the actor
    needs the company right on the site of the contact's CURRENT company as well as
    on the target company's (an officer never moves or rewrites another site's
    contact); moving a contact to another company is then allowed.
    """
    company = _company(session, company_id)
    authorize(actor, Perm.COMPANY_WRITE, company.site_id)
    try:
        ref = v.text(ref, 64)
    except v.FieldError as exc:
        raise ValidationError({"ref": exc.message}, CONTACT_FIELD_FR) from None
    contact = session.scalar(select(Contact).where(Contact.ref == ref)) if ref else None
    if contact is None:
        create_contact(session, actor, company.id, ref=ref, **fields)
        return "created"
    authorize(actor, Perm.COMPANY_WRITE, contact.company.site_id)
    fields.pop("ref", None)
    clean, errors = validate_contact_fields(fields, creating=False)
    if errors:
        raise ValidationError(errors, CONTACT_FIELD_FR)
    moved = contact.company_id != company.id
    changed = [k for k, val in clean.items() if getattr(contact, k) != val]
    if not moved and not changed:
        return "unchanged"
    if moved:
        previous = contact.company_id
        contact.company = company
        session.flush()
        audit.record(
            session,
            actor,
            "move",
            "contact",
            contact.id,
            from_company=previous,
            to_company=company.id,
        )
    update_contact(session, actor, contact.id, **fields)
    return "updated"
