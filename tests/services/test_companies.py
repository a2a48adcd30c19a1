"""Company list and company file on the demo data, both backends."""

from __future__ import annotations

import pytest

from crm.auth import Actor
from crm.db import make_engine, make_session_factory
from crm.errors import NotFound
from crm.models import Role
from crm.services.companies import get_company, list_companies


@pytest.fixture
def demo_session(demo_url):
    engine = make_engine(demo_url)
    s = make_session_factory(engine)()
    yield s
    s.rollback()
    s.close()
    engine.dispose()


OFFICER = Actor(user_id=None, username="t", role=Role.OFFICER, site_ids=frozenset({1}))


def test_list_companies_has_seat_totals_and_last_contact(demo_session):
    rows = list_companies(demo_session, OFFICER)
    assert len(rows) >= 120
    assert rows == sorted(rows, key=lambda r: r.name)
    veolia = next(r for r in rows if r.name.startswith("Veolia Eau - Agence"))
    assert veolia.status == "partner"
    assert veolia.seats_offered >= veolia.seats_used >= 0
    assert any(r.last_contact is not None for r in rows)
    assert len(list_companies(demo_session, OFFICER, status="partner")) < len(rows)


def test_company_file_counts_seats_from_placements(demo_session):
    rows = list_companies(demo_session, OFFICER)
    busy = max(rows, key=lambda r: r.seats_used)
    file = get_company(demo_session, OFFICER, busy.id)
    assert sum(min(u.used, u.offer.seats) for u in file.offers) == busy.seats_used
    assert sum(1 for p in file.placements if p.offer_id and p.status != "cancelled") == sum(
        u.used for u in file.offers
    )
    assert file.contacts and file.interactions
    dates = [i.occurred_at for i in file.interactions]
    assert dates == sorted(dates, reverse=True)


def test_company_file_missing(demo_session):
    with pytest.raises(NotFound):
        get_company(demo_session, OFFICER, 10**9)
