"""A retired (or merged) company is gone from every list, map, match, worklist and export."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Company, Role, utcnow
from crm.services.companies import filter_companies, list_companies
from crm.services.geo import company_locations, worklist
from crm.services.imports import export_frame
from crm.services.matching import offer_index
from crm.services.offers import list_offers
from tests.factories import make_actor, make_company, make_offer


def _world(session, sites):
    tpm, _ = sites
    live = make_company(session, tpm, name="Boulangerie Vivante")
    retired = make_company(session, tpm, name="Garage Fermé")
    merged = make_company(session, tpm, name="Garage Doublon")
    for c in (live, retired, merged):
        make_offer(session, c, seats=2)
    # Commune-level precision: all three would be on the geocoding worklist.
    for c in (live, retired, merged):
        c.geo_precision = "commune"
    retired.retired_at = utcnow()
    merged.merged_into_id = live.id
    session.commit()
    return live, retired, merged


def test_is_live_reads_both_flags(session, sites):
    live, retired, merged = _world(session, sites)
    assert [live.is_live, retired.is_live, merged.is_live] == [True, False, False]
    ids = set(session.scalars(select(Company.id).where(Company.is_live)))
    assert ids == {live.id}


def test_retired_company_in_no_list_map_match_or_worklist(session, sites):
    live, retired, merged = _world(session, sites)
    admin = make_actor(session, Role.ADMIN)
    gone = {retired.id, merged.id}

    rows = list_companies(session, admin)
    assert live.id in {r.id for r in rows} and not gone & {r.id for r in rows}
    assert not gone & {r.id for r in filter_companies(rows, statuses=["partner"])}

    offers = list_offers(session, admin, include_closed=True)
    assert {o["company_id"] for o in offers} == {live.id}

    points = company_locations(session, admin, [live.id, retired.id, merged.id])
    assert set(points) == {live.id}

    index = offer_index(session)
    assert {o.company_id for o in index.offers} <= {live.id}
    assert live.id in {o.company_id for o in index.offers}

    todo = worklist(session, admin)
    assert {t.id for t in todo if t.kind == "company"} == {live.id}
    offer_rows = [t for t in todo if t.kind == "offer"]
    assert offer_rows and all(t.label.endswith(live.name) for t in offer_rows)


def test_company_export_lists_only_live_companies(session, sites):
    live, retired, merged = _world(session, sites)
    admin = make_actor(session, Role.ADMIN)
    exported = export_frame(session, admin, "companies")
    assert list(exported["name"]) == [live.name]
