"""Server-side browser sessions: a reload keeps the user, logout/disable/demotion end it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.auth import hash_password
from crm.models import AuditEvent, Role, User, UserSession, utcnow
from crm.services import sessions, users
from pages import _session_http
from tests.factories import make_actor


@pytest.fixture
def trainer(session, sites):
    actor = make_actor(session, Role.TRAINER, sites[0], username="tina")
    session.get(User, actor.user_id).password_hash = hash_password("un-mot-de-passe-long")
    session.commit()
    return actor


@pytest.fixture
def admin(session, sites):
    return make_actor(session, Role.ADMIN, username="root")


def _login(session, actor, now=None):
    token, ticket = sessions.open_session(session, actor.user_id, now=now)
    session.commit()
    return token, ticket


def test_a_session_rebuilds_the_actor_from_the_database(session, trainer):
    token, _ = _login(session, trainer)
    actor = sessions.resolve(session, token)
    assert actor == trainer
    # Only hashes are stored: the token itself opens nothing from a copy of the database.
    row = session.scalar(select(UserSession))
    assert token not in (row.token_hash, row.ticket_hash)
    assert sessions.resolve(session, "not-a-token") is None
    assert sessions.resolve(session, None) is None


def test_idle_timeout_ends_a_session_and_activity_extends_it(session, trainer, monkeypatch):
    monkeypatch.setenv("PASSERELLE_SESSION_TIMEOUT_MIN", "30")
    t0 = utcnow()
    token, _ = _login(session, trainer, now=t0)
    assert sessions.resolve(session, token, now=t0 + dt.timedelta(minutes=25)) == trainer
    session.commit()
    # The request at 25 min moved the expiry: still open at 50 min, not after 30 idle minutes.
    assert sessions.resolve(session, token, now=t0 + dt.timedelta(minutes=50)) == trainer
    assert sessions.resolve(session, token, now=t0 + dt.timedelta(minutes=81)) is None


def test_the_ticket_gives_one_cookie_token_once_and_rotates_the_token(session, trainer):
    token, ticket = _login(session, trainer)
    cookie_token = sessions.redeem_ticket(session, ticket)
    session.commit()
    assert cookie_token and cookie_token != token
    assert sessions.resolve(session, cookie_token) == trainer
    assert sessions.resolve(session, token) is None  # the login page's token died
    assert sessions.redeem_ticket(session, ticket) is None  # single use
    assert sessions.redeem_ticket(session, "") is None


def test_a_late_ticket_is_refused(session, trainer):
    t0 = utcnow()
    _, ticket = _login(session, trainer, now=t0)
    late = t0 + dt.timedelta(seconds=sessions.TICKET_SECONDS + 1)
    assert sessions.redeem_ticket(session, ticket, now=late) is None


def test_logout_revokes_only_that_session(session, trainer):
    first, _ = _login(session, trainer)
    second, _ = _login(session, trainer)
    sessions.revoke(session, first)
    session.commit()
    assert sessions.resolve(session, first) is None
    assert sessions.resolve(session, second) == trainer


def test_disabling_an_account_ends_its_open_sessions(session, trainer, admin):
    token, _ = _login(session, trainer)
    users.set_active(session, admin, trainer.user_id, False)
    session.commit()
    assert sessions.resolve(session, token) is None
    # Even re-enabled, the old session stays closed: a new login is needed.
    users.set_active(session, admin, trainer.user_id, True)
    session.commit()
    assert sessions.resolve(session, token) is None


def test_a_disabled_user_is_refused_even_if_the_row_was_not_revoked(session, trainer):
    token, _ = _login(session, trainer)
    session.get(User, trainer.user_id).is_active = False  # e.g. a direct database fix
    session.commit()
    assert sessions.resolve(session, token) is None


def test_role_or_sites_change_and_password_reset_end_sessions(session, sites, trainer, admin):
    token, _ = _login(session, trainer)
    users.set_role_and_sites(session, admin, trainer.user_id, "trainer", [sites[0].id])
    session.commit()
    assert sessions.resolve(session, token) == trainer  # nothing changed: still open
    users.set_role_and_sites(session, admin, trainer.user_id, "officer", [sites[0].id])
    session.commit()
    assert sessions.resolve(session, token) is None
    token, _ = _login(session, trainer)
    users.reset_password(session, admin, trainer.user_id, "un-autre-mot-de-passe")
    session.commit()
    assert sessions.resolve(session, token) is None


def test_own_password_change_keeps_this_tab_and_ends_the_others(session, trainer):
    mine, _ = _login(session, trainer)
    other, _ = _login(session, trainer)
    ended = users.change_own_password(
        session, trainer, "un-mot-de-passe-long", "encore-plus-long-2026", keep_token=mine
    )
    session.commit()
    assert ended == 1
    assert sessions.resolve(session, mine) is not None
    assert sessions.resolve(session, other) is None
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.entity_id) == ("password_change", trainer.user_id)
    assert "encore" not in str(event.details or "")  # never the password


def test_old_ended_sessions_are_deleted_at_the_next_login(session, trainer):
    long_ago = utcnow() - dt.timedelta(days=sessions.KEEP_ENDED_DAYS + 2)
    old, _ = _login(session, trainer, now=long_ago)  # expired long ago
    live, _ = _login(session, trainer)
    assert session.scalar(select(func.count()).select_from(UserSession)) == 1  # old one gone
    assert sessions.resolve(session, live) == trainer
    assert sessions.resolve(session, old) is None


def test_cookie_signature(monkeypatch, tmp_path):
    monkeypatch.setenv("PASSERELLE_HOME", str(tmp_path))
    monkeypatch.delenv(sessions.SECRET_ENV, raising=False)
    signed = sessions.sign_token("abc")
    assert (tmp_path / sessions.SECRET_FILE).stat().st_mode & 0o777 == 0o600
    assert sessions.unsign_token(signed) == "abc"
    assert sessions.unsign_token(signed[:-1] + ("0" if signed[-1] != "0" else "1")) is None
    assert sessions.unsign_token("abc") is None
    assert sessions.unsign_token(None) is None
    monkeypatch.setenv(sessions.SECRET_ENV, "another-key")
    assert sessions.unsign_token(signed) is None  # signed with another key


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/?stagiaire=3", "/?stagiaire=3"),
        ("/learners?stagiaire=3", "/learners?stagiaire=3"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_redirects_stay_on_the_site(value, expected):
    assert _session_http.safe_next(value) == expected


def _request(url: str, cookie: str | None = None):
    from urllib.parse import urlsplit

    from starlette.requests import Request

    parts = urlsplit(url)
    headers = [(b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("testserver", 80),
        "path": parts.path,
        "query_string": parts.query.encode(),
        "headers": headers,
    }
    return Request(scope)


def test_endpoints_set_and_clear_an_httponly_cookie(db_url, session, trainer, monkeypatch):
    monkeypatch.setenv("PASSERELLE_DATABASE_URL", db_url)
    monkeypatch.setenv(sessions.SECRET_ENV, "test-key")
    _session_http._factory.cache_clear()
    paths = {route.path for route in _session_http.routes()}
    assert paths == {_session_http.SESSION_PATH, _session_http.LOGOUT_PATH}
    assert _session_http.MOUNTED
    _, ticket = _login(session, trainer)
    url = _session_http.login_redirect_url(ticket, "/?stagiaire=7")
    response = _session_http.session_endpoint(_request(url))
    assert response.status_code == 303
    assert response.headers["location"] == "/?stagiaire=7"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE_NAME}=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "Path=/" in cookie and "secure" not in cookie.lower()  # plain HTTP in this test
    value = cookie.split(";")[0].split("=", 1)[1].strip('"')
    token = sessions.unsign_token(value)
    session.commit()  # a new transaction sees what the endpoint wrote
    assert sessions.resolve(session, token) == trainer
    # The same ticket again: no cookie.
    again = _session_http.session_endpoint(_request(url))
    assert "set-cookie" not in again.headers

    out = _session_http.logout_endpoint(
        _request(_session_http.logout_url(), cookie=f"{sessions.COOKIE_NAME}={value}")
    )
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert "Max-Age=0" in out.headers["set-cookie"]
    session.commit()  # a new transaction sees what the endpoint wrote
    assert sessions.resolve(session, token) is None
    _session_http._factory.cache_clear()
