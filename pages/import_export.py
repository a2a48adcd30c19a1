"""Import / export: CSV or XLSX files, with a preview and the errors of each row."""

import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.importer import COLUMNS, KINDS, export_bytes
from pages._import import import_form
from pages._ui import db_session, require_actor, show_error

KIND_FR = {
    "sites": "Sites",
    "companies": "Entreprises",
    "contacts": "Contacts",
    "offers": "Offres",
    "learners": "Stagiaires",
    "interactions": "Journal de contacts",
    "placements": "Périodes en entreprise",
}

actor = require_actor(Perm.EXPORT)
st.title("Import / export")


if actor.has(Perm.IMPORT):
    st.subheader("Importer")
    kind = st.selectbox("Données", KINDS, index=1, format_func=KIND_FR.get, key="import_kind")
    st.caption(
        "Colonnes reconnues : " + ", ".join(COLUMNS[kind]) + " (ou les en-têtes français usuels)."
    )
    import_form(actor, kind)

st.subheader("Exporter")
ekind = st.selectbox("Données à exporter", KINDS, format_func=KIND_FR.get, key="export_kind")
if st.button("Préparer l'export", key="export_prepare"):
    try:
        with db_session() as session:
            st.session_state["export_files"] = (
                ekind,
                export_bytes(session, actor, ekind, "x.csv"),
                export_bytes(session, actor, ekind, "x.xlsx"),
            )
    except PasserelleError as exc:
        show_error(exc)
files = st.session_state.get("export_files")
if files and files[0] == ekind:
    a, b = st.columns(2)
    a.download_button("Télécharger en CSV", files[1], f"{ekind}.csv", "text/csv", key="dl_csv")
    b.download_button(
        "Télécharger en XLSX",
        files[2],
        f"{ekind}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="dl_xlsx",
    )
