"""Scratch databases for the benchmarks: a SQLite file and a PostgreSQL database, fresh
(removed afterwards) or kept under a name and then reused without reloading."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextlib.contextmanager
def sqlite_database(keep: Path | None = None) -> Iterator[tuple[str, bool]]:
    """(URL, already loaded): ``keep`` is reused when it exists, else a temporary file."""
    if keep is not None:
        yield f"sqlite:///{keep}", keep.exists()
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}", False


@contextlib.contextmanager
def postgres_database(
    admin_url: str, prefix: str, keep: str | None = None
) -> Iterator[tuple[str, bool]]:
    """(URL, already loaded) of a database created on ``admin_url``'s server: ``keep`` names
    one that is reused when it exists and left in place; otherwise a fresh one, dropped after."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = keep or f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        exists = bool(
            conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        yield url, exists
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
