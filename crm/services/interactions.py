"""Contact log (journal de contacts) and follow-ups (mes relances)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm import validation as v
from crm.auth import Actor, Perm, authorize
from crm.errors import ValidationError
from crm.labels import INTERACTION_FIELD_FR, INTERACTION_KIND_FR
from crm.models import Company, Contact, Interaction, InteractionKind, PartnerStatus, utcnow
from crm.services._common import get_or_404
from crm.services.companies import change_status


def _validate(
    session: Session,
    company: Company,
    *,
    kind,
    summary,
    outcome,
    next_action,
    next_action_due,
    ref,
    contact_id,
) -> dict:
    """The contact log's field rules (form and import); errors keyed by field name."""
    errors: dict[str, str] = {}
    clean: dict = {}
    for key, fn, raw in (
        ("kind", lambda x: v.choice(x, INTERACTION_KIND_FR, "Type de contact"), kind),
        ("summary", lambda x: v.text(x, 5000), summary),
        ("outcome", lambda x: v.text(x, 5000), outcome),
        ("next_action", lambda x: v.text(x, 300), next_action),
        ("next_action_due", v.date, next_action_due),
        ("ref", lambda x: v.text(x, 64), ref),
    ):
        try:
            clean[key] = fn(raw)
        except v.FieldError as exc:
            errors[key] = exc.message
    if not clean.get("kind") and "kind" not in errors:
        errors["kind"] = "Le type de contact est obligatoire."
    if not clean.get("summary") and "summary" not in errors:
        errors["summary"] = "Le résumé est obligatoire."
    if clean.get("next_action_due") and not clean.get("next_action"):
        errors["next_action"] = "Indiquez la prochaine action liée à cette échéance."
    if contact_id is not None:
        contact = session.get(Contact, contact_id)
        if contact is None or contact.company_id != company.id:
            errors["contact_id"] = "Ce contact n'appartient pas à cette entreprise."
    if errors:
        raise ValidationError(errors, INTERACTION_FIELD_FR)
    return clean


def _checked_values(
    session: Session,
    actor: Actor,
    company_id: int,
    *,
    kind,
    summary,
    outcome,
    next_action,
    next_action_due,
    ref,
    contact_id,
    occurred_at,
) -> tuple[Company, str | None, dict]:
    """Authorise on the company's site, apply the field rules; (company, ref, row values)."""
    company = get_or_404(session, Company, company_id, "Entreprise")
    authorize(actor, Perm.INTERACTION_WRITE, company.site_id)
    clean = _validate(
        session,
        company,
        kind=kind,
        summary=summary,
        outcome=outcome,
        next_action=next_action,
        next_action_due=next_action_due,
        ref=ref,
        contact_id=contact_id,
    )
    when = occurred_at or utcnow()
    if isinstance(when, dt.date) and not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time(12))
    values = {
        "company_id": company.id,
        "contact_id": contact_id,
        "occurred_at": when,
        "kind": InteractionKind(clean["kind"]).value,
        "summary": clean["summary"],
        "outcome": clean["outcome"],
        "next_action": clean["next_action"],
        "next_action_due": clean["next_action_due"],
    }
    return company, clean["ref"], values


def _prospect_contacted(session: Session, actor: Actor, company: Company, reason: str) -> None:
    """A first logged contact moves a prospect to "contacted"."""
    if company.status == PartnerStatus.PROSPECT.value:
        change_status(
            session, actor, company.id, PartnerStatus.CONTACTED.value, reason, system=True
        )


def log_interaction(
    session: Session,
    actor: Actor,
    company_id: int,
    *,
    kind: str,
    summary: str,
    contact_id: int | None = None,
    outcome: str | None = None,
    next_action: str | None = None,
    next_action_due=None,
    occurred_at: dt.datetime | None = None,
    ref: str | None = None,
) -> Interaction:
    """Log a call/visit/e-mail/meeting/event; a prospect becomes "contacted"."""
    company, ref, values = _checked_values(
        session,
        actor,
        company_id,
        kind=kind,
        summary=summary,
        outcome=outcome,
        next_action=next_action,
        next_action_due=next_action_due,
        ref=ref,
        contact_id=contact_id,
        occurred_at=occurred_at,
    )
    interaction = Interaction(ref=ref, author_id=actor.user_id, next_action_done=False, **values)
    session.add(interaction)
    session.flush()
    audit.record(session, actor, "create", "interaction", interaction.id, company_id=company.id)
    _prospect_contacted(session, actor, company, "contact enregistré")
    return interaction


def upsert_interaction(
    session: Session,
    actor: Actor,
    *,
    ref: str | None,
    company_id: int,
    kind: str,
    summary: str,
    contact_id: int | None = None,
    outcome: str | None = None,
    next_action: str | None = None,
    next_action_due=None,
    next_action_done: bool = False,
    occurred_at: dt.datetime | dt.date | None = None,
) -> str:
    """Create or update (by ``ref``) a logged contact, as the interactions import does.

    Returns "created", "updated" or "unchanged". Same field rules as
    :func:`log_interaction`. When ``ref`` exists, the actor needs the interaction
    right on the site of its CURRENT company as well as on the target company's.
    """
    company, ref, values = _checked_values(
        session,
        actor,
        company_id,
        kind=kind,
        summary=summary,
        outcome=outcome,
        next_action=next_action,
        next_action_due=next_action_due,
        ref=ref,
        contact_id=contact_id,
        occurred_at=occurred_at,
    )
    existing = session.scalar(select(Interaction).where(Interaction.ref == ref)) if ref else None
    if existing is not None:
        authorize(actor, Perm.INTERACTION_WRITE, existing.company.site_id)
    values["next_action_done"] = bool(next_action_done)
    if existing is None:
        interaction = Interaction(ref=ref, author_id=actor.user_id, **values)
        session.add(interaction)
        session.flush()
        audit.record(
            session, actor, "import_create", "interaction", interaction.id, company_id=company.id
        )
        _prospect_contacted(session, actor, company, "contact importé")
        return "created"
    changed = sorted(k for k, val in values.items() if getattr(existing, k) != val)
    if not changed:
        return "unchanged"
    for k in changed:
        setattr(existing, k, values[k])
    if "company_id" in changed:
        existing.company = company
    session.flush()
    audit.record(session, actor, "import_update", "interaction", existing.id, fields=changed)
    return "updated"


