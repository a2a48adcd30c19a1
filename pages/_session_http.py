"""The two HTTP endpoints that put the session cookie in the browser (and take it out).

Streamlit reads cookies (``st.context.cookies``) but cannot set an HttpOnly cookie from
Python. Since Streamlit 1.5x the supported way to add HTTP routes is ``st.App`` (Starlette,
ASGI): ``passerelle_app.py`` builds ``st.App("streamlit_app.py", routes=routes())`` and
``streamlit run passerelle_app.py`` serves both.

- ``GET /_passerelle/session?ticket=…&next=…``: burns the single-use login ticket
  (crm.services.sessions.redeem_ticket), sets the signed ``passerelle_session`` cookie
  (HttpOnly, SameSite=Lax, Secure over HTTPS, path /) and redirects to ``next`` (a local
  path + query string, e.g. a deep link ``/?stagiaire=12``).
- ``GET /_passerelle/logout``: revokes the cookie's session, deletes the cookie, redirects to /.

When the app runs without these routes (plain ``streamlit run streamlit_app.py``),
``MOUNTED`` stays False and the pages keep the session in ``st.session_state`` only (one
tab, lost on reload), through the same server-side session rows.

This module holds no Streamlit code; the pages call :func:`login_redirect_url` and
:func:`logout_url` and send the browser there (pages/_ui.py).
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode, urlsplit

from crm.config import get_settings
from crm.db import make_engine, make_session_factory, session_scope
from crm.services import sessions

PREFIX = "/_passerelle"
SESSION_PATH = f"{PREFIX}/session"
LOGOUT_PATH = f"{PREFIX}/logout"
MOUNTED = False  # set by routes(): the endpoints are served by this process


def login_redirect_url(ticket: str, next_url: str = "/") -> str:
    return f"{SESSION_PATH}?{urlencode({'ticket': ticket, 'next': safe_next(next_url)})}"


ENDED_PARAM = "session"  # /?session=fin: the login page says the session ended


def logout_url(ended: bool = False) -> str:
    return f"{LOGOUT_PATH}?{ENDED_PARAM}=fin" if ended else LOGOUT_PATH


def safe_next(value: str | None) -> str:
    """Only a local path (no scheme, no host, no '//' trick) may be a redirect target."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 for c in value)
    ):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


@functools.cache
def _factory(database_url: str):
    return make_session_factory(make_engine(database_url))


def _db():
    return session_scope(_factory(get_settings().database_url))


def _cookie_args(request) -> dict:
    https = (
        request.url.scheme == "https"
        or request.headers.get("x-forwarded-proto", "").lower() == "https"
    )
    return {"path": "/", "httponly": True, "samesite": "lax", "secure": https}


def session_endpoint(request):
    from starlette.responses import RedirectResponse

    with _db() as db:
        token = sessions.redeem_ticket(db, request.query_params.get("ticket", ""))
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    if token:
        response.set_cookie(
            sessions.COOKIE_NAME, sessions.sign_token(token), **_cookie_args(request)
        )
    return response


def logout_endpoint(request):
    from starlette.responses import RedirectResponse

    token = sessions.unsign_token(request.cookies.get(sessions.COOKIE_NAME))
    if token:
        with _db() as db:
            sessions.revoke(db, token)
    ended = request.query_params.get(ENDED_PARAM) == "fin"
    response = RedirectResponse(f"/?{ENDED_PARAM}=fin" if ended else "/", status_code=303)
    response.headers["Cache-Control"] = "no-store"
    response.delete_cookie(sessions.COOKIE_NAME, **_cookie_args(request))
    return response


def routes() -> list:
    """The Starlette routes to give ``st.App(..., routes=...)``."""
    from starlette.routing import Route

    global MOUNTED
    MOUNTED = True
    return [
        Route(SESSION_PATH, session_endpoint, methods=["GET"]),
        Route(LOGOUT_PATH, logout_endpoint, methods=["GET"]),
    ]
