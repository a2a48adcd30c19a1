"""Connexion (a function page: shown alone until the user logs in)."""

import streamlit as st

from crm.auth import Actor, authenticate
from crm.errors import AuthenticationError
from pages._ui import db_session, login


def render() -> None:
    st.title("Passerelle")
    st.caption("Relations entreprises et périodes en entreprise — Écoles de la 2e Chance")

    if reason := st.session_state.pop("logout_reason", None):
        st.info(reason)

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
