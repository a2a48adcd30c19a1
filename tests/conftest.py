"""Test fixtures: every database test runs on SQLite *and* PostgreSQL.

PostgreSQL is expected on 127.0.0.1:5432 (user postgres, trust auth, database
``test``; override with PASSERELLE_TEST_PG_URL). Each pytest process creates its
own database and drops it at the end. A missing PostgreSQL is a failure, never
a skip: the suite promises both backends.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from crm.db import make_engine, make_session_factory, upgrade
from crm.demo import load_demo
from crm.models import Base, Site
from crm.reference import load_reference_tables
from tests.factories import DEMO_TODAY, make_actor  # noqa: F401 - fixtures use them

# Tests never reach a real geocoder: code that geocodes without an explicit geocoder
# (saves plugged into crm.geo) uses the commune table. Geocoding tests point geopy at
# a local fake server (tests/support/fake_geo_servers.py) instead.
os.environ.setdefault("PASSERELLE_GEOCODER", "offline")
# Backups are signed with this key in tests (never a key file in the working tree).
os.environ.setdefault("PASSERELLE_BACKUP_KEY", "test-backup-key-not-a-secret")

PG_URL = os.environ.get(
    "PASSERELLE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


def _pg_admin_engine():
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def pg_server():
    """Fail (not skip) when PostgreSQL is not reachable."""
    admin = _pg_admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(
            "PostgreSQL is not reachable at "
            f"{make_url(PG_URL).render_as_string(hide_password=True)}: {exc}\n"
            "Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            pytrace=False,
        )
    yield admin
    admin.dispose()


class PgDatabases:
    """Creates throw-away databases on the test server and drops them at the end."""

    def __init__(self, admin):
        self.admin = admin
        self.created: list[str] = []

    def create(self, label: str) -> str:
        name = f"passerelle_{label}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_databases(pg_server):
    dbs = PgDatabases(pg_server)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def migrated_pg_url(pg_databases):
    url = pg_databases.create("t")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _truncate_pg(engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> str:
    """URL of an empty, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "passerelle.db"
        shutil.copy(request.getfixturevalue("migrated_sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("migrated_pg_url")
    engine = make_engine(url)
    _truncate_pg(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory):
    s = session_factory()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def sites(session):
    """Two sites and the reference tables."""
    load_reference_tables(session)
    a = Site(name="TPM", city="Toulon", postcode="83000", latitude=43.1197, longitude=5.9328)
    b = Site(name="CAVEM", city="Fréjus", postcode="83600", latitude=43.4328, longitude=6.7366)
    session.add_all([a, b])
    session.commit()
    return a, b


# --------------------------------------------------------------------------- demo databases


@pytest.fixture(scope="session")
def demo_sqlite_url(tmp_path_factory, migrated_sqlite_template) -> str:
    """A SQLite database with the demo data set (read-only use in tests)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(migrated_sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        load_demo(s, today=DEMO_TODAY)
    engine.dispose()
    return url


@pytest.fixture
def demo_copy(demo_sqlite_url, tmp_path) -> str:
    """A private copy of the demo database, for tests that write (a login audits too)."""
    dst = tmp_path / "demo.db"
    shutil.copy(Path(make_url(demo_sqlite_url).database), dst)
    return f"sqlite:///{dst}"


@pytest.fixture(scope="session")
def demo_pg_url(pg_databases) -> str:
    url = pg_databases.create("demo")
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        load_demo(s, today=DEMO_TODAY)
    engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def demo_url(request) -> str:
    return request.getfixturevalue(f"demo_{'sqlite' if request.param == 'sqlite' else 'pg'}_url")
