"""Alembic environment: runs against the engine handed in by crm.db, or a URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from crm.models import Base

config = context.config
target_metadata = Base.metadata


def _sqlite_foreign_keys(connection, on: bool) -> None:
    # PRAGMA foreign_keys is a no-op inside a transaction: run it on the raw
    # (autocommit) DBAPI connection, before/after the migration transaction.
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _run(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left {len(broken)} broken foreign keys")


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is not None:
        with engine.connect() as connection:
            # SQLite "batch" migrations copy a table and drop the old one: with
            # foreign keys enforced that fails as soon as other rows reference the
            # table. Enforcement is lifted during the migration transaction (the
            # whole database is checked before commit) and restored after it.
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                _sqlite_foreign_keys(connection, False)
            try:
                _run(connection)
                connection.commit()
            finally:
                if sqlite:
                    if connection.in_transaction():
                        connection.rollback()
                    _sqlite_foreign_keys(connection, True)
        return
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
