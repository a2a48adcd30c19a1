"""Faults: the database connection lost in the middle of an import; the geocoder
down or slow while a company is saved (the save succeeds with the commune
fallback; ``passerelle geocode --missing`` places it exactly later)."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, func, select, text

from crm.auth import SYSTEM
from crm.cli import main
from crm.db import make_engine, make_session_factory
from crm.errors import DatabaseUnavailable
from crm.models import AuditEvent, Company, Role
from crm.reference import find_commune
from crm.services.companies import create_company, update_company
from crm.services.imports import import_data
from tests.factories import make_actor
from tests.support.fake_geo_servers import fake_ban

N_ROWS = 2000


def _file(n: int = N_ROWS) -> bytes:
    lines = ["ref,name,postcode,city,site"]
    lines += [f"K{i:05d},Entreprise Import {i},83000,Toulon,TPM" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def _file_rows(session) -> int:
    session.rollback()  # a fresh snapshot (SQLite WAL keeps the old one inside a transaction)
    return session.scalar(select(func.count()).select_from(Company).where(Company.ref.like("K%")))


def test_connection_lost_mid_import_rolls_back_and_says_so(db_url, session, sites):
    """PostgreSQL: another connection terminates the import's backend mid-way.
    SQLite (no server to kill): the driver fails with a disk I/O error mid-way."""
    pg = db_url.startswith("postgresql")
    data = _file()
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    statements = 0
    reached = threading.Event()
    killed = threading.Event()
    state: dict = {}

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        nonlocal statements
        statements += 1
        # Mid-way: the file's companies are written (bulk path) and the audit rows are next.
        if statement.startswith("INSERT INTO audit_events") and not reached.is_set():
            reached.set()
            if pg:
                killed.wait(10)  # the next statement runs on a dead backend
            else:
                raise sqlite3.OperationalError("disk I/O error")

    def run_import():
        s = factory()
        try:
            if pg:
                state["pid"] = s.execute(text("SELECT pg_backend_pid()")).scalar()
            import_data(s, SYSTEM, "companies", data, "entreprises.csv")
            s.commit()
            state["result"] = "committed"
        except Exception as exc:  # noqa: BLE001 - asserted below
            state["result"] = exc
        finally:
            s.close()

    worker = threading.Thread(target=run_import)
    worker.start()
    assert reached.wait(60), "the import never got that far"
    if pg:
        admin = make_engine(db_url)
        with admin.connect() as c:
            assert c.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": state["pid"]}
            ).scalar()
        admin.dispose()
        killed.set()
    worker.join(60)
    assert not worker.is_alive()

    error = state["result"]
    assert isinstance(error, DatabaseUnavailable), repr(error)
    assert "rien n'a été importé" in str(error)
    assert _file_rows(session) == 0  # not one row of the file
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import")
        )
        == 0
    )

    # The same file again, on the same engine (the pool replaces the dead connection).
    event.remove(engine, "before_cursor_execute", count)
    s = factory()
    try:
        report = import_data(s, SYSTEM, "companies", data, "entreprises.csv")
        s.commit()
    finally:
        s.close()
        engine.dispose()
    assert report.imported and report.created == N_ROWS and report.rejected == []
    assert _file_rows(session) == N_ROWS


@pytest.mark.parametrize("mode", ["slow", "down"])
def test_geocoder_fault_save_succeeds_then_cli_places_exactly(
    db_url, session, sites, monkeypatch, capsys, mode
):
    """The provider times out (slow) or answers 503 (down) during saves: each save succeeds
    at once with the commune centre; once it is back, `passerelle geocode --missing` places
    the company at its exact address."""
    tpm, _ = sites
    officer = make_actor(session, Role.OFFICER, tpm)
    session.commit()
    with fake_ban() as (ban, host):
        for key, value in {
            "PASSERELLE_GEOCODER": "ban",
            "PASSERELLE_GEOCODER_DOMAIN": host,
            "PASSERELLE_GEOCODER_SCHEME": "http",
            "PASSERELLE_GEOCODER_TIMEOUT": "0.3",
            "PASSERELLE_GEOCODER_MIN_DELAY": "0",
            "PASSERELLE_DATABASE_URL": db_url,
        }.items():
            monkeypatch.setenv(key, value)
        ban.mode, ban.delay_s = mode, 10.0

        t0 = time.perf_counter()
        company = create_company(
            session,
            officer,
            name="Boulangerie du Port",
            site_id=tpm.id,
            address="12 rue Jean Jaurès",
            postcode="83000",
            city="Toulon",
        )
        session.commit()
        assert time.perf_counter() - t0 < 5.0  # the save did not wait for the 10 s answer
        toulon = find_commune("Toulon", "83000")
        assert company.geo_precision == "commune"
        assert (company.latitude, company.longitude) == (toulon.latitude, toulon.longitude)

        # An edit of the address while the provider still fails: saved, commune of the new city.
        t0 = time.perf_counter()
        company = update_company(
            session,
            officer,
            company.id,
            expected_version=company.version,
            address="3 bd de la Mer",
            postcode="83600",
            city="Fréjus",
        )
        session.commit()
        assert time.perf_counter() - t0 < 5.0
        frejus = find_commune("Fréjus", "83600")
        assert company.geo_precision == "commune"
        assert (company.latitude, company.longitude) == (frejus.latitude, frejus.longitude)
        assert company.address == "3 bd de la Mer" and company.version == 2
        assert len(ban.queries) >= 2  # the provider was asked each time

        # The provider is back: the batch retries what is still approximate.
        ban.mode = "up"
        capsys.readouterr()
        assert main(["geocode", "--missing", "--kind", "companies", "--no-progress"]) == 0
        out = capsys.readouterr().out
        assert "companies: 1 processed" in out and "housenumber 1" in out
        assert "bd de la Mer" not in out  # no address printed
    session.rollback()
    session.expire_all()  # the batch ran in another session
    placed = session.get(Company, company.id)
    assert placed.geo_precision == "housenumber"
    assert (placed.latitude, placed.longitude) == pytest.approx((43.42110, 6.76810))
