"""Maps (pydeck) and the "Géocodage" page, through AppTest and the deck builders."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from sqlalchemy import func, select

from crm.db import make_engine, make_session_factory
from crm.models import AuditEvent, Company, Learner, Offer, Site
from pages._maps import STATUS_COLORS, company_deck, suggestions_deck
from tests.factories import make_actor
from tests.support.ui import app_as, open_page


def decks(at) -> list[dict]:
    """The deck.gl charts of the page, with Streamlit's separate tooltip folded back in."""
    out = []
    for el in at.get("deck_gl_json_chart"):
        deck = json.loads(el.proto.json)
        deck["tooltip"] = json.loads(el.proto.tooltip) if el.proto.tooltip else None
        out.append(deck)
    return out


def layer(deck: dict, layer_id: str) -> dict:
    return next(lay for lay in deck["layers"] if lay["id"] == layer_id)


@pytest.fixture(autouse=True)
def _offline_tiles(monkeypatch):
    monkeypatch.setenv("PASSERELLE_MAP_TILES", "none")


def assert_offline(deck: dict) -> None:
    # No tile style (pydeck's placeholder, dropped by Streamlit's component), no host at
    # all, and the outline background (sea, land, communes, names) drawn instead.
    assert deck.get("mapStyle") == "__MAP_STYLE__"
    assert "mapProvider" not in deck
    assert "http" not in json.dumps({k: v for k, v in deck.items() if k != "tooltip"})
    assert {"sea", "departements", "communes", "labels"} <= {lay["id"] for lay in deck["layers"]}


def test_demo_data_is_fully_placed(demo_url):
    engine = make_engine(demo_url)
    with make_session_factory(engine)() as s:
        for model in (Company, Site, Learner):
            unplaced = s.scalar(
                select(func.count())
                .select_from(model)
                .where(model.latitude.is_(None) | (model.geo_precision == "none"))
            )
            assert unplaced == 0, model.__name__
    engine.dispose()


def test_companies_page_shows_the_company_map(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, "officer")
    at = open_page(at, "pages/companies.py")
    assert not at.exception
    (deck,) = decks(at)
    assert_offline(deck)
    points = layer(deck, "companies")["data"]
    assert layer(deck, "companies")["radiusUnits"] == "pixels"  # a literal, not an accessor
    assert len(points) == len(at.dataframe[0].value)  # every demo company is placed
    partner = [p for p in points if p["status_fr"] == "Partenaire"]
    assert partner and all(p["color"] == STATUS_COLORS["partner"] for p in partner)
    assert "{seats_free} place(s) libre(s)" in deck["tooltip"]["html"]
    at.text_input(key="company_search").input("réseau mistral").run()
    (deck,) = decks(at)
    assert [p["name"] for p in layer(deck, "companies")["data"]] == ["Réseau Mistral"]


def test_company_file_has_a_small_pydeck_map(demo_sqlite_url, monkeypatch):
    engine = make_engine(demo_sqlite_url)
    with make_session_factory(engine)() as s:
        c = s.scalar(select(Company).where(Company.name == "Marine Levage"))
        cid, lat, lon = c.id, c.latitude, c.longitude
    engine.dispose()
    at = app_as(demo_sqlite_url, monkeypatch, "manager")
    at = open_page(at, "pages/company.py", company_id=cid)
    assert not at.exception
    (deck,) = decks(at)
    assert_offline(deck)
    points = layer(deck, "companies")["data"]
    point = points[-1]  # the company itself, drawn last (on top), in its status colour
    assert (point["latitude"], point["longitude"]) == (lat, lon) and point["id"] == cid
    assert point["color"] != [120, 120, 120, 110]
    assert all(p["color"] == [120, 120, 120, 110] for p in points[:-1])  # neighbours faded
    view = deck["initialViewState"]
    assert (view["latitude"], view["longitude"]) == (lat, lon) and view["zoom"] >= 10


def test_company_deck_skips_unplaced_and_sizes_by_free_seats():
    rows = [
        {"name": "A", "status": "partner", "seats_free": 3, "latitude": 43.1, "longitude": 5.9},
        {"name": "B", "status": "prospect", "seats_free": 0, "latitude": 43.2, "longitude": 6.0},
        {"name": "C", "status": "partner", "seats_free": 1, "latitude": None, "longitude": None},
    ]
    deck = json.loads(company_deck(rows).to_json())
    data = layer(deck, "companies")["data"]
    assert [d["name"] for d in data] == ["A", "B"]
    assert data[0]["radius"] > data[1]["radius"]
    assert company_deck(rows[2:]) is None


def test_suggestions_deck_has_home_offers_and_reachable_radius():
    offers = [
        {
            "title": "Vendeur",
            "company": "X",
            "latitude": 43.13,
            "longitude": 5.95,
            "minutes": 22.4,
            "distance_km": 3.1,
        },
        {"title": "Cuisinier", "company": "Y", "latitude": None, "longitude": None},
    ]
    deck = json.loads(suggestions_deck((43.12, 5.93), offers, 12).to_json())
    assert_offline(deck)
    home = layer(deck, "home")["data"][0]
    assert (home["latitude"], home["longitude"]) == (43.12, 5.93)
    radius = layer(deck, "radius")
    assert radius["getRadius"] == 12000.0 and radius["radiusUnits"] == "meters"
    (offer,) = layer(deck, "offers")["data"]
    assert offer["detail"] == "3,1 km — ≈ 22 min"
    # The view is wide enough for the whole circle (Web Mercator, 420 px high map).
    view = deck["initialViewState"]
    circle_px = 2 * 12 / 111.2 / math.cos(math.radians(43.12)) * 512 / 360 * 2 ** view["zoom"]
    assert 200 < circle_px <= 420
    no_home = json.loads(suggestions_deck(None, offers, 12).to_json())
    ids = {lay["id"] for lay in no_home["layers"]}
    assert {"communes", "offers", "offer_numbers"} <= ids and not {"home", "radius"} & ids
    assert suggestions_deck(None, offers[1:], 12) is None


