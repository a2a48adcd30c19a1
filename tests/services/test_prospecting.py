"""Prospecting: SIRENE register import, ranked prospects, "Ajouter comme prospect", CLI.

Register extracts are written by the tests in the INSEE StockEtablissement layout
(tests/support/sirene.py). Every DB test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from crm.auth import SYSTEM
from crm.errors import PermissionDenied, ValidationError
from crm.models import Company, Establishment, Interaction, Learner, Role
from crm.services.companies import create_company
from crm.services.interactions import log_interaction
from crm.services.prospecting import add_prospect, prospects_for_learner, prospects_near
from crm.services.prospecting.sirene import (
    departement_codes,
    import_sirene,
    lambert93_to_wgs84,
    parse_departements,
)
from tests.factories import make_actor
from tests.support.sirene import establishment, to_lambert93, write_register
from tests.support.sirene import siret as S

TOULON = (43.1242, 5.9280)
LA_SEYNE = (43.1007, 5.8788)
TODAY = dt.date(2026, 11, 23)


def register_rows() -> list[dict]:
    return [
        # A restaurant placed by its Lambert-93 coordinates.
        establishment(
            S("11111111100011"), "Le Bistrot du Port", "83137", "83000", "TOULON", lambert=TOULON
        ),
        # Same legal unit, other establishment (homonym of a CRM partner in Fréjus).
        establishment(
            S("22222222200011"),
            "La Bonne Table",
            "83137",
            "83000",
            "TOULON",
            band="12",
            lambert=(43.1260, 5.9300),
        ),
        # Already a CRM partner (same SIRET).
        establishment(
            S("33333333300011"), "Brasserie du Cours", "83137", "83000", "TOULON", lambert=TOULON
        ),
        # In the CRM without SIRET (typed by an officer): the duplicate detector knows it.
        establishment(
            S("44444444400011"),
            "Pizzeria Chez Nino",
            "83126",
            "83500",
            "LA SEYNE-SUR-MER",
            street="DE LA REPUBLIQUE",
            number="5",
            latlon=LA_SEYNE,
        ),
        # Said no last month.
        establishment(
            S("55555555500011"), "Crêperie Bretonne", "83137", "83000", "TOULON", lambert=TOULON
        ),
        # No coordinates at all: the commune centre.
        establishment(
            S("66666666600011"), "Snack Mourillon", "83137", "83100", "TOULON", band="01"
        ),
        # Closed: never imported.
        establishment(
            S("77777777700011"),
            "Restaurant Fermé",
            "83137",
            "83000",
            "TOULON",
            state="F",
            lambert=TOULON,
        ),
        # A bakery (NAF that hires few waiters) and a garage (none).
        establishment(
            S("88888888800011"),
            "Boulangerie Azur",
            "83137",
            "83000",
            "TOULON",
            naf="10.71C",
            lambert=TOULON,
        ),
        establishment(
            S("99999999900011"),
            "Garage Central",
            "83137",
            "83000",
            "TOULON",
            naf="45.20A",
            lambert=TOULON,
        ),
        # Other départements: Marseille (arrondissement code), Ajaccio (2A).
        establishment(S("12121212100011"), "Bouchon Marseillais", "13201", "13001", "MARSEILLE 1"),
        establishment(S("13131313100011"), "U Ristorante", "2A004", "20000", "AJACCIO"),
    ]


@pytest.fixture
def register(engine, tmp_path, sites):
    path = write_register(tmp_path / "StockEtablissement.csv", register_rows())
    report = import_sirene(engine, SYSTEM, path, departements="83", chunksize=4)
    return report


def test_lambert93_conversion_and_departements():
    x, y = to_lambert93(*TOULON)
    lat, lon = lambert93_to_wgs84([x], [y])
    assert lat[0] == pytest.approx(TOULON[0], abs=1e-5)
    assert lon[0] == pytest.approx(TOULON[1], abs=1e-5)
    assert parse_departements("83, 6,2a,974") == ("83", "06", "2A", "974")
    with pytest.raises(ValueError):
        parse_departements("Var")
    import pandas as pd

    got = departement_codes(
        pd.Series(["83137", "2B033", "97411", "", ""]),
        pd.Series(["83000", "20200", "97400", "20000", "06000"]),
    )
    assert got.tolist() == ["83", "2B", "974", "2A", "06"]


def test_import_keeps_active_establishments_of_the_departements(register, session):
    assert register.rows_read == 11
    assert register.kept == 8 and register.closed == 1
    assert register.lambert == 6 and register.latlon == 1 and register.commune_centre == 1
    rows = {e.siret: e for e in session.scalars(select(Establishment))}
    assert set(rows) == {
        S("11111111100011"),
        S("22222222200011"),
        S("33333333300011"),
        S("44444444400011"),
        S("55555555500011"),
        S("66666666600011"),
        S("88888888800011"),
        S("99999999900011"),
    }
    bistrot = rows[S("11111111100011")]
    assert (bistrot.latitude, bistrot.longitude) == pytest.approx(TOULON, abs=1e-5)
    assert bistrot.naf == "56.10A" and bistrot.size_band == "11"
    assert bistrot.address == "12 Rue Jean Jaures" and bistrot.commune_name == "Toulon"
    snack = rows[S("66666666600011")]  # no coordinates: Toulon's centre, flagged as such
    assert snack.geo_precision == "commune" and snack.latitude == pytest.approx(43.12, abs=0.05)
    assert rows[S("44444444400011")].latitude == pytest.approx(LA_SEYNE[0])


def test_reimport_updates_and_marks_closed(register, engine, session, tmp_path):
    rows = register_rows()
    rows[0]["etatAdministratifEtablissement"] = "F"  # the bistrot closed
    rows[1]["enseigne1Etablissement"] = "La Table d'Azur"  # renamed
    path = write_register(tmp_path / "newer.csv", rows)
    report = import_sirene(
        engine, SYSTEM, path, departements=["83", "13", "2A"], source_date=dt.date(2026, 12, 1)
    )
    assert report.closed == 2 and report.kept == 9
    session.expire_all()
    by = {e.siret: e for e in session.scalars(select(Establishment))}
    assert by[S("11111111100011")].active is False
    assert by[S("11111111100011")].source_date == dt.date(2026, 12, 1)
    assert by[S("22222222200011")].name == "La Table d'Azur" and by[S("22222222200011")].active
    assert S("77777777700011") not in by  # closed and never active here: not added
    marseille = by[S("12121212100011")]  # arrondissement code placed at Marseille's centre
    assert marseille.latitude == pytest.approx(43.30, abs=0.05)
    assert by[S("13131313100011")].commune_name == "Ajaccio"
    assert session.scalar(select(func.count()).select_from(Establishment)) == 10


def test_import_refuses_a_file_without_the_register_columns(engine, tmp_path, sites):
    bad = tmp_path / "bad.csv"
    bad.write_text("siret,nom\n11111111100011,X\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        import_sirene(engine, SYSTEM, bad, departements="83")


def test_only_admins_import_the_register(engine, session, sites, tmp_path):
    path = write_register(tmp_path / "r.csv", register_rows()[:2])
    for role in (Role.OFFICER, Role.TRAINER, Role.MANAGER):
        actor = make_actor(session, role, sites[0])
        session.commit()
        with pytest.raises(PermissionDenied):
            import_sirene(engine, actor, path, departements="83")
    admin = make_actor(session, Role.ADMIN)
    session.commit()
    assert import_sirene(engine, admin, path, departements="83").kept == 2


def _crm(session, sites, officer):
    tpm, cavem = sites
    create_company(
        session,
        SYSTEM,
        name="Brasserie du Cours",
        siret=S("33333333300011"),
        site_id=tpm.id,
        status="partner",
        city="Toulon",
        postcode="83000",
        latitude=TOULON[0],
        longitude=TOULON[1],
    )
    create_company(
        session,
        SYSTEM,
        name="Pizzeria chez Nino",
        address="5 rue de la République",
        postcode="83500",
        city="La Seyne-sur-Mer",
        site_id=tpm.id,
        latitude=LA_SEYNE[0],
        longitude=LA_SEYNE[1],
    )
    # A homonym in another town, without SIRET: not the same establishment.
    create_company(
        session,
        SYSTEM,
        name="La Bonne Table",
        postcode="83600",
        city="Fréjus",
        site_id=cavem.id,
        latitude=43.43,
        longitude=6.73,
    )
    no = create_company(
        session,
        SYSTEM,
        name="Crêperie Bretonne",
        siret=S("55555555500011"),
        site_id=tpm.id,
        city="Toulon",
        postcode="83000",
        latitude=TOULON[0],
        longitude=TOULON[1],
    )
    log_interaction(
        session,
        officer,
        no.id,
        kind="call",
        summary="Appel au gérant",
        outcome="Pas de besoin pour l'instant",
        occurred_at=dt.datetime.combine(TODAY - dt.timedelta(days=30), dt.time(10)),
    )
    learner = Learner(
        site_id=tpm.id,
        first_name="Inès",
        last_name="Test",
        entry_date=TODAY,
        project_rome_1="G1803",
        project_rome_2="D1102",
        city="Toulon",
        postcode="83000",
        latitude=43.1250,
        longitude=5.9290,
        mobility="transit;walk",
        max_commute_min=40,
    )
    session.add(learner)
    session.commit()
    return learner


def test_prospects_for_a_learner_exclude_the_crm_and_explain(register, session, sites):
    officer = make_actor(session, Role.OFFICER, sites[0])
    learner = _crm(session, sites, officer)
    result = prospects_for_learner(session, officer, learner.id, today=TODAY)
    sirets = [p.siret for p in result.prospects]
    # The partner (same SIRET), the pizzeria (duplicate detector) and the refusal are out.
    assert S("33333333300011") not in sirets
    assert S("44444444400011") not in sirets
    assert S("55555555500011") not in sirets
    assert S("99999999900011") not in sirets  # a garage does not hire waiters
    # The homonym of a Fréjus company is another establishment: it stays.
    assert S("22222222200011") in sirets
    assert set(sirets) == {
        S("11111111100011"),
        S("22222222200011"),
        S("66666666600011"),
        S("88888888800011"),
    }
    # Restaurants first; the tiny snack after the 10-49 restaurants; the bakery last.
    assert sirets.index(S("88888888800011")) == 3
    assert sirets.index(S("66666666600011")) == 2
    assert result.in_crm == 3
    # The refusal is shown apart, with its outcome, not hidden.
    assert [d.prospect.siret for d in result.declined] == [S("55555555500011")]
    assert result.declined[0].outcome == "Pas de besoin pour l'instant"
    top = result.prospects[0]
    assert top.reasons[0].startswith("NAF 56.10A recrute ")
    assert "« Service en restauration »" in top.reasons[0]
    assert top.reasons[1].endswith("min à pied") or top.reasons[1].endswith("min en transports")
    assert result.prospects[1].reasons[2] in ("10–19 salariés", "20–49 salariés")
    snack = next(p for p in result.prospects if p.siret == S("66666666600011"))
    assert snack.reasons[2] == "1–2 salariés"


def test_fairness_spread_differs_between_officers_but_is_stable(register, session, sites):
    tpm = sites[0]
    a = make_actor(session, Role.OFFICER, tpm)
    b = make_actor(session, Role.OFFICER, tpm)
    session.commit()
    ra = prospects_near(session, a, "G1803", *TOULON, radius_km=10, today=TODAY)
    ra2 = prospects_near(session, a, "G1803", *TOULON, radius_km=10, today=TODAY)
    rb = prospects_near(session, b, "G1803", *TOULON, radius_km=10, today=TODAY)
    assert [p.siret for p in ra.prospects] == [p.siret for p in ra2.prospects]
    assert [p.score for p in ra.prospects] != [p.score for p in rb.prospects]
    assert {p.siret for p in ra.prospects} == {p.siret for p in rb.prospects}
    for p in ra.prospects:
        assert 0 < p.score <= 1


def test_prospects_respect_site_scope(register, session, sites):
    tpm, cavem = sites
    officer = make_actor(session, Role.OFFICER, cavem)
    learner = _crm(session, sites, make_actor(session, Role.OFFICER, tpm))
    with pytest.raises(PermissionDenied):
        prospects_for_learner(session, officer, learner.id)
    with pytest.raises(PermissionDenied):
        prospects_near(session, officer, "G1803", site_id=tpm.id)
    assert prospects_near(session, officer, "G1803", site_id=cavem.id).prospects == []


def test_add_prospect_once_then_note_a_contact(register, session, sites):
    tpm = sites[0]
    officer = make_actor(session, Role.OFFICER, tpm)
    session.commit()
    first = add_prospect(session, officer, S("11111111100011"), site_id=tpm.id)
    second = add_prospect(session, officer, S("11111111100011"), site_id=tpm.id)
    session.commit()
    assert first.created and not second.created and first.company_id == second.company_id
    company = session.get(Company, first.company_id)
    assert (company.status, company.source, company.owner_id) == (
        "prospect",
        "sirene",
        officer.user_id,
    )
    assert company.naf == "56.10A" and company.size_band == "10-19"
    assert company.geo_precision == "housenumber"
    assert (
        session.scalar(
            select(func.count()).select_from(Company).where(Company.siret == S("11111111100011"))
        )
        == 1
    )
    log_interaction(session, officer, company.id, kind="call", summary="Premier appel")
    session.commit()
    session.refresh(company)
    assert company.status == "contacted"
    assert session.scalar(select(func.count()).select_from(Interaction)) == 1
    # Now in the CRM: no longer a prospect to hand out.
    result = prospects_near(session, officer, "G1803", *TOULON, radius_km=10)
    assert S("11111111100011") not in [p.siret for p in result.prospects]
    manager = make_actor(session, Role.MANAGER, tpm)
    with pytest.raises(PermissionDenied):
        add_prospect(session, manager, S("22222222200011"), site_id=tpm.id)


def test_cli_import_and_prospects(tmp_path):
    env = {**os.environ, "PASSERELLE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    path = write_register(tmp_path / "StockEtablissement.csv", register_rows())
    run = [sys.executable, "-m", "crm.cli"]
    created = subprocess.run(
        [*run, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert created.returncode == 0, created.stderr
    done = subprocess.run(
        [*run, "import", "sirene", str(path), "--departements", "83,13"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "9 établissement(s) actif(s)" in done.stdout and "%" in done.stderr
    done = subprocess.run(
        [
            *run,
            "prospects",
            "--rome",
            "G1803",
            "--near",
            "43.1242,5.9280",
            "--radius-km",
            "10",
            "--top",
            "3",
            "--format",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 3
    assert list(rows[0]) == ["siret", "name", "naf", "commune", "minutes", "score", "reasons"]
    assert rows[0]["naf"] == "56.10A" and "recrute" in rows[0]["reasons"]
    done = subprocess.run(
        [*run, "prospects", "--rome", "G1803", "--near", "43.1242,5.9280", "--format", "csv"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.startswith("siret,name,naf,commune,minutes")
    bad = subprocess.run(
        [*run, "prospects", "--rome", "G1803", "--near", "nowhere"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "LAT,LON" in bad.stderr
