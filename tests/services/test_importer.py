"""Import/export: atomicity, idempotence, encodings, separators, XLSX, French headers."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import func, select

from crm.auth import SYSTEM
from crm.errors import ValidationError
from crm.models import AuditEvent, Company, Contact, Interaction, Learner, Offer, Placement, Site
from crm.services.imports import export_bytes, import_data, read_table

COMPANIES_CSV = """ref,name,siret,naf,sector,address,postcode,city,phone,email,website,site,status
C1,Boulangerie Martin,732 829 320 00074,1071C,Alimentation,12 avenue Foch,83000,Toulon,04.94.12.34.56,contact@martin.fr,www.martin.fr,TPM,partner
C2,Garage du Port,,,Automobile,3 quai Cronstadt,83000,Toulon,,,,TPM,
C3,Hôtel Mistral,,,Hôtellerie,,83400,Hyères,+33 4 94 00 00 00,,,CAVEM,prospect
"""


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_companies_import_is_idempotent(session, sites):
    r1 = import_data(session, SYSTEM, "companies", COMPANIES_CSV.encode(), "c.csv")
    session.commit()
    assert (r1.created, r1.rejected, r1.imported) == (3, [], True)
    c1 = session.scalar(select(Company).where(Company.ref == "C1"))
    assert (c1.siret, c1.phone, c1.naf, c1.site.name) == (
        "73282932000074",
        "04 94 12 34 56",
        "10.71C",
        "TPM",
    )
    assert c1.geo_precision == "commune" and c1.status == "partner"
    r2 = import_data(session, SYSTEM, "companies", COMPANIES_CSV.encode(), "c.csv")
    session.commit()
    assert (r2.created, r2.updated, r2.unchanged) == (0, 0, 3)
    assert count(session, Company) == 3
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "import")) is not None


def test_any_invalid_row_imports_nothing_and_reports_every_line(session, sites):
    bad = COMPANIES_CSV + "C4,,,,,,,,,,,,\nC5,Mauvais SIRET,73282932000075,,,,8300,,,,,,\n"
    report = import_data(session, SYSTEM, "companies", bad.encode(), "c.csv")
    session.commit()
    assert not report.imported and count(session, Company) == 0
    assert [e.line for e in report.rejected] == [5, 6]
    assert "name" in report.rejected[0].reason
    assert "SIRET" in report.rejected[1].reason and "Code postal" in report.rejected[1].reason
    report = import_data(session, SYSTEM, "companies", bad.encode(), "c.csv", skip_invalid=True)
    session.commit()
    assert report.imported and count(session, Company) == 3


def test_dry_run_imports_nothing(session, sites):
    report = import_data(
        session, SYSTEM, "companies", COMPANIES_CSV.encode(), "c.csv", dry_run=True
    )
    session.commit()
    assert report.created == 3 and not report.imported and count(session, Company) == 0


FRENCH = """Raison sociale;Code postal;Ville;Téléphone;SIRET;Adresse;Courriel;Site web;Secteur
Pâtisserie Léonard;83000;Toulon;04 94 11 22 33;;5 rue d'Alger;bonjour@leonard.fr;leonard.fr;Alimentation
"""


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_french_headers_semicolons_and_encodings(session, sites, encoding):
    report = import_data(session, SYSTEM, "companies", FRENCH.encode(encoding), "f.csv")
    session.commit()
    assert report.created == 1, report.rejected
    c = session.scalar(select(Company))
    assert (c.name, c.postcode, c.city, c.phone, c.website, c.sector) == (
        "Pâtisserie Léonard",
        "83000",
        "Toulon",
        "04 94 11 22 33",
        "https://leonard.fr",
        "Alimentation",
    )


def test_xlsx_import_and_export_round_trip(session, sites):
    df = pd.read_csv(io.StringIO(COMPANIES_CSV), dtype=str)
    buf = io.BytesIO()
    df.to_excel(buf, index=False)
    report = import_data(session, SYSTEM, "companies", buf.getvalue(), "c.xlsx")
    session.commit()
    assert report.created == 3, report.rejected
    data = export_bytes(session, SYSTEM, "companies", "out.xlsx")
    again = import_data(session, SYSTEM, "companies", data, "out.xlsx")
    assert again.unchanged == 3 and again.rejected == []
    csv_data = export_bytes(session, SYSTEM, "companies", "out.csv")
    assert csv_data.startswith(b"\xef\xbb\xbf") and read_table(csv_data)[0][1]["ref"] == "C1"


def test_likely_duplicates_reported_never_merged(session, sites):
    import_data(session, SYSTEM, "companies", COMPANIES_CSV.encode(), "c.csv")
    dup = "ref,name,address,postcode,city,phone\nX9,SARL BOULANGERIE MARTIN,12 av. Foch,83000,Toulon,0494123456\n"
    report = import_data(session, SYSTEM, "companies", dup.encode(), "d.csv")
    session.commit()
    assert report.created == 1
    assert [(d.line, {d.ref_a, d.ref_b}) for d in report.duplicates] == [(2, {"C1", "X9"})]
    assert count(session, Company) == 4


def test_size_limit(session, sites, monkeypatch):
    monkeypatch.setenv("PASSERELLE_MAX_UPLOAD_MB", "0")
    with pytest.raises(ValidationError):
        import_data(session, SYSTEM, "companies", COMPANIES_CSV.encode(), "c.csv")


def test_all_kinds_chain(session, sites):
    import_data(session, SYSTEM, "companies", COMPANIES_CSV.encode(), "c.csv")
    contacts = (
        "ref,company_ref,first_name,last_name,phone,is_tutor\nK1,C1,Léa,Roux,0494000001,oui\n"
    )
    offers = (
        "ref,company_ref,rome,title,skills,seats,start_date,end_date,open_to_minors\n"
        "O1,C1,D1102;D1104,Boulanger,Pétrir;Cuire,1,01/12/2026,2026-12-31,non\n"
    )
    learners = (
        "ref,first_name,last_name,birth_date,site,entry_date,postcode,city,project_rome,mobility,max_commute_min\n"
        "L1,Inès,B.,2006-04-02,TPM,2026-09-01,83000,Toulon,D1102,walk;transit,40\n"
        "L2,Tom,C.,2006-04-02,TPM,2026-09-01,83000,Toulon,D1102,walk;transit,40\n"
    )
    interactions = (
        "ref,company_ref,contact_ref,date,kind,summary,next_action,next_action_due\n"
        "I1,C2,,2026-11-02,call,Premier appel,Rappeler,2026-11-30\n"
    )
    placements = (
        "ref,learner_ref,company_ref,offer_ref,start_date,end_date,status\n"
        "P1,L1,C1,O1,2026-12-01,2026-12-12,confirmed\n"
        "P2,L2,C1,O1,2026-12-01,2026-12-12,confirmed\n"
    )
    for kind, text in [
        ("contacts", contacts),
        ("offers", offers),
        ("learners", learners),
        ("interactions", interactions),
    ]:
        rep = import_data(session, SYSTEM, kind, text.encode(), f"{kind}.csv")
        assert rep.created >= 1 and rep.rejected == [], (kind, rep.rejected)
        rep = import_data(session, SYSTEM, kind, text.encode(), f"{kind}.csv")
        assert rep.created == rep.updated == 0, kind
    rep = import_data(
        session, SYSTEM, "placements", placements.encode(), "p.csv", skip_invalid=True
    )
    assert rep.created == 1 and "Plus de place" in rep.rejected[0].reason
    session.commit()
    offer = session.scalar(select(Offer))
    assert offer.rome_codes == ["D1102", "D1104"] and offer.open_to_minors is False
    assert session.scalar(select(Contact)).is_tutor
    lr = session.scalar(select(Learner).where(Learner.ref == "L1"))
    assert lr.mobility == "walk;transit" and lr.project_rome_1 == "D1102" and lr.latitude
    assert session.scalar(select(Company).where(Company.ref == "C2")).status == "contacted"
    assert count(session, Interaction) == 1 and count(session, Placement) == 1


def test_learner_rows_validated_like_the_form(session, sites):
    text = (
        "ref,first_name,last_name,birth_date,site,entry_date,project_rome,mobility\n"
        "L1,A,B,2020-01-01,TPM,2026-09-01,D1102,walk\n"
        "L2,A,B,2006-01-01,Nulle part,2026-09-01,D1102,walk\n"
        "L3,A,B,2006-01-01,TPM,2026-09-01,Z9,walk\n"
        "L4,A,B,2006-01-01,TPM,2026-09-01,D1102,teleport\n"
    )
    rep = import_data(session, SYSTEM, "learners", text.encode(), "l.csv")
    assert [e.line for e in rep.rejected] == [2, 3, 4, 5]
    assert "âge improbable" in rep.rejected[0].reason and "Site inconnu" in rep.rejected[1].reason
    assert "ROME" in rep.rejected[2].reason and "déplacement" in rep.rejected[3].reason
    assert count(session, Learner) == 0


def test_sites_import(session, sites):
    rep = import_data(
        session,
        SYSTEM,
        "sites",
        "name,postcode,city\nTPM,83000,Toulon\nDracénie,83300,Draguignan\n".encode(),
        "s.csv",
    )
    assert (rep.created, rep.updated) == (1, 1)
    assert count(session, Site) == 3


def test_defaults_fill_a_missing_column(session, sites):
    """The Stagiaires page imports into its site: ``defaults`` fills the absent column."""
    text = "ref,first_name,last_name,entry_date,mobility\nL1,Inès,B.,2026-09-01,walk\n"
    with pytest.raises(ValidationError):  # no site column and no default
        import_data(session, SYSTEM, "learners", text.encode(), "l.csv")
    rep = import_data(
        session, SYSTEM, "learners", text.encode(), "l.csv", defaults={"site": "CAVEM"}
    )
    assert rep.created == 1 and rep.imported
    assert session.scalar(select(Learner)).site.name == "CAVEM"
