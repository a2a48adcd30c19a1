"""Backups and restores round-trip the demo database exactly, all or nothing."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import threading
import uuid

import pytest
from sqlalchemy import MetaData, func, select, text
from sqlalchemy.engine import make_url

from crm import audit
from crm import backup as bk
from crm.auth import SYSTEM
from crm.db import current_revision, make_engine, make_session_factory, upgrade
from crm.demo import load_demo
from crm.models import AuditEvent, Company, GeocodeCache, Interaction, Setting
from tests.factories import DEMO_TODAY
from tests.support.cli import run_cli

# --------------------------------------------------------------------------- helpers


def fill(url: str) -> None:
    """The demo data plus what the demo leaves empty: audit trail, settings, cache, a merge."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        load_demo(s, today=DEMO_TODAY)
    with factory.begin() as s:
        companies = s.scalars(select(Company).order_by(Company.id)).all()
        first, last = companies[0], companies[-1]
        first.merged_into_id = last.id  # a self-reference to a later row
        audit.record(s, SYSTEM, "merge", "company", first.id, into=last.id, fields=["name"])
        audit.record(s, SYSTEM, "login", "user")
        s.add(Setting(key="matching.weights", value={"rome": 0.5, "distance": 0.25, "x": [1, 2]}))
        s.add(
            GeocodeCache(
                query_key="12 avenue de la république|83000|toulon",
                provider="ban",
                latitude=43.123456789012,
                longitude=5.9301234567891,
                precision="housenumber",
                label="12 Avenue de la République 83000 Toulon",
            )
        )
    engine.dispose()


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (but alembic_version), ordered by primary key."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            md = MetaData()
            md.reflect(bind=conn)
            out = {}
            for table in md.sorted_tables:
                if table.name == "alembic_version":
                    continue
                order = list(table.primary_key.columns) or list(table.columns)
                out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
            out["<revision>"] = [(current_revision(engine),)]
            return out
    finally:
        engine.dispose()


def without_audit(snap: dict) -> dict:
    return {k: v for k, v in snap.items() if k != "audit_events"}


def audit_after_restore(url: str, before: dict) -> list[tuple]:
    """Check the restored trail: the backup's events, then one restore event; return the
    (action, entity, entity_id) of the events kept after it."""
    events = snapshot(url)["audit_events"]
    n = len(before["audit_events"])
    assert events[:n] == before["audit_events"]
    restore = events[n]
    cols = [c.name for c in AuditEvent.__table__.columns]
    restore = dict(zip(cols, restore, strict=True))
    assert (restore["action"], restore["entity"], restore["actor_name"]) == (
        "restore",
        "database",
        "system",
    )
    kept = [dict(zip(cols, e, strict=True)) for e in events[n + 1 :]]
    assert restore["details"]["kept_events"] == len(kept)
    return [(e["action"], e["entity"], e["entity_id"]) for e in kept]


def count(url: str, model) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(model)).scalar_one()
    finally:
        engine.dispose()


def spoil(url: str) -> None:
    """Changes made after the backup, which a restore must undo."""
    engine = make_engine(url)
    with make_session_factory(engine).begin() as s:
        s.add(Company(name="Créée après la sauvegarde"))
        s.scalars(select(Company).order_by(Company.id)).first().notes = "modifié"
        s.execute(Interaction.__table__.delete().where(Interaction.id <= 10))
        audit.record(s, SYSTEM, "update", "company", 1)
    engine.dispose()


