"""Backups and restores of the whole database (``passerelle backup`` / ``restore``).

Three formats, recognised on restore by their first bytes:

- ``sqlite``: a copy of an SQLite database made with the sqlite3 online backup
  API (consistent while the app keeps writing). Restored with the same API into
  the live database, in one write transaction.
- ``pg_dump``: PostgreSQL custom format (``pg_dump -Fc``), restored by
  ``pg_restore --clean --single-transaction``. Used when both tools are on PATH.
  Connection settings go through PG* environment variables, never argv.
- ``json``: a portable dump of every table (any backend to any backend), with
  the schema revision, row counts and a checksum. Restored in one transaction
  that replaces every row; refused when the schema revision differs.

A restore never leaves a half-restored database: it either replaces everything
or fails with the previous data untouched.

Every backup is signed: HMAC-SHA256 over the whole file with the backup key, in a
sidecar ``FILE.sig``. A restore first copies the file to a private temporary
file while checking the signature and refuses it when the signature is missing
or wrong (a truncated, edited or re-checksummed file, or another key). The key
is ``PASSERELLE_BACKUP_KEY`` when set, else the file ``backup.key`` of
``PASSERELLE_HOME`` (generated on first use, mode 0600): keep a copy of it with
the backups, a restore on another server needs it. A SQLite backup is also
checked with ``PRAGMA integrity_check`` and against the schema of its revision
(tables, indexes and the audit triggers) before anything is replaced.

Backups and restores are audited. A restore keeps the audit events of the
database that the backup does not have (newer than the backup): they are
appended after the restore event, never silently dropped.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import gzip
import hashlib
import hmac
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    Table,
    select,
    text,
)
from sqlalchemy.engine import make_url

from crm.config import get_settings
from crm.db import current_revision, make_engine, upgrade
from crm.errors import PasserelleError
from crm.private_files import PRIVATE_MODE, create_private, write_private

JSON_FORMAT = "passerelle-json"
JSON_FORMAT_VERSION = 1
FORMATS = ("auto", "sqlite", "pg_dump", "json")
SKIPPED_TABLES = frozenset({"alembic_version"})
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
GZIP_MAGIC = b"\x1f\x8b"
INSERT_CHUNK = 500
SIGNATURE_SUFFIX = ".sig"
SIGNATURE_FORMAT = "passerelle-backup-signature"
KEY_ENV = "PASSERELLE_BACKUP_KEY"
KEY_FILE = "backup.key"
AUDIT_TRIGGERS = frozenset({"audit_events_no_update", "audit_events_no_delete"})


class BackupError(PasserelleError):
    """A backup or restore could not be done; nothing was changed."""


@dataclass
class BackupInfo:
    path: Path
    format: str
    revision: str | None
    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        rows = sum(self.counts.values())
        detail = f", {rows} rows in {len(self.counts)} tables" if self.counts else ""
        return f"{self.format} backup at schema revision {self.revision}{detail}: {self.path}"


# --------------------------------------------------------------------------- helpers


def _backend(url: str) -> str:
    return make_url(url).get_backend_name()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("Base SQLite en mémoire : rien à sauvegarder ou restaurer.")
    return Path(database)


def code_revisions() -> tuple[str, set[str]]:
    """(head, every revision id) of the migrations shipped with this code."""
    from alembic.script import ScriptDirectory

    from crm.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head(), {r.revision for r in script.walk_revisions()}


def pg_tools_available() -> bool:
    return bool(shutil.which("pg_dump") and shutil.which("pg_restore"))


def pg_environment(url: str) -> dict[str, str]:
    """Environment for pg_dump/pg_restore: the URL as PG* variables (no argv secrets)."""
    u = make_url(url)
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", u.host),
        ("PGPORT", u.port),
        ("PGUSER", u.username),
        ("PGPASSWORD", u.password),
        ("PGDATABASE", u.database),
        ("PGSSLMODE", u.query.get("sslmode")),
    ):
        if value not in (None, ""):
            env[key] = str(value)
    return env


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def detect_format(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise BackupError(f"Fichier de sauvegarde illisible : {path} ({exc.strerror}).") from exc
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pg_dump"
    if head.startswith(GZIP_MAGIC) or head.lstrip()[:1] == b"{":
        return "json"
    raise BackupError(f"Format de sauvegarde inconnu : {path}.")


# --------------------------------------------------------------------------- signatures


def key_path() -> Path:
    return get_settings().home / KEY_FILE


def backup_key() -> bytes:
    """The HMAC key: ``PASSERELLE_BACKUP_KEY``, else ``$PASSERELLE_HOME/backup.key``
    (created with a random key, mode 0600, on first use)."""
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        return env.encode("utf-8")
    path = key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        if create_private(path):
            write_private(path, secrets.token_hex(32) + "\n")
    if path.stat().st_mode & 0o077:
        raise BackupError(
            f"La clé de sauvegarde {path} est lisible par d'autres comptes : "
            "chmod 600 puis recommencez."
        )
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise BackupError(f"La clé de sauvegarde {path} est vide.")
    return key.encode("utf-8")


def signature_path(path: Path) -> Path:
    return path.with_name(path.name + SIGNATURE_SUFFIX)


def _hmac_of(path: Path, key: bytes, copy_to: Path | None = None) -> tuple[str, int]:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    size = 0
    out = open(copy_to, "wb") if copy_to else None  # noqa: SIM115
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                mac.update(chunk)
                size += len(chunk)
                if out:
                    out.write(chunk)
    finally:
        if out:
            out.close()
    return mac.hexdigest(), size


def sign_backup(path: str | Path) -> Path:
    """Write ``FILE.sig``: HMAC-SHA256 of the whole file with the backup key (0600)."""
    path = Path(path)
    digest, size = _hmac_of(path, backup_key())
    doc = {"format": SIGNATURE_FORMAT, "algorithm": "HMAC-SHA256", "size": size, "hmac": digest}
    return write_private(signature_path(path), json.dumps(doc) + "\n")


def verified_copy(path: Path, directory: Path) -> Path:
    """Copy the backup ``path`` into ``directory`` while checking its signature.

    The restore reads the copy, so the file checked is the file restored.
    """
    sig = signature_path(path)
    try:
        doc = json.loads(sig.read_text(encoding="utf-8"))
        expected, expected_size = str(doc["hmac"]), int(doc["size"])
        if doc.get("format") != SIGNATURE_FORMAT:
            raise ValueError
    except FileNotFoundError:
        raise BackupError(
            f"Signature de la sauvegarde introuvable ({sig.name}) : restauration refusée."
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"Signature de la sauvegarde illisible ({sig.name}).") from exc
    copy = directory / "backup"
    try:
        digest, size = _hmac_of(path, backup_key(), copy_to=copy)
    except OSError as exc:
        raise BackupError(f"Fichier de sauvegarde illisible : {path} ({exc.strerror}).") from exc
    if size != expected_size or not hmac.compare_digest(digest, expected):
        raise BackupError(
            "Signature de la sauvegarde incorrecte : fichier tronqué ou modifié, ou signé avec "
            f"une autre clé ({KEY_ENV} / {KEY_FILE}). Restauration refusée, rien n'a été modifié."
        )
    return copy


# --------------------------------------------------------------------------- backup


def backup(url: str, path: str | Path, *, fmt: str = "auto", actor=None) -> BackupInfo:
    """Write a backup of the database at ``url`` to ``path`` (atomically, mode 0600)
    and its signature ``path.sig``. With ``actor``, the backup is audited."""
    path = Path(path)
    if fmt not in FORMATS:
        raise BackupError(f"Format inconnu : {fmt} (choix : {', '.join(FORMATS)}).")
    backend = _backend(url)
    if fmt == "auto":
        if backend == "sqlite":
            fmt = "sqlite"
        elif backend == "postgresql" and pg_tools_available():
            fmt = "pg_dump"
        else:
            fmt = "json"
    if fmt == "sqlite" and backend != "sqlite":
        raise BackupError("Le format sqlite ne s'applique qu'à une base SQLite.")
    if fmt == "pg_dump":
        if backend != "postgresql":
            raise BackupError("Le format pg_dump ne s'applique qu'à une base PostgreSQL.")
        if not pg_tools_available():
            raise BackupError("pg_dump/pg_restore introuvables : utilisez --format json.")
    tmp = _atomic_target(path)
    try:
        if fmt == "sqlite":
            info = _backup_sqlite(url, tmp)
        elif fmt == "pg_dump":
            info = _backup_pg_dump(url, tmp)
        else:
            info = _backup_json(url, tmp, compress=path.suffix == ".gz")
        os.chmod(tmp, PRIVATE_MODE)
        signature_path(path).unlink(missing_ok=True)  # never an old signature on a new file
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sign_backup(path)
    info.path = path
    if actor is not None:
        _record(url, actor, "backup", format=info.format, revision=info.revision, file=path.name)
    return info


def _record(url: str, actor, action: str, **details) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(_audit_table().insert().values(**_event(actor, action, details)))
    finally:
        engine.dispose()


def _audit_table():
    from crm.models import AuditEvent

    return AuditEvent.__table__


def _event(actor, action: str, details: dict) -> dict:
    from crm.models import utcnow

    return {
        "at": utcnow(),
        "actor_id": actor.user_id,
        "actor_name": actor.username,
        "action": action,
        "entity": "database",
        "entity_id": None,
        "details": details or None,
    }


def _backup_sqlite(url: str, tmp: Path) -> BackupInfo:
    src_path = _sqlite_path(url)
    if not src_path.exists():
        raise BackupError(f"Base introuvable : {src_path}.")
    src = sqlite3.connect(src_path)
    dst = sqlite3.connect(tmp)
    try:
        src.execute("PRAGMA busy_timeout=15000")
        src.backup(dst)  # online backup API: one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
        revision = _sqlite_revision(dst)
        counts = _sqlite_counts(dst)
    finally:
        dst.close()
        src.close()
    return BackupInfo(tmp, "sqlite", revision, counts)


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {
        n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]
        for n in sorted(names)
        if n not in SKIPPED_TABLES
    }


def _backup_pg_dump(url: str, tmp: Path) -> BackupInfo:
    engine = make_engine(url)
    try:
        revision = current_revision(engine)
    finally:
        engine.dispose()
    _run_pg_tool(["pg_dump", "-Fc", "--no-owner", "--no-privileges", "-f", str(tmp)], url)
    return BackupInfo(tmp, "pg_dump", revision)


def _run_pg_tool(argv: list[str], url: str) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=pg_environment(url), capture_output=True, text=True)
    if result.returncode != 0:
        message = (result.stderr or "").strip().splitlines()
        tail = message[-1] if message else f"code {result.returncode}"
        raise BackupError(f"{argv[0]} a échoué : {tail}")
    return result


# --------------------------------------------------------------------------- JSON dump


def reflect(conn: Connection) -> MetaData:
    metadata = MetaData()
    metadata.reflect(bind=conn)
    return metadata


def _encode(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")  # e.g. scanned agreements
    return value


def _decoder(column):
    if isinstance(column.type, DateTime):
        return lambda v: None if v is None else dt.datetime.fromisoformat(v)
    if isinstance(column.type, Date):
        return lambda v: None if v is None else dt.date.fromisoformat(v)
    if isinstance(column.type, LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    return None


def dump_tables(conn: Connection) -> dict[str, dict]:
    """Every table (but alembic_version) as {"columns": [...], "rows": [[...]]}, by primary key."""
    tables = {}
    for table in reflect(conn).sorted_tables:
        if table.name in SKIPPED_TABLES:
            continue
        columns = [c.name for c in table.columns]
        order = list(table.primary_key.columns) or list(table.columns)
        rows = conn.execute(select(*table.columns).order_by(*order)).all()
        tables[table.name] = {
            "columns": columns,
            "rows": [[_encode(v) for v in row] for row in rows],
        }
    return tables


def tables_checksum(tables: dict[str, dict]) -> str:
    canonical = json.dumps(tables, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _backup_json(url: str, tmp: Path, *, compress: bool) -> BackupInfo:
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        with engine.connect() as conn:  # one transaction: one consistent snapshot
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            tables = dump_tables(conn)
            conn.rollback()
        dialect = engine.dialect.name
    finally:
        engine.dispose()
    doc = {
        "format": JSON_FORMAT,
        "format_version": JSON_FORMAT_VERSION,
        "schema_revision": revision,
        "source_dialect": dialect,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": {name: len(t["rows"]) for name, t in tables.items()},
        "checksum": tables_checksum(tables),
        "tables": tables,
    }
    opener = gzip.open if compress else open
    with opener(tmp, "wt", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
    return BackupInfo(tmp, "json", revision, doc["counts"])


def read_json_dump(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            compressed = fh.read(2) == GZIP_MAGIC
        opener = gzip.open if compressed else open
        with opener(path, "rt", encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"Sauvegarde json illisible ou tronquée : {path}.") from exc
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT:
        raise BackupError(f"Ce fichier n'est pas une sauvegarde Passerelle : {path}.")
    if doc.get("format_version") != JSON_FORMAT_VERSION:
        raise BackupError(
            f"Version de format de sauvegarde non prise en charge : {doc.get('format_version')}."
        )
    tables = doc.get("tables")
    if not isinstance(tables, dict) or tables_checksum(tables) != doc.get("checksum"):
        raise BackupError("Sauvegarde json corrompue (somme de contrôle incorrecte).")
    return doc


def load_tables(conn: Connection, tables: dict[str, dict]) -> dict[str, int]:
    """Replace the rows of every table of ``tables`` (inside the caller's transaction).

    Tables of the database missing from ``tables`` are emptied too. Triggers that
    refuse changes (append-only audit trail) are lifted for the duration of the
    transaction only. Returns the row counts now in each table.
    """
    metadata = reflect(conn)
    dialect = conn.dialect.name
    known = {t.name: t for t in metadata.sorted_tables if t.name not in SKIPPED_TABLES}
    unknown = sorted(set(tables) - set(known))
    if unknown:
        raise BackupError(f"Tables inconnues dans la sauvegarde : {', '.join(unknown)}.")
    ordered = [t for t in metadata.sorted_tables if t.name in known]
    saved_triggers = _lift_triggers(conn, ordered)
    for table in reversed(ordered):
        conn.execute(table.delete())
    for table in ordered:
        data = tables.get(table.name)
        if data:
            _insert_rows(conn, table, data["columns"], data["rows"])
    if dialect == "postgresql":
        _reset_sequences(conn, ordered)
    _restore_triggers(conn, ordered, saved_triggers)
    return {
        t.name: conn.execute(select(text("count(*)")).select_from(t)).scalar_one() for t in ordered
    }


def _insert_rows(conn: Connection, table: Table, columns: list[str], rows: list[list]) -> None:
    missing = [c for c in columns if c not in table.c]
    if missing:
        raise BackupError(f"Colonnes inconnues dans {table.name} : {', '.join(missing)}.")
    decoders = {c: _decoder(table.c[c]) for c in columns}
    # Self-references (a company merged into another) are set once every row exists.
    self_refs = [
        c
        for c in columns
        if any(fk.column.table.name == table.name for fk in table.c[c].foreign_keys)
    ]
    pk = [c.name for c in table.primary_key.columns]
    records, deferred = [], []
    for row in rows:
        if len(row) != len(columns):
            raise BackupError(f"Ligne mal formée dans {table.name}.")
        record = {}
        for name, value in zip(columns, row, strict=True):
            decode = decoders[name]
            record[name] = decode(value) if decode else value
        if self_refs and any(record[c] is not None for c in self_refs):
            deferred.append(({k: record[k] for k in pk}, {c: record[c] for c in self_refs}))
            for c in self_refs:
                record[c] = None
        records.append(record)
    for start in range(0, len(records), INSERT_CHUNK):
        conn.execute(table.insert(), records[start : start + INSERT_CHUNK])
    for key, values in deferred:
        where = [table.c[k] == v for k, v in key.items()]
        conn.execute(table.update().where(*where).values(**values))


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not _is_integer(pk[0]):
            continue
        seq = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": pk[0].name}
        ).scalar()
        if seq:
            conn.execute(
                text(
                    f'SELECT setval(:s, COALESCE(MAX("{pk[0].name}"), 1), MAX("{pk[0].name}") '
                    f'IS NOT NULL) FROM "{table.name}"'
                ),
                {"s": seq},
            )


def _is_integer(column) -> bool:
    try:
        return column.type.python_type is int
    except NotImplementedError:
        return False


def _lift_triggers(conn: Connection, tables: list[Table]):
    if conn.dialect.name == "sqlite":
        names = [t.name for t in tables]
        rows = conn.execute(
            text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        saved = [(name, sql) for name, tbl, sql in rows if tbl in names]
        for name, _ in saved:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        return saved
    if conn.dialect.name == "postgresql":
        for table in tables:  # user triggers only: foreign keys stay enforced
            conn.exec_driver_sql(f'ALTER TABLE "{table.name}" DISABLE TRIGGER USER')
    return None


def _restore_triggers(conn: Connection, tables: list[Table], saved) -> None:
    if conn.dialect.name == "sqlite":
        for _, sql in saved:
            conn.exec_driver_sql(sql)
    elif conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ENABLE TRIGGER USER')


# --------------------------------------------------------------------------- restore


@dataclass
class RestoreInfo:
    format: str
    revision: str | None
    counts: dict[str, int] = field(default_factory=dict)
    kept_events: int = 0

    def __str__(self) -> str:
        rows = sum(self.counts.values())
        detail = f": {rows} rows in {len(self.counts)} tables" if self.counts else ""
        kept = (
            f"; {self.kept_events} newer audit event(s) kept after the restore event"
            if self.kept_events
            else ""
        )
        return f"Restored {self.format} backup (schema revision {self.revision}){detail}{kept}"


def _audit_rows(url: str) -> list[dict]:
    """Every audit event of the database about to be replaced (none if it has no schema)."""
    if _backend(url) == "sqlite" and not _sqlite_path(url).exists():
        return []
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not conn.dialect.has_table(conn, "audit_events"):
                return []
            table = _audit_table()
            return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]
    finally:
        engine.dispose()


def _append_audit(url: str, actor, info: RestoreInfo, name: str, before: list[dict]) -> int:
    """Record the restore, then append the events of ``before`` the restored trail lacks."""
    from crm.models import User

    table = _audit_table()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            restored = {(r.id, r.at) for r in conn.execute(select(table.c.id, table.c.at))}
            missing = [r for r in before if (r["id"], r["at"]) not in restored]
            users = set(conn.execute(select(User.__table__.c.id)).scalars())
            details = {"format": info.format, "revision": info.revision, "file": name}
            details["kept_events"] = len(missing)
            event = _event(actor, "restore", details)
            if event["actor_id"] not in users:
                event["actor_id"] = None
            conn.execute(table.insert().values(**event))
            for row in missing:
                values = {k: v for k, v in row.items() if k != "id"}
                if values["actor_id"] not in users:
                    values["actor_id"] = None  # the account is not in the restored data
                conn.execute(table.insert().values(**values))
    finally:
        engine.dispose()
    return len(missing)


def restore(url: str, path: str | Path, *, actor=None) -> RestoreInfo:
    """Replace the whole content of the database at ``url`` with the backup ``path``.

    All or nothing: on any error the database keeps its previous content. The
    signature is checked first (see the module docstring). The schema is brought
    up to date afterwards (an older backup is migrated). The restore is audited
    (``actor``, default the system) and the audit events the backup lacks are
    appended after the restore event.
    """
    from crm.auth import SYSTEM

    path = Path(path)
    _check_target(detect_format(path), _backend(url))  # clear messages before the signature
    with tempfile.TemporaryDirectory(prefix="passerelle-restore-") as work:
        verified = verified_copy(path, Path(work))
        kept = _audit_rows(url)
        info = _restore_verified(url, verified)
        info.kept_events = _append_audit(url, actor or SYSTEM, info, path.name, kept)
    return info


def _check_target(fmt: str, backend: str) -> None:
    if fmt == "sqlite" and backend != "sqlite":
        raise BackupError(
            "Une sauvegarde SQLite ne se restaure que dans une base SQLite "
            "(pour changer de base, utilisez une sauvegarde --format json)."
        )
    if fmt == "pg_dump" and backend != "postgresql":
        raise BackupError("Une sauvegarde pg_dump ne se restaure que dans PostgreSQL.")


def _restore_verified(url: str, path: Path) -> RestoreInfo:
    fmt = detect_format(path)
    _check_target(fmt, _backend(url))
    if fmt == "sqlite":
        info = _restore_sqlite(url, path)
    elif fmt == "pg_dump":
        info = _restore_pg_dump(url, path)
    else:
        info = _restore_json(url, path)
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return info


def _check_revision_known(revision: str | None) -> None:
    _head, known = code_revisions()
    if revision not in known:
        raise BackupError(
            f"Cette sauvegarde vient d'une révision de schéma inconnue ({revision}) : "
            "restaurez-la avec la version de Passerelle qui l'a produite."
        )


def _restore_sqlite(url: str, path: Path) -> RestoreInfo:
    try:
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = src.execute("PRAGMA integrity_check").fetchone()[0]
            revision = _sqlite_revision(src)
            counts = _sqlite_counts(src)
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"Sauvegarde SQLite illisible ou corrompue : {path}.") from exc
    if check != "ok":
        raise BackupError(f"Sauvegarde SQLite corrompue ({check}) : {path}.")
    _check_revision_known(revision)
    _check_sqlite_schema(path, revision)
    dst_path = _sqlite_path(url)
    dst_path.parent.mkdir(parents=True, exist_ok=True)
    create_private(dst_path)
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    dst = sqlite3.connect(dst_path, timeout=15)
    try:
        # One step: the whole copy is a single write transaction on the live
        # database (rolled back by SQLite if anything fails).
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"Restauration impossible : {exc}.") from exc
    finally:
        dst.close()
        src.close()
    return RestoreInfo("sqlite", revision, counts)


def _sqlite_objects(conn: sqlite3.Connection) -> set[tuple[str, str, str]]:
    return {
        (kind, name, table)
        for kind, name, table in conn.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        )
    }


@functools.cache
def _reference_objects(revision: str) -> frozenset[tuple[str, str, str]]:
    """Tables, indexes and triggers of a database migrated to ``revision``."""
    with tempfile.TemporaryDirectory(prefix="passerelle-schema-") as work:
        engine = make_engine(f"sqlite:///{Path(work) / 'reference.db'}")
        try:
            upgrade(engine, revision)
        finally:
            engine.dispose()
        conn = sqlite3.connect(Path(work) / "reference.db")
        try:
            return frozenset(_sqlite_objects(conn))
        finally:
            conn.close()


def _check_sqlite_schema(path: Path, revision: str) -> None:
    """Refuse a SQLite backup whose tables, indexes or triggers differ from its revision's
    (e.g. the append-only triggers of the audit trail dropped)."""
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = _sqlite_objects(src)
    finally:
        src.close()
    expected = _reference_objects(revision)
    triggers = {name for kind, name, _ in found if kind == "trigger"}
    if not triggers >= AUDIT_TRIGGERS:
        raise BackupError(
            "Sauvegarde SQLite refusée : les protections du journal d'audit (déclencheurs "
            "append-only) y manquent."
        )
    if found != expected:
        diff = sorted(f"{k} {n}" for k, n, _ in found ^ expected)
        raise BackupError(
            f"Sauvegarde SQLite refusée : schéma différent de la révision {revision} "
            f"({', '.join(diff[:5])})."
        )


def pg_dump_revision(path: Path, url: str) -> str | None:
    """Schema revision stored in a pg_dump file (read without restoring)."""
    result = _run_pg_tool(
        ["pg_restore", "--data-only", "-t", "alembic_version", "-f", "-", str(path)], url
    )
    lines = result.stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line:
            value = lines[i + 1] if i + 1 < len(lines) else "\\."
            return None if value == "\\." else value.strip()
    return None


def _restore_pg_dump(url: str, path: Path) -> RestoreInfo:
    if not pg_tools_available():
        raise BackupError(
            "pg_restore introuvable : impossible de restaurer une sauvegarde pg_dump."
        )
    revision = pg_dump_revision(path, url)
    _check_revision_known(revision)
    _run_pg_tool(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "-d",
            make_url(url).database or "",
            str(path),
        ],
        url,
    )
    return RestoreInfo("pg_dump", revision)


def _restore_json(url: str, path: Path) -> RestoreInfo:
    doc = read_json_dump(path)
    head, _known = code_revisions()
    revision = doc.get("schema_revision")
    if revision != head:
        raise BackupError(
            f"Sauvegarde json à la révision de schéma {revision}, cette version de Passerelle "
            f"est à la révision {head} : restaurez-la avec la version qui l'a produite."
        )
    engine: Engine = make_engine(url)
    try:
        upgrade(engine)  # an empty database gets the schema first
        try:
            with engine.begin() as conn:
                counts = load_tables(conn, doc["tables"])
                expected = {name: int(n) for name, n in doc["counts"].items()}
                if {k: v for k, v in counts.items() if k in expected} != expected:
                    raise BackupError(
                        "Nombre de lignes restaurées incorrect : restauration annulée."
                    )
        except BackupError:
            raise
        except Exception as exc:
            raise BackupError(
                f"Restauration annulée, la base n'a pas été modifiée : {type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200]}"
            ) from exc
    finally:
        engine.dispose()
    return RestoreInfo("json", revision, counts)
