"""User administration (admin only): list, create, disable/enable, reset password, role and
sites; and a user's change of their own password.

Every admin function checks ``Perm.USER_ADMIN`` first. Every change records an audit
event with ids and field names only: never a password, never a hash.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.auth import (
    Actor,
    Perm,
    authorize,
    change_password,
    check_password_strength,
    check_user_lengths,
    create_user,
    hash_password,
)
from crm.errors import NotFound, ValidationError
from crm.models import Role, Site, User, utcnow
from crm.services import sessions
from crm.services._common import get_or_404


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str | None
    email: str | None
    role: str
    sites: tuple[str, ...]
    is_active: bool
    locked: bool
    last_login_at: dt.datetime | None


def _get(session: Session, user_id: int) -> User:
    user = get_or_404(session, User, user_id, "Utilisateur")
    return user


def _by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise NotFound(f"Utilisateur « {username} » introuvable.")
    return user


def user_id_for(session: Session, actor: Actor, username: str) -> int:
    authorize(actor, Perm.USER_ADMIN)
    return _by_username(session, username).id


def site_choices(session: Session, actor: Actor) -> dict[int, str]:
    """Every site (id -> name), to assign accounts to sites."""
    authorize(actor, Perm.USER_ADMIN)
    return {
        site_id: name
        for site_id, name in session.execute(select(Site.id, Site.name).order_by(Site.name))
    }


def list_users(session: Session, actor: Actor) -> list[UserRow]:
    authorize(actor, Perm.USER_ADMIN)
    now = utcnow()
    return [
        UserRow(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            email=u.email,
            role=u.role,
            sites=tuple(sorted(s.name for s in u.sites)),
            is_active=bool(u.is_active),
            locked=bool(u.locked_until and u.locked_until > now),
            last_login_at=u.last_login_at,
        )
        for u in session.scalars(select(User).order_by(User.username))
    ]


def add_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    role: str,
    password: str | None,
    site_names: list[str] | None = None,
    display_name: str | None = None,
    email: str | None = None,
) -> int:
    """Create an account; ``password`` None = single sign-on only."""
    authorize(actor, Perm.USER_ADMIN)
    email = (email or "").strip() or None
    errors: dict[str, str] = {}
    check_user_lengths(errors, email=email)
    try:
        user = create_user(session, username, role, password, site_names, display_name)
    except ValidationError as exc:
        raise ValidationError({**exc.errors, **errors}) from None
    if errors:
        raise ValidationError(errors)
    user.email = email
    session.flush()
    audit.record(
        session, actor, "create", "user", user.id, role=user.role, sites=[s.id for s in user.sites]
    )
    return user.id


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> None:
    """Disable (or re-enable) an account. An admin cannot disable themself."""
    authorize(actor, Perm.USER_ADMIN)
    user = _get(session, user_id)
    if not active and user.id == actor.user_id:
        raise ValidationError({"account": "vous ne pouvez pas désactiver votre propre compte."})
    user.is_active = active
    if active:
        user.failed_logins = 0
        user.locked_until = None
    else:
        sessions.revoke_all_for_user(session, user.id)  # an open tab stops working at once
    audit.record(session, actor, "enable" if active else "disable", "user", user.id)


def reset_password(session: Session, actor: Actor, user_id: int, new_password: str) -> None:
    """Set a new password chosen by the admin (returns nothing; the lock is lifted)."""
    authorize(actor, Perm.USER_ADMIN)
    user = _get(session, user_id)
    check_password_strength(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    sessions.revoke_all_for_user(session, user.id)
    audit.record(session, actor, "password_reset", "user", user.id)


def set_role_and_sites(
    session: Session, actor: Actor, user_id: int, role: str, site_ids: list[int]
) -> None:
    """Change an account's role and sites (every role but admin needs a site)."""
    authorize(actor, Perm.USER_ADMIN)
    user = _get(session, user_id)
    errors: dict[str, str] = {}
    try:
        role_value = Role(role)
    except ValueError:
        errors["role"] = f"rôle inconnu « {role} »."
        role_value = None
    sites = list(session.scalars(select(Site).where(Site.id.in_(site_ids)))) if site_ids else []
    if len(sites) != len(set(site_ids)):
        errors["sites"] = "site inconnu."
    if role_value not in (None, Role.ADMIN) and not sites:
        errors["sites"] = "un site au moins est nécessaire pour ce rôle."
    if user.id == actor.user_id and role_value not in (None, Role.ADMIN):
        errors["role"] = "vous ne pouvez pas retirer votre propre rôle d'administrateur."
    if errors:
        raise ValidationError(errors)
    old_role = user.role
    old_sites = {s.id for s in user.sites}
    user.role = role_value.value
    user.sites = sites
    if old_role != user.role or old_sites != {s.id for s in sites}:
        sessions.revoke_all_for_user(session, user.id)  # log in again with the new rights
    audit.record(
        session,
        actor,
        "update",
        "user",
        user.id,
        fields=["role", "sites"],
        old_role=old_role,
        role=user.role,
        sites=sorted(s.id for s in sites),
    )


def set_email(session: Session, actor: Actor, user_id: int, email: str | None) -> None:
    """The address used to match the school's single sign-on."""
    authorize(actor, Perm.USER_ADMIN)
    user = _get(session, user_id)
    value = (email or "").strip() or None
    errors: dict[str, str] = {}
    check_user_lengths(errors, email=value)
    if errors:
        raise ValidationError(errors)
    if value and "@" not in value:
        raise ValidationError({"email": "adresse invalide."})
    user.email = value
    audit.record(session, actor, "update", "user", user.id, fields=["email"])


def change_own_password(
    session: Session,
    actor: Actor,
    old_password: str,
    new_password: str,
    *,
    keep_token: str | None = None,
) -> int:
    """The actor changes their own password (the current one checked, the policy applied).

    Every other session of the account ends (other browsers logged in with the old
    password), except ``keep_token``'s (the tab where it was changed). Returns how many
    sessions ended.
    """
    change_password(session, actor, old_password, new_password)
    ended = sessions.revoke_all_for_user(session, actor.user_id, keep_token=keep_token)
    audit.record(session, actor, "password_change", "user", actor.user_id)
    return ended
