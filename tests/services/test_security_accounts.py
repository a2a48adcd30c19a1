"""Accounts under attack: parallel guessing, account enumeration, password policy, lengths.

Every database test runs on SQLite and PostgreSQL (``db_url`` / ``session`` fixtures).
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

import crm.auth as auth
from crm.auth import (
    SYSTEM,
    Actor,
    authenticate,
    change_password,
    check_password_strength,
    login_failed_message,
)
from crm.demo import DEMO_PASSWORD
from crm.errors import AuthenticationError, ValidationError
from crm.models import AuditEvent, User, utcnow
from crm.services import users as user_service
from tests.support.cli import run_cli

PARALLEL_ATTEMPTS = 30


def _add(session, username="nora", password="mot-de-passe-1", **kw):
    uid = user_service.add_user(
        session,
        SYSTEM,
        username=username,
        role="trainer",
        password=password,
        site_names=["TPM"],
        **kw,
    )
    session.commit()
    return uid


def test_parallel_wrong_passwords_lock_the_account_and_every_attempt_counts(
    session, session_factory, sites, monkeypatch
):
    monkeypatch.setenv("PASSERELLE_MAX_FAILED_LOGINS", "5")
    uid = _add(session)
    # A cheap argon2 hash for this account only: 30 verifications at once stay light.
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    session.get(User, uid).password_hash = cheap.hash("mot-de-passe-1")
    session.commit()
    barrier = threading.Barrier(PARALLEL_ATTEMPTS)

    def attempt(i: int) -> str:
        s = session_factory()
        try:
            barrier.wait(timeout=60)
            try:
                authenticate(s, "nora", f"mauvais-{i}")
            except AuthenticationError as exc:
                # The login page's unit of work rolls back on the error: the failure
                # must be counted anyway.
                s.rollback()
                return str(exc)
            s.commit()
            return "logged in"
        finally:
            s.close()

    with ThreadPoolExecutor(PARALLEL_ATTEMPTS) as pool:
        answers = list(pool.map(attempt, range(PARALLEL_ATTEMPTS)))
    assert answers == [login_failed_message()] * PARALLEL_ATTEMPTS
    session.expire_all()
    user = session.get(User, uid)
    assert user.failed_logins == PARALLEL_ATTEMPTS  # no attempt lost
    assert user.locked_until is not None and user.locked_until > utcnow()
    locks = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "lock")
    )
    assert locks == 1
    with pytest.raises(AuthenticationError):  # locked: even the right password fails
        authenticate(session, "nora", "mot-de-passe-1")


def test_every_refusal_gives_one_message(session, sites, monkeypatch):
    monkeypatch.setenv("PASSERELLE_MAX_FAILED_LOGINS", "2")
    _add(session, "nora")
    disabled = _add(session, "ines", password="secret-d-ines-42")
    user_service.set_active(session, SYSTEM, disabled, False)
    session.commit()
    answers = {}

    def refused(label, username, password):
        with pytest.raises(AuthenticationError) as exc:
            authenticate(session, username, password)
        session.commit()
        answers[label] = str(exc.value)

    refused("unknown user", "personne", "mot-de-passe-1")
    refused("wrong password", "nora", "mauvais-mot")
    refused("disabled, right password", "ines", "secret-d-ines-42")
    refused("wrong password again (locks)", "nora", "mauvais-mot")
    refused("locked, right password", "nora", "mot-de-passe-1")
    assert set(answers.values()) == {login_failed_message()}, answers


def test_unknown_user_costs_one_argon2_verification(session, sites, monkeypatch):
    calls = []
    real = auth._hasher

    class SpyHasher:  # the real hasher, with its verifications recorded
        def verify(self, hash_, password):
            calls.append(hash_)
            return real.verify(hash_, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(auth, "_hasher", SpyHasher())
    with pytest.raises(AuthenticationError):
        authenticate(session, "personne", "un-mot-de-passe")
    assert calls == [auth.dummy_hash()]
    assert auth.dummy_hash().startswith("$argon2id$")
    # A disabled account costs the same verification too.
    uid = _add(session, "ines", password="secret-d-ines-42")
    user_service.set_active(session, SYSTEM, uid, False)
    session.commit()
    calls.clear()
    with pytest.raises(AuthenticationError):
        authenticate(session, "ines", "secret-d-ines-42")
    assert len(calls) == 1


BAD_PASSWORDS = {
    "court-11car": "au moins 12 caractères",
    "aaaaaaaaaaaaaaaa": "un seul caractère",
    "Nora.Martin.E2C": "l'identifiant",
    "MotDePasse2026": "trop courant",
    "AZERTYUIOP123": "trop courant",
}


@pytest.mark.parametrize(("password", "reason"), BAD_PASSWORDS.items())
def test_password_policy_applies_to_creation_reset_and_change(session, sites, password, reason):
    with pytest.raises(ValidationError, match=reason):
        _add(session, "nora.martin.e2c", password=password)
    session.rollback()
    uid = _add(session, "nora.martin.e2c", password="un-vrai-secret-42")
    with pytest.raises(ValidationError, match=reason):
        user_service.reset_password(session, SYSTEM, uid, password)
    session.rollback()
    actor = Actor.from_user(session.get(User, uid))
    with pytest.raises(ValidationError, match=reason) as exc:
        change_password(session, actor, "un-vrai-secret-42", password)
    assert str(exc.value).startswith("Nouveau mot de passe : ")  # which of the two fields
    session.rollback()


def test_password_policy_on_the_cli(db_url, session, sites):
    for password, reason in (("MotDePasse2026", "trop courant"), ("bbbbbbbbbbbbbb", "un seul")):
        r = run_cli(
            db_url,
            *("users", "add", "--username", "lea", "--role", "admin", "--password-stdin"),
            stdin=password + "\n",
        )
        assert r.returncode == 2 and reason in r.stderr, r.stderr
    assert session.scalar(select(User).where(User.username == "lea")) is None


def test_demo_password_passes_the_policy():
    for username in ("admin", "manager", "officer", "trainer", "officer-cavem"):
        check_password_strength(DEMO_PASSWORD, username)
    assert auth.common_passwords()  # the shipped list is found and not empty
    assert "motdepasse123" in auth.common_passwords()


def test_user_text_lengths_are_refused_in_french(session, sites):
    for fields, label in (
        ({"username": "u" * 81}, "Identifiant"),
        ({"display_name": "d" * 121}, "Nom affiché"),
        ({"email": "e" * 195 + "@e2c.fr"}, "Courriel"),
    ):
        kw = {"username": "nora", **fields}
        with pytest.raises(ValidationError) as exc:
            user_service.add_user(
                session, SYSTEM, role="trainer", password="mot-de-passe-1", site_names=["TPM"], **kw
            )
        (field,) = fields  # keyed by the English field name, shown with its French name
        assert "au plus" in exc.value.errors[field]
        assert str(exc.value).startswith(f"{label} : ")
        session.rollback()
    assert session.scalar(select(func.count()).select_from(User)) == 0
    uid = _add(session, "u" * 80)  # the limit itself is fine
    with pytest.raises(ValidationError, match="200 au plus"):
        user_service.set_email(session, SYSTEM, uid, "e" * 195 + "@e2c.fr")


def test_success_resets_the_counter_and_lock_expires(session, sites, monkeypatch):
    monkeypatch.setenv("PASSERELLE_MAX_FAILED_LOGINS", "2")
    monkeypatch.setenv("PASSERELLE_LOCKOUT_MIN", "10")
    _add(session)
    now = dt.datetime(2026, 11, 23, 10, 0)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            authenticate(session, "nora", "mauvais-mot", now=now)
    later = now + dt.timedelta(minutes=11)
    # After the lock, one wrong attempt does not lock again at once: the count restarts.
    with pytest.raises(AuthenticationError):
        authenticate(session, "nora", "mauvais-mot", now=later)
    assert session.get(User, session.scalar(select(User.id))).failed_logins == 1
    user = authenticate(session, "nora", "mot-de-passe-1", now=later)
    session.commit()
    assert user.failed_logins == 0 and user.locked_until is None and user.last_login_at == later


def test_account_errors_name_the_field_in_french(session, sites):
    uid = _add(session, "nora.martin.e2c", password="un-vrai-secret-42")
    admin = _add(session, "admin.e2c", password="un-vrai-secret-43")
    session.get(User, admin).role = "admin"
    session.commit()
    admin_actor = Actor.from_user(session.get(User, admin))
    with pytest.raises(ValidationError) as exc:
        user_service.set_role_and_sites(session, admin_actor, uid, "boss", [])
    assert set(exc.value.errors) == {"role"}
    assert exc.value.labelled() == {"Rôle": "rôle inconnu « boss »."}
    with pytest.raises(ValidationError) as exc:
        user_service.set_active(session, admin_actor, admin, False)
    assert str(exc.value) == "Compte : vous ne pouvez pas désactiver votre propre compte."
    with pytest.raises(ValidationError) as exc:
        change_password(session, admin_actor, "pas-le-bon", "un-autre-secret-44")
    assert str(exc.value) == "Mot de passe actuel : incorrect."
