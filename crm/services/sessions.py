"""Browser sessions that survive a reload or a second tab, until the idle timeout or logout.

How it fits together (the web glue is pages/_session_http.py):

1. After a successful login the page calls :func:`open_session`: a ``user_sessions`` row is
   created; the page keeps the random ``token`` (in ``st.session_state``) and sends the
   browser to ``/_passerelle/session?ticket=…`` with the single-use ``ticket`` (valid
   ``TICKET_SECONDS``).
2. That endpoint calls :func:`redeem_ticket`: the ticket is burnt, the token is rotated and
   returned; the endpoint stores it in a signed (:func:`sign_token`), HttpOnly,
   SameSite=Lax cookie and redirects to the app.
3. At every request (each Streamlit rerun) the page calls :func:`resolve` with the token
   (from the cookie, checked with :func:`unsign_token`, or from the session state): the
   Actor is rebuilt from the database (active account, role, sites) and the idle expiry
   moves forward. A revoked, expired or disabled session gives ``None``.
4. Logout calls :func:`revoke`; disabling an account, changing its role/sites or its
   password calls :func:`revoke_all_for_user` (crm/services/users.py, crm/auth.py).

Only the SHA-256 of tokens and tickets is stored: a copy of the database opens nothing.
These functions run before anyone is authenticated: they take a token or a user id, not an
Actor (they are not in the access matrix).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from crm.auth import Actor
from crm.config import get_settings
from crm.models import User, UserSession, utcnow

COOKIE_NAME = "passerelle_session"
TICKET_SECONDS = 60
KEEP_ENDED_DAYS = 30  # ended session rows are deleted after this many days
TOUCH_EVERY_SECONDS = 30  # last_seen/expiry are written at most this often (one UPDATE)
SECRET_ENV = "PASSERELLE_SECRET_KEY"
SECRET_FILE = "session_secret"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _timeout() -> dt.timedelta:
    return dt.timedelta(minutes=get_settings().session_timeout_min)


def open_session(session: Session, user_id: int, now: dt.datetime | None = None) -> tuple[str, str]:
    """Start a session for ``user_id``: returns ``(token, ticket)`` (the caller commits)."""
    now = now or utcnow()
    purge_ended(session, now)
    token, ticket = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_digest(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + _timeout(),
            ticket_hash=_digest(ticket),
            ticket_expires_at=now + dt.timedelta(seconds=TICKET_SECONDS),
        )
    )
    session.flush()
    return token, ticket


def redeem_ticket(session: Session, ticket: str, now: dt.datetime | None = None) -> str | None:
    """Burn a login ticket; return a fresh token for its session (None if unknown/used/late)."""
    now = now or utcnow()
    if not ticket:
        return None
    row = session.scalar(select(UserSession).where(UserSession.ticket_hash == _digest(ticket)))
    if row is None:
        return None
    valid = (
        row.revoked_at is None
        and row.ticket_expires_at is not None
        and row.ticket_expires_at >= now
        and row.expires_at > now
    )
    row.ticket_hash = None
    row.ticket_expires_at = None
    if not valid:
        session.flush()
        return None
    token = secrets.token_urlsafe(32)  # rotated: the token seen by the login page dies here
    row.token_hash = _digest(token)
    row.last_seen_at = now
    row.expires_at = now + _timeout()
    session.flush()
    return token


def resolve(session: Session, token: str | None, now: dt.datetime | None = None) -> Actor | None:
    """The Actor of a live session, rebuilt from the database; touches the idle expiry.

    ``None`` when the token is unknown, revoked, expired, or its account is disabled or locked
    out of existence. The caller commits (the touch).
    """
    if not token:
        return None
    now = now or utcnow()
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        row.revoked_at = now
        return None
    if (now - row.last_seen_at).total_seconds() >= TOUCH_EVERY_SECONDS:
        row.last_seen_at = now
        row.expires_at = now + _timeout()
    return Actor.from_user(user)


def revoke(session: Session, token: str | None, now: dt.datetime | None = None) -> None:
    """End one session (logout). Unknown tokens are ignored."""
    if not token:
        return
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _digest(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow(), ticket_hash=None)
    )


def revoke_all_for_user(
    session: Session,
    user_id: int,
    now: dt.datetime | None = None,
    keep_token: str | None = None,
) -> int:
    """End every open session of an account (but ``keep_token``'s); returns how many ended."""
    stmt = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep_token:
        stmt = stmt.where(UserSession.token_hash != _digest(keep_token))
    result = session.execute(stmt.values(revoked_at=now or utcnow(), ticket_hash=None))
    return result.rowcount or 0


def purge_ended(session: Session, now: dt.datetime | None = None) -> int:
    """Delete the rows of sessions ended (expired or revoked) ``KEEP_ENDED_DAYS`` ago."""
    limit = (now or utcnow()) - dt.timedelta(days=KEEP_ENDED_DAYS)
    result = session.execute(
        delete(UserSession).where(
            (UserSession.expires_at < limit) | (UserSession.revoked_at < limit)
        )
    )
    return result.rowcount or 0


# --------------------------------------------------------------------------- cookie signature


def secret_key() -> bytes:
    """The HMAC key of session cookies: ``PASSERELLE_SECRET_KEY``, else a file under the home.

    The file (``$PASSERELLE_HOME/session_secret``, mode 600) is created on first use.
    """
    env = os.environ.get(SECRET_ENV)
    if env:
        return env.encode()
    path = Path(get_settings().home) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def sign_token(token: str) -> str:
    mac = hmac.new(secret_key(), token.encode(), hashlib.sha256).hexdigest()
    return f"{token}.{mac}"


def unsign_token(value: str | None) -> str | None:
    """The token of a signed cookie value, or None if it was tampered with."""
    if not value or "." not in value:
        return None
    token, _, mac = value.rpartition(".")
    expected = hmac.new(secret_key(), token.encode(), hashlib.sha256).hexdigest()
    return token if hmac.compare_digest(mac, expected) else None
