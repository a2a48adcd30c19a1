"""Accounts, password hashing (argon2), roles, permissions and site scope.

Every service function takes an :class:`Actor` and calls :func:`authorize`
before touching data, so access rules hold whatever page (or script) calls it.

Access policy (tests/services/test_access_matrix.py checks it; docs/DATA_PROTECTION.md explains it):

- officer: companies, contacts, interactions, offers (company writes within their own
  site(s) for site-bound companies; merges within their own site(s)); learners only
  through the basic fields needed to place them (name, project, site) of their own
  site(s); never the support notes.
- trainer: learners and placements of their site(s) (support notes included);
  companies and offers read-only; may log interactions.
- manager: reads everything of their site(s), statistics and exports, learner data
  exports for access requests.
- admin: everything, every site: users, settings (matching weights, retention),
  merges across sites, purges, the audit trail.

Companies are the school's shared partner network: every role reads every company
(a company of another site is a lead for everyone); site scope applies to writes.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from crm import audit
from crm.actor import ROLE_PERMISSIONS, SYSTEM, Actor, Perm  # noqa: F401 (re-exported)
from crm.config import get_settings
from crm.errors import AuthenticationError, PermissionDenied, ValidationError
from crm.models import Role, Site, User, utcnow

_hasher = PasswordHasher()


def actor_for_username(session: Session, username: str) -> Actor:
    """The Actor of an active account (scripts acting as a user, e.g. ``--as-user``).

    Raises AuthenticationError (French) for an unknown or disabled account.
    """
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise AuthenticationError(f"Utilisateur inconnu : « {username} ».")
    if not user.is_active:
        raise AuthenticationError(f"Le compte « {username} » est désactivé.")
    return Actor.from_user(user)


def authorize(actor: Actor, perm: Perm, site_id: int | None = None) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may ``perm`` on ``site_id``."""
    if not actor.has(perm) or not actor.in_scope(site_id):
        raise PermissionDenied()


# --------------------------------------------------------------------------- passwords

MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """A hash of a random secret with the current parameters: an unknown user costs
    one argon2 verification, like a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(24))


@functools.cache
def common_passwords() -> frozenset[str]:
    """The list of common passwords shipped in the package (case-folded)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")
    )


def check_password_strength(password: str, username: str | None = None) -> None:
    """The password policy, the same for account creation, reset and change.

    12 characters or more, not one character repeated, not the username (case
    ignored), not in the list of common passwords shipped with Passerelle.
    """
    password = password or ""
    folded = password.casefold()
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"au moins {MIN_PASSWORD_LENGTH} caractères sont nécessaires."
    elif len(set(password)) == 1:
        message = "un seul caractère répété n'est pas un mot de passe."
    elif username and folded == username.strip().casefold():
        message = "le mot de passe ne peut pas être l'identifiant."
    elif folded in common_passwords():
        message = "ce mot de passe est trop courant (liste des mots de passe connus) : choisissez-en un autre."
    else:
        return
    raise ValidationError({"password": message})


# --------------------------------------------------------------------------- users


def check_user_lengths(errors: dict[str, str], **values: str | None) -> None:
    """Add a French error for each value longer than its ``users`` column (SQLite does not
    enforce VARCHAR lengths: the service does, on every backend)."""
    for name, value in values.items():
        limit = User.__table__.c[name].type.length
        if value and len(value) > limit:
            errors[name] = f"{len(value)} caractères, {limit} au plus."


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str | None,
    site_names: list[str] | None = None,
    display_name: str | None = None,
) -> User:
    """Create an account (used by the CLI and the admin page)."""
    errors: dict[str, str] = {}
    username = (username or "").strip()
    display_name = (display_name or "").strip() or None
    check_user_lengths(errors, username=username, display_name=display_name)
    if not username:
        errors["username"] = "l'identifiant est obligatoire."
    elif "username" in errors:
        pass
    elif session.scalar(select(User).where(User.username == username)):
        errors["username"] = f"l'identifiant « {username} » existe déjà."
    try:
        role_value = Role(role)
    except ValueError:
        errors["role"] = f"rôle inconnu « {role} » (officer, trainer, manager, admin)."
        role_value = None
    sites: list[Site] = []
    for name in site_names or []:
        site = session.scalar(select(Site).where(Site.name == name))
        if site is None:
            errors["site"] = f"site inconnu « {name} »."
        else:
            sites.append(site)
    if role_value not in (None, Role.ADMIN) and not sites and "site" not in errors:
        errors["site"] = "un site au moins est nécessaire pour ce rôle."
    if password is not None:
        try:
            check_password_strength(password, username)
        except ValidationError as exc:
            errors.update(exc.errors)
    if errors:
        raise ValidationError(errors)
    user = User(
        username=username,
        role=role_value.value,
        display_name=display_name or username,
        password_hash=hash_password(password) if password else None,
        password_changed_at=utcnow() if password else None,
        sites=sites,
    )
    session.add(user)
    session.flush()
    return user


def login_failed_message() -> str:
    """The one answer to every refused login: unknown user, wrong password, locked or
    disabled account (an attacker learns nothing about the account)."""
    s = get_settings()
    return (
        "Connexion refusée : identifiant ou mot de passe incorrect, ou compte désactivé, "
        f"ou compte verrouillé ({s.max_failed_logins} essais infructueux le verrouillent "
        f"{s.lockout_min} min ; un administrateur peut le déverrouiller)."
    )


