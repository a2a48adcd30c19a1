"""Companies: listing and the company file (fiche entreprise)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.auth import Actor, Perm, authorize
from crm.errors import NotFound
from crm.models import (
    Company,
    CompanyStatusChange,
    Contact,
    Interaction,
    Offer,
    Placement,
    Site,
    User,
)
from crm.services.offers import seats_used


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
        stmt = stmt.where(Company.merged_into_id.is_(None), Company.retired_at.is_(None))
    if site_id is not None:
        stmt = stmt.where(Company.site_id == site_id)
    if status:
        stmt = stmt.where(Company.status == status)
    rows = session.execute(stmt).all()
    offers = session.execute(select(Offer.id, Offer.company_id, Offer.seats)).all()
    used = seats_used(session, [o.id for o in offers])
    offered_by: dict[int, int] = {}
    used_by: dict[int, int] = {}
    for o in offers:
        offered_by[o.company_id] = offered_by.get(o.company_id, 0) + o.seats
        used_by[o.company_id] = used_by.get(o.company_id, 0) + min(used[o.id], o.seats)
    return [
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
        )
        for c, site_name, owner, last in rows
    ]


@dataclass
class OfferUsage:
    offer: Offer
    used: int

    @property
    def free(self) -> int:
        return max(0, self.offer.seats - self.used)


@dataclass
class CompanyFile:
    company: Company
    contacts: list[Contact]
    offers: list[OfferUsage]
    interactions: list[Interaction]
    placements: list[Placement]
    status_history: list[CompanyStatusChange]


def get_company(session: Session, actor: Actor, company_id: int) -> CompanyFile:
    """The company file: identity, contacts, capacity, timeline."""
    authorize(actor, Perm.COMPANY_READ)
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound(f"Entreprise {company_id} introuvable.")
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
    placements = list(
        session.scalars(
            select(Placement)
            .where(Placement.company_id == company_id)
            .order_by(Placement.start_date.desc())
        )
    )
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