@pytest.fixture(scope="session")
def filled_sqlite_template(tmp_path_factory, migrated_sqlite_template):
    path = tmp_path_factory.mktemp("filled") / "filled.db"
    shutil.copy(migrated_sqlite_template, path)
    fill(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def filled_pg_template(pg_databases):
    url = pg_databases.create("filled")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    fill(url)
    return make_url(url).database


@pytest.fixture
def filled_url(db_url, request, tmp_path, pg_databases) -> str:
    """A database of the backend of ``db_url`` holding the filled demo data (a fresh copy)."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "filled.db"
        shutil.copy(request.getfixturevalue("filled_sqlite_template"), path)
        return f"sqlite:///{path}"
    template = request.getfixturevalue("filled_pg_template")
    name = f"passerelle_filled_{uuid.uuid4().hex[:8]}"
    with pg_databases.admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    pg_databases.created.append(name)
    return make_url(db_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def empty_url(db_url, tmp_path, pg_databases) -> str:
    """A second database of the same backend, with nothing in it (not even a schema)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored.db'}"
    return pg_databases.create("restore")


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fmt", ["auto", "json"])
def test_round_trip_into_empty_and_existing_database(filled_url, empty_url, tmp_path, fmt):
    """auto = SQLite online backup / pg_dump; json = the portable dump (forced)."""
    before = snapshot(filled_url)
    assert len(before["companies"]) == 135 and len(before["audit_events"]) == 2
    file = tmp_path / ("backup.json" if fmt == "json" else "backup.bin")

    info = bk.backup(filled_url, file, fmt=fmt)
    expected_format = fmt if fmt == "json" else ("sqlite" if "sqlite" in filled_url else "pg_dump")
    assert info.format == expected_format == bk.detect_format(file)
    assert info.revision == before["<revision>"][0][0]
    assert file.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only

    bk.restore(empty_url, file)  # a new, empty database
    assert without_audit(snapshot(empty_url)) == without_audit(before)
    assert audit_after_restore(empty_url, before) == []  # nothing newer to keep

    spoil(filled_url)  # the existing database moved on (audit trail included)
    assert snapshot(filled_url) != before
    bk.restore(filled_url, file)
    assert without_audit(snapshot(filled_url)) == without_audit(before)
    # The event written after the backup is kept, after the restore event.
    assert audit_after_restore(filled_url, before) == [("update", "company", 1)]

    # Restored databases keep working: new rows get fresh ids, the audit trail is still
    # append-only.
    engine = make_engine(filled_url)
    with make_session_factory(engine).begin() as s:
        c = Company(name="Après restauration")
        s.add(c)
        s.flush()
        assert c.id > max(r[0] for r in before["companies"])
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(AuditEvent.__table__.delete())
    engine.dispose()


def test_json_dump_moves_data_between_backends(tmp_path, demo_sqlite_url, pg_databases):
    """The portable dump restores a SQLite database into PostgreSQL, identically."""
    file = tmp_path / "sqlite.json.gz"
    bk.backup(demo_sqlite_url, file, fmt="json")
    target = pg_databases.create("cross")
    bk.restore(target, file)
    assert without_audit(snapshot(target)) == without_audit(snapshot(demo_sqlite_url))
    assert audit_after_restore(target, snapshot(demo_sqlite_url)) == []


def test_sqlite_backup_is_consistent_while_the_app_writes(tmp_path, demo_sqlite_url):
    src = tmp_path / "live.db"
    shutil.copy(make_url(demo_sqlite_url).database, src)
    url = f"sqlite:///{src}"
    engine = make_engine(url)
    factory = make_session_factory(engine)
    stop = threading.Event()
    written = []

    def writer():
        while not stop.is_set():
            with factory.begin() as s:
                s.add(Interaction(company_id=1, kind="call", summary="appel"))
            written.append(1)

    t = threading.Thread(target=writer)
    t.start()
    try:
        files = [tmp_path / f"b{i}.db" for i in range(3)]
        for f in files:
            bk.backup(url, f)
    finally:
        stop.set()
        t.join()
    engine.dispose()
    assert len(written) > 0
    sizes = []
    for f in files:
        conn = sqlite3.connect(f)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
        sizes.append(conn.execute("SELECT count(*) FROM interactions").fetchone()[0])
        conn.close()
    assert sizes == sorted(sizes) and sizes[0] >= 771 and sizes[-1] <= 771 + len(written)


# --------------------------------------------------------------------------- all or nothing


def _assert_refused_and_intact(url, file, match):
    before = snapshot(url)
    with pytest.raises(bk.BackupError, match=match):
        bk.restore(url, file)
    assert snapshot(url) == before


@pytest.mark.parametrize("fmt", ["auto", "json"])
def test_truncated_backup_is_refused_and_data_intact(filled_url, tmp_path, fmt):
    file = tmp_path / "b"
    bk.backup(filled_url, file, fmt=fmt)
    spoil(filled_url)  # current data differs from the backup: any partial restore would show
    data = file.read_bytes()
    file.write_bytes(data[: len(data) * 2 // 3])
    _assert_refused_and_intact(filled_url, file, r"Signature de la sauvegarde incorrecte")
    bk.sign_backup(file)  # even signed by the key holder, a cut file is refused
    _assert_refused_and_intact(filled_url, file, r"corromp|tronqu|illisible|a échoué")


def test_json_restore_failing_midway_rolls_back_everything(filled_url, tmp_path):
    """A dump that parses but whose last table breaks a constraint: everything before
    it (deletes and inserts of every other table) is rolled back."""
    file = tmp_path / "b.json"
    bk.backup(filled_url, file, fmt="json")
    spoil(filled_url)
    doc = json.loads(file.read_text(encoding="utf-8"))
    rows = doc["tables"]["placements"]["rows"]
    status = doc["tables"]["placements"]["columns"].index("status")
    rows[-1][status] = "lost"  # violates the status check constraint
    doc["checksum"] = bk.tables_checksum(doc["tables"])
    file.write_text(json.dumps(doc), encoding="utf-8")
    _assert_refused_and_intact(filled_url, file, "Signature de la sauvegarde incorrecte")
    bk.sign_backup(file)  # as if the key holder had made it: the load itself fails
    _assert_refused_and_intact(
        filled_url, file, "Restauration annulée, la base n'a pas été modifiée"
    )


def test_json_restore_refuses_another_schema_revision(filled_url, tmp_path):
    file = tmp_path / "b.json"
    bk.backup(filled_url, file, fmt="json")
    doc = json.loads(file.read_text(encoding="utf-8"))
    doc["schema_revision"] = "0000_older"
    file.write_text(json.dumps(doc), encoding="utf-8")
    bk.sign_backup(file)
    _assert_refused_and_intact(filled_url, file, "révision de schéma 0000_older")


def test_tampered_json_is_refused(filled_url, tmp_path):
    file = tmp_path / "b.json"
    bk.backup(filled_url, file, fmt="json")
    doc = json.loads(file.read_text(encoding="utf-8"))
    doc["tables"]["companies"]["rows"].pop()
    file.write_text(json.dumps(doc), encoding="utf-8")
    _assert_refused_and_intact(filled_url, file, "Signature de la sauvegarde incorrecte")
    bk.sign_backup(file)  # the inner checksum still catches it
    _assert_refused_and_intact(filled_url, file, "somme de contrôle")


def test_unknown_file_and_wrong_backend_are_refused(db_url, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    with pytest.raises(bk.BackupError, match="Format de sauvegarde inconnu"):
        bk.restore(db_url, junk)
    fake_sqlite = tmp_path / "x.db"
    fake_sqlite.write_bytes(bk.SQLITE_MAGIC + b"\0" * 100)
    if db_url.startswith("postgresql"):
        with pytest.raises(bk.BackupError, match="base SQLite"):
            bk.restore(db_url, fake_sqlite)
    else:
        with pytest.raises(bk.BackupError, match="format pg_dump"):
            bk.backup(db_url, tmp_path / "y", fmt="pg_dump")


def test_pg_tools_get_the_password_through_the_environment(monkeypatch, tmp_path):
    calls = []

    def fake_run(argv, env, **kwargs):
        calls.append((argv, env))
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(bk.subprocess, "run", fake_run)
    url = "postgresql+psycopg://crm:s3cr%40t@db.example:6543/passerelle?sslmode=require"
    bk._run_pg_tool(["pg_dump", "-Fc", "-f", str(tmp_path / "x")], url)
    ((argv, env),) = calls
    assert not any("s3cr" in a or "crm" in a or "db.example" in a for a in argv)
    assert (env["PGPASSWORD"], env["PGUSER"], env["PGHOST"]) == ("s3cr@t", "crm", "db.example")
    assert (env["PGPORT"], env["PGDATABASE"], env["PGSSLMODE"]) == ("6543", "passerelle", "require")


# --------------------------------------------------------------------------- command line


def test_cli_backup_and_restore(filled_url, tmp_path):
    before = snapshot(filled_url)
    file = tmp_path / f"cli-{uuid.uuid4().hex[:6]}.json"
    r = run_cli(filled_url, "backup", str(file), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert "json backup" in r.stdout and "@" not in r.stdout
    spoil(filled_url)
    r = run_cli(filled_url, "restore", str(file))  # no --yes, no terminal: refused
    assert r.returncode == 2 and "--yes" in r.stderr
    assert snapshot(filled_url) != before
    r = run_cli(filled_url, "restore", str(file), "--yes")
    assert r.returncode == 0, r.stderr
    assert without_audit(snapshot(filled_url)) == without_audit(before)
    # Audited: the backup event (written after the backup) and spoil's update are kept
    # after the restore event.
    kept = audit_after_restore(filled_url, before)
    assert kept == [("backup", "database", None), ("update", "company", 1)]
    r = run_cli(filled_url, "restore", str(tmp_path / "missing.json"), "--yes")
    assert r.returncode == 2 and "illisible" in r.stderr


def test_running_app_sees_the_restored_data(filled_url, tmp_path):
    """An engine kept open across the restore (the app's pool) reads the restored rows."""
    file = tmp_path / "b"
    bk.backup(filled_url, file)
    engine = make_engine(filled_url)
    factory = make_session_factory(engine)
    for _ in range(6):  # warm the pool (and psycopg's prepared statements)
        with factory() as s:
            n = s.scalar(select(func.count()).select_from(Company))
    with factory.begin() as s:
        s.add(Company(name="Créée puis annulée par la restauration"))
    bk.restore(filled_url, file)
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Company)) == n
        assert s.scalar(select(Company.name).order_by(Company.id.desc()).limit(1)) != (
            "Créée puis annulée par la restauration"
        )
    engine.dispose()


# --------------------------------------------------------------------------- signatures


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize("fmt", ["auto", "json"])
def test_tampered_backups_are_refused_by_their_signature(filled_url, tmp_path, fmt, monkeypatch):
    """Every tamper case is refused before anything is replaced (figures in RELIABILITY.md)."""
    file = tmp_path / "b"
    bk.backup(filled_url, file, fmt=fmt)
    sig = bk.signature_path(file)
    assert sig.exists() and sig.stat().st_mode & 0o077 == 0
    original = file.read_bytes()
    spoil(filled_url)
    cases = {
        "cut by one byte": original[:-1],
        "one byte flipped (middle)": _flip(original, len(original) // 2),
        "one byte flipped (last)": _flip(original, len(original) - 1),
        "one byte appended": original + b"\0",
    }
    if fmt == "json":
        doc = json.loads(original)
        doc["tables"]["companies"]["rows"][0][1] = "Entreprise falsifiée"
        doc["checksum"] = bk.tables_checksum(doc["tables"])  # a consistent forgery
        cases["json rows edited, checksum recomputed"] = json.dumps(doc).encode()
    for label, data in cases.items():
        file.write_bytes(data)
        before = snapshot(filled_url)
        with pytest.raises(bk.BackupError, match="Signature de la sauvegarde incorrecte"):
            bk.restore(filled_url, file)
        assert snapshot(filled_url) == before, label
    file.write_bytes(original)
    monkeypatch.setenv("PASSERELLE_BACKUP_KEY", "another-key")  # another server's key
    _assert_refused_and_intact(filled_url, file, "autre clé")
    monkeypatch.undo()
    sig.unlink()  # no signature at all
    _assert_refused_and_intact(filled_url, file, "Signature de la sauvegarde introuvable")
    bk.sign_backup(file)
    bk.restore(filled_url, file)  # the genuine file still restores


def test_sqlite_backup_without_audit_triggers_is_refused_even_signed(db_url, tmp_path):
    """Defence in depth: an emptied audit trail whose triggers were dropped is refused
    by the schema check, even when signed with the right key."""
    source = tmp_path / "forged.db"
    if db_url.startswith("sqlite"):
        shutil.copy(make_url(db_url).database, source)
        url = db_url
    else:  # PostgreSQL: restore the forged SQLite file into a SQLite database
        url = f"sqlite:///{tmp_path / 'target.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        shutil.copy(make_url(url).database, source)
    with make_session_factory(make_engine(url)).begin() as s:
        audit.record(s, SYSTEM, "login", "user")
    conn = sqlite3.connect(source)
    conn.execute("DROP TRIGGER audit_events_no_delete")
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("DELETE FROM audit_events")
    conn.commit()
    conn.close()
    bk.sign_backup(source)
    _assert_refused_and_intact(url, source, "déclencheurs")
    conn = sqlite3.connect(source)
    conn.execute("CREATE TABLE extra (x)")
    conn.execute(
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'x'); END"
    )
    conn.execute(
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'x'); END"
    )
    conn.commit()
    conn.close()
    bk.sign_backup(source)
    _assert_refused_and_intact(url, source, "schéma différent")


def test_backup_key_file_is_generated_private(tmp_path, monkeypatch, db_url):
    monkeypatch.delenv("PASSERELLE_BACKUP_KEY")
    monkeypatch.setenv("PASSERELLE_HOME", str(tmp_path / "home"))
    file = tmp_path / "b.json"
    bk.backup(db_url, file, fmt="json")
    key = tmp_path / "home" / "backup.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text().strip()) == 64
    assert file.stat().st_mode & 0o777 == 0o600
    bk.restore(db_url, file)
    key.chmod(0o644)
    with pytest.raises(bk.BackupError, match="chmod 600"):
        bk.restore(db_url, file)
