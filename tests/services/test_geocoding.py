"""Geocoding with geopy's real BANFrance against a local fake BAN server (no network)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.config import get_settings
from crm.errors import ValidationError
from crm.geo import Geocoder, address_key, geocode_entity, locate, set_manual_pin
from crm.geo.geocoding import MAX_CONSECUTIVE_FAILURES
from crm.models import Company, GeocodeCache, Offer
from crm.reference import find_commune
from tests.support.fake_geo_servers import ban_geocoder, fake_ban

TOULON = find_commune("Toulon", "83000")


def cache_rows(session) -> int:
    return session.scalar(select(func.count()).select_from(GeocodeCache))


def test_address_key_folds_case_accents_punctuation_and_abbreviations():
    a = address_key("12, Rue Jean-Jaurès", "83000", "TOULON")
    b = address_key("12 rue jean jaures", " 83000", "toulon")
    assert a == b
    assert address_key("3 bd de la Mer", "83600", "Fréjus") == address_key(
        "3 Boulevard de la mer", "83600", "Frejus"
    )
    assert address_key("12 rue Jean Jaurès", "83000", "Toulon") != address_key(
        "14 rue Jean Jaurès", "83000", "Toulon"
    )
    assert address_key(None, None, None) == ""


def test_cache_hit_calls_the_provider_once(session):
    with fake_ban() as (ban, host):
        geo = ban_geocoder(host)
        first = locate(session, "12 rue Jean-Jaurès", "83000", "Toulon", geocoder=geo)
        second = locate(session, "12, RUE JEAN JAURES", "83000", "toulon", geocoder=geo)
    assert first.precision == "housenumber" and first.provider == "ban"
    assert (first.latitude, first.longitude) == pytest.approx((43.12461, 5.93052))
    assert second == first
    assert len(ban.queries) == 1
    assert cache_rows(session) == 1


def test_cache_survives_the_session_and_a_new_geocoder(session):
    with fake_ban() as (ban, host):
        locate(session, "12 rue Jean Jaurès", "83000", "Toulon", geocoder=ban_geocoder(host))
        session.commit()
        ban.mode = "down"
        again = locate(
            session, "12 rue Jean Jaurès", "83000", "Toulon", geocoder=ban_geocoder(host)
        )
    assert again.precision == "housenumber"
    assert len(ban.queries) == 1


def test_ban_result_types_map_to_precisions(session):
    with fake_ban() as (_ban, host):
        geo = ban_geocoder(host)
        street = locate(session, "avenue de la République", "83000", "Toulon", geocoder=geo)
        locality = locate(session, "lieu-dit les Plaines", "83210", "Solliès-Pont", geocoder=geo)
    assert street.precision == "street"
    assert locality.precision == "street"


def test_changed_address_is_geocoded_again(session, sites):
    tpm, _ = sites
    company = Company(
        name="Boulangerie",
        site_id=tpm.id,
        address="12 rue Jean Jaurès",
        postcode="83000",
        city="Toulon",
    )
    session.add(company)
    with fake_ban() as (ban, host):
        geo = ban_geocoder(host)
        geocode_entity(session, company, geocoder=geo)
        session.commit()
        assert company.geo_precision == "housenumber"
        # Saving again without changing the address asks nobody.
        company.name = "Boulangerie du port"
        geocode_entity(session, company, geocoder=geo)
        assert len(ban.queries) == 1
        company.address, company.postcode, company.city = "3 bd de la Mer", "83600", "Fréjus"
        loc = geocode_entity(session, company, geocoder=geo)
        session.commit()
    assert len(ban.queries) == 2
    assert loc.precision == "housenumber"
    assert (company.latitude, company.longitude) == pytest.approx((43.42110, 6.76810))
    assert cache_rows(session) == 2


@pytest.mark.parametrize("mode", ["down", "slow", "garbage"])
def test_failing_provider_falls_back_to_commune_and_is_retried_later(session, sites, mode):
    tpm, _ = sites
    company = Company(
        name="Garage", site_id=tpm.id, address="12 rue Jean Jaurès", postcode="83000", city="Toulon"
    )
    session.add(company)
    with fake_ban() as (ban, host):
        ban.mode = mode
        ban.delay_s = 1.5
        geo = ban_geocoder(host, timeout_s=0.3)
        started = dt.datetime.now()
        loc = geocode_entity(session, company, geocoder=geo)
        assert (dt.datetime.now() - started).total_seconds() < 1.4  # the timeout, not the delay
        session.commit()
        assert loc.precision == "commune" and loc.provider == "communes"
        assert (company.latitude, company.longitude) == (TOULON.latitude, TOULON.longitude)
        assert company.geo_precision == "commune"
        assert cache_rows(session) == 0  # the fallback is not the provider's answer
        # The provider is back: the next batch run upgrades the record.
        ban.mode = "up"
        loc = geocode_entity(session, company, geocoder=ban_geocoder(host))
        session.commit()
    assert loc.precision == "housenumber"
    assert company.geo_precision == "housenumber"
    assert cache_rows(session) == 1


def test_unknown_address_is_not_placed_and_never_rejected(session, sites):
    tpm, _ = sites
    company = Company(
        name="Nulle part", site_id=tpm.id, address="1 chemin inconnu", city="Atlantide"
    )
    session.add(company)
    with fake_ban() as (ban, host):
        loc = geocode_entity(session, company, geocoder=ban_geocoder(host))
        session.commit()
        assert len(ban.queries) == 1
        # "Not found" is the provider's answer: cached, not asked again.
        assert (
            locate(session, "1 chemin inconnu", None, "Atlantide", geocoder=ban_geocoder(host))
            == loc
        )
        assert len(ban.queries) == 1
    assert loc.precision == "none" and not loc.placed
    assert company.id is not None
    assert (company.latitude, company.longitude, company.geo_precision) == (None, None, "none")


def test_unknown_street_in_a_known_commune_gets_the_commune(session):
    with fake_ban() as (ban, host):
        loc = locate(
            session, "99 impasse des songes", "83600", "Fréjus", geocoder=ban_geocoder(host)
        )
    frejus = find_commune("Fréjus", "83600")
    assert (loc.latitude, loc.longitude, loc.precision) == (
        frejus.latitude,
        frejus.longitude,
        "commune",
    )
    assert len(ban.queries) == 1


def test_offline_geocoder_uses_the_commune_table_without_network(session):
    loc = locate(session, "12 rue Jean Jaurès", "83000", "Toulon", geocoder=Geocoder("offline"))
    assert (loc.latitude, loc.longitude, loc.precision) == (
        TOULON.latitude,
        TOULON.longitude,
        "commune",
    )
    assert cache_rows(session) == 0


def test_batch_stops_asking_a_provider_that_keeps_failing(session):
    with fake_ban() as (ban, host):
        ban.mode = "down"
        geo = ban_geocoder(host)
        for n in range(MAX_CONSECUTIVE_FAILURES + 3):
            loc = locate(session, f"{n} rue Jean Jaurès", "83000", "Toulon", geocoder=geo)
            assert loc.precision == "commune"
    assert len(ban.queries) == MAX_CONSECUTIVE_FAILURES


def test_manual_pin_survives_batch_runs_but_not_an_address_change(session, sites):
    tpm, _ = sites
    company = Company(
        name="Chantier",
        site_id=tpm.id,
        address="12 rue Jean Jaurès",
        postcode="83000",
        city="Toulon",
    )
    session.add(company)
    session.flush()
    set_manual_pin(company, "43.10", "5.90")
    session.commit()
    with fake_ban() as (ban, host):
        geo = ban_geocoder(host)
        loc = geocode_entity(session, company, geocoder=geo, force=True)
        assert (loc.precision, company.latitude, company.longitude) == ("manual", 43.10, 5.90)
        assert ban.queries == []
        company.address = "avenue de la République"
        geocode_entity(session, company, geocoder=geo)
    assert company.geo_precision == "street"


def test_batch_does_not_degrade_an_unchanged_address_when_the_provider_is_down(session, sites):
    tpm, _ = sites
    company = Company(
        name="Port",
        site_id=tpm.id,
        address="12 rue Jean Jaurès",
        postcode="83000",
        city="Toulon",
        latitude=43.1246,
        longitude=5.9305,
        geo_precision="housenumber",
    )
    session.add(company)
    session.commit()
    with fake_ban() as (ban, host):
        ban.mode = "down"
        geocode_entity(session, company, geocoder=ban_geocoder(host), force=True)
    assert (company.latitude, company.geo_precision) == (43.1246, "housenumber")


def test_manual_pin_is_validated_in_french():
    with pytest.raises(ValidationError) as err:
        set_manual_pin(Company(name="x"), "nord", "200")
    assert set(err.value.errors) == {"latitude", "longitude"}


def test_offer_is_placed_at_its_company_unless_pinned(session, sites):
    tpm, _ = sites
    company = Company(
        name="Hôtel", site_id=tpm.id, address="3 bd de la Mer", postcode="83600", city="Fréjus"
    )
    offer = Offer(company=company, rome_code="G1503", title="Femme/valet de chambre", seats=1)
    session.add_all([company, offer])
    with fake_ban() as (_ban, host):
        loc = geocode_entity(session, offer, geocoder=ban_geocoder(host))
    assert loc.precision == "housenumber"
    assert company.geo_precision == "housenumber"
    assert offer.latitude is None  # the company's address stands for the workplace
    set_manual_pin(offer, 43.5, 6.9)
    assert geocode_entity(session, offer, geocoder=Geocoder("offline")).latitude == 43.5


def test_city_only_is_placed_from_the_commune_table_without_asking(session):
    with fake_ban() as (ban, host):
        loc = locate(session, None, "83000", "Toulon", geocoder=ban_geocoder(host))
    assert (loc.latitude, loc.precision) == (TOULON.latitude, "commune")
    assert ban.queries == []


def test_nominatim_is_selectable_by_configuration(session, monkeypatch):
    with fake_ban() as (fake, host):
        monkeypatch.setenv("PASSERELLE_GEOCODER", "nominatim")
        monkeypatch.setenv("PASSERELLE_GEOCODER_DOMAIN", host)
        monkeypatch.setenv("PASSERELLE_GEOCODER_SCHEME", "http")
        geo = Geocoder.from_settings(get_settings())
        house = locate(session, "12 rue Jean Jaurès", "83000", "Toulon", geocoder=geo)
        street = locate(session, "avenue de la République", "83000", "Toulon", geocoder=geo)
    assert (house.provider, house.precision) == ("nominatim", "housenumber")
    assert (house.latitude, house.longitude) == pytest.approx((43.12461, 5.93052))
    assert street.precision == "street"
    assert len(fake.queries) == 2


def test_nominatim_answers_map_to_precisions():
    from crm.geo.geocoding import _nominatim_precision

    assert (
        _nominatim_precision({"address": {"house_number": "12", "road": "Rue X"}}) == "housenumber"
    )
    assert _nominatim_precision({"addresstype": "road", "address": {"road": "Rue X"}}) == "street"
    assert _nominatim_precision({"addresstype": "town", "address": {"town": "Hyères"}}) == "commune"
    assert Geocoder("nominatim", domain="127.0.0.1:9", scheme="http").provider == "nominatim"
    with pytest.raises(ValueError):
        Geocoder("google")


def test_fix_and_pin_services_enforce_site_scope_and_audit(session, sites):
    from crm.errors import PermissionDenied
    from crm.models import AuditEvent
    from crm.services.geo import drop_pin, fix_address, worklist
    from tests.factories import make_actor

    tpm, cavem = sites
    own = Company(name="Ici", site_id=tpm.id, address="1 rue nulle", city="Atlantide")
    other = Company(name="Ailleurs", site_id=cavem.id, city="Atlantide")
    offer = Offer(company=own, rome_code="D1106", title="Vente", seats=1)
    session.add_all([own, other, offer])
    session.flush()
    officer = make_actor(session, "officer", tpm)
    assert {(i.kind, i.label) for i in worklist(session, officer) if i.kind != "site"} == {
        ("company", "Ici"),
        ("offer", "Vente — Ici"),
    }
    with pytest.raises(PermissionDenied):
        drop_pin(session, officer, "company", other.id, 43.4, 6.7)
    with pytest.raises(PermissionDenied):
        fix_address(
            session, officer, "company", other.id, address="x", postcode="83600", city="Fréjus"
        )
    with pytest.raises(ValidationError) as err:
        fix_address(session, officer, "company", own.id, address="1 rue", postcode="83A", city="")
    assert "postcode" in err.value.errors
    assert err.value.label("postcode") == "Code postal"
    assert own.address == "1 rue nulle"  # nothing saved half-way
    with pytest.raises(ValidationError):
        fix_address(
            session, officer, "offer", offer.id, address="x", postcode="83000", city="Toulon"
        )
    loc = fix_address(
        session,
        officer,
        "company",
        own.id,
        address="12 rue Jean Jaurès",
        postcode="83000",
        city="Toulon",
        geocoder=Geocoder("offline"),
    )
    assert loc.precision == "commune" and own.geo_precision == "commune"
    drop_pin(session, officer, "offer", offer.id, "43.13", "5.94")
    assert (offer.latitude, offer.longitude) == (43.13, 5.94)
    session.commit()
    events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("geo.%"))).all()
    assert [(e.action, e.entity) for e in events] == [
        ("geo.fix_address", "company"),
        ("geo.pin", "offer"),
    ]
    assert "Jean" not in str([e.details for e in events])  # ids and field names only
