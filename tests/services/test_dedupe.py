"""Duplicate detection rules and merging (nothing lost) on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.dedupe import find_duplicates, likely_duplicates
from crm.errors import PermissionDenied, ValidationError
from crm.models import (
    AuditEvent,
    Company,
    CompanyStatusChange,
    Contact,
    Interaction,
    Learner,
    Offer,
    Placement,
)
from crm.services.companies import create_company, list_companies
from crm.services.contacts import create_contact
from crm.services.interactions import log_interaction
from crm.services.merge import duplicate_pairs, merge_companies
from crm.services.offers import create_offer
from tests.factories import make_actor

# Three valid SIRETs: two establishments of one SIREN (a chain) and another company.
CHAIN_1, CHAIN_2 = "73282932000074", "73282932000157"
OTHER = "55210055400013"


def rec(i, name, **kw):
    return {"id": i, "ref": f"C{i}", "name": name, **kw}


def test_duplicates_found_with_evidence():
    records = [
        rec(
            1,
            "SARL Boulangerie Pâtisserie Martin",
            address="12 avenue Jean Jaurès",
            postcode="83000",
            city="Toulon",
            phone="04 94 12 34 56",
        ),
        rec(
            2,
            "BOULANGERIE PATISSERIE MARTIN",
            address="12 av. Jean Jaures",
            postcode="83000",
            city="TOULON",
            phone="+33 4 94 12 34 56",
        ),
        rec(3, "Garage du Port", siret=OTHER, city="Hyères"),
        rec(4, "Garage Du Port SAS", siret="552 100 554 00013"),
    ]
    pairs = find_duplicates(records)
    got = {(p.ref_a, p.ref_b): p for p in pairs}
    assert set(got) == {("C1", "C2"), ("C3", "C4")}
    assert "même téléphone" in got[("C1", "C2")].evidence
    assert "même adresse" in got[("C1", "C2")].evidence
    assert got[("C3", "C4")].evidence == ["même SIRET"] and got[("C3", "C4")].score == 1.0


def test_chain_branches_and_homonyms_are_not_duplicates():
    records = [
        rec(
            1,
            "Carrefour Market",
            siret=CHAIN_1,
            address="1 rue de la Gare",
            postcode="83000",
            city="Toulon",
        ),
        rec(
            2,
            "Carrefour Market",
            siret=CHAIN_2,
            address="1 rue de la Gare",
            postcode="83000",
            city="Toulon",
        ),
        # Same chain, no SIRET, another street of the same town.
        rec(
            3,
            "Carrefour Market",
            address="250 avenue de la République",
            postcode="83000",
            city="Toulon",
        ),
        # Homonym in another town.
        rec(4, "Boulangerie Martin", postcode="83400", city="Hyères", phone="0494000001"),
        rec(5, "Boulangerie Martin", postcode="06000", city="Nice", phone="0493000002"),
    ]
    assert find_duplicates(records) == []


def test_likely_duplicates_warns_before_create(session, sites):
    officer = make_actor(session, "officer", sites[0])
    create_company(
        session,
        officer,
        name="Hôtel Les Mimosas",
        address="5 boulevard Foch",
        postcode="83000",
        city="Toulon",
        phone="0494112233",
    )
    session.commit()
    hits = likely_duplicates(
        session, {"name": "Hotel les mimosas SARL", "postcode": "83000", "address": "5 bd Foch"}
    )
    assert [h.name for h in hits] == ["Hôtel Les Mimosas"]
    assert hits[0].evidence
    assert likely_duplicates(session, {"name": "Plomberie Azur", "postcode": "83000"}) == []


def test_merge_moves_everything_and_retires(session, sites):
    officer = make_actor(session, "officer", sites[0])
    keep = create_company(
        session, officer, name="Garage Martin", site_id=sites[0].id, postcode="83000", city="Toulon"
    )
    drop = create_company(
        session,
        officer,
        name="GARAGE MARTIN SARL",
        site_id=sites[0].id,
        siret=OTHER,
        phone="0494000000",
        status="partner",
    )
    ct = create_contact(session, officer, drop.id, last_name="Martin")
    log_interaction(session, officer, drop.id, kind="call", summary="Appel")
    offer = create_offer(session, officer, drop.id, rome_code="I1604", title="Mécanique")
    learner = Learner(
        site_id=sites[0].id, first_name="A", last_name="B", entry_date=dt.date(2026, 9, 1)
    )
    session.add(learner)
    session.flush()
    session.add(
        Placement(
            learner_id=learner.id,
            offer_id=offer.id,
            company_id=drop.id,
            start_date=dt.date(2026, 12, 1),
            end_date=dt.date(2026, 12, 5),
        )
    )
    session.commit()
    drop_history = session.scalar(
        select(func.count())
        .select_from(CompanyStatusChange)
        .where(CompanyStatusChange.company_id == drop.id)
    )
    records, pairs = duplicate_pairs(session, officer, threshold=0.8)
    assert {(p.id_a, p.id_b) for p in pairs} == {(keep.id, drop.id)}

    merge_companies(session, officer, keep.id, drop.id)
    session.commit()
    for model in (Contact, Interaction, Offer, Placement):
        assert (
            session.scalar(
                select(func.count()).select_from(model).where(model.company_id == drop.id)
            )
            == 0
        )
        assert (
            session.scalar(
                select(func.count()).select_from(model).where(model.company_id == keep.id)
            )
            == 1
        )
    assert ct.company_id == keep.id
    assert keep.siret == OTHER and keep.phone == "04 94 00 00 00" and keep.status == "partner"
    assert drop.merged_into_id == keep.id and drop.retired_at is not None
    assert (
        session.scalar(
            select(func.count())
            .select_from(CompanyStatusChange)
            .where(CompanyStatusChange.company_id == drop.id)
        )
        == drop_history
    )
    assert [r.id for r in list_companies(session, officer)] == [keep.id]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "merge"))
    assert event.entity_id == keep.id and event.details["merged_id"] == drop.id
    with pytest.raises(ValidationError):
        merge_companies(session, officer, keep.id, drop.id)


def test_merge_needs_permission_on_both_sites(session, sites):
    officer = make_actor(session, "officer", sites[0])
    admin = make_actor(session, "admin")
    a = create_company(session, officer, name="A", site_id=sites[0].id)
    b = create_company(session, admin, name="A bis", site_id=sites[1].id)
    trainer = make_actor(session, "trainer", sites[0], sites[1])
    with pytest.raises(PermissionDenied):
        merge_companies(session, officer, a.id, b.id)
    with pytest.raises(PermissionDenied):
        merge_companies(session, trainer, a.id, b.id)
    assert session.get(Company, b.id).merged_into_id is None
