"""Utilisateurs: accounts, roles and sites (admin only)."""

import pandas as pd
import streamlit as st

from crm.auth import MIN_PASSWORD_LENGTH, Perm
from crm.errors import PasserelleError
from crm.labels import ROLE_FR
from crm.models import Role, User
from crm.services import users as user_service
from pages._format import PLACEHOLDER_MULTI
from pages._forms import Form
from pages._ui import db_session, fmt_date, require_actor, show_error

# Session-state keys of this page.
FLASH = "users_flash"  # message shown once after the rerun that follows a save

actor = require_actor(Perm.USER_ADMIN)
st.title("Utilisateurs")
if flash := st.session_state.pop(FLASH, None):
    st.success(flash)

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

create_form = Form("create_user")
with st.expander("Créer un compte", expanded=bool(create_form.errors)):
    with create_form as f:
        username = f.text_input("Identifiant", "username", column=User.username)
        display_name = f.text_input("Nom affiché", "display_name", column=User.display_name)
        email = f.text_input(
            "Courriel (connexion avec le compte de l'école)", "email", column=User.email
        )
        role = f.selectbox("Rôle", "role", ROLES, format_func=ROLE_FR.get)
        site_names = st.multiselect(
            "Sites", list(sites.values()), key=f.key("sites"), placeholder=PLACEHOLDER_MULTI
        )
        f.field_error("site", "sites")
        password = f.text_input(
            f"Mot de passe initial ({MIN_PASSWORD_LENGTH} caractères au moins ; vide = compte de l'école seulement)",
            "password",
            type="password",
            max_chars=200,
        )
        create = st.form_submit_button("Créer le compte")
    if create:
        create_form.submit(
            lambda session: user_service.add_user(
                session,
                actor,
                username=username,
                role=role,
                password=password or None,
                site_names=site_names,
                display_name=display_name or None,
                email=email or None,
            ),
            success=f"Compte « {username.strip()} » créé.",
        )
create_form.show_flash()

if not rows:
    st.stop()

st.subheader("Modifier un compte")
by_id = {r.id: r for r in rows}
user_id = st.selectbox(
    "Compte à modifier",
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
            st.session_state[FLASH] = (
                "Compte désactivé : ses sessions ouvertes sont fermées."
                if selected.is_active
                else "Compte réactivé."
            )
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
        "Rôle",
        ROLES,
        index=ROLES.index(selected.role),
        format_func=ROLE_FR.get,
        key=f"edit_role_{user_id}",
    )
    new_sites = st.multiselect(
        "Sites",
        list(name_to_id),
        default=[n for n in selected.sites if n in name_to_id],
        key=f"edit_sites_{user_id}",
        placeholder=PLACEHOLDER_MULTI,
    )
    new_email = st.text_input(
        "Courriel", value=selected.email or "", key=f"edit_email_{user_id}", max_chars=200
    )
    save = st.form_submit_button("Enregistrer rôle, sites et courriel")
if save:
    try:
        with db_session() as session:
            user_service.set_role_and_sites(
                session, actor, user_id, new_role, [name_to_id[n] for n in new_sites]
            )
            if (new_email or None) != selected.email:
                user_service.set_email(session, actor, user_id, new_email)
        st.session_state[FLASH] = "Compte mis à jour."
        st.rerun()
    except PasserelleError as exc:
        show_error(exc)
