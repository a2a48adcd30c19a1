"""Passerelle — Streamlit entry point (``streamlit run streamlit_app.py``).

Login first; then each role sees its own pages. Pages are thin: they call the
services in crm/ (which enforce roles and site scope themselves).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from crm.errors import PasserelleError
from crm.models import Role
from pages import login as login_page
from pages._ui import ROLE_FR, current_actor, logout, show_error

st.set_page_config(page_title="Passerelle", page_icon="🤝", layout="wide")

ALL = frozenset(Role)
OFFICE = frozenset({Role.OFFICER, Role.ADMIN})
ADMIN_ONLY = frozenset({Role.ADMIN})
TRAINING = frozenset({Role.TRAINER, Role.ADMIN})
STATS = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    section: str
    roles: frozenset[Role]
    default_for: frozenset[Role] = frozenset()


PAGES: list[PageSpec] = [
    PageSpec("pages/dashboard.py", "Tableau de bord", "Pilotage", STATS, frozenset({Role.MANAGER})),
    PageSpec(
        "pages/companies.py",
        "Entreprises",
        "Entreprises",
        ALL,
        frozenset({Role.OFFICER, Role.ADMIN}),
    ),
    PageSpec("pages/company.py", "Fiche entreprise", "Entreprises", ALL),
    PageSpec(
        "pages/geocoding.py",
        "Géocodage",
        "Entreprises",
        frozenset({Role.OFFICER, Role.TRAINER, Role.ADMIN}),
    ),
    PageSpec(
        "pages/journal.py",
        "Journal de contacts",
        "Entreprises",
        frozenset({Role.OFFICER, Role.TRAINER, Role.ADMIN, Role.MANAGER}),
    ),
    PageSpec(
        "pages/followups.py",
        "Mes relances",
        "Entreprises",
        frozenset({Role.OFFICER, Role.TRAINER, Role.ADMIN}),
    ),
    PageSpec("pages/offers.py", "Capacité d'accueil", "Entreprises", ALL),
    PageSpec("pages/duplicates.py", "Doublons", "Entreprises", OFFICE),
    PageSpec("pages/prospecting.py", "Prospection", "Entreprises", ALL),
    PageSpec("pages/import_export.py", "Import / export", "Données", ALL),
    PageSpec("pages/learners.py", "Stagiaires", "Stagiaires", TRAINING, frozenset({Role.TRAINER})),
    PageSpec("pages/suggestions.py", "Suggestions", "Stagiaires", TRAINING),
    PageSpec("pages/placements.py", "Suivi des périodes", "Stagiaires", TRAINING),
    PageSpec(
        "pages/paperwork.py",
        "Conventions et documents",
        "Stagiaires",
        frozenset({Role.TRAINER, Role.MANAGER, Role.ADMIN}),
    ),
    PageSpec("pages/account.py", "Mon compte", "Compte", ALL),
    PageSpec("pages/admin_users.py", "Utilisateurs", "Administration", ADMIN_ONLY),
    PageSpec("pages/admin_settings.py", "Paramètres", "Administration", ADMIN_ONLY),
    PageSpec("pages/admin_audit.py", "Journal d'audit", "Administration", ADMIN_ONLY),
]


def _navigation(role: Role):
    sections: dict[str, list] = {}
    for spec in PAGES:
        if role not in spec.roles:
            continue
        page = st.Page(spec.path, title=spec.title, default=role in spec.default_for)
        sections.setdefault(spec.section, []).append(page)
    # The role's own section (the one holding its home page) comes first in the menu.
    home = next((s.section for s in PAGES if role in s.default_for), None)
    if home in sections:
        sections = {home: sections.pop(home), **sections}
    return sections


actor = current_actor()
if actor is None:
    nav = st.navigation([st.Page(login_page.render, title="Connexion", url_path="connexion")])
else:
    with st.sidebar:
        st.markdown(f"**{actor.username}** — {ROLE_FR[actor.role]}")
        if st.button("Se déconnecter", key="logout"):
            logout()
            if login_page.sso_configured() and st.user.get("is_logged_in", False):
                st.logout()  # also end the single sign-on session (it reruns the app)
            st.rerun()
    nav = st.navigation(_navigation(actor.role), expanded=True)
try:
    nav.run()
except PasserelleError as exc:  # e.g. the database went away outside a page's own handler
    show_error(exc)
