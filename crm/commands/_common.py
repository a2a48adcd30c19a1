"""Helpers shared by CLI subcommands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.orm import Session

from crm.db import make_engine, make_session_factory, session_scope, upgrade


def open_engine(migrate: bool = True):
    """Engine on the configured database, schema brought up to date first."""
    engine = make_engine()
    if migrate:
        upgrade(engine)
    return engine


@contextlib.contextmanager
def unit_of_work(migrate: bool = True) -> Iterator[Session]:
    engine = open_engine(migrate)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()
