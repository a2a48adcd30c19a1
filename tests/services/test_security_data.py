"""Personal data on disk and in logs, and the command line's guards (issue 11).

Files holding personal data are 0600 and never written through a symbolic link;
logs never carry an address; a purge leaves no learner reference or address
behind; the CLI answers one French line to a database problem.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat

from sqlalchemy import select

from crm.auth import SYSTEM
from crm.db import make_engine
from crm.geo.geocoding import address_key, geocode_entity
from crm.models import GeocodeCache, Learner, Placement
from crm.services.privacy import purge_learners
from tests.services.test_privacy import TODAY, learners  # noqa: F401 - the fixture
from tests.support.cli import run_cli
from tests.support.fake_geo_servers import ban_geocoder, fake_ban

ADDRESS = "12 rue Jean Jaurès"


def test_geocoding_timeout_logs_no_address(session, sites, caplog):
    tpm, _ = sites
    learner = Learner(
        ref="L-GEO",
        site_id=tpm.id,
        first_name="Inès",
        last_name="Durand",
        entry_date=dt.date(2026, 1, 5),
        address=ADDRESS,
        postcode="83000",
        city="Toulon",
    )
    session.add(learner)
    caplog.set_level(logging.DEBUG)
    with fake_ban() as (ban, host):
        ban.mode = "slow"
        ban.delay_s = 1.0
        loc = geocode_entity(session, learner, geocoder=ban_geocoder(host, timeout_s=0.2))
    assert loc.precision == "commune"  # the timeout really happened
    retried = [
        r for r in caplog.records if r.name.startswith("urllib3") and r.levelname == "WARNING"
    ]
    assert retried, "urllib3's retry warning was expected (the case being tested)"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/search?" in text  # the URL is logged, without its query
    for fragment in ("Jean", "Jaur", "Jaur%C3%A8s", "rue+", "83000+Toulon"):
        assert fragment not in text, f"address fragment {fragment!r} in the logs"


def test_purge_rewrites_placement_refs_and_forgets_cached_addresses(session, learners):  # noqa: F811
    old = learners["old"]
    placement = learners["placement"]
    placement.ref = f"{old.ref}-S1"  # e.g. DEMO-L0003-S1
    key = address_key(old.address, old.postcode, old.city)
    session.add_all(
        [
            GeocodeCache(query_key=key, provider="ban", precision="housenumber", label="x"),
            GeocodeCache(query_key="1 place de la liberte|83000|toulon", provider="ban",
                         precision="housenumber"),
        ]
    )  # fmt: skip
    session.commit()
    purge_learners(session, SYSTEM, today=TODAY, apply=True)
    session.commit()
    session.expire_all()
    refs = session.scalars(select(Placement.ref)).all()
    assert refs == [f"ANON-{old.id}-S1"]
    assert all("L-OLD" not in (r or "") for r in refs)
    keys = session.scalars(select(GeocodeCache.query_key)).all()
    assert keys == ["1 place de la liberte|83000|toulon"]  # another address stays cached


def test_learner_export_is_private_over_an_existing_file_and_a_symlink(
    db_url,
    session,
    learners,  # noqa: F811
    tmp_path,
):
    out = tmp_path / "export.json"
    out.write_text("old")
    out.chmod(0o644)
    r = run_cli(db_url, "learner-export", "L-RECENT", str(out))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["profile"]["ref"] == "L-RECENT"

    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    victim.chmod(0o644)
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    r = run_cli(db_url, "learner-export", "L-RECENT", str(link))
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "do not touch"  # not written through the link
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert not link.is_symlink() and stat.S_IMODE(link.stat().st_mode) == 0o600


def test_new_sqlite_database_files_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "passerelle.db"
        r = run_cli(f"sqlite:///{path}", "db", "upgrade")
        assert r.returncode == 0, r.stderr
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM users").scalar()
            for sibling in path.parent.glob("passerelle.db-*"):  # -wal, -shm
                assert stat.S_IMODE(sibling.stat().st_mode) == 0o600, sibling.name
        engine.dispose()
    finally:
        os.umask(old)


def test_cli_on_an_unreachable_database_prints_one_french_line(tmp_path):
    url = "postgresql+psycopg://crm:s3cret@127.0.0.1:1/passerelle"
    for args in (("users", "list"), ("db", "upgrade"), ("backup", str(tmp_path / "b.json"))):
        r = run_cli(url, *args)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith("erreur : base de données injoignable"), lines
        assert "s3cret" not in r.stderr and "Traceback" not in r.stderr


def test_cli_refuses_a_sqlite_file_that_does_not_exist(tmp_path):
    path = tmp_path / "mistyped.db"
    url = f"sqlite:///{path}"
    for args in (
        ("users", "list"),
        ("purge", "--dry-run"),
        ("db", "current"),
        ("backup", str(tmp_path / "b.db")),
        ("restore", str(tmp_path / "b.db"), "--yes"),
    ):
        r = run_cli(url, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "n'existe pas" in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not path.exists(), f"{args} created the database"
    r = run_cli(url, "db", "upgrade")  # creating a database is explicit
    assert r.returncode == 0 and path.exists(), r.stderr
    assert run_cli(url, "users", "list").returncode == 0
    other = tmp_path / "demo.db"
    r = run_cli(f"sqlite:///{other}", "demo", "--today", "2026-11-23")
    assert r.returncode == 0 and other.exists(), r.stderr
