"""Utilisateurs: accounts, roles and sites (admin only)."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.models import Role
from crm.services import users as user_service
from pages._ui import ROLE_FR, db_session, fmt_date, require_actor, show_error

actor = require_actor(Perm.USER_ADMIN)
st.title("Utilisateurs")

with db_session() as session:
    rows = user_service.list_users(session, actor)
    sites = user_service.site_choices(session, actor)

st.dataframe(
    pd.DataFrame(
        [
            {
                "Identifiant": r.username,
                "Nom": r.display_name or "",
                "Rôle": ROLE_FR.get(r.role, r.role),
                "Sites": ", ".join(r.sites) or "tous (administration)",
                "Actif": "oui" if r.is_active else "non",
                "Verrouillé": "oui" if r.locked else "",
                "Dernière connexion": fmt_date(r.last_login_at),
            }
            for r in rows
        ]
    ),
    hide_index=True,
    width="stretch",
)
st.caption(f"{len(rows)} compte(s)")

ROLES = [r.value for r in Role]

with st.expander("Créer un compte"):
    with st.form("create_user", clear_on_submit=True):
        username = st.text_input("Identifiant", key="new_username")
        display_name = st.text_input("Nom affiché", key="new_display_name")
        email = st.text_input("Courriel (connexion avec le compte de l'école)", key="new_email")
        role = st.selectbox("Rôle", ROLES, format_func=ROLE_FR.get, key="new_role")
        site_names = st.multiselect(
            "Sites", list(sites.values()), key="new_sites", placeholder="Choisir…"
        )
        password = st.text_input(
            "Mot de passe initial (12 caractères au moins ; vide = compte de l'école seulement)",
            type="password",
            key="new_password",
        )
        create = st.form_submit_button("Créer le compte")
    if create:
        try:
            with db_session() as session:
                user_service.add_user(
                    session,
                    actor,
                    username=username,
                    role=role,
                    password=password or None,
                    site_names=site_names,
                    display_name=display_name or None,
                    email=email or None,
                )
            st.success(f"Compte « {username.strip()} » créé.")
        except PasserelleError as exc:
            show_error(exc)

if not rows:
    st.stop()

st.subheader("Modifier un compte")
by_id = {r.id: r for r in rows}
user_id = st.selectbox(
    "Compte",
    list(by_id),
    format_func=lambda i: f"{by_id[i].username} — {ROLE_FR.get(by_id[i].role, by_id[i].role)}",
    key="edit_user",
)
selected = by_id[user_id]

col_active, col_reset = st.columns(2)
with col_active:
    label = "Désactiver le compte" if selected.is_active else "Réactiver le compte"
    if st.button(label, key="toggle_active"):
        try:
            with db_session() as session:
                user_service.set_active(session, actor, user_id, not selected.is_active)
            st.success("Compte désactivé." if selected.is_active else "Compte réactivé.")
            st.rerun()
        except PasserelleError as exc:
            show_error(exc)

with col_reset:
    with st.form("reset_password", clear_on_submit=True):
        new = st.text_input(
            "Nouveau mot de passe (12 caractères au moins)", type="password", key="reset_new"
        )
        again = st.text_input("Confirmer le mot de passe", type="password", key="reset_again")
        reset = st.form_submit_button("Réinitialiser le mot de passe")
    if reset:
        if new != again:
            st.error("Les deux saisies diffèrent.")
        else:
            try:
                with db_session() as session:
                    user_service.reset_password(session, actor, user_id, new)
                st.success("Mot de passe réinitialisé : transmettez-le à la personne de vive voix.")
            except PasserelleError as exc:
                show_error(exc)

with st.form("role_sites"):
    name_to_id = {v: k for k, v in sites.items()}
    new_role = st.selectbox(
        "Rôle", ROLES, index=ROLES.index(selected.role), format_func=ROLE_FR.get, key="edit_role"
    )
    new_sites = st.multiselect(
        "Sites",
        list(name_to_id),
        default=[n for n in selected.sites if n in name_to_id],
        key="edit_sites",
        placeholder="Choisir…",
    )
    new_email = st.text_input("Courriel", value=selected.email or "", key="edit_email")
    save = st.form_submit_button("Enregistrer rôle, sites et courriel")
if save:
    try:
        with db_session() as session:
            user_service.set_role_and_sites(
                session, actor, user_id, new_role, [name_to_id[n] for n in new_sites]
            )
            if (new_email or None) != selected.email:
                user_service.set_email(session, actor, user_id, new_email)
        st.success("Compte mis à jour.")
        st.rerun()
    except PasserelleError as exc:
        show_error(exc)
