"""Engine, sessions and schema upgrades.

SQLite is the embedded default (WAL, foreign keys, busy timeout); PostgreSQL is
production. Both are driven through the same SQLAlchemy 2.x code.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from crm.config import get_settings
from crm.errors import ConcurrentEditError, PasserelleError

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 15_000


def is_sqlite(bind: Engine | Session) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "sqlite"


def make_engine(
    url: str | None = None, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs
) -> Engine:
    """Create an engine for ``url`` (default: settings) with the pragmas we rely on.

    ``busy_timeout_ms`` (SQLite only) is how long a statement waits for another
    writer before failing with "database is locked".
    """
    url = url or get_settings().database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        prepare_sqlite_file(database)
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", busy_timeout_ms / 1000)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def prepare_sqlite_file(database: str | None) -> None:
    """Create a new SQLite database file with mode 0600 (it holds personal data).

    SQLite creates its -wal and -shm files with the database file's mode.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    from crm.private_files import create_private

    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    create_private(path)


def missing_sqlite_database(url: str) -> Path | None:
    """The file of a SQLite ``url`` when it does not exist yet (else None).

    Commands other than ``db upgrade`` and ``demo`` refuse such a URL: a mistyped
    path must not silently create a new, empty database.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database)
    return None if path.exists() else path


def _configure_sqlite(engine: Engine, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        # Let SQLAlchemy own transaction boundaries (pysqlite's implicit BEGIN
        # handling is broken for SAVEPOINT and for write locks).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A unit of work (session_scope, run_in_transaction) begins as a writer:
        # BEGIN IMMEDIATE waits for the write lock under the busy timeout at its
        # first statement. A deferred transaction that read first and writes later
        # cannot wait: SQLite refuses the upgrade at once ("database is locked")
        # when another writer committed in between. Other sessions and connections
        # (reads, tests, migrations) begin DEFERRED and never block writers.
        writer = conn.get_execution_options().get(WRITER_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


# Execution option of units of work that may write: on SQLite their transactions
# begin IMMEDIATE (see _configure_sqlite). No effect on PostgreSQL.
WRITER_OPTION = "passerelle_writer"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def writer_session(factory: Callable[..., Session]) -> Session:
    """A new session of ``factory`` whose transactions begin as writers.

    On SQLite each transaction starts with ``BEGIN IMMEDIATE``: it takes the
    database's write lock at its first statement (waiting for other writers under
    the busy timeout), so a unit of work that reads and then writes is never
    refused with "database is locked". Sessions from ``factory()`` itself stay
    deferred: use them for reads only. Factories that are not bound to an engine
    (test doubles) give a plain session.
    """
    bind = getattr(factory, "kw", {}).get("bind")
    if isinstance(bind, Engine):
        return factory(bind=bind.execution_options(**{WRITER_OPTION: True}))
    return factory()


def reader_session(session: Session) -> Session:
    """A separate session on ``session``'s database whose transactions begin deferred.

    For long read-only phases inside a writer unit of work (an import checking a
    whole file): on SQLite they must not hold the write lock, so other users' saves
    go on; the write that follows starts its own short writer transaction.
    """
    bind = session.get_bind()
    return Session(bind=bind.execution_options(**{WRITER_OPTION: False}))


@contextlib.contextmanager
def session_scope(factory: sessionmaker[Session], *, read_only: bool = False) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error.

    Its transactions begin as writers (SQLite: BEGIN IMMEDIATE, see :func:`writer_session`)
    unless ``read_only`` (pages that only read: deferred, they never wait for writers;
    a write in them may be refused with "database is locked" on SQLite).

    A version conflict (another user saved the row first) is raised as
    :class:`ConcurrentEditError`. For retries on transient errors, use
    :func:`run_in_transaction`.
    """
    session = factory() if read_only else writer_session(factory)
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentEditError() from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# --------------------------------------------------------------------------- retries

# PostgreSQL SQLSTATEs worth retrying: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# SQLite messages of a transient lock conflict (SQLITE_BUSY / SQLITE_LOCKED).
SQLITE_TRANSIENT_MESSAGES = ("database is locked", "database is busy", "database table is locked")


class AmbiguousCommitError(Exception):
    """The connection was lost while committing: the transaction may or may not
    have been applied, so it is never replayed automatically."""


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None) or exc
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_transient_error(exc: BaseException) -> bool:
    """True when re-running the whole transaction may succeed.

    Lock conflicts (SQLite busy/locked), PostgreSQL serialization failures and
    deadlocks, and connections lost (the pool then replaces them).
    """
    if isinstance(exc, PasserelleError) or not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if _sqlstate(exc) in RETRYABLE_SQLSTATES:
        return True
    message = str(getattr(exc, "orig", exc)).lower()
    return any(m in message for m in SQLITE_TRANSIENT_MESSAGES)


def backoff_delay(attempt: int, base: float = 0.02, cap: float = 0.5) -> float:
    """Full-jitter exponential backoff for retry number ``attempt`` (1-based)."""
    return random.uniform(0, min(cap, base * (2**attempt)))


def commit(session: Session) -> None:
    """Commit ``session``; a version conflict becomes :class:`ConcurrentEditError`.

    On any failure the session is rolled back, so it can be reused (reloaded).
    """
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentEditError() from exc
    except BaseException:
        session.rollback()
        raise


def expect_version(obj, expected: int | None) -> None:
    """Refuse to save ``obj`` when it changed since the user loaded it at ``expected``.

    For edit forms that reload the row in a new transaction on save; the
    version column then also guards the UPDATE itself (StaleDataError).
    """
    if expected is not None and obj.version != expected:
        raise ConcurrentEditError()


def run_in_transaction(
    factory: sessionmaker[Session],
    fn: Callable[[Session], T],
    *,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``fn(session)`` in one unit of work and commit it; return fn's result.

    Transient database errors (see :func:`is_transient_error`) roll back and
    re-run the whole of ``fn`` on a new session, up to ``attempts`` times, with a
    short jittered backoff. ``fn`` must therefore read what it needs inside the
    transaction and have no side effect outside the database.

    Never retried: user-facing errors (:class:`PasserelleError`), a version
    conflict (raised as :class:`ConcurrentEditError`: the user must reload), and
    a connection lost *during* commit (raised as :class:`AmbiguousCommitError`:
    the write may have been applied).
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    for attempt in range(1, attempts + 1):
        session = writer_session(factory)
        committing = False
        try:
            result = fn(session)
            committing = True
            session.commit()
            return result
        except StaleDataError as exc:
            _safe_rollback(session)
            raise ConcurrentEditError() from exc
        except DBAPIError as exc:
            _safe_rollback(session)
            if committing and exc.connection_invalidated:
                raise AmbiguousCommitError(
                    "connection lost while committing; the outcome is unknown"
                ) from exc
            if attempt == attempts or not is_transient_error(exc):
                raise
            log.info(
                "transient database error (attempt %d/%d): %s",
                attempt,
                attempts,
                type(getattr(exc, "orig", exc)).__name__,
            )
        except BaseException:
            _safe_rollback(session)
            raise
        finally:
            session.close()
        sleep(backoff_delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _safe_rollback(session: Session) -> None:
    try:
        session.rollback()
    except Exception:  # the connection may be gone; close() discards it
        log.debug("rollback failed after an error", exc_info=True)


def alembic_config(engine_or_url: Engine | str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if isinstance(engine_or_url, str):
        cfg.set_main_option("sqlalchemy.url", engine_or_url.replace("%", "%%"))
    else:
        cfg.attributes["engine"] = engine_or_url
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` through Alembic migrations."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
