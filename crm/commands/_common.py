"""Helpers shared by CLI subcommands."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def open_engine(migrate: bool = True):
    """Engine on the configured database, schema brought up to date first."""
    from crm.db import make_engine, upgrade

    engine = make_engine()
    if migrate:
        upgrade(engine)
    return engine


@contextlib.contextmanager
def unit_of_work(migrate: bool = True) -> Iterator[Session]:
    from crm.db import make_session_factory, session_scope

    engine = open_engine(migrate)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()
