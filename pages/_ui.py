"""Shared UI plumbing for the Streamlit pages: database access, login state, errors.

Pages stay thin: they read widgets, call crm services inside ``db_session()``
and render the result. French labels live in crm/labels.py (re-exported here).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import streamlit as st
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crm.auth import Actor, Perm
from crm.config import get_settings
from crm.db import make_engine, make_session_factory, session_scope, upgrade
from crm.errors import DatabaseUnavailable, PasserelleError, ValidationError
from crm.labels import (  # noqa: F401  (re-exported: pages import the labels from here)
    GEO_PRECISION_FR,
    INTERACTION_KIND_FR,
    OFFER_STATUS_FR,
    OUTCOME_FR,
    PARTNER_STATUS_FR,
    PLACEMENT_STATUS_FR,
    ROLE_FR,
    field_label,
)
from pages._format import fmt_date  # noqa: F401  (re-exported)

ACTOR_KEY = "actor"
LAST_SEEN_KEY = "last_seen"


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


def login(actor: Actor) -> None:
    st.session_state[ACTOR_KEY] = actor
    st.session_state[LAST_SEEN_KEY] = dt.datetime.now()


def logout() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def current_actor() -> Actor | None:
    """The logged-in actor, or None (also after the idle timeout)."""
    actor = st.session_state.get(ACTOR_KEY)
    if actor is None:
        return None
    now = dt.datetime.now()
    last = st.session_state.get(LAST_SEEN_KEY, now)
    if now - last > dt.timedelta(minutes=get_settings().session_timeout_min):
        logout()
        st.session_state["logout_reason"] = "Session expirée après inactivité : reconnectez-vous."
        return None
    st.session_state[LAST_SEEN_KEY] = now
    return actor


def require_actor(perm: Perm | None = None) -> Actor:
    """The logged-in actor; stops the page with a message if not allowed."""
    actor = current_actor()
    if actor is None:
        st.warning("Connectez-vous pour accéder à cette page.")
        st.stop()
    if perm is not None and not actor.has(perm):
        st.error("Accès refusé : cette page n'est pas ouverte à votre rôle.")
        st.stop()
    return actor


def show_error(exc: PasserelleError) -> None:
    if isinstance(exc, ValidationError):
        st.error("Rien n'a été enregistré. Corrigez les champs suivants :")
        for field, message in exc.errors.items():
            st.markdown(f"- **{field_label(field)}** : {message}")
    else:
        st.error(str(exc))


def refuse_unlisted_learner(actor: Actor, visible_ids, key: str = "learner_id") -> None:
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
