"""Records with every fact a convention needs (adult or minor learner), for paperwork tests."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

from crm.models import Company, Contact, Learner, Offer, Placement, Site, User

START = dt.date.today() + dt.timedelta(days=21)
END = START + dt.timedelta(days=11)

FACTS = {
    "objective": "confirm",
    "daily_hours": "8h30-12h00 et 13h30-17h00",
    "weekly_hours": "35",
    "weekly_schedule": "du lundi au vendredi",
    "workplace": "Quai Cronstadt, rayon fruits et légumes, 83000 Toulon",
    "activities": "Mise en rayon des produits frais; accueil et conseil de la clientèle",
    "risks": "Port de charges légères; coupures (cutter)",
    "protective_equipment": "Chaussures de sécurité et gants anti-coupure",
}
MINOR_FACTS = {
    "legal_rep_name": "Mme Françoise Lefèvre-Aït Ouali",
    "legal_rep_phone": "06 12 34 56 78",
    "legal_rep_address": "7 impasse des Œillets, Bâtiment C, 83160 La Valette-du-Var",
}


@dataclass
class Paperwork:
    site: Site
    referent: User
    company: Company
    tutor: Contact
    offer: Offer
    learner: Learner
    placement: Placement


def make_records(session, site: Site, *, minor: bool = False, tag: str = "A") -> Paperwork:
    site.address = "Avenue de l'Université"
    site.postcode = "83130"
    site.city = "La Garde"
    referent = User(
        username=f"referente-{tag}",
        display_name="Élodie Château-Renard",
        email="elodie.chateau@e2c-var.example",
        role="trainer",
        sites=[site],
    )
    company = Company(
        name="Supermarché Coopératif des Quartiers Ouest de Toulon et de la Seyne-sur-Mer SARL",
        siret="73282932000074",
        naf="47.11F",
        address="1278 boulevard du Maréchal Jean-Marie-Gabriel de Lattre de Tassigny, ZA les Playes",
        postcode="83500",
        city="La Seyne-sur-Mer",
        site_id=site.id,
        status="partner",
    )
    session.add_all([referent, company])
    session.flush()
    tutor = Contact(
        company_id=company.id,
        first_name="Jérôme",
        last_name="Nguyễn-Dubois",
        job_title="Responsable du rayon frais",
        phone="04 94 11 22 33",
        email="jerome.nguyen@coop.example",
        is_tutor=True,
    )
    session.add(tutor)
    session.flush()
    offer = Offer(
        company_id=company.id,
        rome_code="D1106",
        title="Employé(e) de rayon produits frais",
        skills="Hygiène (HACCP);Mise en rayon;Accueil client",
        seats=2,
        tutor_id=tutor.id,
    )
    birth = dt.date(START.year - 16, 3, 14) if minor else dt.date(START.year - 22, 9, 30)
    learner = Learner(
        site_id=site.id,
        ref=f"L-PW-{tag}",
        referent_id=referent.id,
        first_name="Anaïs-Bérénice" if minor else "Mohamed-Amine",
        last_name="de La Tour d'Auvergne-Écuyer" if minor else "Benali",
        birth_date=birth,
        entry_date=dt.date.today() - dt.timedelta(days=60),
        address="Résidence Les Hauts de Sainte-Musse, bâtiment 12, appartement 345",
        postcode="83100",
        city="Toulon",
        status="active",
    )
    session.add_all([offer, learner])
    session.flush()
    placement = Placement(
        ref=f"P-PW-{tag}",
        learner_id=learner.id,
        offer_id=offer.id,
        company_id=company.id,
        tutor_id=tutor.id,
        kind="pmsmp",
        rome_code="D1106",
        start_date=START,
        end_date=END,
        status="confirmed",
    )
    session.add(placement)
    session.flush()
    return Paperwork(site, referent, company, tutor, offer, learner, placement)


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, whitespace collapsed (wrapped lines join with a space)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def squash(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def minimal_pdf() -> bytes:
    """A small valid PDF (stands for a scanned signed agreement)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "Scan")
    return bytes(pdf.output())


def mark_convention_signed(session, placement_id: int, day: dt.date | None = None) -> None:
    """Record a placement's convention as signed by every party (for tests that start periods).

    Writes the rows directly: the facts and signature workflow itself is tested in
    tests/services/test_paperwork.py.
    """
    from crm.models import (
        PaperworkSignature,
        PaperworkStatus,
        PlacementPaperwork,
        SignerRole,
        utcnow,
    )

    day = day or dt.date.today()
    row = session.get(PlacementPaperwork, placement_id)
    if row is None:
        row = PlacementPaperwork(placement_id=placement_id)
        session.add(row)
    row.status = PaperworkStatus.SIGNED.value
    row.signed_at = utcnow()
    for role in SignerRole:
        session.add(PaperworkSignature(placement_id=placement_id, role=role.value, signed_on=day))
    session.flush()
