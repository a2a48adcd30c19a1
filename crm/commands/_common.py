"""Helpers shared by CLI subcommands (standard library only at import time: fast start)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def require_database(create: bool = False) -> str:
    """The configured database URL; a SQLite file that does not exist is refused
    unless ``create`` (only ``db upgrade`` and ``demo`` create a database)."""
    from crm.config import get_settings
    from crm.db import missing_sqlite_database
    from crm.errors import PasserelleError

    url = get_settings().database_url
    missing = None if create else missing_sqlite_database(url)
    if missing is not None:
        raise PasserelleError(
            f"la base SQLite {missing} n'existe pas (chemin mal saisi ?) ; pour en créer une, "
            "lancez « passerelle db upgrade »."
        )
    return url


def open_engine(migrate: bool = True, create: bool = False):
    """Engine on the configured database, schema brought up to date first."""
    from crm.db import make_engine, upgrade

    engine = make_engine(require_database(create))
    if migrate:
        upgrade(engine)
    return engine


@contextlib.contextmanager
def unit_of_work(migrate: bool = True, create: bool = False) -> Iterator[Session]:
    from crm.db import make_session_factory, session_scope

    engine = open_engine(migrate, create)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()
