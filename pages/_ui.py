"""Shared UI plumbing for the Streamlit pages: database access, login state, errors.

Pages stay thin: they read widgets, call crm services inside ``db_session()``
and render the result. French labels live in crm/labels.py (pages import them there).
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
from collections.abc import Iterator

import streamlit as st
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crm.auth import Actor, Perm
from crm.config import get_settings
from crm.db import make_engine, make_session_factory, session_scope, upgrade
from crm.errors import DatabaseUnavailable, PasserelleError, ValidationError
from pages._format import fmt_date  # noqa: F401  (re-exported)
from pages._state import LEARNER_ID, LOGOUT_REASON

ACTOR_KEY = "actor"


@st.cache_resource(show_spinner=False)
def _factory(database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    return make_session_factory(engine)


def session_factory():
    return _factory(get_settings().database_url)


@contextlib.contextmanager
def db_session() -> Iterator[Session]:
    """A unit of work for one user action (commit on success, rollback on error).

    A lost or refused database connection becomes :class:`DatabaseUnavailable`
    (a French message, shown by the page or by streamlit_app's catch-all).
    """
    try:
        with session_scope(session_factory()) as session:
            yield session
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseUnavailable(
            "La base de données ne répond pas : rien n'a été enregistré. Réessayez dans un instant."
        ) from exc


TOKEN_KEY = "session_token"
RESOLVED_KEY = "_session_resolved_at"
REDIRECT_KEY = "_session_redirect"
RESOLVE_EVERY_S = 1.0  # one database read per request, not per call within a request


def _cookie_token() -> str | None:
    from crm.services.sessions import COOKIE_NAME, unsign_token

    try:
        return unsign_token(st.context.cookies.get(COOKIE_NAME))
    except Exception:  # no browser request (tests, bare mode)
        return None


def _current_query() -> str:
    """Where the user was going (page path and record link), to come back after the login."""
    params = {k: st.query_params.get(k) for k in st.query_params if k != "session"}
    path = "/"
    with contextlib.suppress(Exception):  # no browser request (tests, bare mode)
        path = urllib.parse.urlsplit(st.context.url or "").path or "/"
    if path.rstrip("/").endswith("/connexion"):
        path = path[: -len("connexion")].rstrip("/") + "/"
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def login(actor: Actor) -> None:
    """Open a server-side session for ``actor`` (called by the login page after authentication).

    With the cookie endpoints mounted (passerelle_app.py), the browser is then sent through
    ``/_passerelle/session`` to receive its HttpOnly cookie and comes back on the same
    query string (deep links survive the login).
    """
    from crm.services import sessions
    from pages import _session_http

    with db_session() as session:
        token, ticket = sessions.open_session(session, actor.user_id)
    st.session_state[TOKEN_KEY] = token
    st.session_state[ACTOR_KEY] = actor
    st.session_state[RESOLVED_KEY] = time.monotonic()
    if _session_http.MOUNTED:
        st.session_state[REDIRECT_KEY] = _session_http.login_redirect_url(ticket, _current_query())


def logout(reason: str | None = None) -> None:
    """End the session (server row revoked) and forget everything this tab kept."""
    from crm.services import sessions
    from pages import _session_http

    token = st.session_state.get(TOKEN_KEY) or _cookie_token()
    if token:
        with contextlib.suppress(PasserelleError), db_session() as session:
            sessions.revoke(session, token)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if reason:
        st.session_state[LOGOUT_REASON] = reason
    if _session_http.MOUNTED and token:
        st.session_state[REDIRECT_KEY] = _session_http.logout_url(ended=reason is not None)


def follow_session_redirect() -> None:
    """Send the browser to a pending session endpoint (cookie set/cleared); see login/logout."""
    url = st.session_state.pop(REDIRECT_KEY, None)
    if url:
        st.html(
            f"<script>window.location.replace({json.dumps(url)});</script>",
            unsafe_allow_javascript=True,
        )


def current_actor() -> Actor | None:
    """The logged-in actor rebuilt from the database at each request, or None.

    The session token comes from this tab's state or from the signed HttpOnly cookie
    (a reload, a second tab). A revoked or expired session, a disabled account: None,
    and the tab forgets its state. Role and sites always come from the database, so a
    demoted user loses their rights at their next click.
    """
    from crm.services import sessions

    tab_token = st.session_state.get(TOKEN_KEY)
    last = st.session_state.get(RESOLVED_KEY)
    if (
        tab_token
        and last is not None
        and time.monotonic() - last < RESOLVE_EVERY_S
        and st.session_state.get(ACTOR_KEY) is not None
    ):
        return st.session_state[ACTOR_KEY]
    candidates = [t for t in dict.fromkeys([tab_token, _cookie_token()]) if t]
    if not candidates:
        return None
    actor = token = None
    with db_session() as session:
        for token in candidates:
            actor = sessions.resolve(session, token)
            if actor is not None:
                break
    if actor is None:
        if st.session_state.get(ACTOR_KEY) is not None or tab_token:
            logout(
                "Session expirée ou fermée (inactivité, déconnexion ou compte modifié) : "
                "reconnectez-vous."
            )
        return None
    st.session_state[TOKEN_KEY] = token
    st.session_state[ACTOR_KEY] = actor
    st.session_state[RESOLVED_KEY] = time.monotonic()
    return actor


def require_actor(perm: Perm | None = None) -> Actor:
    """The logged-in actor; stops the page with a message if not allowed."""
    actor = current_actor()
    if actor is None:
        # A page address opened while logged out (Streamlit may then run the page file on
        # its own): back to the app's root with the same record link, where the login is.
        params = {k: st.query_params.get(k) for k in st.query_params if k != "session"}
        target = "/" + ("?" + urllib.parse.urlencode(params) if params else "")
        st.html(
            f"<script>window.location.replace({json.dumps(target)});</script>",
            unsafe_allow_javascript=True,
        )
        st.warning("Connectez-vous pour accéder à cette page.")
        st.stop()
    if perm is not None and not actor.has(perm):
        st.error("Accès refusé : cette page n'est pas ouverte à votre rôle.")
        st.stop()
    return actor


def show_error(exc: PasserelleError) -> None:
    if isinstance(exc, ValidationError):
        st.error("Rien n'a été enregistré. Corrigez les champs suivants :")
        for field, message in exc.labelled().items():
            st.markdown(f"- **{field}** : {message}")
    else:
        st.error(str(exc))


def refuse_unlisted_learner(actor: Actor, visible_ids, key: str = LEARNER_ID) -> None:
    """A learner id asked for (session state, link) but not listed: let the service decide.

    A learner of another site gets the service's refusal (and the request is dropped),
    never the data; an own-site learner who is simply not listed (e.g. exited) is ignored.
    """
    from crm.services.learners import get_learner

    requested = st.session_state.get(key)
    if not requested or requested in visible_ids:
        return
    try:
        with db_session() as session:
            get_learner(session, actor, requested)
    except PasserelleError as exc:
        st.session_state.pop(key, None)
        show_error(exc)
