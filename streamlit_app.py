"""Passerelle — Streamlit entry point (``streamlit run streamlit_app.py``).

Login first; then each role sees its own pages. Pages are thin: they call the
services in crm/ (which enforce roles and site scope themselves).
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from crm.errors import PasserelleError
from crm.labels import ROLE_FR
from crm.models import Role
from pages import login as login_page
from pages._ui import current_actor, follow_session_redirect, logout, show_error

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


# Record links: ``/?stagiaire=ID`` opens Stagiaires on that learner, and so on (the pages
# read the parameter; the services still decide whether the record may be seen).
DEEP_LINKS = {
    "stagiaire": "pages/learners.py",
    "periode": "pages/placements.py",
    "entreprise": "pages/company.py",
}

# Streamlit's file uploader speaks English ("Drag and drop file here", "Limit 200MB per
# file", "Browse files"): its texts are replaced by French ones with CSS only, once.
FRENCH_CSS = """
<style>
[data-testid="stFileUploaderDropzoneInstructions"] > div > span,
[data-testid="stFileUploaderDropzoneInstructions"] > div > small { display: none; }
[data-testid="stFileUploaderDropzoneInstructions"] > div {
  display: flex; flex-direction: column; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::before {
  content: "Glissez-déposez un fichier ici"; font-size: 0.95rem; }
[data-testid="stFileUploaderDropzoneInstructions"] > div::after {
  content: "ou cliquez sur « Parcourir »"; font-size: 0.8rem; opacity: 0.7; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] {
  display: none; }
[data-testid="stFileUploaderDropzone"] button span[data-has-shortcut]::after {
  content: "Parcourir"; }
</style>
"""


def _deep_link_target(role: Role) -> str | None:
    for param, path in DEEP_LINKS.items():
        if st.query_params.get(param):
            spec = next(s for s in PAGES if s.path == path)
            if role in spec.roles:
                return path
    return None


def _navigation(role: Role):
    sections: dict[str, list] = {}
    target = _deep_link_target(role)
    for spec in PAGES:
        if role not in spec.roles:
            continue
        default = spec.path == target if target else role in spec.default_for
        page = st.Page(spec.path, title=spec.title, default=default)
        sections.setdefault(spec.section, []).append(page)
    # The role's own section (the one holding its home page) comes first in the menu.
    home = next((s.section for s in PAGES if role in s.default_for), None)
    if home in sections:
        sections = {home: sections.pop(home), **sections}
    return sections


st.html(FRENCH_CSS)
try:
    actor = current_actor()
except PasserelleError as exc:  # e.g. the database does not answer
    show_error(exc)
    st.stop()
follow_session_redirect()  # after login/logout: the browser gets or drops its session cookie
if actor is None:
    nav = st.navigation([st.Page(login_page.render, title="Connexion", url_path="connexion")])
else:
    with st.sidebar:
        st.markdown(f"**{actor.username}** — {ROLE_FR[actor.role]}")
        if st.button("Se déconnecter", key="logout"):
            logout()  # the server-side session is revoked; the cookie is dropped after rerun
            if login_page.sso_configured() and st.user.get("is_logged_in", False):
                st.logout()  # also end the single sign-on session (it reruns the app)
            st.rerun()
    nav = st.navigation(_navigation(actor.role), expanded=True)
try:
    nav.run()
except PasserelleError as exc:  # e.g. the database went away outside a page's own handler
    show_error(exc)