def _record_failure(session: Session, user_id: int, now: dt.datetime) -> int:
    """Count a refused attempt atomically; returns the new count.

    One ``UPDATE ... SET failed_logins = failed_logins + 1 ... RETURNING`` : parallel
    attempts each add one (the row lock serialises them), and the attempt that reaches
    the threshold sets the lock. A lock that has expired restarts the count. When the
    caller's session has no transaction open (the login page), the count is committed
    in a transaction of its own, so that the page's rollback on the error never
    forgets a failure; inside an open transaction (scripts, tests) it joins it, as a
    second connection would wait for the first one's locks.
    """
    if session.in_transaction():
        return _count_failure(session.connection(), user_id, now)
    with session.get_bind().begin() as conn:
        return _count_failure(conn, user_id, now)


def _count_failure(conn, user_id: int, now: dt.datetime) -> int:
    settings = get_settings()
    users = User.__table__
    expired = and_(users.c.locked_until.is_not(None), users.c.locked_until <= now)
    new_count = case((expired, 1), else_=func.coalesce(users.c.failed_logins, 0) + 1)
    locked_now = and_(users.c.locked_until.is_not(None), users.c.locked_until > now)
    until = now + dt.timedelta(minutes=settings.lockout_min)
    stmt = (
        update(users)
        .where(users.c.id == user_id)
        .values(
            failed_logins=new_count,
            locked_until=case(
                (locked_now, users.c.locked_until),
                (new_count >= settings.max_failed_logins, until),
                else_=None,
            ),
        )
        .returning(users.c.failed_logins)
    )
    count = conn.execute(stmt).scalar_one()
    if count == settings.max_failed_logins:
        from crm.models import AuditEvent

        conn.execute(
            AuditEvent.__table__.insert().values(
                at=utcnow(),
                actor_id=None,
                actor_name=SYSTEM.username,
                action="lock",
                entity="user",
                entity_id=user_id,
                details={"minutes": settings.lockout_min},
            )
        )
    return count


def authenticate(
    session: Session, username: str, password: str, now: dt.datetime | None = None
) -> User:
    """Check a login; lock the account after repeated failures.

    Every refusal raises the same :class:`AuthenticationError` (see
    :func:`login_failed_message`) after the same work: one argon2 verification,
    against a dummy hash when the user does not exist. Failures are counted in
    the database at once (their own transaction); on success the login is audited
    and the caller commits (last login time, counter reset, audit event). Call it
    first in a new unit of work (on SQLite, a session that already read in its
    transaction cannot then write).
    """
    now = now or utcnow()
    users = User.__table__
    # A short read of its own: the slow verification holds no snapshot and no lock.
    with session.get_bind().connect() as conn:
        row = conn.execute(
            select(
                users.c.id, users.c.password_hash, users.c.is_active, users.c.locked_until
            ).where(users.c.username == (username or "").strip())
        ).first()
    generic = AuthenticationError(login_failed_message())
    if row is None:
        verify_password(dummy_hash(), password or "")  # same cost as a real account
        raise generic
    password_ok = verify_password(row.password_hash or dummy_hash(), password or "")
    password_ok = password_ok and bool(row.password_hash)
    if not row.is_active:
        raise generic
    if not password_ok or (row.locked_until is not None and row.locked_until > now):
        _record_failure(session, row.id, now)
        _expire_user(session, row.id)
        raise generic
    # Success only if the account is still active and not locked at this instant.
    done = session.execute(
        update(users)
        .where(
            users.c.id == row.id,
            users.c.is_active.is_(True),
            or_(users.c.locked_until.is_(None), users.c.locked_until <= now),
        )
        .values(failed_logins=0, locked_until=None, last_login_at=now)
        .returning(users.c.id)
    ).first()
    _expire_user(session, row.id)
    if done is None:  # locked or disabled since the read: refused (the caller rolls back)
        raise generic
    user = session.get(User, row.id)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(session, Actor.from_user(user), "login", "user", user.id, method="password")
    return user


def _expire_user(session: Session, user_id: int) -> None:
    """Forget a loaded User whose row was changed by a Core statement."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, User) and obj.id == user_id:
            session.expire(obj)


def actor_for_sso(session: Session, email: str | None, now: dt.datetime | None = None) -> Actor:
    """Map an identity from the school's single sign-on (OIDC) to a local account.

    The e-mail must match exactly one active local user (case-insensitive); the role
    and sites come from that local account. The login is audited; the caller commits
    (last login time, audit event).
    """
    address = (email or "").strip().casefold()
    if not address:
        raise AuthenticationError(
            "Le compte de l'école n'a pas transmis d'adresse électronique : connexion impossible."
        )
    users = list(
        session.scalars(select(User).where(func.lower(User.email) == address).order_by(User.id))
    )
    if not users:
        raise AuthenticationError(
            "Aucun compte Passerelle n'est associé à ce compte de l'école. "
            "Demandez à un administrateur de renseigner votre adresse sur votre compte."
        )
    if len(users) > 1:
        raise AuthenticationError(
            "Plusieurs comptes Passerelle portent cette adresse : "
            "demandez à un administrateur de corriger les comptes."
        )
    user = users[0]
    if not user.is_active:
        raise AuthenticationError("Ce compte est désactivé. Contactez un administrateur.")
    user.last_login_at = now or utcnow()
    actor = Actor.from_user(user)
    audit.record(session, actor, "login", "user", user.id, method="sso")
    return actor


def change_password(session: Session, actor: Actor, old_password: str, new_password: str) -> None:
    """A user changes their own password (the old one is checked)."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None or not verify_password(user.password_hash, old_password):
        raise ValidationError({"current_password": "incorrect."})
    try:
        check_password_strength(new_password, user.username)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.errors["password"]}) from None
    if old_password == new_password:
        raise ValidationError({"new_password": "doit être différent de l'actuel."})
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
