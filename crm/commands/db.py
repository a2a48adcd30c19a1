"""passerelle db upgrade|current"""

from __future__ import annotations

from crm.commands._common import open_engine


def register(sub) -> None:
    p = sub.add_parser("db", help="database schema (Alembic migrations)")
    dbsub = p.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="bring the schema up to date and load reference tables")
    up.set_defaults(func=_upgrade)
    cur = dbsub.add_parser("current", help="print the schema revision")
    cur.set_defaults(func=_current)


def _upgrade(args) -> int:
    from crm.db import current_revision, make_session_factory, session_scope
    from crm.reference import load_reference_tables

    engine = open_engine(migrate=True, create=True)
    with session_scope(make_session_factory(engine)) as session:
        added = load_reference_tables(session)
    print(f"Schema at revision {current_revision(engine)}; reference rows added: {added}")
    engine.dispose()
    return 0


def _current(args) -> int:
    from crm.db import current_revision

    engine = open_engine(migrate=False)
    print(current_revision(engine) or "(empty database)")
    engine.dispose()
    return 0
