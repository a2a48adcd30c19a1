"""Connexion (a function page: shown alone until the user logs in).

Local accounts log in with a password. When ``st.secrets`` has an ``[auth]``
section (OIDC settings for Streamlit's ``st.login``), the school's single
sign-on is offered first; the identity is mapped to the local account with the
same e-mail (role and sites come from that account). The local form stays
available for accounts without single sign-on (e.g. the emergency admin).
"""

import streamlit as st

from crm.auth import Actor, actor_for_sso, authenticate
from crm.errors import AuthenticationError
from pages._state import LOGOUT_REASON
from pages._ui import db_session, login

SSO_LABEL = "Se connecter avec le compte de l'école"


def sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _sso_block() -> None:
    user = st.user
    if not user.get("is_logged_in", False):
        if st.button(SSO_LABEL, key="sso_login", type="primary"):
            st.login()
        return
    error = None
    with db_session() as session:
        try:
            actor = actor_for_sso(session, user.get("email"))
        except AuthenticationError as exc:
            error = str(exc)
    if error:
        st.error(error)
        if st.button("Se déconnecter du compte de l'école", key="sso_logout"):
            st.logout()
    else:
        login(actor)
        st.rerun()


def _password_form() -> None:
    with st.form("login"):
        username = st.text_input("Identifiant")
        password = st.text_input("Mot de passe", type="password")
        submitted = st.form_submit_button("Se connecter")

    if submitted:
        error = None
        with db_session() as session:  # commits failed attempts too (lockout counter)
            try:
                actor = Actor.from_user(authenticate(session, username, password))
            except AuthenticationError as exc:
                error = str(exc)
        if error:
            st.error(error)
        else:
            login(actor)
            st.rerun()


def render() -> None:
    st.title("Passerelle")
    st.caption("Relations entreprises et périodes en entreprise — Écoles de la 2e Chance")

    if reason := st.session_state.pop(LOGOUT_REASON, None):
        st.info(reason)
    elif st.query_params.get("session") == "fin":  # came back through the logout endpoint
        st.info(
            "Session expirée ou fermée (inactivité, déconnexion ou compte modifié) : "
            "reconnectez-vous."
        )

    if sso_configured():
        _sso_block()
        with st.expander("Connexion avec un identifiant Passerelle"):
            _password_form()
    else:
        _password_form()
