"""Migrations keep data: from the FIRST revision, filled with the demo data, to head.

The test starts from revision "0001" (not from head) and walks every revision
after it one at a time, so it gains meaning with each new revision. The demo
data is generated at head (crm.demo uses today's models) in a scratch database
and copied into the 0001 database column by column, restricted to the columns
that exist at 0001: adding revisions never breaks the fill.

If a later revision deliberately drops or renames a table or column, this test
fails on purpose: state the mapping here (old column -> new column) rather than
letting rows disappear silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, inspect, select, text
from sqlalchemy.exc import DBAPIError

from crm import backup as bk
from crm.db import alembic_config, current_revision, downgrade, make_engine, upgrade
from crm.models import Base

FIRST = "0001"


def revision_chain() -> list[str]:
    """Revision ids from the first to head."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@pytest.fixture
def blank_url(db_url, tmp_path, pg_databases) -> str:
    """A database of the backend of ``db_url`` with no schema at all."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'blank.db'}"
    return pg_databases.create("mig")


@pytest.fixture(scope="session")
def demo_tables(demo_sqlite_url) -> dict[str, dict]:
    """The demo data set (crm.demo.load_demo, DEMO_TODAY), every table, as plain rows."""
    engine = make_engine(demo_sqlite_url)
    with engine.connect() as conn:
        tables = bk.dump_tables(conn)
    engine.dispose()
    return tables


def _reflect(conn) -> dict[str, Table]:
    md = MetaData()
    md.reflect(bind=conn)
    return {t.name: t for t in md.sorted_tables if t.name != "alembic_version"}


def _canonical(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return value


def fingerprint(engine, columns_by_table: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Per table: (row count, sha256 of the given columns of every row, by primary key)."""
    out = {}
    with engine.connect() as conn:
        tables = _reflect(conn)
        for name, columns in sorted(columns_by_table.items()):
            table = tables[name]
            order = list(table.primary_key.columns) or [table.c[c] for c in columns]
            rows = conn.execute(select(*(table.c[c] for c in columns)).order_by(*order)).all()
            digest = hashlib.sha256()
            for row in rows:
                digest.update(json.dumps([_canonical(v) for v in row], sort_keys=True).encode())
            out[name] = (len(rows), digest.hexdigest())
    return out


def _columns(engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {name: [c.name for c in t.columns] for name, t in _reflect(conn).items()}


def _fill_first_revision(engine, demo_tables) -> None:
    with engine.begin() as conn:
        tables = _reflect(conn)
        projected = {}
        for name, data in demo_tables.items():
            if name not in tables:
                continue
            keep = [i for i, c in enumerate(data["columns"]) if c in tables[name].c]
            projected[name] = {
                "columns": [data["columns"][i] for i in keep],
                "rows": [[row[i] for i in keep] for row in data["rows"]],
            }
        bk.load_tables(conn, projected)
        # The demo has no audit trail yet: add some (JSON details, append-only table).
        audit = tables["audit_events"]
        conn.execute(
            audit.insert(),
            [
                {
                    "at": dt.datetime(2026, 11, 2, 9, 30, 12, 345678),
                    "actor_id": 1,
                    "actor_name": "admin",
                    "action": "create",
                    "entity": "company",
                    "entity_id": i,
                    "details": {"fields": ["name", "siret"], "n": i},
                }
                for i in range(1, 6)
            ],
        )


def _assert_models_match(engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def _assert_audit_append_only(engine) -> None:
    with engine.begin() as conn:  # row triggers need a row to fire on
        conn.execute(
            text(
                "INSERT INTO audit_events (at, action, entity) "
                "VALUES (CURRENT_TIMESTAMP, 'check', 'test')"
            )
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events"))


def test_upgrade_from_first_revision_keeps_every_row(blank_url, demo_tables):
    chain = revision_chain()
    assert chain[0] == FIRST
    engine = make_engine(blank_url)
    try:
        upgrade(engine, FIRST)
        assert current_revision(engine) == FIRST
        _fill_first_revision(engine, demo_tables)
        first_columns = _columns(engine)
        at_first = fingerprint(engine, first_columns)
        assert at_first["companies"][0] == len(demo_tables["companies"]["rows"]) > 100
        assert at_first["audit_events"][0] == 5
        assert all(
            n > 0 for t, (n, _) in at_first.items() if t in demo_tables and demo_tables[t]["rows"]
        )

        for revision in chain[1:]:  # one revision at a time, data checked after each
            upgrade(engine, revision)
            now = _columns(engine)
            dropped = {
                t: sorted(set(cols) - set(now.get(t, [])))
                for t, cols in first_columns.items()
                if set(cols) - set(now.get(t, []))
            }
            assert not dropped, f"{revision} dropped tables/columns present at {FIRST}: {dropped}"
            assert fingerprint(engine, first_columns) == at_first, f"{revision} changed rows"

        assert current_revision(engine) == chain[-1]
        assert fingerprint(engine, first_columns) == at_first  # every row survived, unchanged
        _assert_models_match(engine)  # the `alembic check` equivalent, on a filled database
        _assert_audit_append_only(engine)
        if engine.dialect.name == "sqlite":  # lifted during migrations only
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_downgrade_of_last_revision_and_upgrade_again(blank_url, demo_tables):
    chain = revision_chain()
    engine = make_engine(blank_url)
    try:
        upgrade(engine, FIRST)
        _fill_first_revision(engine, demo_tables)
        upgrade(engine, "head")
        previous = chain[-2] if len(chain) > 1 else None
        before = fingerprint(engine, _columns(engine))

        downgrade(engine, "-1")
        assert current_revision(engine) == previous
        if previous is None:
            # Downgrading the only revision removes the schema entirely.
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        else:
            # Rows survive the downgrade (in the columns that still exist).
            cols = _columns(engine)
            assert {t: before[t][0] for t in cols} == {
                t: n for t, (n, _) in fingerprint(engine, cols).items()
            }

        upgrade(engine, "head")
        assert current_revision(engine) == chain[-1]
        _assert_models_match(engine)
        _assert_audit_append_only(engine)  # triggers are recreated too
        if previous is not None:
            assert fingerprint(engine, _columns(engine))["companies"][0] == before["companies"][0]
    finally:
        engine.dispose()
