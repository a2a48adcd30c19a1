"""A company typed with an address is placed through the configured geocoder on save;
a provider that is down never blocks the save, and the batch job places it later."""

from __future__ import annotations

import pytest

from crm.auth import Perm
from crm.geo import geocode_entity
from crm.models import Role
from crm.services.companies import create_company, update_company
from tests.factories import make_actor
from tests.support.fake_geo_servers import ban_geocoder, fake_ban


@pytest.fixture
def ban_settings(monkeypatch):
    def configure(host: str):
        monkeypatch.setenv("PASSERELLE_GEOCODER", "ban")
        monkeypatch.setenv("PASSERELLE_GEOCODER_DOMAIN", host)
        monkeypatch.setenv("PASSERELLE_GEOCODER_SCHEME", "http")
        monkeypatch.setenv("PASSERELLE_GEOCODER_TIMEOUT", "0.3")
        monkeypatch.setenv("PASSERELLE_GEOCODER_MIN_DELAY", "0")

    return configure


def test_new_company_gets_the_providers_coordinates(session, sites, ban_settings):
    tpm, _ = sites
    officer = make_actor(session, Role.OFFICER, tpm)
    assert officer.has(Perm.COMPANY_WRITE)
    with fake_ban() as (ban, host):
        ban_settings(host)
        company = create_company(
            session,
            officer,
            name="Garage du Port",
            site_id=tpm.id,
            address="12 rue Jean Jaurès",
            postcode="83000",
            city="Toulon",
        )
        session.commit()
        assert len(ban.queries) == 1
    assert company.geo_precision == "housenumber"
    assert (company.latitude, company.longitude) == pytest.approx((43.12461, 5.93052))


def test_provider_down_save_succeeds_with_commune_then_batch_upgrades(session, sites, ban_settings):
    tpm, _ = sites
    officer = make_actor(session, Role.OFFICER, tpm)
    with fake_ban() as (ban, host):
        ban_settings(host)
        ban.mode = "down"
        company = create_company(
            session,
            officer,
            name="Boulangerie Martin",
            site_id=tpm.id,
            address="12 rue Jean Jaurès",
            postcode="83000",
            city="Toulon",
        )
        session.commit()
        assert company.id is not None
        assert company.geo_precision == "commune"  # visible, approximate
        ban.mode = "up"
        geocode_entity(session, company, geocoder=ban_geocoder(host))
        session.commit()
    assert company.geo_precision == "housenumber"


def test_changing_the_address_moves_the_pin(session, sites, ban_settings):
    tpm, _ = sites
    officer = make_actor(session, Role.OFFICER, tpm)
    with fake_ban() as (_ban, host):
        ban_settings(host)
        company = create_company(
            session,
            officer,
            name="Hôtel Soleil",
            site_id=tpm.id,
            address="12 rue Jean Jaurès",
            postcode="83000",
            city="Toulon",
        )
        session.commit()
        update_company(
            session,
            officer,
            company.id,
            company.version,
            address="3 bd de la Mer",
            postcode="83600",
            city="Fréjus",
        )
        session.commit()
    assert (company.latitude, company.longitude) == pytest.approx((43.42110, 6.76810))