def _seed_worklist(db_url):
    engine = make_engine(db_url)
    with make_session_factory(engine).begin() as s:
        tpm = Site(
            name="TPM",
            city="Toulon",
            postcode="83000",
            latitude=43.12,
            longitude=5.93,
            geo_precision="commune",
        )
        cavem = Site(name="CAVEM", city="Fréjus", postcode="83600")
        s.add_all([tpm, cavem])
        s.flush()
        make_actor(s, "officer", tpm, username="off-tpm")
        make_actor(s, "trainer", tpm, username="tr-tpm")
        make_actor(s, "manager", tpm, cavem, username="boss")
        lost = Company(
            name="Introuvable SARL", site_id=tpm.id, address="1 rue nulle", city="Atlantide"
        )
        s.add_all(
            [
                lost,
                Company(
                    name="Autre site", site_id=cavem.id, address="2 rue nulle", city="Atlantide"
                ),
                Company(
                    name="Bien placée",
                    site_id=tpm.id,
                    latitude=43.1,
                    longitude=5.9,
                    geo_precision="housenumber",
                ),
                Offer(company=lost, rome_code="D1106", title="Vente", seats=1),
                Learner(
                    site_id=tpm.id,
                    first_name="Inès",
                    last_name="Zidane",
                    entry_date=dt.date(2026, 9, 1),
                    city="Nulle-part",
                ),
                Learner(
                    site_id=cavem.id,
                    first_name="Hors",
                    last_name="Site",
                    entry_date=dt.date(2026, 9, 1),
                    city="Nulle-part",
                ),
            ]
        )
    engine.dispose()


def _company(db_url, name):
    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        c = s.scalar(select(Company).where(Company.name == name))
        out = (c.address, c.postcode, c.city, c.latitude, c.longitude, c.geo_precision)
        events = s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "company")).all()
    engine.dispose()
    return out, events


def test_geocoding_page_officer_fixes_an_address_then_drops_a_pin(db_url, monkeypatch):
    _seed_worklist(db_url)
    monkeypatch.setenv("PASSERELLE_GEOCODER", "offline")
    at = app_as(db_url, monkeypatch, "off-tpm")
    at = open_page(at, "pages/geocoding.py")
    assert not at.exception
    names = list(at.dataframe[0].value["Nom"])
    # Own site only; the placed company is not listed; no learners for officers.
    assert sorted(names) == ["Introuvable SARL", "TPM", "Vente — Introuvable SARL"]
    at.selectbox(key="geo_choice").select("company:" + str(_id(db_url, "Introuvable SARL"))).run()
    at.text_input[0].input("12 rue Jean Jaurès")
    at.text_input[1].input("83000")
    at.text_input[2].input("Toulon")
    at.button[0].click().run()
    assert not at.exception
    assert "commune" in at.success[0].value
    (address, postcode, city, lat, lon, precision), events = _company(db_url, "Introuvable SARL")
    assert (address, postcode, city, precision) == (
        "12 rue Jean Jaurès",
        "83000",
        "Toulon",
        "commune",
    )
    assert lat is not None and "geo.fix_address" in events
    # Still approximate: pin it by hand; a bad value is refused in French first.
    at.selectbox(key="geo_choice").select("company:" + str(_id(db_url, "Introuvable SARL"))).run()
    at.text_input[3].input("quarante")
    at.text_input[4].input("5,93")
    at.button[1].click().run()
    assert "Rien n'a été enregistré" in at.error[0].value
    at.text_input[3].input("43,1250")
    at.button[1].click().run()
    assert not at.exception
    assert at.success[0].value == "Repère placé à la main."
    (_, _, _, lat, lon, precision), events = _company(db_url, "Introuvable SARL")
    assert (lat, lon, precision) == (43.125, 5.93, "manual") and "geo.pin" in events
    assert "Introuvable SARL" not in list(at.dataframe[0].value["Nom"])


def _id(db_url, name):
    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        cid = s.scalar(select(Company.id).where(Company.name == name))
    engine.dispose()
    return cid


def test_geocoding_page_trainer_sees_own_learners_manager_is_refused(db_url, monkeypatch):
    _seed_worklist(db_url)
    monkeypatch.setenv("PASSERELLE_GEOCODER", "offline")
    at = open_page(app_as(db_url, monkeypatch, "tr-tpm"), "pages/geocoding.py")
    assert not at.exception
    assert list(at.dataframe[0].value["Nom"]) == ["Inès Z."]
    at = open_page(app_as(db_url, monkeypatch, "boss"), "pages/geocoding.py")
    assert "Accès refusé" in at.error[0].value
    assert len(at.dataframe) == 0