@dataclass
class FollowUp:
    interaction_id: int
    company_id: int
    company_name: str
    next_action: str
    due: dt.date | None
    kind: str
    summary: str
    overdue: bool
    contact_name: str | None = None
    contact_phone: str | None = None  # the contact's phone, else the company's


@dataclass
class FollowUps:
    overdue: list[FollowUp]
    upcoming: list[FollowUp]


def my_followups(
    session: Session, actor: Actor, today: dt.date | None = None, horizon_days: int = 30
) -> FollowUps:
    """The actor's open next actions: overdue ones and those due within ``horizon_days``."""
    authorize(actor, Perm.INTERACTION_WRITE)
    today = today or dt.date.today()
    rows = session.execute(
        select(Interaction, Company.name, Company.phone, Contact)
        .join(Company, Company.id == Interaction.company_id)
        .outerjoin(Contact, Contact.id == Interaction.contact_id)
        .where(
            Interaction.author_id == actor.user_id,
            Interaction.next_action.is_not(None),
            Interaction.next_action_done.is_(False),
        )
        .order_by(Interaction.next_action_due, Interaction.id)
    ).all()
    overdue, upcoming = [], []
    horizon = today + dt.timedelta(days=horizon_days)
    for i, name, company_phone, contact in rows:
        item = FollowUp(
            i.id,
            i.company_id,
            name,
            i.next_action,
            i.next_action_due,
            i.kind,
            i.summary,
            overdue=i.next_action_due is not None and i.next_action_due < today,
            contact_name=contact.full_name if contact is not None else None,
            contact_phone=(contact.phone if contact is not None else None) or company_phone,
        )
        if item.overdue:
            overdue.append(item)
        elif i.next_action_due is None or i.next_action_due <= horizon:
            upcoming.append(item)
    return FollowUps(overdue, upcoming)


def _own_interaction(session: Session, actor: Actor, interaction_id: int) -> Interaction:
    interaction = get_or_404(session, Interaction, interaction_id, "Contact")
    authorize(actor, Perm.INTERACTION_WRITE, interaction.company.site_id)
    return interaction


def mark_done(
    session: Session, actor: Actor, interaction_id: int, note: str | None = None
) -> Interaction:
    """Close a follow-up; an optional ``note`` (what was done) is added to the outcome."""
    interaction = _own_interaction(session, actor, interaction_id)
    try:
        note = v.text(note, 1000)
    except v.FieldError as exc:
        raise ValidationError({"note": exc.message}, INTERACTION_FIELD_FR) from None
    if note:
        outcome = f"{interaction.outcome}\n{note}" if interaction.outcome else note
        if len(outcome) > 5000:
            raise ValidationError(
                {"note": "Le résultat de ce contact est déjà trop long."}, INTERACTION_FIELD_FR
            )
        interaction.outcome = outcome
    if not interaction.next_action_done or note:
        if not interaction.next_action_done:
            interaction.next_action_done = True
            interaction.done_at = utcnow()
        session.flush()
        audit.record(
            session, actor, "followup_done", "interaction", interaction.id, note=bool(note)
        )
    return interaction


def reschedule(
    session: Session, actor: Actor, interaction_id: int, new_due, today: dt.date | None = None
) -> Interaction:
    """Move a follow-up to ``new_due``: today or later (``today``: the clock, for tests)."""
    interaction = _own_interaction(session, actor, interaction_id)
    try:
        due = v.date(new_due)
    except v.FieldError as exc:
        raise ValidationError({"next_action_due": exc.message}, INTERACTION_FIELD_FR) from None
    if due is None:
        raise ValidationError(
            {"next_action_due": "Choisissez la nouvelle date."}, INTERACTION_FIELD_FR
        )
    if due < (today or dt.date.today()):
        raise ValidationError(
            {
                "next_action_due": "La nouvelle date ne peut pas être dans le passé (aujourd'hui ou plus tard)."
            }
        )
    interaction.next_action_due = due
    interaction.next_action_done = False
    interaction.done_at = None
    session.flush()
    audit.record(session, actor, "reschedule", "interaction", interaction.id)
    return interaction


def journal(
    session: Session, actor: Actor, *, site_ids: list[int] | None = None, limit: int = 200
) -> list[tuple[Interaction, str]]:
    """Latest logged contacts (with company names), newest first."""
    authorize(actor, Perm.COMPANY_READ)
    stmt = (
        select(Interaction, Company.name)
        .join(Company, Company.id == Interaction.company_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    if site_ids:
        stmt = stmt.where(Company.site_id.in_(site_ids))
    return [(i, n) for i, n in session.execute(stmt).all()]
