"""`passerelle geocode` as a user runs it (subprocess) against the local fake BAN server."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm.cli import main
from crm.db import make_engine, make_session_factory
from crm.models import Company, Learner, Offer, Site
from crm.reference import find_commune
from tests.support.cli import run_cli
from tests.support.fake_geo_servers import fake_ban


def _seed(url: str) -> None:
    engine = make_engine(url)
    with make_session_factory(engine).begin() as s:
        site = Site(name="TPM", address="avenue de la République", postcode="83000", city="Toulon")
        s.add(site)
        s.flush()
        a = Company(
            name="A", site_id=site.id, address="12 rue Jean Jaurès", postcode="83000", city="Toulon"
        )
        s.add_all(
            [
                a,
                Company(
                    name="B",
                    site_id=site.id,
                    address="9 rue perdue",
                    postcode="83600",
                    city="Fréjus",
                ),
                Company(name="C", site_id=site.id, address="1 rue de nulle part", city="Atlantide"),
                Company(
                    name="D",
                    site_id=site.id,
                    address="3 bd de la Mer",
                    postcode="83600",
                    city="Fréjus",
                    latitude=43.0,
                    longitude=6.0,
                    geo_precision="manual",
                ),
                Offer(company=a, rome_code="D1106", title="Vente", seats=1),
                Learner(
                    site_id=site.id,
                    first_name="Lina",
                    last_name="Secret",
                    birth_date=dt.date(2005, 1, 1),
                    entry_date=dt.date(2026, 9, 1),
                    address="12 rue Jean Jaurès",
                    postcode="83000",
                    city="Toulon",
                ),
            ]
        )
    engine.dispose()


def _companies(url: str) -> dict[str, tuple]:
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        out = {
            c.name: (c.latitude, c.longitude, c.geo_precision) for c in s.scalars(select(Company))
        }
    engine.dispose()
    return out


def run_inprocess(capsys, monkeypatch, url: str, *args: str, env: dict[str, str] | None = None):
    """The same command through crm.cli.main (faster than a subprocess)."""
    monkeypatch.setenv("PASSERELLE_DATABASE_URL", url)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_geocode_command_places_records_and_summarises(db_url, capsys, monkeypatch):
    _seed(db_url)
    with fake_ban() as (ban, host):
        env = {
            "PASSERELLE_GEOCODER": "ban",
            "PASSERELLE_GEOCODER_DOMAIN": host,
            "PASSERELLE_GEOCODER_SCHEME": "http",
            "PASSERELLE_GEOCODER_MIN_DELAY": "0",
        }
        r = run_cli(db_url, "geocode", "--kind", "companies", env=env)
        assert r.returncode == 0, r.stderr
        assert "companies: 3 processed" in r.stdout
        assert "housenumber 1" in r.stdout and "commune 1" in r.stdout
        assert "failed (not placed): 1" in r.stdout
        assert "3/3" in r.stderr  # the progress bar
        assert "Jean" not in r.stdout + r.stderr  # no address printed
        placed = _companies(db_url)
        assert placed["A"][2] == "housenumber"
        frejus = find_commune("Fréjus", "83600")
        assert placed["B"] == (frejus.latitude, frejus.longitude, "commune")
        assert placed["C"] == (None, None, "none")
        assert placed["D"] == (43.0, 6.0, "manual")  # a manual pin is never overwritten
        asked = len(ban.queries)
        assert asked == 3
        # Learners and the site: the learner's address is already cached.
        r = run_cli(
            db_url, "geocode", "--missing", "--kind", "learners", "--kind", "sites", env=env
        )
        assert r.returncode == 0, r.stderr
        assert "learners: 1 processed" in r.stdout and "sites: 1 processed" in r.stdout
        assert "Lina" not in r.stdout + r.stderr and "Secret" not in r.stdout + r.stderr
        assert len(ban.queries) == asked + 1  # only the site's street was new
        # An offer is placed at its company's (cached) address.
        code, out, _ = run_inprocess(
            capsys, monkeypatch, db_url, "geocode", "--kind", "offers", env=env
        )
        assert "offers: 1 processed (0 changed) — housenumber 1" in out
        assert len(ban.queries) == asked + 1
        # --missing retries what is still unplaced; nothing new is found, nothing asked twice.
        code, out, _ = run_inprocess(
            capsys, monkeypatch, db_url, "geocode", "--missing", "--kind", "companies", env=env
        )
        assert "companies: 2 processed (0 changed)" in out
        assert len(ban.queries) == asked + 1


def test_geocode_command_offline_uses_commune_table(db_url, capsys, monkeypatch):
    _seed(db_url)
    code, out, err = run_inprocess(
        capsys,
        monkeypatch,
        db_url,
        "geocode",
        "--kind",
        "companies",
        "--no-progress",
        env={"PASSERELLE_GEOCODER": "offline"},
    )
    assert code == 0, err
    assert "housenumber" not in out and "commune 2" in out
    assert err == ""  # --no-progress
    placed = _companies(db_url)
    toulon = find_commune("Toulon", "83000")
    assert placed["A"] == (toulon.latitude, toulon.longitude, "commune")
    assert placed["C"][2] == "none"
