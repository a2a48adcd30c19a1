"""Capacité d'accueil rules: ended offers are ended (never open, no free seat); 1..500 seats."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.errors import ValidationError
from crm.labels import OFFER_EFFECTIVE_STATUS_FR
from crm.models import Learner, Placement
from crm.services.companies import create_company, get_company, list_companies
from crm.services.offers import (
    ENDED,
    create_offer,
    effective_status,
    list_offers,
    pause_offer,
    update_offer,
)
from tests.factories import make_actor

TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def officer(session, sites):
    return make_actor(session, "officer", sites[0])


def _offer(session, officer, company_id, title, start, end, seats=2):
    return create_offer(
        session,
        officer,
        company_id,
        rome_code="D1106",
        title=title,
        seats=seats,
        start_date=start,
        end_date=end,
    )


def test_ended_offer_is_ended_and_has_no_free_seat(session, sites, officer):
    c = create_company(session, officer, name="Snack Tamaris", site_id=sites[0].id)
    past = _offer(session, officer, c.id, "Passée", dt.date(2026, 1, 5), dt.date(2026, 3, 31))
    live = _offer(session, officer, c.id, "En cours", dt.date(2026, 11, 1), dt.date(2027, 1, 31))
    paused = _offer(session, officer, c.id, "Pause finie", dt.date(2026, 1, 5), dt.date(2026, 6, 1))
    pause_offer(session, officer, paused.id, "01/02/2026")
    session.commit()

    assert effective_status(past, TODAY) == ENDED
    assert effective_status(paused, TODAY) == ENDED  # its pause is over but so is the offer
    assert effective_status(live, TODAY) == "open"
    assert effective_status(past, dt.date(2026, 3, 31)) == "open"  # last day still open
    assert OFFER_EFFECTIVE_STATUS_FR[ENDED] == "Terminée"

    shown = list_offers(session, officer, today=TODAY)
    assert [o["title"] for o in shown] == ["En cours"]  # ended ones left out by default
    every = {o["title"]: o for o in list_offers(session, officer, today=TODAY, include_closed=True)}
    assert every["Passée"]["status"] == ENDED and every["Passée"]["free"] == 0
    assert every["Pause finie"]["status"] == ENDED and every["Pause finie"]["free"] == 0
    assert every["En cours"]["status"] == "open" and every["En cours"]["free"] == 2

    # The company list and the company file count current capacity only.
    (row,) = [r for r in list_companies(session, officer, today=TODAY) if r.id == c.id]
    assert (row.seats_offered, row.seats_free) == (2, 2)
    usage = {u.offer.title: u for u in get_company(session, officer, c.id).offers}
    assert usage["Passée"].status == ENDED and usage["Passée"].free == 0


def test_seats_between_1_and_500_and_not_below_used(session, sites, officer):
    c = create_company(session, officer, name="Garage", site_id=sites[0].id)
    for bad in (0, -3, 501):
        with pytest.raises(ValidationError) as exc:
            _offer(session, officer, c.id, "X", None, None, seats=bad)
        assert "seats" in exc.value.errors
    o = _offer(session, officer, c.id, "Atelier", dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    for n in range(2):
        lr = Learner(site_id=sites[0].id, first_name="A", last_name=f"B{n}", entry_date=TODAY)
        session.add(lr)
        session.flush()
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
    with pytest.raises(ValidationError) as exc:
        update_offer(session, officer, o.id, o.version, seats=1)
    assert "déjà occupée" in exc.value.errors["seats"]
