"""Accounts, password hashing (argon2), roles, permissions and site scope.

Every service function takes an :class:`Actor` and calls :func:`authorize`
before touching data, so access rules hold whatever page (or script) calls it.

Access policy (tests/test_access_matrix.py checks it; docs/DATA_PROTECTION.md explains it):

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
from dataclasses import dataclass, field
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.config import get_settings
from crm.errors import AuthenticationError, PermissionDenied, ValidationError
from crm.models import Role, Site, User, utcnow

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class Perm(StrEnum):
    COMPANY_READ = "company.read"
    COMPANY_WRITE = "company.write"  # companies, contacts, offers
    COMPANY_MERGE = "company.merge"
    INTERACTION_WRITE = "interaction.write"
    LEARNER_READ_BASIC = "learner.read_basic"  # name, project, site: what placing needs
    LEARNER_READ = "learner.read"  # the whole profile, support notes included
    LEARNER_WRITE = "learner.write"
    PLACEMENT_READ = "placement.read"
    PLACEMENT_WRITE = "placement.write"
    STATS_READ = "stats.read"
    IMPORT = "data.import"
    EXPORT = "data.export"
    USER_ADMIN = "user.admin"
    SETTINGS_ADMIN = "settings.admin"
    AUDIT_READ = "audit.read"
    PURGE = "data.purge"
    LEARNER_EXPORT = "learner.export"  # a learner's whole data set (access requests)


ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.OFFICER: frozenset(
        {
            Perm.COMPANY_READ,
            Perm.COMPANY_WRITE,
            Perm.COMPANY_MERGE,
            Perm.INTERACTION_WRITE,
            Perm.LEARNER_READ_BASIC,
            Perm.PLACEMENT_READ,
            Perm.IMPORT,
            Perm.EXPORT,
        }
    ),
    Role.TRAINER: frozenset(
        {
            Perm.COMPANY_READ,
            Perm.INTERACTION_WRITE,
            Perm.LEARNER_READ_BASIC,
            Perm.LEARNER_READ,
            Perm.LEARNER_WRITE,
            Perm.PLACEMENT_READ,
            Perm.PLACEMENT_WRITE,
            Perm.IMPORT,
            Perm.EXPORT,
        }
    ),
    Role.MANAGER: frozenset(
        {
            Perm.COMPANY_READ,
            Perm.LEARNER_READ_BASIC,
            Perm.LEARNER_READ,
            Perm.PLACEMENT_READ,
            Perm.STATS_READ,
            Perm.EXPORT,
            Perm.LEARNER_EXPORT,
        }
    ),
    Role.ADMIN: frozenset(Perm),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user or a command-line job."""

    user_id: int | None
    username: str
    role: Role
    site_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def has(self, perm: Perm) -> bool:
        return perm in ROLE_PERMISSIONS[self.role]

    def in_scope(self, site_id: int | None) -> bool:
        """Admins see every site; others their own (``None`` = not site-bound)."""
        return self.is_admin or site_id is None or site_id in self.site_ids

    @classmethod
    def from_user(cls, user: User) -> Actor:
        return cls(user.id, user.username, Role(user.role), frozenset(s.id for s in user.sites))


# The identity of batch jobs run from the command line by the server's operator.
SYSTEM = Actor(user_id=None, username="system", role=Role.ADMIN)


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


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            {"password": f"au moins {MIN_PASSWORD_LENGTH} caractères sont nécessaires."}
        )


# --------------------------------------------------------------------------- users


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
    if not username:
        errors["username"] = "l'identifiant est obligatoire."
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
            check_password_strength(password)
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


def authenticate(
    session: Session, username: str, password: str, now: dt.datetime | None = None
) -> User:
    """Check a login; lock the account after repeated failures.

    The caller commits (failed attempts must be recorded too).
    """
    settings = get_settings()
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    generic = AuthenticationError("Identifiant ou mot de passe incorrect.")
    if user is None:
        verify_password(None, password)  # same work whether or not the user exists
        raise generic
    if not user.is_active:
        raise AuthenticationError("Ce compte est désactivé. Contactez un administrateur.")
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise AuthenticationError(
            f"Compte verrouillé après {settings.max_failed_logins} essais infructueux : "
            f"réessayez dans {minutes} min ou demandez à un administrateur."
        )
    if not verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= settings.max_failed_logins:
            user.locked_until = now + dt.timedelta(minutes=settings.lockout_min)
            user.failed_logins = 0
            from crm import audit  # crm.audit imports this module

            audit.record(session, SYSTEM, "lock", "user", user.id, minutes=settings.lockout_min)
            raise AuthenticationError(
                f"Trop d'essais infructueux : compte verrouillé pendant {settings.lockout_min} min."
            )
        raise generic
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def actor_for_sso(session: Session, email: str | None, now: dt.datetime | None = None) -> Actor:
    """Map an identity from the school's single sign-on (OIDC) to a local account.

    The e-mail must match exactly one active local user (case-insensitive); the role
    and sites come from that local account. The caller commits (last login time).
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
    return Actor.from_user(user)


def change_password(session: Session, actor: Actor, old_password: str, new_password: str) -> None:
    """A user changes their own password (the old one is checked)."""
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None or not verify_password(user.password_hash, old_password):
        raise ValidationError({"mot de passe actuel": "incorrect."})
    check_password_strength(new_password)
    if old_password == new_password:
        raise ValidationError({"nouveau mot de passe": "doit être différent de l'actuel."})
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
