"""Mon compte: password change."""

import streamlit as st

from crm.auth import MIN_PASSWORD_LENGTH
from crm.errors import PasserelleError
from crm.labels import ROLE_FR
from crm.services import users
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
                ended = users.change_own_password(
                    session, actor, old, new, keep_token=st.session_state.get(TOKEN_KEY)
                )
            st.success(
                "Mot de passe changé."
                + (f" {ended} autre(s) session(s) ouverte(s) fermée(s)." if ended else "")
            )
        except PasserelleError as exc:
            show_error(exc)
