"""Mon compte: password change."""

import streamlit as st

from crm import audit
from crm.auth import MIN_PASSWORD_LENGTH, change_password
from crm.errors import PasserelleError
from crm.labels import ROLE_FR
from crm.services import sessions
from pages._ui import TOKEN_KEY, db_session, require_actor, show_error

actor = require_actor()
st.title("Mon compte")
st.write(f"Identifiant : **{actor.username}** — rôle : {ROLE_FR[actor.role]}")
st.caption(
    "Changer le mot de passe ferme vos sessions ouvertes ailleurs (autres navigateurs) ; "
    "celle-ci reste ouverte."
)

with st.form("password", clear_on_submit=True):
    old = st.text_input("Mot de passe actuel", type="password")
    new = st.text_input(
        f"Nouveau mot de passe ({MIN_PASSWORD_LENGTH} caractères au moins)",
        type="password",
        max_chars=200,
    )
    again = st.text_input("Confirmer le nouveau mot de passe", type="password")
    submitted = st.form_submit_button("Changer le mot de passe")

if submitted:
    if new != again:
        st.error("Les deux saisies du nouveau mot de passe diffèrent.")
    else:
        try:
            with db_session() as session:
                change_password(session, actor, old, new)
                # Other browsers/tabs logged in with the old password must log in again.
                ended = sessions.revoke_all_for_user(
                    session, actor.user_id, keep_token=st.session_state.get(TOKEN_KEY)
                )
                audit.record(session, actor, "password_change", "user", actor.user_id)
            st.success(
                "Mot de passe changé."
                + (f" {ended} autre(s) session(s) ouverte(s) fermée(s)." if ended else "")
            )
        except PasserelleError as exc:
            show_error(exc)
