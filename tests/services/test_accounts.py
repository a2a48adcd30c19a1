"""Accounts: user administration services and CLI, lockout, SSO mapping, no clear-text password."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from crm.auth import SYSTEM, actor_for_sso, authenticate, login_failed_message, verify_password
from crm.errors import AuthenticationError, PermissionDenied, ValidationError
from crm.models import AuditEvent, Base, Role, User
from crm.services import users as user_service
from tests.factories import make_actor
from tests.support.cli import run_cli


def _add(session, username="nora", role="trainer", sites=("TPM",), password="mot-de-passe-1", **kw):
    uid = user_service.add_user(
        session,
        SYSTEM,
        username=username,
        role=role,
        password=password,
        site_names=list(sites),
        **kw,
    )
    session.commit()
    return uid


def test_lockout_after_repeated_failures_with_clear_message(session, sites, monkeypatch):
    monkeypatch.setenv("PASSERELLE_MAX_FAILED_LOGINS", "3")
    monkeypatch.setenv("PASSERELLE_LOCKOUT_MIN", "15")
    _add(session)
    now = dt.datetime(2026, 11, 23, 10, 0)
    refused = login_failed_message()
    assert "3 essais infructueux" in refused and "15 min" in refused
    for _ in range(3):
        with pytest.raises(AuthenticationError) as exc:
            authenticate(session, "nora", "mauvais", now=now)
        assert str(exc.value) == refused
        session.commit()
    lock = session.scalar(select(AuditEvent).where(AuditEvent.action == "lock"))
    assert lock.entity == "user" and lock.details == {"minutes": 15}
    session.commit()  # a login is the first thing of its unit of work
    # Even the right password is refused while locked (same message).
    with pytest.raises(AuthenticationError) as exc:
        authenticate(session, "nora", "mot-de-passe-1", now=now + dt.timedelta(minutes=5))
    assert str(exc.value) == refused
    user = authenticate(session, "nora", "mot-de-passe-1", now=now + dt.timedelta(minutes=16))
    assert user.username == "nora" and user.failed_logins == 0
    session.commit()
    # Only the successful login is in the audit trail, with its method.
    logins = session.scalars(select(AuditEvent).where(AuditEvent.action == "login")).all()
    assert [(e.entity_id, e.actor_name, e.details) for e in logins] == [
        (user.id, "nora", {"method": "password"})
    ]


def test_admin_services_disable_enable_reset_role(session, sites):
    tpm, cavem = sites
    admin = make_actor(session, Role.ADMIN)
    uid = _add(session)
    rows = {r.username: r for r in user_service.list_users(session, admin)}
    assert rows["nora"].sites == ("TPM",) and rows["nora"].is_active

    user_service.set_active(session, admin, uid, False)
    session.commit()
    with pytest.raises(AuthenticationError, match="désactivé"):
        authenticate(session, "nora", "mot-de-passe-1")
    user_service.set_active(session, admin, uid, True)
    user_service.reset_password(session, admin, uid, "nouveau-secret-2")
    session.commit()
    assert authenticate(session, "nora", "nouveau-secret-2").id == uid
    with pytest.raises(ValidationError, match="12 caractères"):
        user_service.reset_password(session, admin, uid, "court")

    user_service.set_role_and_sites(session, admin, uid, "manager", [tpm.id, cavem.id])
    session.commit()
    user = session.get(User, uid)
    assert user.role == "manager" and {s.name for s in user.sites} == {"TPM", "CAVEM"}
    with pytest.raises(ValidationError, match="un site au moins"):
        user_service.set_role_and_sites(session, admin, uid, "officer", [])
    with pytest.raises(ValidationError):
        user_service.set_active(session, admin, admin.user_id, False)

    actions = [
        (e.action, e.entity_id)
        for e in session.scalars(select(AuditEvent).where(AuditEvent.entity == "user"))
    ]
    assert ("disable", uid) in actions and ("enable", uid) in actions
    assert ("password_reset", uid) in actions and ("update", uid) in actions


@pytest.mark.parametrize("role", [Role.OFFICER, Role.TRAINER, Role.MANAGER])
def test_non_admins_cannot_administer_users(session, sites, role):
    actor = make_actor(session, role, sites[0])
    uid = _add(session)
    for call in (
        lambda: user_service.list_users(session, actor),
        lambda: user_service.set_active(session, actor, uid, False),
        lambda: user_service.reset_password(session, actor, uid, "un-autre-secret"),
        lambda: user_service.set_role_and_sites(session, actor, uid, "admin", []),
    ):
        with pytest.raises(PermissionDenied):
            call()
    session.rollback()
    assert authenticate(session, "nora", "mot-de-passe-1").role == "trainer"


def test_actor_for_sso_maps_email_to_local_account(session, sites):
    tpm, _ = sites
    uid = _add(session, email="Nora.Martin@e2c-var.fr")
    actor = actor_for_sso(session, "  nora.martin@E2C-VAR.fr ")
    assert actor.user_id == uid and actor.role == Role.TRAINER
    assert actor.site_ids == frozenset({tpm.id})
    session.commit()
    login = session.scalar(select(AuditEvent).where(AuditEvent.action == "login"))
    assert (login.entity_id, login.details) == (uid, {"method": "sso"})
    with pytest.raises(AuthenticationError, match="Aucun compte Passerelle"):
        actor_for_sso(session, "inconnu@e2c-var.fr")
    with pytest.raises(AuthenticationError, match="adresse"):
        actor_for_sso(session, None)
    user_service.set_active(session, SYSTEM, uid, False)
    with pytest.raises(AuthenticationError, match="désactivé"):
        actor_for_sso(session, "nora.martin@e2c-var.fr")


def _dump_database(engine) -> str:
    parts = []
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            parts.append(repr(conn.execute(select(table)).all()))
    return "\n".join(parts)


def test_no_clear_text_password_anywhere(db_url, engine, session, sites, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL and bound parameters
    try:
        secrets = ["Premier-Secret-7391", "Deuxieme-Secret-5820", "Troisieme-Secret-4417"]
        uid = _add(session, password=secrets[0])
        assert authenticate(session, "nora", secrets[0]).id == uid
        with pytest.raises(AuthenticationError):
            authenticate(session, "nora", secrets[1])
        user_service.reset_password(session, SYSTEM, uid, secrets[1])
        session.commit()
        assert authenticate(session, "nora", secrets[1]).id == uid
        session.commit()
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    cli = run_cli(
        db_url,
        "users",
        "reset-password",
        "--username",
        "nora",
        "--password-stdin",
        stdin=secrets[2] + "\n",
    )
    assert cli.returncode == 0, cli.stderr
    listing = run_cli(db_url, "users", "list")
    assert "nora" in listing.stdout
    session.expire_all()
    assert verify_password(session.get(User, uid).password_hash, secrets[2])

    assert "INSERT INTO users" in caplog.text  # the SQL log really was captured
    haystacks = {
        "logs": caplog.text,
        "captured output": "".join(capsys.readouterr()),
        "cli output": cli.stdout + cli.stderr + listing.stdout + listing.stderr,
        "database": _dump_database(engine),
    }
    if db_url.startswith("sqlite"):
        path = Path(make_url(db_url).database)
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        haystacks["database file"] = raw.decode("latin-1")
    audit_details = repr(session.execute(select(AuditEvent.details)).all())
    assert "password_reset" in haystacks["database"]
    for secret in secrets:
        for name, text in {**haystacks, "audit": audit_details}.items():
            assert secret not in text, f"clear-text password found in {name}"


def test_users_cli_disable_enable_and_list_states(db_url, session, sites):
    _add(session)
    r = run_cli(db_url, "users", "disable", "--username", "nora")
    assert r.returncode == 0 and "disabled" in r.stdout, r.stderr
    assert "disabled" in run_cli(db_url, "users", "list").stdout
    session.expire_all()
    with pytest.raises(AuthenticationError, match="désactivé"):
        authenticate(session, "nora", "mot-de-passe-1")
    session.rollback()
    r = run_cli(db_url, "users", "enable", "--username", "nora")
    assert r.returncode == 0, r.stderr
    line = next(x for x in run_cli(db_url, "users", "list").stdout.splitlines() if "nora" in x)
    assert line.split()[1:] == ["trainer", "active", "TPM"]
    r = run_cli(db_url, "users", "disable", "--username", "personne")
    assert r.returncode == 2 and "introuvable" in r.stderr
    r = run_cli(
        db_url, "users", "reset-password", "--username", "nora", "--password-stdin", stdin="court\n"
    )
    assert r.returncode == 2 and "12 caractères" in r.stderr
    events = session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity == "user").order_by(AuditEvent.id)
    ).all()
    assert events[-2:] == ["disable", "enable"]
