"""Company, contact, interaction and offer services on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from crm.errors import ConcurrentEditError, PermissionDenied, ValidationError
from crm.models import (
    AuditEvent,
    Company,
    CompanyStatusChange,
    Interaction,
    Learner,
    Placement,
    Setting,
)
from crm.services.companies import (
    CompanySearch,
    LikelyDuplicateError,
    create_company,
    create_company_unless_duplicate,
    filter_companies,
    list_companies,
    update_company,
)
from crm.services.contacts import create_contact, update_contact
from crm.services.interactions import log_interaction, mark_done, my_followups, reschedule
from crm.services.offers import (
    close_offer,
    create_offer,
    effective_status,
    pause_offer,
    seats_used,
    update_offer,
)
from tests.factories import make_actor

SIRET = "73282932000074"


@pytest.fixture
def officer(session, sites):
    return make_actor(session, "officer", sites[0])


def test_create_company_normalises_and_places_at_commune(session, sites, officer):
    c = create_company(
        session,
        officer,
        name="Boulangerie Dupont",
        siret="732 829 320 00074",
        phone="+33 4 94 12 34 56",
        naf="1071c",
        postcode="83000",
        city="Toulon",
        site_id=sites[0].id,
    )
    session.commit()
    assert (c.siret, c.phone, c.naf) == (SIRET, "04 94 12 34 56", "10.71C")
    assert c.geo_precision == "commune" and 43 < c.latitude < 43.3
    assert c.status == "prospect" and c.owner_id == officer.user_id
    hist = session.scalars(select(CompanyStatusChange)).all()
    assert [(h.from_status, h.to_status) for h in hist] == [(None, "prospect")]
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "create")).entity_id == c.id


def test_create_company_reports_every_bad_field_and_saves_nothing(session, sites, officer):
    with pytest.raises(ValidationError) as exc:
        create_company(
            session,
            officer,
            name="",
            siret="73282932000075",
            postcode="830",
            phone="12",
            email="x@",
            naf="47F",
            site_id=sites[0].id,
        )
    # keyed by field name; shown to users under their French labels
    assert set(exc.value.errors) == {"name", "siret", "postcode", "phone", "email", "naf"}
    assert set(exc.value.labelled()) == {
        "Raison sociale",
        "SIRET",
        "Code postal",
        "Téléphone",
        "Courriel",
        "Code NAF",
    }
    assert "clé de contrôle" in exc.value.errors["siret"]
    assert "Raison sociale : La raison sociale est obligatoire." in str(exc.value)
    assert session.scalar(select(Company)) is None


def test_write_outside_site_is_refused(session, sites, officer):
    with pytest.raises(PermissionDenied):
        create_company(session, officer, name="Ailleurs", site_id=sites[1].id)


def test_update_refuses_stale_version_and_records_status(session, sites, officer):
    c = create_company(session, officer, name="Garage Martin", site_id=sites[0].id)
    session.commit()
    v1 = c.version
    update_company(session, officer, c.id, v1, city="Hyères", status="partner")
    session.commit()
    assert c.version == v1 + 1 and c.status == "partner" and c.geo_precision == "commune"
    with pytest.raises(ConcurrentEditError):
        update_company(session, officer, c.id, v1, name="Garage Martin & Fils")
    hist = session.scalars(select(CompanyStatusChange).order_by(CompanyStatusChange.id)).all()
    assert [h.to_status for h in hist] == ["prospect", "partner"]


def test_manual_coordinates_are_kept(session, sites, officer):
    c = create_company(
        session, officer, name="Port", city="Toulon", latitude="43.1", longitude="5.93"
    )
    assert (c.latitude, c.longitude, c.geo_precision) == (43.1, 5.93, "manual")


def test_interaction_moves_prospect_to_contacted_and_followups(session, sites, officer):
    c = create_company(session, officer, name="Hôtel du Port", site_id=sites[0].id)
    contact = create_contact(
        session, officer, c.id, first_name="Léa", last_name="Roux", phone="0494000001"
    )
    today = dt.date(2026, 11, 23)
    late = log_interaction(
        session,
        officer,
        c.id,
        kind="call",
        summary="Premier appel",
        contact_id=contact.id,
        next_action="Rappeler",
        next_action_due="20/11/2026",
    )
    soon = log_interaction(
        session,
        officer,
        c.id,
        kind="visit",
        summary="Visite",
        next_action="Envoyer la convention",
        next_action_due=dt.date(2026, 11, 30),
    )
    session.commit()
    assert c.status == "contacted"
    trainer = make_actor(session, "trainer", sites[0])
    log_interaction(
        session,
        trainer,
        c.id,
        kind="event",
        summary="Forum",
        next_action="x",
        next_action_due=today,
    )
    fu = my_followups(session, officer, today)
    assert [f.interaction_id for f in fu.overdue] == [late.id]
    assert [f.interaction_id for f in fu.upcoming] == [soon.id]
    mark_done(session, officer, late.id)
    reschedule(session, officer, soon.id, "2026-12-15", today=today)
    fu = my_followups(session, officer, today, horizon_days=10)
    assert fu.overdue == [] and fu.upcoming == []
    assert my_followups(session, officer, today, horizon_days=30).upcoming[0].due == dt.date(
        2026, 12, 15
    )
    with pytest.raises(ValidationError) as exc:
        log_interaction(session, officer, c.id, kind="fax", summary="")
    assert set(exc.value.errors) == {"kind", "summary"}
    assert set(exc.value.labelled()) == {"Type", "Résumé"}
    assert contact.phone == "04 94 00 00 01"
    update_contact(session, officer, contact.id, is_tutor="oui")
    assert contact.is_tutor is True


def test_dormant_partner_flag_uses_setting(session, sites, officer):
    c = create_company(session, officer, name="Dormeur", site_id=sites[0].id, status="partner")
    awake = create_company(session, officer, name="Éveillé", site_id=sites[0].id, status="partner")
    log_interaction(
        session, officer, c.id, kind="call", summary="x", occurred_at=dt.datetime(2026, 3, 1, 10)
    )
    log_interaction(
        session,
        officer,
        awake.id,
        kind="call",
        summary="x",
        occurred_at=dt.datetime(2026, 10, 1, 10),
    )
    session.commit()
    today = dt.date(2026, 11, 23)
    rows = {r.name: r for r in list_companies(session, officer, today=today)}
    assert rows["Dormeur"].dormant and not rows["Éveillé"].dormant
    session.add(Setting(key="dormant_months", value=1))
    session.commit()
    rows = {r.name: r for r in list_companies(session, officer, today=today)}
    assert rows["Éveillé"].dormant
    assert [
        r.name for r in filter_companies(list(rows.values()), no_contact_months=3, today=today)
    ] == ["Dormeur"]


def test_fuzzy_search_tolerates_typos_accents_contacts(session, sites, officer):
    names = [
        "Boulangerie Pâtisserie Léonard",
        "Garage Renault Toulon",
        "Hôtel Mercure",
        "Carrefour Market",
    ]
    ids = [create_company(session, officer, name=n, city="Toulon").id for n in names]
    create_contact(session, officer, ids[2], first_name="Amélie", last_name="Poulain")
    session.commit()
    rows = list_companies(session, officer)
    assert [r.name for r in CompanySearch(rows).search("boulangerie patisserie leonard")] == [
        names[0]
    ]
    assert CompanySearch(rows).search("boulangrie patiserie")[0].name == names[0]
    assert CompanySearch(rows).search("poulain")[0].name == "Hôtel Mercure"
    assert CompanySearch(rows).search("carefour")[0].name == "Carrefour Market"
    assert CompanySearch(rows).search("zzzzzzzz") == []


def _learner(session, site):
    lr = Learner(site_id=site.id, first_name="A", last_name="B", entry_date=dt.date(2026, 9, 1))
    session.add(lr)
    session.flush()
    return lr


def test_offers_crud_pause_close_and_seats_from_placements(session, sites, officer):
    c = create_company(session, officer, name="Supermarché", site_id=sites[0].id)
    o = create_offer(
        session,
        officer,
        c.id,
        rome_code="D1106",
        title="Mise en rayon",
        seats="2",
        skills="Accueil; Rangement",
        start_date="01/12/2026",
        end_date="2026-12-31",
        open_to_minors="non",
    )
    assert (o.seats, o.open_to_minors, o.skills) == (2, False, "Accueil;Rangement")
    lr = _learner(session, sites[0])
    session.add(
        Placement(
            learner_id=lr.id,
            offer_id=o.id,
            company_id=c.id,
            status="confirmed",
            start_date=dt.date(2026, 12, 1),
            end_date=dt.date(2026, 12, 12),
        )
    )
    session.commit()
    assert seats_used(session, [o.id])[o.id] == 1
    with pytest.raises(ValidationError) as exc:
        update_offer(session, officer, o.id, o.version, seats=0)
    assert "au moins 1" in exc.value.errors["seats"]  # an offer hosts at least one learner
    with pytest.raises(ValidationError):
        create_offer(
            session,
            officer,
            c.id,
            rome_code="Z1",
            title="",
            end_date="01/01/2026",
            start_date="02/01/2026",
        )
    v1 = o.version
    update_offer(session, officer, o.id, v1, seats=3)
    with pytest.raises(ConcurrentEditError):
        update_offer(session, officer, o.id, v1, seats=4)
    pause_offer(session, officer, o.id, "15/12/2026")
    assert effective_status(o, dt.date(2026, 12, 1)) == "paused"
    assert effective_status(o, dt.date(2026, 12, 16)) == "open"
    close_offer(session, officer, o.id)
    assert o.status == "closed"
    assert session.scalar(select(Interaction)) is None


def test_create_company_unless_duplicate_refuses_a_likely_duplicate_and_saves_nothing(
    session, sites
):
    officer = make_actor(session, "officer", sites[0])
    kept = create_company(
        session, officer, name="Boulangerie Tamaris", city="Toulon", site_id=sites[0].id
    )
    companies_before = session.scalars(select(Company.id)).all()
    events_before = len(session.scalars(select(AuditEvent)).all())
    with pytest.raises(ValidationError) as exc:  # bad fields are reported first
        create_company_unless_duplicate(
            session, officer, name="Boulangerie Tamaris", postcode="830", site_id=sites[0].id
        )
    assert set(exc.value.errors) == {"postcode"}
    with pytest.raises(LikelyDuplicateError) as dup:
        create_company_unless_duplicate(
            session, officer, name="BOULANGERIE TAMARIS", city="Toulon", site_id=sites[0].id
        )
    assert [d.company_id for d in dup.value.duplicates] == [kept.id]
    assert "ressemble à une fiche existante" in str(dup.value)
    # Only the refused record is undone: the caller's earlier work stays in its unit of work.
    assert session.scalars(select(Company.id)).all() == companies_before
    assert len(session.scalars(select(AuditEvent)).all()) == events_before
    created = create_company_unless_duplicate(
        session,
        officer,
        confirmed=True,
        name="BOULANGERIE TAMARIS",
        city="Toulon",
        site_id=sites[0].id,
    )
    session.commit()
    assert {kept.id, created.id} == set(session.scalars(select(Company.id)))
    assert create_company_unless_duplicate(
        session, officer, name="Garage des Pins", city="Hyères", site_id=sites[0].id
    ).id
