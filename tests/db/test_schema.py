"""Schema: migrations build exactly the models, and the audit trail is append-only."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from crm import audit
from crm.auth import SYSTEM
from crm.db import current_revision
from crm.models import Base


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_schema_is_at_head(engine):
    from alembic.script import ScriptDirectory

    from crm.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert current_revision(engine) == head


def test_audit_trail_refuses_update_and_delete(session):
    audit.record(session, SYSTEM, "create", "company", 1)
    session.commit()
    for statement in ("UPDATE audit_events SET action = 'tampered'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
    assert session.execute(text("SELECT action FROM audit_events")).scalars().all() == ["create"]


def test_sqlite_pragmas(tmp_path):
    from crm.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()
